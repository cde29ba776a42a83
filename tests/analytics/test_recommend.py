"""Recommenders: planted low-rank data, cold start through text, clipping, unknown ids, the command line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analytics.embeddings import get_embedder
from analytics.errors import InvalidData
from analytics.recommend import (
    MODELS,
    BiasedMF,
    HybridMF,
    ItemKNN,
    NeuralCF,
    Ratings,
    create,
    errors,
    read_item_text,
    read_ratings,
    write_ratings,
)
from analytics.recommend.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
FAST = {"ncf": {"epochs": 8}}  # keep the contract tests quick


def planted(n_users: int = 150, n_items: int = 120, rank: int = 3, noise: float = 0.1, density: float = 0.5,
            seed: int = 0) -> tuple[Ratings, Ratings]:
    """μ + b_u + b_i + p_uᵀq_i + noise on a random ``density`` of the matrix; 80/20 split of those entries."""
    rng = np.random.default_rng(seed)
    bu, bi = rng.normal(0, 0.5, n_users), rng.normal(0, 0.5, n_items)
    p, q = rng.normal(0, 0.6, (n_users, rank)), rng.normal(0, 0.6, (n_items, rank))
    u, i = np.nonzero(rng.random((n_users, n_items)) < density)
    r = 3.0 + bu[u] + bi[i] + np.einsum("nk,nk->n", p[u], q[i]) + rng.normal(0, noise, len(u))
    data = Ratings(_obj(u), _obj(i), r)
    test = rng.random(len(u)) < 0.2
    return data.take(~test), data.take(test)


def _obj(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [int(v) for v in values]
    return out


def rmse_of(model, test: Ratings) -> float:
    return errors(model.predict(test.user, test.item), test.rating)[0]


def bias_only_rmse(train: Ratings, test: Ratings) -> float:
    """RMSE of μ + b_u + b_i (an MF with one factor and a huge factor penalty is exactly that)."""
    return rmse_of(BiasedMF(factors=1, reg=1e6).fit(train), test)


@pytest.fixture(scope="module")
def data() -> tuple[Ratings, Ratings]:
    return planted()


def test_mf_recovers_planted_low_rank_matrix(data):
    train, test = data
    model = BiasedMF(factors=3, reg=0.01, reg_bias=0.5, epochs=20).fit(train)
    rmse = rmse_of(model, test)
    mean_rmse = float(np.sqrt(np.mean((test.rating - train.rating.mean()) ** 2)))
    bias_rmse = bias_only_rmse(train, test)
    assert rmse < 0.13  # the noise is 0.1
    assert rmse < 0.25 * bias_rmse < 0.25 * mean_rmse
    # the defaults (10 factors, penalties tuned for noisy MovieLens-like data) shrink harder but still learn a lot
    assert rmse_of(BiasedMF().fit(train), test) < 0.6 * bias_rmse


def test_mf_is_deterministic_for_a_seed(data):
    train, test = data
    a = BiasedMF(seed=3).fit(train).predict(test.user, test.item)
    b = BiasedMF(seed=3).fit(train).predict(test.user, test.item)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("model", [ItemKNN(k=30), NeuralCF(epochs=15)], ids=["knn", "ncf"])
def test_knn_and_ncf_beat_global_mean_and_biases(data, model):
    train, test = data
    mean_rmse = float(np.sqrt(np.mean((test.rating - train.rating.mean()) ** 2)))
    rmse = rmse_of(model.fit(train), test)
    assert rmse < 0.8 * mean_rmse
    assert rmse < 0.9 * bias_only_rmse(train, test)


GENRE_WORDS = {"space": ["space", "aliens", "starship", "robots"], "love": ["love", "wedding", "kiss", "romance"]}
VOCAB = sorted(w for words in GENRE_WORDS.values() for w in words) + ["film", "story"]


def fake_embedder(texts: list[str]) -> np.ndarray:
    """Bag of words over a tiny vocabulary: texts sharing genre words are close."""
    return np.array([[float(w in t.lower().split()) for w in VOCAB] for t in texts]) + 1e-3


def cold_start_data(seed: int = 1) -> tuple[Ratings, dict[str, str], dict[str, float]]:
    """Space films are liked (+1), love stories disliked (−1); item ``cold`` (space) has no ratings."""
    rng = np.random.default_rng(seed)
    genre = {f"m{j}": ("space" if j % 2 else "love") for j in range(40)}
    text = {m: f"a {' '.join(rng.choice(GENRE_WORDS[g], 2, replace=False))} film" for m, g in genre.items()}
    text["cold"] = "robots and aliens on a starship"
    rows = [(f"u{u}", m, float(np.clip(3 + (1 if g == "space" else -1) + rng.normal(0, 0.3), 1, 5)))
            for u in range(60) for m, g in genre.items() if rng.random() < 0.5]
    truth = {f"u{u}": 4.0 for u in range(60)}
    return Ratings.from_records(rows), text, truth


def test_hybrid_predicts_a_cold_item_from_its_text():
    ratings, text, truth = cold_start_data()
    users = list(truth)
    model = HybridMF(text, embedder=fake_embedder).fit(ratings)
    predicted = model.predict(users, ["cold"] * len(users))
    mean = float(ratings.rating.mean())
    assert abs(mean - 4.0) > 0.8
    assert np.abs(predicted - 4.0).mean() < 0.3 * abs(mean - 4.0)
    # the plain MF knows nothing of the item: global mean + user bias
    plain = BiasedMF().fit(ratings).predict(users, ["cold"] * len(users))
    assert np.abs(plain - 4.0).mean() > 0.8
    # and the cold item can be recommended
    assert "cold" in [item for item, _ in model.recommend("u0", k=25)]
    # without texts the hybrid is the plain MF
    np.testing.assert_allclose(HybridMF().fit(ratings).predict(users, ["m1"] * len(users)),
                               BiasedMF().fit(ratings).predict(users, ["m1"] * len(users)))


def test_hybrid_with_the_bundled_minilm():
    embed = get_embedder().encode
    vectors = embed(["A starship crew fights aliens in deep space.",
                     "Robots and spaceships battle near a distant planet.",
                     "Two strangers fall in love at a summer wedding."])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
    ratings, text, _ = cold_start_data()
    model = HybridMF(text, embedder=embed).fit(ratings)
    assert model.predict(["u0"], ["cold"])[0] > float(ratings.rating.mean()) + 0.5


@pytest.mark.parametrize("name", list(MODELS))
def test_contract(data, name):
    train, test = data
    model = create(name, seed=1, **FAST.get(name, {}))
    assert model.fit(train.as_frame()) is model  # DataFrames are accepted too
    predicted = model.predict(test.user, test.item)
    assert predicted.shape == (len(test),) and np.isfinite(predicted).all()
    lo, hi = train.scale
    assert predicted.min() >= lo and predicted.max() <= hi
    seen = set(train.item[train.user == 0])
    top = model.recommend(0, k=5)
    assert len(top) == 5 and not seen & {item for item, _ in top}
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    again = create(name, seed=1, **FAST.get(name, {})).fit(train).predict(test.user, test.item)
    np.testing.assert_allclose(predicted, again, atol=1e-6)


@pytest.mark.parametrize("name", list(MODELS))
def test_predictions_are_clipped_to_the_scale(data, name):
    train, test = data
    model = create(name, **FAST.get(name, {})).fit(train)
    raw = model._predict(model.encode_users(test.user), model.encode_items(test.item))
    lo, hi = train.scale
    predicted = model.predict(test.user, test.item)
    assert predicted.min() >= lo and predicted.max() <= hi
    np.testing.assert_allclose(predicted, np.clip(raw, lo, hi))
    # a narrower scale than the data's: the extremes are cut off
    assert (raw > 3.5).any() and (raw < 2.5).any()
    narrow = create(name, scale=(2.5, 3.5), **FAST.get(name, {})).fit(train)
    predicted = narrow.predict(test.user, test.item)
    assert predicted.min() == 2.5 and predicted.max() == 3.5
    assert all(2.5 <= score <= 3.5 for _, score in narrow.recommend(test.user[0], k=50))


def test_unknown_users_and_items(data):
    train, _ = data
    model = BiasedMF().fit(train)
    item = train.item[0]
    cold_user = model.predict(["nobody"], [item])[0]
    assert cold_user == pytest.approx(model.mu_ + model.bi_[model.encode_items([item])[0]])
    assert model.predict(["nobody"], ["nothing"])[0] == pytest.approx(model.mu_)
    user = train.user[0]
    assert model.predict([user], ["nothing"])[0] == pytest.approx(model.mu_ + model.bu_[model.encode_users([user])[0]])
    top = model.recommend("nobody", k=3)
    best = int(np.argmax(model.bi_))
    assert top[0][0] == model.item_ids_[best]
    for name in MODELS:
        other = create(name, **FAST.get(name, {})).fit(train)
        assert np.isfinite(other.predict(["nobody", user], ["nothing", "nothing"])).all()


def test_bad_input_raises_invalid_data(tmp_path, data):
    with pytest.raises(InvalidData, match="no rows"):
        Ratings.from_records([])
    with pytest.raises(InvalidData, match="missing column"):
        Ratings.from_frame(data[0].as_frame().drop(columns=["rating"]))
    with pytest.raises(InvalidData, match="call fit"):
        BiasedMF().predict([1], [1])
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t2\t3\t100\n1\t2\n")
    with pytest.raises(InvalidData, match=r"bad.tsv:2: expected 3 or 4 tab-separated fields, found 2"):
        read_ratings(bad)
    bad.write_text("1\t2\t3\tnoon\n")
    with pytest.raises(InvalidData, match=r"bad.tsv:1: timestamp 'noon' is not an integer"):
        read_ratings(bad)


def test_read_item_text_movielens_and_tsv(tmp_path):
    item = tmp_path / "u.item"
    item.write_text("1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                    "2|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n")
    assert read_item_text(item) == {"1": "Toy Story (1995): Animation, Children's, Comedy",
                                    "2": "GoldenEye (1995): Action, Adventure, Thriller"}
    item.write_text("m1\tA space opera | with robots\n\nm2\tA love story\n")
    assert read_item_text(item) == {"m1": "A space opera | with robots", "m2": "A love story"}
    item.write_text("just one field\n")
    with pytest.raises(InvalidData, match="u.item:1"):
        read_item_text(item)


def movielens_files(tmp_path: Path) -> tuple[Path, Path]:
    train, test = planted(n_users=80, n_items=60, noise=0.4, density=0.4, seed=5)
    for part, name in ((train, "u1.base"), (test, "u1.test")):
        stamps = np.arange(len(part)) + 880_000_000
        write_ratings(Ratings(part.user, part.item, np.clip(np.rint(part.rating), 1, 5), stamps), tmp_path / name)
    return tmp_path / "u1.base", tmp_path / "u1.test"


def test_cli_evaluate_json_and_table(tmp_path, capsys):
    base, test = movielens_files(tmp_path)
    assert read_ratings(base).timestamp is not None
    assert main(["evaluate", "--train", str(base), "--test", str(test), "--models", "mf,knn", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["model"] for line in lines] == ["mf", "knn"]
    for line in lines:
        assert set(line) == {"model", "rmse", "mae", "fit_seconds"}
        assert 0 < line["mae"] <= line["rmse"] < 1.0 and line["fit_seconds"] >= 0
    assert main(["evaluate", "--train", str(base), "--test", str(test), "--models", "mf"]) == 0
    table = capsys.readouterr().out
    assert "RMSE" in table and table.splitlines()[1].startswith("mf")
    assert main(["evaluate", "--train", str(base), "--test", str(test), "--models", "svd"]) == 2
    assert "unknown model(s) svd" in capsys.readouterr().err


def test_cli_recommend(tmp_path, capsys):
    base, _ = movielens_files(tmp_path)
    assert main(["recommend", "--train", str(base), "--user", "3", "-k", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    seen = {line.split("\t")[1] for line in base.read_text().splitlines() if line.split("\t")[0] == "3"}
    assert len(out["items"]) == 4 and not seen & {x["item"] for x in out["items"]}


def test_cli_malformed_line_exits_2_with_a_clear_message(tmp_path):
    base, test = movielens_files(tmp_path)
    lines = base.read_text().splitlines()
    lines[2] = "7\t12\tfive\t881250949"
    base.write_text("\n".join(lines) + "\n")
    done = subprocess.run([sys.executable, "-m", "analytics.recommend", "evaluate", "--train", str(base), "--test",
                           str(test), "--json"], check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {base}:3: rating 'five' is not a number"
    assert done.stdout == ""
