"""``python -m engines.audio denoise IN OUT | stems IN --out-dir DIR | loudness IN [--out OUT]`` (see --help).

Each sub-command lives beside its engine (``add_cli(subparsers)`` in denoise.py, stems.py and loudness.py)."""
from __future__ import annotations

import argparse
import sys

from . import denoise, loudness, stems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engines.audio", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (denoise, stems, loudness):
        module.add_cli(sub)  # each sets func=callable(args) -> exit code
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
