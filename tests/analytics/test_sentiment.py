"""Comment sentiment: VADER, the learned head (fake embedder and the real bundled MiniLM), labels and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.errors import InvalidData
from analytics.sentiment import (
    DEFAULT_HEAD_PATH,
    SentimentHead,
    default_head,
    fit,
    label_scores,
    label_texts,
    resolve_method,
    score_texts,
    scoring,
)
from analytics.sentiment.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
POSITIVE = ["I absolutely love this video, it is wonderful!", "Great editing, beautiful music, thank you so much."]
NEGATIVE = ["This is terrible, I hate it and it wasted my time.", "Awful sound, boring and ugly. Worst video ever."]

# A made-up vocabulary VADER does not know, so that only the embedding can carry the sentiment.
GOOD = ["blorf", "zindle", "quap", "frenzo", "mivvy", "tasko"]
BAD = ["grulk", "snerp", "vosh", "plimb", "drezz", "koob"]
FILLER = ["the", "a", "clip", "frame", "scene", "cut", "edit", "shot", "take", "reel"]
VOCAB = GOOD + BAD + FILLER


class BagOfWords:
    """A fake embedder: word counts over ``VOCAB``; records every text it was asked to encode."""

    name = "fake-bow"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen += list(texts)
        out = np.zeros((len(texts), len(VOCAB)), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                if word in VOCAB:
                    out[i, VOCAB.index(word)] += 1
        return out


def _generated(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts of 4-9 words and ratings on -4..+4 (+1 per good word, -1 per bad word, plus noise)."""
    rng = np.random.default_rng(seed)
    texts, ratings = [], []
    for _ in range(n):
        words = list(rng.choice(VOCAB, size=rng.integers(4, 10)))
        texts.append(" ".join(words))
        value = sum(w in GOOD for w in words) - sum(w in BAD for w in words) + rng.normal(0, 0.3)
        ratings.append(float(np.clip(value, -4, 4)))
    return texts, np.asarray(ratings)


# -- VADER ----------------------------------------------------------------------------------------------------
def test_vader_signs_and_range():
    scores = score_texts(POSITIVE + NEGATIVE + ["The video is 12 minutes long."], method="vader")
    assert (scores[:2] > 0.5).all() and (scores[2:4] < -0.5).all()
    assert abs(scores[4]) < 0.05
    assert label_scores(scores, 0.05) == ["positive"] * 2 + ["negative"] * 2 + ["neutral"]


@pytest.mark.parametrize("method", ["vader", "learned", "blend"])
def test_empty_text_is_neutral_and_not_embedded(method):
    embedder = BagOfWords()
    head = fit(*_generated(60, 0), scale=(-4, 4), embedder=embedder)
    embedder.seen.clear()
    scores = score_texts(["", "   \n", "blorf zindle quap"], method=method, head=head, embedder=embedder)
    assert scores[0] == 0.0 and scores[1] == 0.0
    assert embedder.seen == ([] if method == "vader" else ["blorf zindle quap"])
    assert score_texts([], method="learned").shape == (0,)


def test_bad_input_is_invalid_data():
    with pytest.raises(InvalidData, match=r"texts\[1\] is int"):
        score_texts(["fine", 3], method="vader")
    with pytest.raises(InvalidData, match="single string"):
        score_texts("just one string", method="vader")
    with pytest.raises(InvalidData, match="unknown sentiment method"):
        score_texts(["x"], method="magic")
    with pytest.raises(InvalidData, match="ratings"):
        fit(["a b", "c d"], [1.0], embedder=BagOfWords())


# -- learned head with a fake embedder ---------------------------------------------------------------------------
def test_learned_head_learns_from_fake_embeddings(tmp_path):
    embedder = BagOfWords()
    train_texts, train_ratings = _generated(400, 1)
    test_texts, test_ratings = _generated(150, 2)
    head = fit(train_texts, train_ratings, scale=(-4, 4), alpha=1.0, embedder=embedder)
    assert head.embedder == "fake-bow" and head.n_train == 400 and head.dim == len(VOCAB)
    scores = score_texts(test_texts, method="learned", head=head, embedder=embedder)
    assert np.corrcoef(scores, test_ratings)[0, 1] > 0.8
    assert (np.abs(scores) <= 1).all()
    # both file formats give the same head back
    for name in ("head.json", "head.npz"):
        again = SentimentHead.load(head.save(tmp_path / name))
        np.testing.assert_allclose(again.score(test_texts, embedder=embedder), scores)
        assert again.scale == (-4.0, 4.0)


