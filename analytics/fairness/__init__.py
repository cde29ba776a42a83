"""Fairness of decisions and recommendations across viewer and creator groups (plain data in, plain data out).

* :func:`group_report` — selection rate, TPR and accuracy per viewer group with bootstrap intervals; statistical
  parity difference / ratio (four-fifths rule) and equal-opportunity difference (as ``fairlearn.metrics``).
  :func:`parity_difference` is the signed two-group version, :func:`binarize` turns scores into decisions.
* :func:`exposure_report` — position-discounted exposure share per creator group of ranked lists vs a target.
* :func:`rerank_for_exposure` and :func:`optimise_thresholds` — mitigations that report their cost.
* :func:`gap_over_time` — the selection-rate gap per day / week / month.
"""
from __future__ import annotations

from analytics.errors import InvalidData

from .exposure import ExposureReport, exposure_report, position_weights, target_shares
from .metrics import (
    FOUR_FIFTHS,
    Binarized,
    GroupReport,
    binarize,
    group_report,
    parity_difference,
)
from .mitigate import (
    RerankResult,
    ThresholdResult,
    optimise_thresholds,
    rerank_for_exposure,
)
from .over_time import gap_over_time

__all__ = ["FOUR_FIFTHS", "Binarized", "ExposureReport", "GroupReport", "InvalidData", "RerankResult",
           "ThresholdResult", "binarize", "exposure_report", "gap_over_time", "group_report", "optimise_thresholds",
           "parity_difference", "position_weights", "rerank_for_exposure", "target_shares"]
