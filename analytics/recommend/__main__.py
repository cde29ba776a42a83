"""Command line: ``python -m analytics.recommend evaluate|recommend ...`` on MovieLens-style rating files.

    evaluate --train u1.base --test u1.test [--models mf,knn,ncf,hybrid] [--items u.item] [--json] [--seed N]
    recommend --train u.data --user 196 [-k 10] [--model mf] [--items u.item] [--include-seen] [--json]

Rating files are tab-separated ``user item rating [timestamp]`` without header. ``--items`` gives item texts
(``item<TAB>text`` or MovieLens ``u.item``) for the ``hybrid`` model; without it ``hybrid`` equals ``mf``.
``evaluate --json`` prints one JSON object per model and line: ``{"model", "rmse", "mae", "fit_seconds"}``.
Exits with status 2 and ``error: <file>:<line>: <what>`` on stderr when an input cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engines.cli import fail
from engines.errors import ReelsmithError

from . import MODELS, create, evaluate, read_item_text, read_ratings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics.recommend", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("evaluate", help="fit on --train, report RMSE/MAE on --test and fit time per model")
    ev.add_argument("--train", type=Path, required=True, help="training ratings (TSV)")
    ev.add_argument("--test", type=Path, required=True, help="test ratings (TSV)")
    ev.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default {','.join(MODELS)})")
    ev.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    rec = commands.add_parser("recommend", help="top-k items for one user")
    rec.add_argument("--train", type=Path, required=True, help="ratings (TSV)")
    rec.add_argument("--user", required=True, help="user id as in the file")
    rec.add_argument("-k", type=int, default=10, help="how many items (default 10)")
    rec.add_argument("--model", default="mf", choices=list(MODELS), help="default mf")
    rec.add_argument("--include-seen", action="store_true", help="do not drop the items the user rated")
    rec.add_argument("--json", action="store_true", help="print JSON instead of text")
    for sub in (ev, rec):
        sub.add_argument("--items", type=Path, help="item texts for the hybrid model")
        sub.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


def _model(name: str, seed: int, texts: dict[str, str] | None) -> Any:
    return create(name, seed=seed, item_text=texts) if name == "hybrid" else create(name, seed=seed)


def _evaluate(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        return fail(f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(MODELS)}")
    train, test = read_ratings(args.train), read_ratings(args.test)
    texts = read_item_text(args.items) if args.items else None
    if not args.json:
        print(f"{'model':<8} {'RMSE':>7} {'MAE':>7} {'fit s':>7}   ({len(train)} train, {len(test)} test ratings)")
    for name in names:
        result = evaluate(_model(name, args.seed, texts), train, test, name)
        if args.json:
            print(json.dumps(result.as_dict()), flush=True)
        else:
            print(f"{name:<8} {result.rmse:7.4f} {result.mae:7.4f} {result.fit_seconds:7.2f}", flush=True)
    return 0


def _recommend(args: argparse.Namespace) -> int:
    train = read_ratings(args.train)
    texts = read_item_text(args.items) if args.items else None
    model = _model(args.model, args.seed, texts).fit(train)
    top = model.recommend(args.user, args.k, exclude_seen=not args.include_seen)
    if args.json:
        print(json.dumps({"user": args.user, "model": args.model,
                          "items": [{"item": str(item), "score": round(score, 4)} for item, score in top]}))
    else:
        known = "" if int(model.encode_users([args.user])[0]) >= 0 else " (unknown user: most liked overall)"
        print(f"top {len(top)} for user {args.user} by {args.model}{known}:")
        for rank, (item, score) in enumerate(top, 1):
            title = f"  {texts[item]}" if texts and item in texts else ""
            print(f"{rank:3d}. {item:<10} {score:.3f}{title}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "recommend" and args.k < 1:
        return fail(f"-k must be at least 1, got {args.k}")
    try:
        return _evaluate(args) if args.command == "evaluate" else _recommend(args)
    except ReelsmithError as exc:
        return fail(exc)


if __name__ == "__main__":
    sys.exit(main())
