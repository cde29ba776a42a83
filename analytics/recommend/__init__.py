"""Rating prediction and top-k recommendation with one small contract (like Surprise's ``AlgoBase``):
``fit(ratings) -> self``, ``predict(users, items) -> np.ndarray`` (clipped to the rating scale) and
``recommend(user, k, exclude_seen=True) -> [(item, score), ...]``.

Models, by name in :data:`MODELS`: ``mf`` (biased matrix factorisation by vectorised ALS), ``knn`` (item kNN on
baseline residuals), ``ncf`` (NeuMF-lite in torch, imported only when fitted) and ``hybrid`` (MF whose item factors
are also predicted from item text, for cold start). Command line: ``python -m analytics.recommend --help``.
"""
from __future__ import annotations

from typing import Any

from analytics.errors import InvalidData

from ..embeddings import MiniLMEmbedder
from .base import Recommender
from .data import Ratings, read_item_text, read_ratings, write_ratings
from .evaluate import Evaluation, errors, evaluate
from .hybrid import HybridMF
from .knn import ItemKNN
from .mf import BiasedMF
from .ncf import NeuralCF

MODELS: dict[str, type[Recommender]] = {"mf": BiasedMF, "knn": ItemKNN, "ncf": NeuralCF, "hybrid": HybridMF}


def create(name: str, **params: Any) -> Recommender:
    """A model by its name in :data:`MODELS`, with constructor ``params``."""
    if name not in MODELS:
        raise InvalidData(f"unknown model {name!r} (choose from {', '.join(MODELS)})")
    return MODELS[name](**params)


__all__ = ["MODELS", "BiasedMF", "Evaluation", "HybridMF", "InvalidData", "ItemKNN", "MiniLMEmbedder", "NeuralCF",
           "Ratings", "Recommender", "create", "errors", "evaluate", "read_item_text", "read_ratings",
           "write_ratings"]
