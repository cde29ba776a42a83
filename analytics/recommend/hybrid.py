"""Hybrid for cold start: matrix factorisation whose item factors and biases are also predicted from item text."""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence

import numpy as np
from scipy import sparse

from analytics.errors import InvalidData

from ..embeddings import get_embedder
from .mf import BiasedMF

Embedder = Callable[[Sequence[str]], np.ndarray]
RIDGE_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


class HybridMF(BiasedMF):
    """:class:`BiasedMF` whose item factors and biases are shrunk towards predictions from the item's text instead
    of towards zero. After the plain MF fit, a ridge regression from text embeddings to ``[q_i, b_i]`` is learnt on
    the items with at least ``min_ratings`` ratings (on all rated items if fewer than three have that; the ridge
    penalty is picked from a grid by exact leave-one-out error), then ``refine_epochs`` more ALS epochs run with
    that prior. Items with few ratings lean on their text; items that appear only in ``item_text`` (no ratings) get
    the text prediction itself, so they can be predicted and recommended (cold start).

    ``embedder`` maps a list of texts to an ``(n, d)`` array; by default the bundled MiniLM (shared, loaded once per process).
    Without ``item_text`` this is exactly :class:`BiasedMF`."""

    name = "hybrid"

    def __init__(self, item_text: Mapping[Hashable, str] | None = None, embedder: Embedder | None = None,
                 min_ratings: int = 20, refine_epochs: int = 3, factors: int = 10, epochs: int = 5,
                 reg: float = 0.1, reg_bias: float = 5.0, prior_count: float = 20.0, *,
                 scale: tuple[float, float] | None = None, seed: int = 0) -> None:
        super().__init__(factors, epochs, reg, reg_bias, prior_count, scale=scale, seed=seed)
        if min_ratings < 1 or refine_epochs < 1:
            raise InvalidData("hybrid: min_ratings and refine_epochs must be at least 1")
        self.item_text = dict(item_text or {})
        self.embedder, self.min_ratings, self.refine_epochs = embedder, min_ratings, refine_epochs

    def _fit(self, u: np.ndarray, i: np.ndarray, r: np.ndarray) -> None:
        from threadpoolctl import threadpool_limits

        super()._fit(u, i, r)
        self.text_alpha_ = None
        texts = {k: v for k, v in self.item_text.items() if isinstance(v, str) and v.strip()}
        if not texts:
            return
        # 1. Embed the texts; learn text -> [factors, bias] on the items with enough ratings
        codes = self.encode_items(list(texts))
        vectors = np.asarray((self.embedder or get_embedder().encode)(list(texts.values())), dtype=np.float64)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise InvalidData(f"hybrid: the embedder returned shape {vectors.shape} for {len(texts)} texts")
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        counts = np.bincount(i, minlength=self.n_items)
        train = (codes >= 0) & (counts[np.maximum(codes, 0)] >= self.min_ratings)
        if train.sum() < 3:  # small data: learn from every rated item
            train = codes >= 0
        if train.sum() < 2:
            return
        theta = np.hstack([self.q_, self.bi_[:, None]])
        predicted, self.text_alpha_ = _ridge_loo(vectors[train], theta[codes[train]], vectors)
        # 2. Give the items known only by their text a code (no ratings: their fit will be the prior itself)
        new = [k for k, c in zip(texts, codes) if c < 0]
        for key in new:
            self._item_code[key] = len(self._item_code)
        self.item_ids_ = np.concatenate([self.item_ids_, np.array([*new, None], dtype=object)[:-1]])
        self.q_ = np.vstack([self.q_, np.zeros((len(new), self.factors))])
        self.bi_ = np.concatenate([self.bi_, np.zeros(len(new))])
        seen = self.seen_
        self.seen_ = sparse.csr_matrix((seen.data, seen.indices, seen.indptr), shape=(self.n_users, self.n_items))
        # 3. More ALS epochs with the items shrunk towards their text predictions
        prior = np.zeros((self.n_items, self.factors + 1))
        prior[self.encode_items(list(texts))] = predicted
        with threadpool_limits(1):
            self._epochs(u, i, r, self.refine_epochs, item_prior=prior)


def _ridge_loo(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> tuple[np.ndarray, float]:
    """Ridge regression with intercept, penalty chosen on the grid by exact leave-one-out squared error; returns
    the predictions for ``x_new`` and the penalty."""
    x_mean, y_mean = x.mean(0), y.mean(0)
    u, s, vt = np.linalg.svd(x - x_mean, full_matrices=False)
    uty = u.T @ (y - y_mean)
    best = (np.inf, RIDGE_GRID[0])
    for alpha in RIDGE_GRID:
        shrink = s**2 / (s**2 + alpha)
        fitted = u @ (shrink[:, None] * uty)
        leverage = (u**2) @ shrink + 1.0 / len(x)
        loo = ((y - y_mean - fitted) / (1.0 - np.minimum(leverage, 0.999))[:, None]) ** 2
        best = min(best, (float(loo.sum()), alpha))
    alpha = best[1]
    coef = vt.T @ ((s / (s**2 + alpha))[:, None] * uty)
    return (x_new - x_mean) @ coef + y_mean, alpha
