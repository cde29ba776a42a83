"""Group fairness of binary decisions (shown / recommended / promoted or not) across viewer groups.

Per group: how often the positive decision is made (selection rate), how often it is made for those who deserve
it (true-positive rate, TPR) and accuracy, each with a bootstrap 95% interval. Overall: the statistical parity
difference (max − min selection rate), the parity ratio (min / max; the "four-fifths rule" asks for ≥ 0.8) and the
equal-opportunity difference (max − min TPR) — the same numbers as ``fairlearn.metrics``.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import InvalidData

FOUR_FIFTHS = 0.8
ArrayLike = Sequence[Any] | np.ndarray | pd.Series


# --- input checks (shared by the other fairness modules) ------------------------------------------------------------
def as_array(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a non-empty 1-D array."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidData(f"{name} must hold one value per row (1-D); got shape {arr.shape}.")
    if arr.size == 0:
        raise InvalidData(f"{name} is empty; there is nothing to measure.")
    return arr


def as_binary(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as 0/1 integers; anything else (scores, NaN, text) is an error."""
    arr = as_array(values, name)
    try:
        num = arr.astype(float)
    except (TypeError, ValueError):
        raise InvalidData(f"{name} must be 0/1; found non-numeric values such as {arr[0]!r}.") from None
    bad = ~np.isin(num, (0.0, 1.0))
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise InvalidData(f"{name} must be 0/1; row {at} is {arr[at]!r}. Turn scores into decisions with "
                          "binarize() first.")
    return num.astype(np.int64)


