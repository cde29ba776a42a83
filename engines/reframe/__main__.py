"""Command line: ``python -m engines.reframe FILE --aspect 9:16 [--out OUT] [--plan-only] [--json] [--progress]``.

Plans the crop path and renders it (to ``--out``, default ``FILE-9x16.mp4`` beside the input); ``--plan-only``
prints the path (``t x y w h`` per frame, or the whole plan with ``--json``) and writes nothing. Exits with
status 2 and a one-line message when the input cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from ..base import EngineConfig
from ..cli import fail, progress_context
from ..errors import ReelsmithError
from . import REGISTRY
from .types import ASPECTS, FILLS, ReframeRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.reframe", description=__doc__.splitlines()[0])
    parser.add_argument("media", type=Path, help="input video")
    parser.add_argument("--aspect", choices=list(ASPECTS), default="9:16")
    parser.add_argument("--out", type=Path, help="output .mp4 (default: FILE-<aspect>.mp4 beside the input)")
    parser.add_argument("--plan-only", action="store_true", help="print the crop path, render nothing")
    parser.add_argument("--fill", choices=FILLS, default="auto", help="for shots whose subject cannot fit")
    parser.add_argument("--shots", help="cut times in seconds, comma separated (default: detect them)")
    parser.add_argument("--height", type=int, help="output height in pixels (default: the crop's)")
    parser.add_argument("--hold", type=float, help="dead zone in source pixels (default: 6%% of the crop)")
    parser.add_argument("--smoothness", type=float, default=3000.0)
    parser.add_argument("--no-faces", action="store_true", help="saliency and motion only")
    parser.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = progress_context(args.progress)
    try:
        shots = None if args.shots is None else [float(t) for t in args.shots.split(",") if t.strip()]
    except ValueError:
        return fail(f"--shots must be seconds separated by commas, not {args.shots!r}")
    request = ReframeRequest(media=args.media, aspect=args.aspect, shots=shots, output_height=args.height,
                             fill=args.fill, hold_px=args.hold, smoothness=args.smoothness, faces=not args.no_faces)
    if not args.plan_only:
        tag = args.aspect.replace(":", "x")
        request = replace(request, out=args.out or args.media.with_name(f"{args.media.stem}-{tag}.mp4"))
    try:
        engine = REGISTRY.create(EngineConfig(backend=args.backend))
        engine.load()
        try:
            result = engine.run(request, ctx)
        finally:
            engine.unload()
    except ReelsmithError as exc:
        return fail(exc)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    elif args.plan_only:
        print("# t x y w h")
        for t, x, y, w, h in result.crop_path:
            print(f"{t:.3f} {x:.1f} {y:.1f} {w:.1f} {h:.1f}")
    else:
        out_w, out_h = result.output_size
        print(f"{result.output}: {out_w}x{out_h}, {result.frames} frames at {result.fps:.3f} fps, "
              f"shots {', '.join(result.fill_used)} ({result.seconds:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
