"""Command line: ``python -m engines.captions transcribe MEDIA [--json] [--srt F] [--vtt F]`` or
``python -m engines.captions burn VIDEO SUBS --out OUT``.

``transcribe`` prints the text (or, with ``--json``, ``{"language", "text", "segments": [{"start", "end",
"text", "words": [...]}], ...}``) and writes subtitle files built by the subtitle rules. ``burn`` draws an .srt or
.vtt file onto a video. Bad input exits with status 2 and one ``error: ...`` line (no traceback).
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
from .types import CaptionRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.captions", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    tr = commands.add_parser("transcribe", help="speech → text with word times, SRT/VTT")
    tr.add_argument("media", type=Path, help="audio or video file")
    tr.add_argument("--backend", default=REGISTRY.default, help=f"one of {', '.join(REGISTRY.names())}")
    tr.add_argument("--model", help="Whisper model: base, tiny.en (bundled), a folder, or an id in the local cache")
    tr.add_argument("--language", default="en", help="language code, or 'auto' to detect it (default en)")
    tr.add_argument("--beam-size", type=int, help="beam width (default 5)")
    tr.add_argument("--no-vad", action="store_true", help="decode silence too (no voice activity detection)")
    tr.add_argument("--cache-dir", type=Path, help="where the bundled base model is joined (once)")
    tr.add_argument("--json", action="store_true", help="print the transcript as JSON")
    tr.add_argument("--srt", type=Path, help="write SubRip subtitles here")
    tr.add_argument("--vtt", type=Path, help="write WebVTT subtitles here")
    tr.add_argument("--progress", action="store_true", help="print progress to stderr")
    bu = commands.add_parser("burn", help="draw subtitles onto a video (keeps its sound)")
    bu.add_argument("video", type=Path)
    bu.add_argument("subs", type=Path, help=".srt or .vtt file")
    bu.add_argument("--out", type=Path, required=True, help="output .mp4")
    bu.add_argument("--font", help="TrueType/OpenType font file (Pillow's bundled font otherwise)")
    bu.add_argument("--size", type=float, default=0.05, help="text height as a share of the frame (0.05)")
    bu.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def _transcribe(args: argparse.Namespace) -> int:
    from .cues import cues_from_words, words_of
    from .formats import write_srt, write_vtt

    options = {"cache_dir": str(args.cache_dir)} if args.cache_dir else {}
    config = EngineConfig(backend=args.backend, model_id=args.model, options=options)
    language = None if args.language in ("auto", "") else args.language
    request = CaptionRequest(media=args.media, language=language, beam_size=args.beam_size, vad=not args.no_vad)
    result = run_once(REGISTRY, config, request, progress_context(args.progress))
    if args.srt or args.vtt:
        cues = cues_from_words(words_of(result.segments), duration_s=result.duration_s)
        if args.srt:
            write_srt(cues, args.srt)
        if args.vtt:
            write_vtt(cues, args.vtt)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(result.text)
    return 0


def _burn(args: argparse.Namespace) -> int:
    from .burn import CaptionStyle, burn_captions
    from .formats import read_subtitles

    cues = read_subtitles(args.subs)
    burn_captions(args.video, cues, args.out, CaptionStyle(font_path=args.font, size=args.size),
                  ctx=progress_context(args.progress))
    print(args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _transcribe(args) if args.command == "transcribe" else _burn(args)
    except ReelsmithError as exc:
        return fail(exc)


if __name__ == "__main__":
    sys.exit(main())
