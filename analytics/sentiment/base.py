"""Input checks and the three labels shared by every sentiment method."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from analytics.errors import InvalidData

LABELS = ("negative", "neutral", "positive")
#: Neutral band on the [-1, 1] score scale: human ratings on -4..+4 are labelled negative below -0.5 and positive
#: above +0.5, and a score is the rating divided by 4, so the band is 0.5 / 4.
NEUTRAL_BAND = 0.125


def check_texts(texts: Iterable[str]) -> list[str]:
    """The texts as a list, or ``InvalidData`` naming the first item that is not a string."""
    if isinstance(texts, (str, bytes)):
        raise InvalidData("texts must be a list of strings, not a single string")
    try:
        items = list(texts)
    except TypeError:
        raise InvalidData(f"texts must be a list of strings, not {type(texts).__name__}") from None
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise InvalidData(f"texts[{i}] is {type(text).__name__}, not a string")
    return items


def label_of(score: float, band: float = NEUTRAL_BAND) -> str:
    """``negative`` below ``-band``, ``positive`` above ``+band``, else ``neutral``."""
    return LABELS[0] if score < -band else LABELS[2] if score > band else LABELS[1]


def label_scores(scores: Sequence[float] | np.ndarray, band: float = NEUTRAL_BAND) -> list[str]:
    """The label of each score (see ``label_of``)."""
    return [label_of(float(s), band) for s in np.asarray(scores, dtype=np.float64).ravel()]
