"""Comment sentiment: the learned head (ridge on MiniLM embeddings + VADER features) against VADER itself.

    .venv/bin/python bench/sentiment.py           # table and ratios (~1-3 min on 2 cores the first time)
    .venv/bin/python bench/sentiment.py --json    # the same as JSON; --folds N, --alpha A

Data: VADER's human-rated snippets in ``../shared/data/sentiment/`` (relative to the repository root; skipped with
a message when absent): ``amazonReviewSnippets.csv`` and ``nytEditorialSnippets.csv``, ``mean_rating`` being the
mean of about 20 ratings on -4..+4. Truth on the score scale is ``mean_rating / 4``.

The learned figures are out of sample only (the shipped head, which saw both files, is not used here):

* ``5-fold CV``: within one data set, a seeded shuffle into 5 folds; a new head is fitted from scratch on 4 folds
  and scores the 5th, so every row is scored by a head that never saw it;
* ``A -> B``: a head fitted on all of data set A scores all of data set B (a new kind of text).

Embeddings are computed once per data set (cached in the temp folder, keyed by a hash of the model and texts).
VADER needs no training, so its figures are on the same test rows as-is.

Metrics: Pearson r against ``mean_rating``; 3-class accuracy against the human classes (negative < -0.5 <=
neutral <= +0.5 < positive on -4..+4). Scores in [-1, 1] are on the rating scale divided by 4, so the same band
is +-0.125 there (``acc``); VADER is also scored with its own +-0.05 compound band (``acc .05``).
``blend`` is the studio's ``method="blend"``: 0.75 learned + 0.25 VADER. ``ratio`` is learned r / VADER r.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from analytics.sentiment import (
    BLEND_VADER_WEIGHT,
    DEFAULT_ALPHA,
    NEUTRAL_BAND,
    VADER_BAND,
    SentimentHead,
    get_embedder,
    vader_features,
)
from analytics.sentiment.learned import build_features

DATA = ROOT.parent / "shared" / "data" / "sentiment"
FILES = {"amazon": "amazonReviewSnippets.csv", "nyt": "nytEditorialSnippets.csv"}
SEED = 0


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def classes(x: np.ndarray, band: float) -> np.ndarray:
    return np.where(x < -band, 0, np.where(x > band, 2, 1))


def accuracy(pred: np.ndarray, truth: np.ndarray, band: float = NEUTRAL_BAND) -> float:
    """Share of rows whose class (band ``band`` on ``pred``) is the human class (+-0.125 on ``truth``)."""
    return float((classes(pred, band) == classes(truth, NEUTRAL_BAND)).mean())


def embed(texts: list[str]) -> tuple[np.ndarray, float]:
    """MiniLM embeddings of ``texts`` (from the temp-folder cache when the same texts were embedded before)."""
    embedder = get_embedder()
    key = hashlib.sha256("\x00".join([embedder.name, *texts]).encode("utf-8")).hexdigest()[:20]
    cache = Path(tempfile.gettempdir()) / f"reelsmith-sentiment-{key}.npy"
    if cache.exists():
        return np.load(cache), 0.0
    start = time.perf_counter()
    vectors = embedder.encode(texts)
    seconds = time.perf_counter() - start
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(cache)
    return vectors, seconds


def load(name: str) -> dict:
    frame = pd.read_csv(DATA / FILES[name], dtype={"text": str}, keep_default_na=False)
    texts = frame["text"].tolist()
    vader = vader_features(texts)
    embeddings, seconds = embed(texts)
    print(f"{name}: {len(texts)} snippets, embedded in {seconds:.1f} s" + (" (cached)" if seconds == 0 else ""),
          file=sys.stderr)
    return {"x": build_features(embeddings, vader), "vader": vader[:, 0], "y": frame["mean_rating"].to_numpy() / 4}


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, alpha: float) -> np.ndarray:
    return SentimentHead.fit_features(x_train, y_train, alpha=alpha).predict_features(x_test)


def cross_validate(data: dict, folds: int, alpha: float) -> np.ndarray:
    """Out-of-fold predictions: every row scored by a head fitted from scratch without its fold."""
    order = np.random.default_rng(SEED).permutation(len(data["y"]))
    pred = np.zeros(len(data["y"]))
    for test in np.array_split(order, folds):
        train = np.setdiff1d(order, test)
        pred[test] = fit_predict(data["x"][train], data["y"][train], data["x"][test], alpha)
    return pred


def row(data: str, evaluation: str, learned: np.ndarray, vader: np.ndarray, truth: np.ndarray) -> dict:
    blend = np.clip((1 - BLEND_VADER_WEIGHT) * learned + BLEND_VADER_WEIGHT * vader, -1, 1)
    r_vader, r_learned = pearson(vader, truth), pearson(learned, truth)
    return {"data": data, "eval": evaluation, "n": len(truth), "vader_r": r_vader, "learned_r": r_learned,
            "blend_r": pearson(blend, truth), "ratio": r_learned / r_vader,
            "vader_acc_05": accuracy(vader, truth, VADER_BAND), "vader_acc": accuracy(vader, truth),
            "learned_acc": accuracy(learned, truth), "blend_acc": accuracy(blend, truth),
            "majority_acc": float(np.bincount(classes(truth, NEUTRAL_BAND)).max() / len(truth))}


def run(folds: int, alpha: float) -> list[dict]:
    sets = {name: load(name) for name in FILES}
    rows = [row(name, f"{folds}-fold CV", cross_validate(d, folds, alpha), d["vader"], d["y"])
            for name, d in sets.items()]
    for src, dst in (("amazon", "nyt"), ("nyt", "amazon")):
        a, b = sets[src], sets[dst]
        rows.append(row(dst, f"trained on {src}", fit_predict(a["x"], a["y"], b["x"], alpha), b["vader"], b["y"]))
    return rows


def print_table(rows: list[dict], alpha: float) -> None:
    head = (f"{'test data':<9} {'learned head':<17} {'n':>5} | {'VADER r':>7} {'learned r':>9} {'blend r':>7} "
            f"{'ratio':>5} | {'VADER acc .05':>13} {'VADER acc':>9} {'learned acc':>11} {'blend acc':>9} "
            f"{'majority':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['data']:<9} {r['eval']:<17} {r['n']:>5} | {r['vader_r']:>7.3f} {r['learned_r']:>9.3f} "
              f"{r['blend_r']:>7.3f} {r['ratio']:>5.2f} | {r['vader_acc_05']:>13.3f} {r['vader_acc']:>9.3f} "
              f"{r['learned_acc']:>11.3f} {r['blend_acc']:>9.3f} {r['majority_acc']:>8.3f}")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("vader_r", "learned_r", "learned_acc", "vader_acc")}
    print(f"\nmean over the {len(rows)} rows: learned r {mean['learned_r']:.3f} vs VADER r {mean['vader_r']:.3f} "
          f"(ratio {mean['learned_r'] / mean['vader_r']:.2f}); 3-class acc {mean['learned_acc']:.3f} vs "
          f"{mean['vader_acc']:.3f} (alpha {alpha:g}; all learned figures out of sample)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--folds", type=int, default=5, help="folds of the within-data-set CV (default 5)")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="ridge penalty of the heads")
    args = parser.parse_args(argv)
    missing = [f for f in FILES.values() if not (DATA / f).is_file()]
    if missing:
        print(f"skipped: {', '.join(missing)} not found in {DATA}")
        return 0
    rows = run(args.folds, args.alpha)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_table(rows, args.alpha)
    return 0


if __name__ == "__main__":
    sys.exit(main())