def test_head_refuses_other_embedder_and_bad_files(tmp_path):
    head = fit(*_generated(40, 3), embedder=BagOfWords())
    other = BagOfWords()
    other.name = "another-model"
    with pytest.raises(InvalidData, match="fake-bow"):
        head.score(["blorf"], embedder=other)
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(InvalidData, match="not a sentiment head"):
        SentimentHead.load(tmp_path / "bad.json")
    with pytest.raises(InvalidData, match="cannot read"):
        SentimentHead.load(tmp_path / "missing.json")


def test_auto_falls_back_to_vader_when_head_missing(monkeypatch):
    def broken():
        raise InvalidData("cannot read sentiment head default_head.json")

    monkeypatch.setattr(scoring, "default_head", broken)
    assert resolve_method("auto") == "vader"
    np.testing.assert_allclose(score_texts(POSITIVE, method="auto"), score_texts(POSITIVE, method="vader"))


# -- the real bundled MiniLM and the shipped head ----------------------------------------------------------------
def test_shipped_head_with_real_minilm():
    head = default_head()
    assert DEFAULT_HEAD_PATH.stat().st_size < 100_000 and head.dim == 384 and head.n_train > 1000
    texts = POSITIVE + NEGATIVE + [""]
    for method in ("learned", "blend", "auto"):
        scores = score_texts(texts, method=method)
        assert (scores[:2] > 0.2).all() and (scores[2:4] < -0.2).all(), (method, scores)
        assert (np.abs(scores) <= 1).all() and scores[4] == 0.0
    assert label_texts(texts, "learned") == ["positive"] * 2 + ["negative"] * 2 + ["neutral"]


# -- CLI ---------------------------------------------------------------------------------------------------------
def _csv(path: Path, texts: list[str], **columns) -> Path:
    pd.DataFrame({"comment": texts, **columns}).to_csv(path, index=False)
    return path


def test_cli_score_json_round_trip(tmp_path, capsys):
    texts = POSITIVE + ["", "a, quoted \"comma\" line"] + NEGATIVE
    csv = _csv(tmp_path / "c.csv", texts)
    assert main(["score", "--csv", str(csv), "--text-column", "comment", "--method", "vader", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert len(scores) == len(texts) and scores[2] == 0.0
    np.testing.assert_allclose(scores, score_texts(texts, method="vader"), atol=1e-4)
    assert main(["score", "--csv", str(csv), "--text-column", "comment", "--method", "vader", "--jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["row"] for r in rows] == list(range(len(texts))) and rows[0]["label"] == "positive"


def test_cli_train_then_score_with_head(tmp_path, capsys):
    texts = POSITIVE * 5 + NEGATIVE * 5 + ["The clip is 40 seconds long."] * 4
    ratings = [5] * 10 + [1] * 10 + [3] * 4
    csv = _csv(tmp_path / "rated.csv", texts, stars=ratings)
    out = tmp_path / "head.json"
    assert main(["train", "--csv", str(csv), "--text-column", "comment", "--rating-column", "stars",
                 "--scale", "1", "5", "--out", str(out)]) == 0
    assert "in-sample r" in capsys.readouterr().err
    assert main(["score", "--csv", str(csv), "--text-column", "comment", "--head", str(out), "--json"]) == 0
    scores = np.asarray(json.loads(capsys.readouterr().out))
    assert (scores[:10] > 0).all() and (scores[10:20] < 0).all()


def test_cli_errors_exit_2_without_traceback(tmp_path):
    csv = _csv(tmp_path / "c.csv", POSITIVE)
    garbage = tmp_path / "g.csv"
    garbage.write_bytes(b"\xff\xfe\x00\x81 not utf-8 \x00\xff")
    cases = [(["score", "--csv", str(csv), "--text-column", "text"], "no column 'text'"),
             (["score", "--csv", str(tmp_path / "nope.csv")], "no such file"),
             (["score", "--csv", str(garbage)], "cannot read"),
             (["train", "--csv", str(csv), "--text-column", "comment", "--rating-column", "comment",
               "--scale", "-4", "4", "--out", str(tmp_path / "h.json")], "not a number")]
    for argv, message in cases:
        done = subprocess.run([sys.executable, "-m", "analytics.sentiment", *argv], cwd=ROOT, check=False,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
