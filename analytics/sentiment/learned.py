"""The learned sentiment model: a ridge-regression head on [sentence embedding, VADER features].

Features are the embedder's vector (all-MiniLM-L6-v2: 384 L2-normalised floats) followed by VADER's compound,
pos, neg and neu. The target is the human rating mapped linearly from its scale (e.g. -4..+4) to [-1, 1]; the
prediction is clipped to [-1, 1]. Ridge (L2, intercept not penalised) is solved in closed form with NumPy.

``DEFAULT_ALPHA`` = 10 was chosen on the two shared data sets as a compromise: 5-fold CV within a data set
peaks near alpha 3, training on one and testing on the other near 10-30 (a stronger pull towards the VADER
features travels better to new kinds of text). Extra VADER features (per-sentence min/max/mean, pos - neg, the
un-squashed valence) were tried and added nothing out of sample, so they are left out.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analytics.errors import InvalidData

from ..embeddings import MINILM_NAME, Embedder, get_embedder
from .base import check_texts
from .vader import VADER_FEATURES, vader_features

DEFAULT_ALPHA = 10.0
FORMAT = "reelsmith-sentiment-head"


def build_features(embeddings: np.ndarray, vader: np.ndarray) -> np.ndarray:
    """Join the embeddings ``(n, d)`` and the VADER features ``(n, 4)`` into the head's inputs ``(n, d + 4)``."""
    return np.hstack([np.asarray(embeddings, dtype=np.float64), np.asarray(vader, dtype=np.float64)])


def text_features(texts: Sequence[str], embedder: Embedder) -> np.ndarray:
    """The head's inputs for non-empty ``texts``."""
    emb = np.asarray(embedder.encode(list(texts)), dtype=np.float64)
    if emb.ndim != 2 or emb.shape[0] != len(texts):
        raise InvalidData(f"embedder {embedder.name!r} returned shape {emb.shape} for {len(texts)} texts")
    return build_features(emb, vader_features(texts))


