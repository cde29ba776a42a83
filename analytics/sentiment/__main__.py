"""Command line: score the texts of a CSV, or train a new head on a rated CSV.

    python -m analytics.sentiment score --csv comments.csv --text-column text --json
    python -m analytics.sentiment train --csv rated.csv --rating-column mean_rating --scale -4 4 --out head.json
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.errors import InvalidData
from engines.cli import fail

from ..embeddings import get_embedder
from .base import label_scores
from .learned import DEFAULT_ALPHA, SentimentHead, training_data
from .scoring import METHODS, band_for, resolve_method, score_texts

SCORE_HELP = """Prints one score per CSV row, in the rows' order, each in [-1, 1] (< 0 negative, > 0 positive,
0.0 for an empty cell). Output: by default one line per row, "SCORE<TAB>LABEL"; with --json a single JSON list of
numbers, item i being row i's score; with --jsonl one JSON object per line, {"row": i, "score": s, "label": l}
(row counted from 0, header excluded). Labels use a neutral band of +-0.125 (+-0.05, VADER's own, for
--method vader)."""


def _read_csv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """The CSV with every cell as a string ('' for empty cells); ``InvalidData`` if unreadable or lacking a column."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InvalidData(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidData(f"{path}: cannot read as CSV ({str(exc).strip() or type(exc).__name__})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none"
        raise InvalidData(f"{path}: no column {', '.join(map(repr, missing))} (columns: {have})")
    return frame


def _score(args: argparse.Namespace) -> int:
    frame = _read_csv(args.csv, [args.text_column])
    head = SentimentHead.load(args.head) if args.head else None
    method = resolve_method(args.method, head=head)
    texts = frame[args.text_column].tolist()
    scores = score_texts(texts, method, head=head)
    rounded = [round(float(s), 4) for s in scores]
    if args.json:
        print(json.dumps(rounded))
        return 0
    labels = label_scores(scores, band_for(method))
    for i, (score, label) in enumerate(zip(rounded, labels)):
        print(json.dumps({"row": i, "score": score, "label": label}) if args.jsonl else f"{score:.4f}\t{label}")
    return 0


def _train(args: argparse.Namespace) -> int:
    low, high = args.scale
    texts: list[str] = []
    ratings: list[float] = []
    for path in args.csv:
        frame = _read_csv(path, [args.text_column, args.rating_column])
        values = pd.to_numeric(frame[args.rating_column].str.strip(), errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
        if bad.size:
            raise InvalidData(f"{path}: column {args.rating_column!r} row {int(bad[0])} is not a number "
                              f"({frame[args.rating_column].iloc[bad[0]]!r})")
        texts += frame[args.text_column].tolist()
        ratings += values.tolist()
    source = "trained on " + ", ".join(p.name for p in args.csv) + (f"; {args.source}" if args.source else "")
    embedder = get_embedder()
    features, target = training_data(texts, ratings, scale=(low, high), embedder=embedder)
    head = SentimentHead.fit_features(features, target, alpha=args.alpha, embedder=embedder.name,
                                      scale=(low, high), source=source)
    head.save(args.out)
    fitted = head.predict_features(features)
    r = float(np.corrcoef(fitted, target)[0, 1]) if np.std(target) > 0 and np.std(fitted) > 0 else float("nan")
    print(f"wrote {args.out}: {head.n_train} texts, alpha {head.alpha:g}, in-sample r {r:.3f} "
          f"(optimistic: measure held-out data with bench/sentiment.py)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics.sentiment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="one sentiment score per CSV row", description=SCORE_HELP)
    score.add_argument("--csv", type=Path, required=True, help="CSV file with a header row")
    score.add_argument("--text-column", default="text", help="column holding the texts (default: text)")
    score.add_argument("--method", choices=METHODS, default="auto",
                       help="auto (learned head if it loads, else vader), vader, learned, blend (default: auto)")
    score.add_argument("--head", type=Path, help="a head written by 'train' (default: the shipped one)")
    out = score.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON list: item i is row i's score")
    out.add_argument("--jsonl", action="store_true", help='print {"row": i, "score": s, "label": l} per line')
    train = sub.add_parser("train", help="fit a new head (ridge on MiniLM + VADER features) on rated texts")
    train.add_argument("--csv", type=Path, action="append", required=True, help="rated CSV (repeat for more)")
    train.add_argument("--text-column", default="text", help="column holding the texts (default: text)")
    train.add_argument("--rating-column", default="rating", help="column holding the ratings (default: rating)")
    train.add_argument("--scale", type=float, nargs=2, metavar=("LOW", "HIGH"), required=True,
                       help="the ratings' scale, mapped to [-1, 1] (e.g. -4 4, or 1 5 for stars)")
    train.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help=f"ridge penalty (default {DEFAULT_ALPHA:g})")
    train.add_argument("--source", default="", help="a note on the data and its licence, stored in the head")
    train.add_argument("--out", type=Path, required=True, help="where to write the head (.json or .npz)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _score(args) if args.command == "score" else _train(args)
    except (InvalidData, ImportError, OSError) as exc:
        return fail(exc)


if __name__ == "__main__":
    sys.exit(main())