def as_scores(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as finite floats."""
    arr = as_array(values, name)
    try:
        num = arr.astype(float)
    except (TypeError, ValueError):
        raise InvalidData(f"{name} must be numbers; found values such as {arr[0]!r}.") from None
    if not np.isfinite(num).all():
        raise InvalidData(f"{name} must be finite numbers; row {int(np.flatnonzero(~np.isfinite(num))[0])} is not.")
    return num


def as_groups(groups: ArrayLike, n: int, name: str = "groups") -> np.ndarray:
    """Group labels as text, one per row, with at least two distinct groups."""
    arr = as_array(groups, name)
    if len(arr) != n:
        raise InvalidData(f"{name} has {len(arr)} values but there are {n} predictions; they must match row by row.")
    missing = pd.isna(arr)
    if missing.any():
        raise InvalidData(f"{name} is missing on row {int(np.flatnonzero(missing)[0])}; every row needs a group.")
    arr = arr.astype(str)
    if len(np.unique(arr)) < 2:
        raise InvalidData(f"Only one group ({arr[0]!r}) in {name}; fairness compares at least two groups.")
    return arr


def same_length(**arrays: np.ndarray) -> None:
    """Raise when the named arrays differ in length."""
    sizes = {k: len(v) for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise InvalidData("Lengths differ: " + ", ".join(f"{k} has {v}" for k, v in sizes.items()) + ".")


def clean(value: Any) -> Any:
    """A JSON-friendly scalar: NaN → None, numpy numbers → Python numbers."""
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def points(diff: float) -> str:
    """A rate difference as percentage points: 0.123 → '12 points', 0.01 → '1 point', 0.004 → '0.4 points'."""
    text = f"{abs(diff) * 100:.0f}" if abs(diff) >= 0.0095 else f"{abs(diff) * 100:.1f}"
    return f"{text} point" if text == "1" else f"{text} points"


# --- the report ---------------------------------------------------------------------------------------------------
@dataclass
class GroupReport:
    """Per-group rates with bootstrap intervals, the overall gaps, and one sentence for people."""

    frame: pd.DataFrame
    statistical_parity_difference: float
    parity_ratio: float
    equal_opportunity_difference: float
    four_fifths_met: bool
    accuracy: float
    selection_rate: float
    n: int
    summary: str

    def as_dict(self) -> dict[str, Any]:
        rows = [{k: clean(v) for k, v in r.items()} for r in self.frame.to_dict("records")]
        return {"groups": rows, "statistical_parity_difference": clean(self.statistical_parity_difference),
                "parity_ratio": clean(self.parity_ratio),
                "equal_opportunity_difference": clean(self.equal_opportunity_difference),
                "four_fifths_met": self.four_fifths_met, "accuracy": clean(self.accuracy),
                "selection_rate": clean(self.selection_rate), "n": self.n, "summary": self.summary}


def _interval(draws: np.ndarray) -> tuple[float, float]:
    ok = draws[np.isfinite(draws)]
    if ok.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(ok, [2.5, 97.5])
    return float(lo), float(hi)


def _bootstrap(yt: np.ndarray, yp: np.ndarray, n_boot: int, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of selection rate, TPR and accuracy for one group.

    Resampling the group's rows with replacement only changes how many rows fall in each confusion cell (TP, FP,
    FN, TN), so one multinomial draw of those four counts per replicate is exactly the row bootstrap — vectorised
    and O(n_boot) memory whatever the group size."""
    n = len(yt)
    tp, fp = int(np.sum(yt & yp)), int(np.sum((1 - yt) & yp))
    fn = int(np.sum(yt & (1 - yp)))
    cells = rng.multinomial(n, np.array([tp, fp, fn, n - tp - fp - fn]) / n, size=n_boot)
    btp, bfp, bfn, btn = cells.T
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.where(btp + bfn > 0, btp / (btp + bfn), np.nan)
    return {"selection": _interval((btp + bfp) / n), "tpr": _interval(tpr), "accuracy": _interval((btp + btn) / n)}


def _sentence(frame: pd.DataFrame, spd: float, ratio: float, label: str, outcome: str) -> str:
    rates = frame.set_index("group")["selection_rate"]
    rule = f"the four-fifths rule is {'met' if ratio >= FOUR_FIFTHS else 'not met'} (ratio {ratio:.2f})"
    if spd == 0:
        return f"Viewers in every {label} are {outcome} equally often ({rates.iloc[0]:.0%}); {rule}."
    lo, hi = rates.idxmin(), rates.idxmax()
    return (f"Viewers in {label} {lo} are {outcome} {points(spd)} less often than viewers in {label} {hi} "
            f"({rates[lo]:.0%} vs {rates[hi]:.0%}); {rule}.")


def group_report(y_true: ArrayLike, y_pred: ArrayLike, groups: ArrayLike, *, n_boot: int = 200, seed: int = 0,
                 label: str = "group", outcome: str = "selected") -> GroupReport:
    """Fairness of binary decisions ``y_pred`` (0/1) against outcomes ``y_true`` (0/1) across ``groups``.

    ``label`` names the grouping and ``outcome`` the decision in the summary ("Viewers in region EU are
    recommended 12 points less often ..."). A group without positives in ``y_true`` has no TPR (NaN, left out of
    the equal-opportunity difference; fairlearn counts it as 0). ``n_boot=0`` skips the intervals (NaN)."""
    from fairlearn.metrics import MetricFrame, count, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    # 1. Check inputs
    yp, yt = as_binary(y_pred, "y_pred"), as_binary(y_true, "y_true")
    same_length(y_true=yt, y_pred=yp)
    g = as_groups(groups, len(yp))
    if n_boot < 0:
        raise InvalidData(f"n_boot must be 0 or more, got {n_boot}.")
    # 2. Point estimates per group (fairlearn's MetricFrame)
    mf = MetricFrame(metrics={"n": count, "selection_rate": selection_rate, "tpr": true_positive_rate,
                              "accuracy": accuracy_score},
                     y_true=yt, y_pred=yp, sensitive_features=pd.Series(g, name="group"))
    frame = mf.by_group.reset_index()
    frame["n"] = frame["n"].astype(int)
    frame["positives"] = [int(yt[g == k].sum()) for k in frame["group"]]
    frame.loc[frame["positives"] == 0, "tpr"] = np.nan
    # 3. Bootstrap intervals, resampling within each group
    rng = np.random.default_rng(seed)
    for col in ("selection", "tpr", "accuracy"):
        frame[f"{col}_lo"], frame[f"{col}_hi"] = np.nan, np.nan
    for i, k in enumerate(frame["group"]):
        if n_boot == 0:
            break
        m = g == k
        for col, (lo, hi) in _bootstrap(yt[m], yp[m], n_boot, rng).items():
            frame.loc[i, f"{col}_lo"], frame.loc[i, f"{col}_hi"] = lo, hi
    frame = frame[["group", "n", "positives", "selection_rate", "selection_lo", "selection_hi", "tpr", "tpr_lo",
                   "tpr_hi", "accuracy", "accuracy_lo", "accuracy_hi"]]
    # 4. Overall gaps and the sentence
    sel = frame["selection_rate"].to_numpy(float)
    spd = float(sel.max() - sel.min())
    ratio = float(sel.min() / sel.max()) if sel.max() > 0 else 1.0  # nobody selected anywhere: equal treatment
    tpr = frame["tpr"].dropna().to_numpy(float)
    eod = float(tpr.max() - tpr.min()) if len(tpr) >= 2 else float("nan")
    return GroupReport(frame=frame, statistical_parity_difference=spd, parity_ratio=ratio,
                       equal_opportunity_difference=eod, four_fifths_met=ratio >= FOUR_FIFTHS,
                       accuracy=float(np.mean(yt == yp)), selection_rate=float(yp.mean()), n=len(yp),
                       summary=_sentence(frame, spd, ratio, label, outcome))


def parity_difference(y_pred: ArrayLike, groups: ArrayLike, privileged: Hashable) -> float:
    """Signed statistical parity difference for two groups: P(Ŷ=1 | unprivileged) − P(Ŷ=1 | privileged).

    The seed formula P(Ŷ=1|A=0) − P(Ŷ=1|A=1) with A=1 the ``privileged`` group: negative when the other group
    is selected less often, 0 at parity."""
    yp = as_binary(y_pred, "y_pred")
    g = as_groups(groups, len(yp))
    names = np.unique(g)
    if len(names) != 2:
        raise InvalidData(f"parity_difference compares exactly two groups; found {len(names)} "
                          f"({', '.join(names[:5])}). Use group_report() for more.")
    priv = str(privileged)
    if priv not in names:
        raise InvalidData(f"The privileged group {priv!r} is not among the groups ({', '.join(names)}).")
    return float(yp[g != priv].mean() - yp[g == priv].mean())


@dataclass(frozen=True)
class Binarized:
    """Decisions from scores: ``labels`` is 1 where score ≥ ``threshold``."""

    labels: np.ndarray
    threshold: float

    @property
    def rate(self) -> float:
        """Share of rows above the threshold."""
        return float(self.labels.mean())

    def as_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "rate": self.rate, "n": len(self.labels)}


def binarize(scores: ArrayLike, threshold: float | None = None) -> Binarized:
    """Turn a regression output (e.g. predicted watch time) into 0/1 decisions: 1 when score ≥ ``threshold``.

    The default threshold is the overall median, so about half the rows are "high"; it is recorded."""
    s = as_scores(scores, "scores")
    thr = float(np.median(s)) if threshold is None else float(threshold)
    if not np.isfinite(thr):
        raise InvalidData(f"The threshold must be a finite number, got {threshold!r}.")
    return Binarized(labels=(s >= thr).astype(np.int64), threshold=thr)