def training_data(texts: Sequence[str], ratings: Sequence[float], *, scale: tuple[float, float],
                  embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """Features of the non-empty texts and their ratings mapped to [-1, 1] (``InvalidData`` if unusable)."""
    texts = check_texts(texts)
    try:
        y = np.asarray(ratings, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidData("ratings must be numbers") from None
    if y.shape != (len(texts),):
        raise InvalidData(f"got {len(texts)} texts but {y.size} ratings")
    keep = [i for i, t in enumerate(texts) if t.strip()]
    if len(keep) < 2:
        raise InvalidData("need at least 2 non-empty texts to train a sentiment head")
    return text_features([texts[i] for i in keep], embedder), to_unit(y[keep], scale)


def to_unit(ratings: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Map ratings linearly from ``scale = (low, high)`` to [-1, 1]."""
    low, high = float(scale[0]), float(scale[1])
    if not high > low:
        raise InvalidData(f"rating scale must have low < high, got {low}..{high}")
    return 2.0 * (np.asarray(ratings, dtype=np.float64) - low) / (high - low) - 1.0


@dataclass
class SentimentHead:
    """A trained linear head: ``score = clip(features @ weights + bias, -1, 1)``."""

    weights: np.ndarray = field(repr=False)
    bias: float
    embedder: str = MINILM_NAME
    alpha: float = DEFAULT_ALPHA
    scale: tuple[float, float] = (-1.0, 1.0)  # the rating scale it was trained on (for the record)
    n_train: int = 0
    source: str = ""

    @property
    def dim(self) -> int:
        """Size of the embedding the head expects."""
        return int(self.weights.shape[0]) - len(VADER_FEATURES)

    # -- fitting ---------------------------------------------------------------------------------------------
    @classmethod
    def fit_features(cls, features: np.ndarray, targets: np.ndarray, *, alpha: float = DEFAULT_ALPHA,
                     **meta: Any) -> SentimentHead:
        """Ridge regression of ``targets`` (already in [-1, 1]) on precomputed ``features``."""
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(targets, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
            raise InvalidData(f"need at least 2 rows of features and as many targets, got {x.shape} and {y.shape}")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise InvalidData("features and ratings must be finite numbers")
        if alpha < 0:
            raise InvalidData(f"alpha must be >= 0, got {alpha}")
        x_mean, y_mean = x.mean(axis=0), y.mean()
        xc = x - x_mean
        gram = xc.T @ xc + alpha * np.eye(x.shape[1])
        weights = np.linalg.lstsq(gram, xc.T @ (y - y_mean), rcond=None)[0]
        return cls(weights=weights, bias=float(y_mean - x_mean @ weights), alpha=float(alpha),
                   n_train=int(x.shape[0]), **meta)

    @classmethod
    def fit(cls, texts: Sequence[str], ratings: Sequence[float], *, scale: tuple[float, float] = (-1.0, 1.0),
            alpha: float = DEFAULT_ALPHA, embedder: Embedder | None = None, source: str = "") -> SentimentHead:
        """Train on labelled texts; ``ratings`` are on ``scale`` (e.g. ``(-4, 4)``). Empty texts are skipped."""
        emb = embedder or get_embedder()
        x, y = training_data(texts, ratings, scale=scale, embedder=emb)
        return cls.fit_features(x, y, alpha=alpha, embedder=emb.name, scale=(float(scale[0]), float(scale[1])),
                                source=source)

    # -- scoring ---------------------------------------------------------------------------------------------
    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Scores in [-1, 1] for precomputed features."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.weights.shape[0]:
            raise InvalidData(f"head expects {self.weights.shape[0]} features per text, got shape {x.shape}")
        return np.clip(x @ self.weights + self.bias, -1.0, 1.0)

    def score(self, texts: Sequence[str], *, embedder: Embedder | None = None) -> np.ndarray:
        """Scores in [-1, 1] for ``texts`` (0.0 for empty ones, which are not embedded)."""
        emb = embedder or get_embedder()
        if emb.name != self.embedder:
            raise InvalidData(f"this head was trained on {self.embedder!r} embeddings, not {emb.name!r}")
        out = np.zeros(len(texts), dtype=np.float64)
        keep = [i for i, t in enumerate(texts) if t.strip()]
        if keep:
            out[keep] = self.predict_features(text_features([texts[i] for i in keep], emb))
        return out

    # -- persistence -----------------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": 1, "embedder": self.embedder, "dim": self.dim,
                "features": [f"embedding[{self.dim}]", *VADER_FEATURES], "alpha": self.alpha,
                "scale": list(self.scale), "n_train": self.n_train, "source": self.source,
                "bias": self.bias, "weights": [float(w) for w in self.weights]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SentimentHead:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidData(f"not a sentiment head (expected format {FORMAT!r})")
        try:
            weights = np.asarray(data["weights"], dtype=np.float64)
            head = cls(weights=weights, bias=float(data["bias"]), embedder=str(data["embedder"]),
                       alpha=float(data.get("alpha", DEFAULT_ALPHA)),
                       scale=tuple(float(v) for v in data.get("scale", (-1.0, 1.0))),
                       n_train=int(data.get("n_train", 0)), source=str(data.get("source", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidData(f"sentiment head is malformed: {exc}") from exc
        if weights.ndim != 1 or head.dim < 1 or not np.isfinite(weights).all():
            raise InvalidData("sentiment head is malformed: weights must be a flat list of finite numbers")
        return head

    def save(self, path: str | Path) -> Path:
        """Write the head as JSON (``.json``) or NumPy (``.npz``: weights array + JSON metadata)."""
        path = Path(path)
        data = self.as_dict()
        if path.suffix == ".npz":
            weights = np.asarray(data.pop("weights"))
            np.savez(path, weights=weights, meta=np.array(json.dumps(data)))
        else:
            path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> SentimentHead:
        """Read a head written by ``save`` (raises ``InvalidData`` when it is missing or malformed)."""
        path = Path(path)
        try:
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as npz:
                    data = json.loads(str(npz["meta"]))
                    data["weights"] = npz["weights"].tolist()
            else:
                data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidData(f"cannot read sentiment head {path.name}: {exc}") from exc
        return cls.from_dict(data)


def fit(texts: Sequence[str], ratings: Sequence[float], **kwargs: Any) -> SentimentHead:
    """Train a new head on labelled texts (see ``SentimentHead.fit``)."""
    return SentimentHead.fit(texts, ratings, **kwargs)
