"""Item-based k-nearest-neighbours on baseline residuals (Surprise's ``KNNBaseline`` with ``pearson_baseline``)."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from analytics.errors import InvalidData

from .base import Recommender, fit_baselines, known_bias

MAX_ITEMS = 20_000  # the item-item similarity matrix is dense: n_items² float32 values


class ItemKNN(Recommender):
    """``r̂_ui = b_ui + Σ_j s_ij (r_uj − b_uj) / Σ_j s_ij`` over the ``k`` items rated by ``u`` most similar to ``i``
    (only positive similarities count; fewer than ``min_k`` of them leaves the baseline ``b_ui = μ + b_u + b_i``).

    Similarity: Pearson correlation of the baseline residuals over the users who rated both items, shrunk by
    ``(n−1)/(n−1+shrinkage)`` (n = common users), as in Surprise. Baselines: ALS with ``reg_u=15, reg_i=10``."""

    name = "knn"

    def __init__(self, k: int = 40, min_k: int = 1, shrinkage: float = 100.0, *,
                 scale: tuple[float, float] | None = None, seed: int = 0) -> None:
        super().__init__(scale=scale, seed=seed)
        if k < 1 or min_k < 0 or shrinkage < 0:
            raise InvalidData("knn: k must be at least 1, min_k and shrinkage not negative")
        self.k, self.min_k, self.shrinkage = k, min_k, shrinkage

    def _fit(self, u: np.ndarray, i: np.ndarray, r: np.ndarray) -> None:
        if self.n_items > MAX_ITEMS:
            raise InvalidData(f"knn: {self.n_items} items, more than the {MAX_ITEMS} a dense similarity allows")
        self.mu_, self.bu_, self.bi_ = fit_baselines(u, i, r, self.n_users, self.n_items)
        shape = (self.n_users, self.n_items)
        z = r - self.mu_ - self.bu_[u] - self.bi_[i]
        zm = sparse.csr_matrix((z, (u, i)), shape=shape, dtype=np.float64)
        ones = sparse.csr_matrix((np.ones(len(r)), (u, i)), shape=shape, dtype=np.float64)
        num = (zm.T @ zm).toarray()
        sq = (zm.multiply(zm).T @ ones).toarray()  # sq[i, j] = Σ_u z_ui² over users who rated i and j
        common = (ones.T @ ones).toarray()
        with np.errstate(divide="ignore", invalid="ignore"):
            sim = num / np.sqrt(sq * sq.T)
        sim *= np.maximum(common - 1, 0) / (np.maximum(common - 1, 0) + self.shrinkage + 1e-12)
        sim[~np.isfinite(sim) | (common < 2)] = 0.0
        np.fill_diagonal(sim, 0.0)
        self.sim_ = sim.astype(np.float32)
        self.residual_ = zm  # the user's residuals r_uj − b_uj, row by row

    def _predict(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        out = self.mu_ + known_bias(self.bu_, u) + known_bias(self.bi_, i)
        both = np.flatnonzero((u >= 0) & (i >= 0))
        order = both[np.argsort(u[both], kind="stable")]
        starts = np.flatnonzero(np.r_[True, np.diff(u[order]) != 0])
        for rows in np.split(order, starts[1:]) if len(order) else []:
            out[rows] += self._adjust(int(u[rows[0]]), i[rows])
        return out

    def _adjust(self, user: int, items: np.ndarray) -> np.ndarray:
        """The neighbourhood term for one user and several target items."""
        lo, hi = self.residual_.indptr[user], self.residual_.indptr[user + 1]
        rated, resid = self.residual_.indices[lo:hi], self.residual_.data[lo:hi]
        sims = self.sim_[np.ix_(items, rated)].astype(np.float64)
        if sims.shape[1] > self.k:  # keep the k most similar rated items of each row
            drop = np.argpartition(-sims, self.k - 1, axis=1)[:, self.k:]
            np.put_along_axis(sims, drop, 0.0, axis=1)
        sims = np.maximum(sims, 0.0)
        total = sims.sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            adjust = np.where(total > 0, sims @ resid / total, 0.0)
        return np.where((sims > 0).sum(1) >= max(self.min_k, 1), adjust, 0.0)
