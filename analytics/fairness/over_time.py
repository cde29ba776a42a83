"""How the selection-rate gap between groups moves over time (per day, week, month ...)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.errors import InvalidData

from .metrics import as_binary


def _periods(values: pd.Series, freq: str, time_col: str) -> pd.Series:
    """Start of the period (``freq``: a pandas period alias such as "D", "W", "M") each timestamp falls in."""
    try:
        t = pd.to_datetime(values)
    except (TypeError, ValueError) as err:
        raise InvalidData(f"'{time_col}' must hold dates or timestamps: {err}") from None
    if t.isna().any():
        raise InvalidData(f"'{time_col}' is missing on {int(t.isna().sum())} row(s).")
    if t.dt.tz is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        return t.dt.to_period(freq)
    except (TypeError, ValueError) as err:
        raise InvalidData(f"Unknown period {freq!r} (use e.g. 'D', 'W' or 'M'): {err}") from None


def _spread(table: pd.DataFrame) -> pd.Series:
    """max − min across the groups present in each period; NaN with fewer than two."""
    present = table.notna().sum(axis=1)
    return (table.max(axis=1) - table.min(axis=1)).where(present >= 2)


def gap_over_time(frame: pd.DataFrame, *, time_col: str, group_col: str, pred_col: str,
                  label_col: str | None = None, freq: str = "W") -> pd.DataFrame:
    """One row per period (empty periods included): ``period`` (its start), ``n``, ``n_<g>`` and
    ``selection_rate_<g>`` per group, and ``parity_difference`` (max − min selection rate of the groups present
    that period; NaN when fewer than two are). With ``label_col`` (0/1 outcomes) also ``tpr_<g>`` and
    ``equal_opportunity_difference``. ``pred_col`` holds 0/1 decisions."""
    # 1. Check inputs
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidData("No rows to follow over time.")
    cols = [time_col, group_col, pred_col] + ([label_col] if label_col else [])
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InvalidData(f"The data lacks the column(s) {', '.join(missing)}.")
    data = pd.DataFrame({"period": _periods(frame[time_col], freq, time_col),
                         "group": frame[group_col].astype(str).to_numpy(),
                         "pred": as_binary(frame[pred_col], pred_col)})
    if data["group"].nunique() < 2:
        raise InvalidData(f"Only one group in '{group_col}'; a gap needs at least two.")
    # 2. Rates per period and group, with empty periods kept as NaN rows
    span = pd.period_range(data["period"].min(), data["period"].max(), freq=data["period"].dt.freq)
    groups = sorted(data["group"].unique())
    counts = data.pivot_table(index="period", columns="group", values="pred", aggfunc="size", fill_value=0)
    counts = counts.reindex(index=span, columns=groups, fill_value=0)
    rates = data.pivot_table(index="period", columns="group", values="pred", aggfunc="mean")
    rates = rates.reindex(index=span, columns=groups)
    out = pd.DataFrame({"period": span.start_time, "n": counts.sum(axis=1).to_numpy()})
    for g in groups:
        out[f"n_{g}"] = counts[g].to_numpy()
        out[f"selection_rate_{g}"] = rates[g].to_numpy(float)
    out["parity_difference"] = _spread(rates).to_numpy(float)
    # 3. True-positive rates when outcomes are known
    if label_col:
        data["label"] = as_binary(frame[label_col], label_col)
        pos = data[data["label"] == 1]
        tpr = pos.pivot_table(index="period", columns="group", values="pred", aggfunc="mean") if len(pos) else None
        tpr = tpr.reindex(index=span, columns=groups) if tpr is not None else pd.DataFrame(
            np.nan, index=span, columns=groups)
        for g in groups:
            out[f"tpr_{g}"] = tpr[g].to_numpy(float)
        out["equal_opportunity_difference"] = _spread(tpr).to_numpy(float)
    return out.reset_index(drop=True)
