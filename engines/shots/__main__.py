"""Command line: ``python -m engines.shots detect VIDEO [--json] [--min-shot S] [--sensitivity X]``.

Prints the transitions found (frame, time, type); ``--json`` prints ``{"frames", "fps", "transitions", ...}``.
Exits with status 2 and a one-line message when the input cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base import EngineConfig
from ..cli import fail, progress_context, run_once
from ..errors import ReelsmithError
from . import REGISTRY
from .types import ShotRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.shots", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    detect = commands.add_parser("detect", help="cuts, dissolves and fades of one video")
    detect.add_argument("media", type=Path, help="video file")
    detect.add_argument("--min-shot", type=float, default=0.4, help="shortest shot in seconds (default 0.4)")
    detect.add_argument("--sensitivity", type=float, default=1.0, help="0.25..4, higher finds more (default 1)")
    detect.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
    detect.add_argument("--json", action="store_true", help="print JSON instead of text")
    detect.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = progress_context(args.progress)
    request = ShotRequest(media=args.media, min_shot_s=args.min_shot, sensitivity=args.sensitivity)
    try:
        result = run_once(REGISTRY, EngineConfig(backend=args.backend), request, ctx)
    except ReelsmithError as exc:
        return fail(exc)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(f"{args.media.name}: {result.frames} frames at {result.fps:.3f} fps, "
              f"{len(result.transitions)} transitions, {len(result.shots)} shots ({result.seconds:.2f} s)")
        for t in result.transitions:
            print(f"  frame {t.frame:6d}  {t.time:9.3f} s  {t.type:8s} [{t.start}-{t.end}] score {t.score:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
