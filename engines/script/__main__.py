"""Command line for screenplays.

    python -m engines.script breakdown FILE.fountain [--json]
    python -m engines.script draft --logline "..." [--scenes 5] [--seed 1] [--genre thriller] [--tone tense]
                                   [--character MAYA ...] [--title T] [--out FILE] [--backend lite|neural]
    python -m engines.script rewrite FILE.fountain --scene 2 [--instruction "more tense"] [--out FILE]
    python -m engines.script dialogue --situation "..." [--character A --character B] [--lines 6]

Exits with status 2 and a one-line message when the input cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base import EngineConfig
from ..context import CallbackContext
from ..errors import ReelsmithError
from . import REGISTRY
from .fountain import parse
from .types import DialogueRequest, DraftRequest, RewriteRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.script", description="Screenplays in Fountain.")
    commands = parser.add_subparsers(dest="command", required=True)

    bd = commands.add_parser("breakdown", help="scenes, characters and screen time of a Fountain file")
    bd.add_argument("file", type=Path)
    bd.add_argument("--json", action="store_true", help="print JSON")

    def engine_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
        p.add_argument("--model", help="model id or local folder (neural backend)")
        p.add_argument("--device", default="auto")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--progress", action="store_true", help="print progress to stderr")

    dr = commands.add_parser("draft", help="draft a screenplay from a logline")
    dr.add_argument("--logline", required=True)
    dr.add_argument("--scenes", type=int, default=5)
    dr.add_argument("--genre", default="drama")
    dr.add_argument("--tone", default="hopeful")
    dr.add_argument("--title", default="")
    dr.add_argument("--character", action="append", default=[], help="protagonist, ally, antagonist, ...")
    dr.add_argument("--out", type=Path, help="write the Fountain text here as well")
    dr.add_argument("--outline", action="store_true", help="print the beat outline to stderr")
    engine_args(dr)

    rw = commands.add_parser("rewrite", help="rewrite one scene of a Fountain file")
    rw.add_argument("file", type=Path)
    rw.add_argument("--scene", type=int, required=True, help="scene index (as breakdown shows)")
    rw.add_argument("--instruction", default="")
    rw.add_argument("--out", type=Path)
    engine_args(rw)

    dl = commands.add_parser("dialogue", help="subtitle-ready dialogue for a situation")
    dl.add_argument("--situation", required=True)
    dl.add_argument("--character", action="append", default=[])
    dl.add_argument("--lines", type=int, default=6)
    engine_args(dl)
    return parser


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReelsmithError(f"cannot read {path}: {exc}") from exc


def _write(path: Path | None, text: str) -> None:
    if path is None:
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReelsmithError(f"cannot write {path}: {exc}") from exc


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "breakdown":
            play = parse(_read(args.file))
            if args.json:
                print(json.dumps({"title": play.title, "characters": play.characters,
                                  "total_seconds": play.total_seconds, "scenes": play.breakdown()}, indent=2))
            else:
                print(f"{play.title or args.file.name}: {len(play.scenes)} scenes, about "
                      f"{_clock(play.total_seconds)} of screen time")
                for s in play.scenes:
                    print(f"{s.index:3d}  {_clock(s.est_seconds):>6}  {s.heading or '(before the first heading)'}"
                          f"  [{', '.join(s.characters)}]")
            return 0

        ctx = CallbackContext(
            (lambda f, msg: print(f"{f:6.1%} {msg}", file=sys.stderr)) if args.progress else None)
        engine = REGISTRY.create(EngineConfig(backend=args.backend, model_id=args.model, device=args.device))
        if args.command == "draft":
            result = engine.draft(DraftRequest(logline=args.logline, genre=args.genre, tone=args.tone,
                                               scenes=args.scenes, characters=tuple(args.character),
                                               seed=args.seed, title=args.title), ctx)
            if args.outline:
                for beat in result.outline:
                    print(f"{beat.name}: {beat.description}", file=sys.stderr)
            _write(args.out, result.fountain)
            sys.stdout.write(result.fountain)
        elif args.command == "rewrite":
            result = engine.rewrite(RewriteRequest(fountain=_read(args.file), scene_index=args.scene,
                                                   instruction=args.instruction, seed=args.seed), ctx)
            _write(args.out, result.fountain)
            sys.stdout.write(result.fountain if args.out is None else result.scene_text)
        else:
            result = engine.dialogue(DialogueRequest(situation=args.situation, characters=tuple(args.character),
                                                     lines=args.lines, seed=args.seed), ctx)
            sys.stdout.write(result.fountain)
    except ReelsmithError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
