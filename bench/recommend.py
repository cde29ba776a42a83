"""Rating prediction: ``analytics.recommend`` (mf, knn, ncf, hybrid) vs Surprise (BaselineOnly, SVD, SVD++).

    .venv/bin/python bench/recommend.py                       # synthetic MovieLens-100k-like data (~3 min, 2 cores)
    .venv/bin/python bench/recommend.py --json                # the same as JSON
    .venv/bin/python bench/recommend.py --train u1.base --test u1.test [--items u.item]   # real MovieLens files
    .venv/bin/python bench/recommend.py --no-svdpp            # skip SVD++ (the slow one)

MovieLens cannot be downloaded here, so by default ``analytics.recommend.synthetic.movielens_like`` makes 943 users
x 1682 items, 100 000 integer ratings 1..5 (biases + 8 genre factors + noise 0.85, rounded; Zipf-like item
popularity, heavy-tailed user activity of at least 20, items chosen partly by taste) and one description per item;
a fixed random 80/20 split is written as ``u1.base`` / ``u1.test`` (tab-separated, MovieLens format) and the texts
as ``items.tsv`` in a temp folder, and read back with the project's reader, as real files would be.

Every model is fitted once on the training file and scored on every test pair (unknown users/items included).
``fit s`` is the wall time of ``fit``: for the project it includes encoding the ids (and, for ``hybrid``, embedding
all item texts with the bundled MiniLM); for Surprise it is ``algo.fit(trainset)`` alone, the trainset being built
beforehand (its time is printed separately). Surprise runs with its default parameters (``random_state=0`` added
for SVD/SVD++ so runs repeat). ``cold`` is the RMSE on the test ratings of items with fewer than 5 training ratings.
The target: our ``mf`` RMSE below SVD++'s, and its fit time no more than SVD's.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from analytics.embeddings import MiniLMEmbedder
from analytics.recommend import (
    MODELS,
    Ratings,
    create,
    errors,
    read_item_text,
    read_ratings,
)
from analytics.recommend.data import write_ratings
from analytics.recommend.synthetic import movielens_like, split


def synthetic_files(folder: Path, seed: int) -> tuple[Path, Path, Path]:
    ratings, texts = movielens_like(seed=seed)
    train, test = split(ratings, 0.2, seed=seed)
    write_ratings(train, folder / "u1.base")
    write_ratings(test, folder / "u1.test")
    (folder / "items.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in texts.items()), encoding="utf-8")
    return folder / "u1.base", folder / "u1.test", folder / "items.tsv"


def row(name: str, predicted: np.ndarray, test: Ratings, cold: np.ndarray, seconds: float) -> dict[str, object]:
    rmse, mae = errors(predicted, test.rating)
    cold_rmse = errors(predicted[cold], test.rating[cold])[0] if cold.any() else None
    return {"model": name, "rmse": rmse, "mae": mae, "cold_rmse": cold_rmse, "fit_seconds": seconds}


def run_ours(train: Ratings, test: Ratings, texts: dict[str, str] | None, cold: np.ndarray,
             seed: int) -> tuple[list[dict[str, object]], float]:
    rows, embed_seconds = [], 0.0
    for name in MODELS:
        params: dict[str, object] = {"seed": seed}
        if name == "hybrid":
            embedder = _TimedEmbedder(MiniLMEmbedder())
            params.update(item_text=texts, embedder=embedder)
        model = create(name, **params)
        start = time.perf_counter()
        model.fit(train)
        seconds = time.perf_counter() - start
        if name == "hybrid":
            embed_seconds = embedder.seconds
        rows.append(row(name, model.predict(test.user, test.item), test, cold, seconds))
        print(f"  {name}: done in {seconds:.2f} s", file=sys.stderr)
    return rows, embed_seconds


class _TimedEmbedder:
    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner, self.seconds = inner, 0.0

    def __call__(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        out = self.inner.encode(texts)
        self.seconds += time.perf_counter() - start
        return out


def run_surprise(train: Ratings, test: Ratings, cold: np.ndarray, svdpp: bool) -> tuple[list[dict[str, object]], float]:
    from surprise import SVD, BaselineOnly, Dataset, Reader, SVDpp

    start = time.perf_counter()
    lo, hi = train.scale
    frame = train.as_frame()[["user", "item", "rating"]]
    trainset = Dataset.load_from_df(frame, Reader(rating_scale=(lo, hi))).build_full_trainset()
    build_seconds = time.perf_counter() - start
    peers = [("surprise BaselineOnly", lambda: BaselineOnly(verbose=False)),
             ("surprise SVD", lambda: SVD(random_state=0))]
    if svdpp:
        peers.append(("surprise SVD++", lambda: SVDpp(random_state=0)))
    rows = []
    for name, make in peers:
        algo = make()
        start = time.perf_counter()
        algo.fit(trainset)
        seconds = time.perf_counter() - start
        predicted = np.array([algo.predict(u, i).est for u, i in zip(test.user, test.item)])
        rows.append(row(name, predicted, test, cold, seconds))
        print(f"  {name}: done in {seconds:.2f} s", file=sys.stderr)
    return rows, build_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, help="training ratings (MovieLens TSV); default: synthetic")
    parser.add_argument("--test", type=Path, help="test ratings (MovieLens TSV)")
    parser.add_argument("--items", type=Path, help="item texts for hybrid (item<TAB>text or MovieLens u.item)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-svdpp", action="store_true", help="skip Surprise SVD++")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if (args.train is None) != (args.test is None):
        parser.error("--train and --test go together")
    with tempfile.TemporaryDirectory() as folder:
        if args.train is None:
            args.train, args.test, args.items = synthetic_files(Path(folder), args.seed)
        train, test = read_ratings(args.train), read_ratings(args.test)
        texts = read_item_text(args.items) if args.items else None
    counts = dict(zip(*np.unique(train.item.astype(str), return_counts=True)))
    cold = np.array([counts.get(str(i), 0) < 5 for i in test.item])
    print(f"{len(train)} train / {len(test)} test ratings, {cold.sum()} on cold items", file=sys.stderr)
    ours, embed_seconds = run_ours(train, test, texts, cold, args.seed)
    peers, build_seconds = run_surprise(train, test, cold, not args.no_svdpp)
    rows = ours + peers
    by_name = {r["model"]: r for r in rows}
    mf, svd, svdpp = by_name["mf"], by_name["surprise SVD"], by_name.get("surprise SVD++")
    summary = {
        "train": len(train), "test": len(test), "cold_test": int(cold.sum()), "hybrid_embed_seconds": embed_seconds,
        "surprise_trainset_seconds": build_seconds,
        "mf_rmse_over_svdpp": mf["rmse"] / svdpp["rmse"] if svdpp else None,
        "mf_fit_over_svd": mf["fit_seconds"] / svd["fit_seconds"],
        "target_met": bool(svdpp and mf["rmse"] < svdpp["rmse"] and mf["fit_seconds"] <= svd["fit_seconds"]),
    }
    if args.json:
        print(json.dumps({"rows": rows, **summary}, indent=2))
        return 0
    print(f"{'model':<22} {'RMSE':>7} {'MAE':>7} {'cold':>7} {'fit s':>8}")
    for r in rows:
        cold = "-" if r["cold_rmse"] is None else f"{r['cold_rmse']:.4f}"
        print(f"{r['model']:<22} {r['rmse']:7.4f} {r['mae']:7.4f} {cold:>7} {r['fit_seconds']:8.3f}")
    print(f"\n{summary['train']} train / {summary['test']} test ratings ({summary['cold_test']} on items with < 5 "
          f"training ratings); hybrid's fit includes {embed_seconds:.1f} s of MiniLM embedding; Surprise's trainset "
          f"took {build_seconds:.2f} s to build (not in its fit time)")
    if svdpp:
        print(f"our MF RMSE / SVD++ RMSE: {summary['mf_rmse_over_svdpp']:.4f}")
    print(f"our MF fit / SVD fit:     {summary['mf_fit_over_svd']:.3f}")
    verdict = "met" if summary["target_met"] else "NOT met" if svdpp else "unknown (SVD++ skipped)"
    print(f"target (RMSE < SVD++ and fit <= SVD): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
