"""Command line: ``python -m engines.watermark detect FILE [--json]`` / ``embed SRC DST --payload HEX``.

``detect`` exits 0 when a valid mark is found, 1 when none is; ``embed`` exits 0 after writing DST. Unusable
input exits 2 with a one-line message.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import fail
from ..errors import ReelsmithError
from . import detect_file, embed_file


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.watermark", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    look = commands.add_parser("detect", help="look for the invisible mark in a picture or video")
    look.add_argument("file", type=Path)
    look.add_argument("--json", action="store_true", help="print the detection as JSON")
    mark = commands.add_parser("embed", help="write a marked copy of a picture")
    mark.add_argument("src", type=Path)
    mark.add_argument("dst", type=Path)
    mark.add_argument("--payload", required=True, help="1 to 6 bytes as hex, e.g. 00c0ffee")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "embed":
            try:
                payload = bytes.fromhex(args.payload)
            except ValueError:
                return fail(f"--payload {args.payload!r} is not hex")
            out = embed_file(args.src, args.dst, payload)
            print(f"marked {args.src.name} -> {out} (payload {payload.hex()})")
            return 0
        result = detect_file(args.file)
    except ReelsmithError as exc:
        return fail(exc)
    if args.json:
        print(json.dumps({"file": str(args.file), **result.as_dict()}, indent=2))
    elif result.found:
        print(f"{args.file.name}: watermark found, payload {result.payload.hex() if result.payload else ''} "
              f"(bit agreement {result.bit_agreement:.2f}, scale {result.scale})")
    else:
        print(f"{args.file.name}: no watermark ({result.reason})")
    return 0 if result.found else 1


if __name__ == "__main__":
    sys.exit(main())
