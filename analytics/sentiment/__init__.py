"""Comment sentiment: one score in [-1, 1] per text, and negative / neutral / positive labels.

    from analytics.sentiment import score_texts, label_scores
    scores = score_texts(["Loved it!", "Worst edit ever."])          # method="auto": learned head, else VADER
    labels = label_scores(scores)                                    # neutral band ±0.125

Methods: ``vader`` (VADER's compound score), ``learned`` (a ridge head on all-MiniLM-L6-v2 embeddings plus VADER's
features, predicting the human rating scaled to [-1, 1]; the shipped head was trained on VADER's Amazon-review
and NYT-editorial snippet ratings, MIT licence), ``blend`` and ``auto``. A studio can train its own head on its
labelled comments with ``fit(texts, ratings, scale=(1, 5))`` and ``head.save("head.json")``, or with
``python -m analytics.sentiment train``. Torch and sentence-transformers load only when the learned head runs.
"""
from __future__ import annotations

from ..embeddings import MINILM_NAME, Embedder, MiniLMEmbedder, get_embedder
from .base import LABELS, NEUTRAL_BAND, check_texts, label_of, label_scores
from .learned import DEFAULT_ALPHA, SentimentHead, fit
from .scoring import (
    BLEND_VADER_WEIGHT,
    DEFAULT_HEAD_PATH,
    METHODS,
    band_for,
    default_head,
    label_texts,
    resolve_method,
    score_texts,
)
from .vader import VADER_BAND, vader_features, vader_scores

__all__ = [
    "BLEND_VADER_WEIGHT", "DEFAULT_ALPHA", "DEFAULT_HEAD_PATH", "LABELS", "METHODS", "MINILM_NAME", "NEUTRAL_BAND",
    "VADER_BAND", "Embedder", "MiniLMEmbedder", "SentimentHead", "band_for", "check_texts", "default_head", "fit",
    "get_embedder", "label_of", "label_scores", "label_texts", "resolve_method", "score_texts", "vader_features",
    "vader_scores",
]
