"""VADER (rule-based, lexicon) sentiment: the compound score and the features the learned head uses.

VADER's compound score is already in [-1, 1]; its authors label a text positive above +0.05 and negative below
-0.05 (``VADER_BAND``). The analyzer is pure Python and cheap to build, but is built once per process.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

#: VADER's own neutral band on the compound score (Hutto & Gilbert 2014, the package's README).
VADER_BAND = 0.05
#: Names of the columns of ``vader_features`` (in order).
VADER_FEATURES = ("vader_compound", "vader_pos", "vader_neg", "vader_neu")

_LOCK = threading.Lock()
_ANALYZER = None


def analyzer():
    """The process's ``SentimentIntensityAnalyzer`` (built on first use; its lexicon is only read afterwards)."""
    global _ANALYZER
    if _ANALYZER is None:
        with _LOCK:
            if _ANALYZER is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER


def vader_features(texts: Sequence[str]) -> np.ndarray:
    """``(n, 4)`` float array: compound, pos, neg, neu of each text (all 0 for an empty text)."""
    sia = analyzer()
    out = np.zeros((len(texts), len(VADER_FEATURES)), dtype=np.float64)
    for i, text in enumerate(texts):
        if text.strip():
            p = sia.polarity_scores(text)
            out[i] = (p["compound"], p["pos"], p["neg"], p["neu"])
    return out


def vader_scores(texts: Sequence[str]) -> np.ndarray:
    """VADER's compound score of each text, in [-1, 1] (0.0 for an empty text)."""
    return vader_features(texts)[:, 0].copy()
