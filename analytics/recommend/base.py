"""The common contract of the recommenders (like Surprise's ``AlgoBase``) and shared pieces: id encoding, baselines."""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from analytics.errors import InvalidData

from .data import Ratings, as_ratings


class Recommender:
    """Base of the rating predictors.

    Subclasses implement ``_fit(u, i, r)`` on integer-coded users/items and ``_predict(u, i)`` returning raw
    (unclipped) estimates, where a code of ``-1`` means "not seen in training" and must give a sensible value
    (global mean plus whatever bias is known). ``fit``/``predict``/``recommend`` work on the original ids."""

    name = "base"

    def __init__(self, *, scale: tuple[float, float] | None = None, seed: int = 0) -> None:
        self.scale = scale
        self.seed = seed

    # --- public contract -------------------------------------------------------------------------------------
    def fit(self, ratings: Ratings | Any) -> Recommender:
        """Learn from ``ratings`` (:class:`Ratings` or a DataFrame with user, item, rating columns)."""
        data = as_ratings(ratings)
        self._user_code, u = _factorize(data.user)
        self._item_code, i = _factorize(data.item)
        self.user_ids_ = _id_array(self._user_code)
        self.item_ids_ = _id_array(self._item_code)
        self.scale_ = self.scale if self.scale is not None else data.scale
        if self.scale_[0] > self.scale_[1]:
            raise InvalidData(f"rating scale {self.scale_} is empty")
        r = data.rating.astype(np.float64)
        self.mean_ = float(r.mean())
        self.seen_ = sparse.csr_matrix((np.ones(len(r)), (u, i)), shape=(self.n_users, self.n_items))
        self._fit(u.astype(np.int64), i.astype(np.int64), r)
        return self

    def predict(self, users: Sequence[Hashable] | np.ndarray, items: Sequence[Hashable] | np.ndarray) -> np.ndarray:
        """Estimated ratings for the pairs ``(users[k], items[k])``, clipped to the rating scale."""
        self._check_fitted()
        if len(users) != len(items):
            raise InvalidData(f"predict: {len(users)} users but {len(items)} items")
        u = self.encode_users(users)
        i = self.encode_items(items)
        if len(u) == 0:
            return np.empty(0)
        return np.clip(self._predict(u, i), *self.scale_)

    def recommend(self, user: Hashable, k: int = 10, exclude_seen: bool = True) -> list[tuple[Hashable, float]]:
        """The ``k`` items with the highest estimate for ``user`` as ``(item, score)``, best first."""
        self._check_fitted()
        if k < 1:
            raise InvalidData(f"recommend: k must be at least 1, got {k}")
        code = int(self.encode_users([user])[0])
        scores = np.clip(self._predict(np.full(self.n_items, code), np.arange(self.n_items)), *self.scale_)
        if exclude_seen and code >= 0:
            scores[self.seen_.indices[self.seen_.indptr[code]:self.seen_.indptr[code + 1]]] = -np.inf
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.item_ids_[j], float(scores[j])) for j in order if np.isfinite(scores[j])]

    # --- helpers for subclasses ------------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.user_ids_)

    @property
    def n_items(self) -> int:
        return len(self.item_ids_)

    def encode_users(self, users: Sequence[Hashable] | np.ndarray) -> np.ndarray:
        """Integer codes of ``users``; ``-1`` for users not seen in training."""
        return _encode(self._user_code, users)

    def encode_items(self, items: Sequence[Hashable] | np.ndarray) -> np.ndarray:
        """Integer codes of ``items``; ``-1`` for items not seen in training."""
        return _encode(self._item_code, items)

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise InvalidData(f"{self.name}: call fit() before predict() or recommend()")

    def _fit(self, u: np.ndarray, i: np.ndarray, r: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _factorize(ids: np.ndarray) -> tuple[dict[Hashable, int], np.ndarray]:
    """Codes in order of first appearance (a dict is much faster than sorting an object array)."""
    codes: dict[Hashable, int] = {}
    add = codes.setdefault
    out = np.fromiter((add(x, len(codes)) for x in ids.tolist()), dtype=np.int64, count=len(ids))
    return codes, out


def _id_array(codes: dict[Hashable, int]) -> np.ndarray:
    out = np.empty(len(codes), dtype=object)
    out[:] = list(codes)
    return out


def _encode(codes: dict[Hashable, int], ids: Sequence[Hashable] | np.ndarray) -> np.ndarray:
    get = codes.get
    out = np.fromiter((get(x, -1) for x in ids), dtype=np.int64, count=len(ids))
    if (out < 0).any() and codes and isinstance(next(iter(codes)), str):  # e.g. int ids against str-coded training
        missing = np.flatnonzero(out < 0)
        out[missing] = [get(str(ids[k]), -1) for k in missing]
    return out


def known_bias(bias: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``bias[codes]`` with 0 for the unknown code ``-1``."""
    return np.where(codes >= 0, bias[np.maximum(codes, 0)], 0.0)


def fit_baselines(u: np.ndarray, i: np.ndarray, r: np.ndarray, n_users: int, n_items: int, *,
                  reg_u: float = 15.0, reg_i: float = 10.0, epochs: int = 10) -> tuple[float, np.ndarray, np.ndarray]:
    """Global mean and regularised user/item biases by alternating least squares (Surprise's baseline ALS)."""
    mu = float(r.mean())
    bu = np.zeros(n_users)
    bi = np.zeros(n_items)
    n_u = np.bincount(u, minlength=n_users)
    n_i = np.bincount(i, minlength=n_items)
    for _ in range(epochs):
        bu = np.bincount(u, r - mu - bi[i], minlength=n_users) / (reg_u + n_u)
        bi = np.bincount(i, r - mu - bu[u], minlength=n_items) / (reg_i + n_i)
    return mu, bu, bi
