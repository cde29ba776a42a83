"""Command line: ``python -m engines.transcript diarize MEDIA [--speakers N] [--backend lite|neural] [--json]``.

``diarize`` prints one line per speaker turn (``  0.48 –   6.72  S1``) or, with ``--json``, exactly
``{"segments": [{"start": s, "end": e, "speaker": "S1"}, ...]}`` (``--verbose`` adds the speaker count, backend,
VAD, timings). Bad input (missing file, no audio track, damaged or not media, bad option) exits with status 2
and one ``error: ...`` line (no traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base import EngineConfig
from ..cli import fail, progress_context, run_once
from ..errors import ReelsmithError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.transcript", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    di = commands.add_parser("diarize", help="who speaks when: speaker turns S1, S2 ...")
    di.add_argument("media", type=Path, help="audio or video file")
    di.add_argument("--speakers", type=int, help="the number of speakers, when known (estimated otherwise)")
    di.add_argument("--min-speakers", type=int, default=1, help="smallest number to estimate (1)")
    di.add_argument("--max-speakers", type=int, default=8, help="largest number to estimate (8)")
    di.add_argument("--backend", default="lite", help="lite (MFCC, no model) or neural (Resemblyzer)")
    di.add_argument("--vad", default="auto", help="voice activity detector: auto, silero, webrtc, energy")
    di.add_argument("--device", default="auto", help="neural: auto, cpu, cuda")
    di.add_argument("--json", action="store_true", help="print the turns as JSON")
    di.add_argument("--verbose", action="store_true", help="with --json: add speakers, backend, vad, timings")
    di.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def _diarize(args: argparse.Namespace) -> int:
    from .diarize import REGISTRY, DiarizeRequest

    if not args.media.is_file():  # before loading any model
        return fail(f"{args.media.name or args.media}: the file was not found.")
    request = DiarizeRequest(media=args.media, speakers=args.speakers, min_speakers=args.min_speakers,
                             max_speakers=args.max_speakers)
    config = EngineConfig(backend=args.backend, device=args.device, options={"vad": args.vad})
    result = run_once(REGISTRY, config, request, progress_context(args.progress))
    if args.json:
        data = result.as_dict() if args.verbose else {"segments": [t.as_dict() for t in result.segments]}
        print(json.dumps(data, indent=2 if args.verbose else None))
    else:
        for turn in result.segments:
            print(f"{turn.start:7.2f} – {turn.end:7.2f}  {turn.speaker}")
        if args.verbose or not result.segments:
            print(f"{result.speakers} speakers, {result.duration_s:.1f} s, {result.backend} + {result.vad} VAD, "
                  f"RTF {result.rtf:.3f}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _diarize(args)
    except ReelsmithError as exc:
        return fail(exc)


if __name__ == "__main__":
    sys.exit(main())
