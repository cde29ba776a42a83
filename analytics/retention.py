"""Audience retention: the share of viewers still watching at each second, by Kaplan–Meier.

Each view contributes its furthest position reached. ``observed=True`` means the viewer left there (a drop-off);
``observed=False`` means they reached the end, so the view is censored at the video length. ``weights`` are integer
counts, so a caller can pass pre-aggregated 1-second bins from SQL (durations rounded, counts summed) instead of
millions of raw events; both forms give the same curve.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.errors import InvalidData


@dataclass
class RetentionCurve:
    """Survival (share still watching) as a step function: ``survival[i]`` holds from ``times[i]`` on."""

    times: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_risk: np.ndarray
    video_length: float
    n_views: int

    def at(self, t: float | np.ndarray) -> np.ndarray:
        """Share still watching at time(s) ``t`` (right-continuous step function)."""
        idx = np.searchsorted(self.times, np.asarray(t, dtype=float), side="right") - 1
        return np.where(idx >= 0, self.survival[np.clip(idx, 0, None)], 1.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "times": self.times.tolist(),
            "survival": self.survival.tolist(),
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "at_risk": self.at_risk.astype(int).tolist(),
            "video_length": float(self.video_length),
            "n_views": int(self.n_views),
            "average_percentage_viewed": average_percentage_viewed(self),
            "median_view_duration": median_view_duration(self),
        }


@dataclass(frozen=True)
class KeyMoment:
    """A window where an unusual share of the viewers still watching leave."""

    start: float
    end: float
    share_lost: float  # of all viewers (survival at start minus survival at end)
    relative_drop: float  # of the viewers still watching at ``start``
    at_risk: int
    sentence: str

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "share_lost": self.share_lost,
                "relative_drop": self.relative_drop, "at_risk": self.at_risk, "sentence": self.sentence}


def format_time(seconds: float) -> str:
    """``75`` → ``"1:15"``; ``3725`` → ``"1:02:05"``."""
    s = round(float(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _check(durations: Any, observed: Any, weights: Any, video_length: float | None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    d = np.asarray(durations, dtype=float).ravel()
    if d.size == 0:
        raise InvalidData("No views to compute retention from.")
    e = np.asarray(observed).ravel()
    if e.size != d.size:
        raise InvalidData(f"Got {d.size} view durations but {e.size} drop-off flags; they must match one to one.")
    if not np.isfinite(d).all() or (d < 0).any():
        raise InvalidData("View durations must be finite numbers of seconds, zero or more.")
    if weights is None:
        w = np.ones(d.size, dtype=np.int64)
    else:
        wf = np.asarray(weights, dtype=float).ravel()
        if wf.size != d.size:
            raise InvalidData(f"Got {d.size} view durations but {wf.size} counts; they must match one to one.")
        if not np.isfinite(wf).all() or (wf < 0).any() or (wf != np.round(wf)).any():
            raise InvalidData("View counts must be whole numbers, zero or more.")
        w = wf.astype(np.int64)
    keep = w > 0
    d, e, w = d[keep], e[keep].astype(bool), w[keep]
    if w.sum() == 0:
        raise InvalidData("No views to compute retention from (all counts are zero).")
    length = float(d.max()) if video_length is None else float(video_length)
    if not np.isfinite(length) or length <= 0:
        raise InvalidData("The video length must be a positive number of seconds.")
    # Rounded 1-second bins can land just past the end: treat them as reaching the end.
    return np.minimum(d, length), e, w, length


def retention_curve(durations: Any, observed: Any, weights: Any = None,
                    video_length: float | None = None, alpha: float = 0.05) -> RetentionCurve:
    """Kaplan–Meier retention with a ``1 - alpha`` confidence band (lifelines' exponential Greenwood)."""
    from lifelines import KaplanMeierFitter

    d, e, w, length = _check(durations, observed, weights, video_length)
    kmf = KaplanMeierFitter(alpha=alpha).fit(d, event_observed=e, weights=w)
    times = kmf.survival_function_.index.to_numpy(dtype=float)
    surv = kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    ci = kmf.confidence_interval_survival_function_
    lower, upper = ci.iloc[:, 0].to_numpy(dtype=float), ci.iloc[:, 1].to_numpy(dtype=float)
    at_risk = kmf.event_table["at_risk"].reindex(times).to_numpy(dtype=float)
    lower, upper = np.nan_to_num(lower, nan=1.0), np.nan_to_num(upper, nan=1.0)
    if times[-1] < length:  # hold the last value to the end of the video for charts
        times = np.append(times, length)
        surv, lower, upper = np.append(surv, surv[-1]), np.append(lower, lower[-1]), np.append(upper, upper[-1])
        at_risk = np.append(at_risk, w[d >= length].sum())
    return RetentionCurve(times=times, survival=surv, lower=lower, upper=upper,
                          at_risk=np.nan_to_num(at_risk).astype(np.int64), video_length=length,
                          n_views=int(w.sum()))


def average_percentage_viewed(curve: RetentionCurve) -> float:
    """Area under the retention curve divided by the video length (0..1): the mean share of the video watched."""
    t = np.clip(curve.times, 0.0, curve.video_length)
    edges = np.append(t, curve.video_length)
    area = float(np.sum(curve.survival * np.diff(edges)))
    if t[0] > 0:  # before the first time everyone is still watching
        area += float(t[0])
    return area / curve.video_length


def median_view_duration(curve: RetentionCurve) -> float:
    """First time at which half the viewers have left; the video length if more than half reach the end."""
    below = np.nonzero(curve.survival <= 0.5)[0]
    return float(curve.times[below[0]]) if below.size else float(curve.video_length)


def key_moments(curve: RetentionCurve, top: int = 3, window: float = 5.0, min_drop: float = 0.05,
                min_at_risk: int = 20, typical_factor: float = 2.0) -> list[KeyMoment]:
    """The largest drop-offs over ``window``-second spans, biggest first, never overlapping.

    A span counts only when at least ``min_drop`` of the viewers still watching at its start leave within it,
    at least ``min_at_risk`` viewers were still watching (a few leaving from a handful is noise), and its drop is
    ``typical_factor`` times the typical (median) drop over the video, so a steady decline is not flagged.
    """
    if window <= 0:
        raise InvalidData("The key-moment window must be a positive number of seconds.")
    if curve.video_length <= window:
        return []
    starts = np.arange(0.0, curve.video_length - window + 1e-9, 1.0)
    s0, s1 = curve.at(starts), curve.at(starts + window)
    rel = np.divide(s0 - s1, s0, out=np.zeros_like(s0), where=s0 > 0)
    # viewers still watching at each start: those whose position is >= start
    risk_idx = np.searchsorted(curve.times, starts, side="left")
    at_risk = np.where(risk_idx < curve.times.size, curve.at_risk[np.clip(risk_idx, 0, curve.times.size - 1)], 0)
    typical = float(np.median(rel))
    ok = (rel >= min_drop) & (at_risk >= min_at_risk) & (rel >= typical_factor * typical)
    chosen: list[KeyMoment] = []
    for i in np.argsort(-rel, kind="stable"):
        if len(chosen) >= top or not ok[i]:
            break
        a, b = float(starts[i]), float(starts[i] + window)
        if any(a < m.end and m.start < b for m in chosen):
            continue
        lost = float(s0[i] - s1[i])
        sentence = (f"{lost:.0%} of viewers leave between {format_time(a)} and {format_time(b)} "
                    f"({rel[i]:.0%} of those still watching)")
        chosen.append(KeyMoment(start=a, end=b, share_lost=lost, relative_drop=float(rel[i]),
                                at_risk=int(at_risk[i]), sentence=sentence))
    return chosen
