"""Command line: ``python -m engines.autoedit cut MEDIA [--edl F] [--fcpxml F] [--otio F] [--mp4 F] [--json]``.

Cuts the silences of MEDIA and writes the asked exports. Exits with status 2 and a one-line message when the
input cannot be used.
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
from .analyse import AutoEditRequest
from .export import render_mp4, write_edl, write_fcpxml, write_otio


def _shots(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"shot times must be seconds separated by commas, not {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.autoedit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cut = commands.add_parser("cut", help="remove the silences of one video")
    cut.add_argument("media", type=Path)
    cut.add_argument("--edl", type=Path, help="write a CMX3600 EDL here")
    cut.add_argument("--fcpxml", type=Path, help="write FCPXML 1.9 here")
    cut.add_argument("--otio", type=Path, help="write OpenTimelineIO JSON here")
    cut.add_argument("--mp4", type=Path, help="render the cut to H.264/AAC MP4 here")
    cut.add_argument("--silence-db", type=float, default=None, help="threshold in dBFS (default: relative)")
    cut.add_argument("--margin", type=float, default=0.2, help="seconds kept around sound (default 0.2)")
    cut.add_argument("--min-clip", type=float, default=0.5, help="shortest clip kept (default 0.5 s)")
    cut.add_argument("--min-silence", type=float, default=0.5, help="shortest pause cut (default 0.5 s)")
    cut.add_argument("--shots", type=_shots, default=(), help="shot cut times to snap to, e.g. 1.2,4.5")
    cut.add_argument("--no-highlights", action="store_true", help="skip the motion pass and scores")
    cut.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
    cut.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    cut.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = progress_context(args.progress)
    request = AutoEditRequest(media=args.media, silence_db=args.silence_db, margin_s=args.margin,
                              min_clip_s=args.min_clip, min_silence_s=args.min_silence, shots=args.shots,
                              highlights=not args.no_highlights)
    written: dict[str, str] = {}
    try:
        result = run_once(REGISTRY, EngineConfig(backend=args.backend), request, ctx)
        for key, writer in (("edl", write_edl), ("fcpxml", write_fcpxml), ("otio", write_otio)):
            target = getattr(args, key)
            if target:
                writer(result.timeline, target)
                written[key] = str(target)
        if args.mp4:
            render_mp4(result.timeline, args.mp4, ctx)
            written["mp4"] = str(args.mp4)
    except ReelsmithError as exc:
        return fail(exc)
    except OSError as exc:  # missing folder, full disk
        return fail(f"could not write an export: {exc}")
    summary = {**result.summary(), "written": written}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{args.media.name}: kept {result.kept_s:.2f}s in {len(result.timeline.clips)} clips, "
              f"removed {result.removed_s:.2f}s (threshold {result.parameters['threshold_db']} dBFS)")
        for key, target in written.items():
            print(f"{key}: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
