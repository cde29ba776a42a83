"""``score_texts``: one sentiment score in [-1, 1] per text, by VADER, the learned head, or a blend of both."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from analytics.errors import InvalidData

from ..embeddings import Embedder, get_embedder
from .base import NEUTRAL_BAND, check_texts, label_scores
from .learned import SentimentHead
from .vader import VADER_BAND, vader_scores

log = logging.getLogger(__name__)

METHODS = ("auto", "vader", "learned", "blend")
#: The head shipped with the studio, trained on both of VADER's human-rated snippet sets (Amazon reviews and
#: NYT editorials, MIT licence, (c) 2016 C.J. Hutto). Rebuild it with:
#:   python -m analytics.sentiment train --csv ../shared/data/sentiment/amazonReviewSnippets.csv \
#:       --csv ../shared/data/sentiment/nytEditorialSnippets.csv --rating-column mean_rating --scale -4 4 \
#:       --out analytics/sentiment/default_head.json
DEFAULT_HEAD_PATH = Path(__file__).with_name("default_head.json")
#: Weight of VADER's compound in ``method="blend"``; it widens the learned head's (shrunken) range a little,
#: which helps 3-class accuracy on unfamiliar text at a small cost in correlation.
BLEND_VADER_WEIGHT = 0.25

_LOCK = threading.Lock()
_DEFAULT_HEAD: SentimentHead | None = None


def default_head() -> SentimentHead:
    """The shipped head, read once per process (``InvalidData`` if it is missing or malformed)."""
    global _DEFAULT_HEAD
    if _DEFAULT_HEAD is None:
        with _LOCK:
            if _DEFAULT_HEAD is None:
                _DEFAULT_HEAD = SentimentHead.load(DEFAULT_HEAD_PATH)
    return _DEFAULT_HEAD


def _learned_parts(head: SentimentHead | None, embedder: Embedder | None) -> tuple[SentimentHead, Embedder]:
    head = head or default_head()
    return head, embedder or get_embedder()


def resolve_method(method: str, *, head: SentimentHead | None = None, embedder: Embedder | None = None) -> str:
    """The concrete method ``method`` stands for: ``auto`` is ``learned`` when the head and embedder load."""
    if method not in METHODS:
        raise InvalidData(f"unknown sentiment method {method!r}; choose one of {', '.join(METHODS)}")
    if method != "auto":
        return method
    try:
        _learned_parts(head, embedder)
    except (ImportError, OSError, RuntimeError, InvalidData) as exc:
        log.warning("learned sentiment model unavailable (%s); using VADER", exc)
        return "vader"
    return "learned"


def score_texts(texts: Iterable[str], method: str = "auto", *, head: SentimentHead | None = None,
                embedder: Embedder | None = None) -> np.ndarray:
    """One score in [-1, 1] per text (< 0 negative, > 0 positive; 0.0 for empty or blank text).

    ``method``: ``vader`` (VADER's compound), ``learned`` (ridge head on MiniLM embeddings + VADER features;
    ``head`` defaults to the shipped one, ``embedder`` to the bundled MiniLM), ``blend`` (0.75 learned +
    0.25 VADER) or ``auto`` (``learned`` if it loads, else ``vader``). Raises ``InvalidData`` for non-strings.
    """
    items = check_texts(texts)
    if not items and method in METHODS:
        return np.zeros(0, dtype=np.float64)
    method = resolve_method(method, head=head, embedder=embedder)
    if method == "vader":
        return vader_scores(items)
    head, embedder = _learned_parts(head, embedder)
    learned = head.score(items, embedder=embedder)
    if method == "learned":
        return learned
    return np.clip((1 - BLEND_VADER_WEIGHT) * learned + BLEND_VADER_WEIGHT * vader_scores(items), -1.0, 1.0)


def band_for(method: str) -> float:
    """Neutral band for labels: VADER's own ±0.05 for ``vader``, ±0.125 (±0.5 of ±4 human scale) otherwise."""
    return VADER_BAND if method == "vader" else NEUTRAL_BAND


def label_texts(texts: Iterable[str], method: str = "auto", **kwargs) -> list[str]:
    """``negative`` / ``neutral`` / ``positive`` for each text (scores from ``score_texts``)."""
    items = check_texts(texts)
    concrete = resolve_method(method, head=kwargs.get("head"), embedder=kwargs.get("embedder"))
    return label_scores(score_texts(items, concrete, **kwargs), band_for(concrete))
