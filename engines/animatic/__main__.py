"""Command line: ``python -m engines.animatic render SPEC.json --out film.mp4 [--json] [--progress]``.

SPEC.json lists the scenes and the music; relative paths are taken from the spec's folder::

    {"music": "bed.wav", "width": 1280, "height": 720, "fps": 24,
     "scenes": [{"image": "1.png", "title": "Opening", "speech": "1.wav", "min_duration_s": 3,
                 "motion": "auto", "captions": [{"start_s": 0.6, "end_s": 3.2, "text": "Hello there"}]}]}

Any other request field (crossfade_s, speech_pad_s, duck_db, music_db, burn_subtitles, seed) may be given in the
spec; ``--width``/``--height``/``--fps``/``--seed``/``--no-subtitles`` override it. Writes the MP4 and, when there
are captions, an .srt beside it. Exits with status 2 and a one-line message when the input cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import fail, progress_context, run_once
from ..base import EngineConfig
from ..errors import InvalidInput, ReelsmithError
from . import REGISTRY
from .types import AnimaticRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.animatic", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render a storyboard video from a JSON spec")
    render.add_argument("spec", type=Path, help="JSON file listing scenes (image, speech, captions, title), music")
    render.add_argument("--out", type=Path, required=True, help="the .mp4 file to write")
    render.add_argument("--width", type=int)
    render.add_argument("--height", type=int)
    render.add_argument("--fps", type=int)
    render.add_argument("--seed", type=int)
    render.add_argument("--no-subtitles", action="store_true", help="do not burn the captions into the picture")
    render.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
    render.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    render.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def _read_spec(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path.name}: the spec file was not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path.name} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = progress_context(args.progress)
    try:
        data = _read_spec(args.spec)
        if isinstance(data, dict):
            for key in ("width", "height", "fps", "seed"):
                if getattr(args, key) is not None:
                    data[key] = getattr(args, key)
            if args.no_subtitles:
                data["burn_subtitles"] = False
        request = AnimaticRequest.from_dict(data, out=args.out, base=args.spec.resolve().parent)
        result = run_once(REGISTRY, EngineConfig(backend=args.backend), request, ctx)
    except ReelsmithError as exc:
        return fail(exc)
    if args.json:
        print(json.dumps(result.summary(), indent=2))
    else:
        print(f"{result.path}: {result.duration_s:.2f} s, {len(result.scene_spans)} scenes "
              f"({result.seconds:.1f} s to render)")
        if result.srt:
            print(f"subtitles: {result.srt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
