"""Command line: ``python -m engines.thumbs sheet MEDIA [--out sheet.png] [--poster poster.png] [--count N] [--json]``.

Prints what the file is and which times were chosen; writes the contact sheet and the poster when asked.
Exits with status 2 and a one-line message when the input cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import fail, progress_context, run_once
from ..base import EngineConfig
from ..errors import ReelsmithError
from . import REGISTRY
from .lite import timestamp
from .types import ThumbnailRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.thumbs", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sheet = commands.add_parser("sheet", help="poster, thumbnails and contact sheet of one media file")
    sheet.add_argument("media", type=Path, help="video, audio or image file")
    sheet.add_argument("--out", type=Path, help="write the contact sheet here (PNG/JPEG by extension)")
    sheet.add_argument("--poster", type=Path, help="write the poster frame here")
    sheet.add_argument("--count", type=int, default=12, help="number of thumbnails (1-64, default 12)")
    sheet.add_argument("--columns", type=int, default=4, help="columns of the contact sheet (default 4)")
    sheet.add_argument("--tile-width", type=int, default=320, help="tile width in pixels (default 320)")
    sheet.add_argument("--poster-width", type=int, default=640, help="poster width in pixels (default 640)")
    sheet.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
    sheet.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    sheet.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = progress_context(args.progress)
    try:
        request = ThumbnailRequest(media=args.media, count=args.count, columns=args.columns,
                                   tile_width=args.tile_width, poster_width=args.poster_width)
        result = run_once(REGISTRY, EngineConfig(backend=args.backend), request, ctx)
    except ReelsmithError as exc:
        return fail(exc)
    try:
        if args.out:
            result.sheet.save(args.out)
        if args.poster:
            result.poster.save(args.poster)
    except (OSError, ValueError) as exc:  # missing folder, full disk, or an extension Pillow cannot write
        print(f"error: could not write the picture: {exc}", file=sys.stderr)
        return 2

    summary = result.summary()
    if args.out:
        summary["sheet"] = str(args.out)
    if args.poster:
        summary["poster"] = str(args.poster)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        info = result.info
        print(f"{info.name}: {info.kind}, {info.container}, "
              f"{timestamp(info.duration_s or 0.0, info.duration_s)} long")
        times = ", ".join(timestamp(t.time_s, info.duration_s) for t in result.thumbs)
        print(f"{len(result.thumbs)} thumbnails at {times} ({result.seconds:.2f} s)")
        for key in ("sheet", "poster"):
            if key in summary:
                print(f"{key}: {summary[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
