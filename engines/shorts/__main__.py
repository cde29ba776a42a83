"""Command line: ``python -m engines.shorts FILE --words words.json [--n 3] [--out DIR] [--json] [--propose-only]``.

``words.json`` is a list of ``{"start", "end", "text"}`` (seconds of FILE), or an object with a ``"words"`` list
(a saved transcript). Renders the best ``--n`` shorts into ``--out`` (default ``FILE-shorts/`` beside the input)
and prints one line per short, or the whole result with ``--json``; ``--propose-only`` lists the candidates and
writes nothing. Exits with status 2 and a one-line message when the input cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base import EngineConfig
from ..cli import fail, progress_context
from ..errors import ReelsmithError
from ..reframe.types import ASPECTS
from . import REGISTRY
from .types import ShortsRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.shorts", description=__doc__.splitlines()[0])
    parser.add_argument("media", type=Path, help="the long video")
    parser.add_argument("--words", type=Path, required=True, help="JSON list of {start, end, text}")
    parser.add_argument("--n", type=int, default=3, help="how many shorts (default 3)")
    parser.add_argument("--min-s", type=float, default=15.0, help="shortest short in seconds (default 15)")
    parser.add_argument("--max-s", type=float, default=60.0, help="longest short in seconds (default 60)")
    parser.add_argument("--aspect", choices=list(ASPECTS), default="9:16")
    parser.add_argument("--height", type=int, help="output height in pixels (default: the crop's)")
    parser.add_argument("--out", type=Path, help="output folder (default: FILE-shorts beside the input)")
    parser.add_argument("--no-captions", action="store_true", help="do not burn word captions")
    parser.add_argument("--propose-only", action="store_true", help="list the candidates, render nothing")
    parser.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def _read_words(path: Path) -> list:
    data = json.loads(path.read_text(encoding="utf-8"))
    words = data.get("words") if isinstance(data, dict) else data
    if not isinstance(words, list):
        raise ValueError("expected a list of {start, end, text} objects")
    return words


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = progress_context(args.progress)
    try:
        words = _read_words(args.words)
    except (OSError, ValueError) as exc:
        return fail(f"cannot read the words from {args.words}: {exc}")
    request = ShortsRequest(media=args.media, words=words, n=args.n, aspect=args.aspect, min_s=args.min_s,
                            max_s=args.max_s, out_dir=args.out, captions=not args.no_captions,
                            output_height=args.height)
    try:
        engine = REGISTRY.create(EngineConfig(backend=args.backend))
        engine.load()
        try:
            if args.propose_only:
                candidates = engine.propose_only(request, ctx)
            else:
                result = engine.run(request, ctx)
                candidates = [s.candidate for s in result.shorts]
        finally:
            engine.unload()
    except ReelsmithError as exc:
        return fail(exc)
    if args.json:
        print(json.dumps([c.as_dict() for c in candidates] if args.propose_only else result.as_dict(), indent=2))
        return 0
    for k, c in enumerate(candidates, start=1):
        where = "" if args.propose_only else f"  → {result.shorts[k - 1].video}"
        print(f"{k}. {c.start:8.2f}–{c.end:8.2f} s  score {c.score:.2f}  {c.title}{where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
