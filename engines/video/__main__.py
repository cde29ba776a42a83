"""Command line: ``python -m engines.video stabilize|colour|interpolate IN --out OUT [--json] [--progress]``.

Exits with status 2 and a one-line message when the input cannot be used (nothing is written then).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base import EngineConfig
from ..cli import fail, progress_context, run_once
from ..errors import ReelsmithError
from . import COLOUR, INTERPOLATE, STABILIZE
from .types import ColourRequest, InterpolateRequest, StabilizeRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.video", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("media", type=Path, help="input video")
        sub.add_argument("--out", type=Path, required=True, help="output .mp4")
        sub.add_argument("--backend", default="lite")
        sub.add_argument("--json", action="store_true", help="print a JSON summary")
        sub.add_argument("--progress", action="store_true", help="print progress to stderr")

    st = commands.add_parser("stabilize", help="remove camera shake")
    common(st)
    st.add_argument("--smoothness", type=float, default=100000.0, help="λ of the path smoother (default 1e5)")
    st.add_argument("--crop-max", type=float, default=0.1, help="largest share of each side cropped (0.1)")
    co = commands.add_parser("colour", help="white balance, exposure, reference match, LUT")
    common(co)
    co.add_argument("--no-white-balance", action="store_true")
    co.add_argument("--no-auto-exposure", action="store_true")
    co.add_argument("--reference", type=Path, help="image or video whose colours to match")
    co.add_argument("--match", choices=("reinhard", "histogram"), default="reinhard")
    co.add_argument("--lut", type=Path, help=".cube 3D LUT to apply last")
    co.add_argument("--lut-strength", type=float, default=1.0)
    it = commands.add_parser("interpolate", help="more frames by optical flow (×2/3/4)")
    common(it)
    it.add_argument("--factor", type=int, choices=(2, 3, 4), default=2)
    it.add_argument("--slow-motion", action="store_true", help="keep the frame rate, play factor× longer")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = progress_context(args.progress)
    if args.command == "stabilize":
        registry = STABILIZE
        request = StabilizeRequest(media=args.media, out=args.out, smoothness=args.smoothness,
                                   crop_max=args.crop_max)
    elif args.command == "colour":
        registry = COLOUR
        request = ColourRequest(media=args.media, out=args.out, white_balance=not args.no_white_balance,
                                auto_exposure=not args.no_auto_exposure, reference=args.reference,
                                match=args.match, lut=args.lut, lut_strength=args.lut_strength)
    else:
        registry = INTERPOLATE
        request = InterpolateRequest(media=args.media, out=args.out, factor=args.factor,
                                     slow_motion=args.slow_motion)
    try:
        result = run_once(registry, EngineConfig(backend=args.backend), request, ctx)
    except ReelsmithError as exc:
        return fail(exc)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(", ".join(f"{k}={v}" for k, v in summary.items() if k != "parameters"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
