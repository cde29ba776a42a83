"""Fit-and-score helpers shared by the command line and the benchmark."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from .base import Recommender
from .data import Ratings


@dataclass(frozen=True)
class Evaluation:
    """Accuracy of one model on a test set and the wall time its ``fit`` took."""

    model: str
    rmse: float
    mae: float
    fit_seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def errors(predicted: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """RMSE and MAE."""
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2))), float(np.mean(np.abs(diff)))


def evaluate(model: Recommender, train: Ratings, test: Ratings, name: str | None = None) -> Evaluation:
    """Fit ``model`` on ``train`` (timed) and score its predictions for ``test``."""
    start = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - start
    rmse, mae = errors(model.predict(test.user, test.item), test.rating)
    return Evaluation(name or model.name, rmse, mae, seconds)
