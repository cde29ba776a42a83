"""Kaplan–Meier retention: exact on a hand example, identical to lifelines raw vs aggregated, key moments."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from analytics.errors import InvalidData
from analytics.retention import (
    average_percentage_viewed,
    format_time,
    key_moments,
    median_view_duration,
    retention_curve,
)


def _views(rng: np.random.Generator, n: int = 3000, length: float = 90.0) -> tuple[np.ndarray, np.ndarray]:
    d = np.minimum(rng.exponential(60.0, n), length)
    return d, d < length


def test_hand_computed_five_views():
    # 10 s video: left at 2, left at 4, censored at 4, left at 6, reached the end
    curve = retention_curve([2, 4, 4, 6, 10], [True, True, False, True, False], video_length=10)
    # S(2) = 4/5; S(4) = 0.8 * 3/4; S(6) = 0.6 * 1/2 (2 at risk at 6); held to the end
    np.testing.assert_allclose(curve.times, [0, 2, 4, 6, 10])
    np.testing.assert_allclose(curve.survival, [1.0, 0.8, 0.6, 0.3, 0.3])
    assert curve.at_risk.tolist() == [5, 5, 4, 2, 1]
    np.testing.assert_allclose(curve.at([0, 1.9, 2, 5, 6, 9.5]), [1, 1, 0.8, 0.6, 0.3, 0.3])
    assert average_percentage_viewed(curve) == pytest.approx((2 * 1 + 2 * 0.8 + 2 * 0.6 + 4 * 0.3) / 10)
    assert median_view_duration(curve) == 6.0
    assert np.all(curve.lower <= curve.survival + 1e-12) and np.all(curve.survival <= curve.upper + 1e-12)


def test_matches_lifelines_on_raw_data():
    rng = np.random.default_rng(1)
    d, e = _views(rng)
    curve = retention_curve(d, e, video_length=90)
    kmf = KaplanMeierFitter().fit(d, event_observed=e)
    np.testing.assert_allclose(curve.survival, kmf.survival_function_at_times(curve.times).to_numpy(), atol=1e-12)
    ci = kmf.confidence_interval_survival_function_
    n = len(ci)
    np.testing.assert_allclose(curve.lower[:n], ci.iloc[:, 0].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(curve.upper[:n], ci.iloc[:, 1].to_numpy(), atol=1e-12)
    assert curve.n_views == len(d) and curve.at_risk[0] == len(d)


def test_aggregated_weights_equal_raw_rounded_events():
    rng = np.random.default_rng(2)
    d, e = _views(rng, n=5000)
    d = np.round(d)
    raw = retention_curve(d, e, video_length=90)
    bins = pd.DataFrame({"d": d, "e": e}).groupby(["d", "e"]).size().reset_index(name="n")
    assert len(bins) < len(d) / 10  # the SQL-style form is much smaller
    agg = retention_curve(bins["d"], bins["e"], weights=bins["n"], video_length=90)
    np.testing.assert_allclose(agg.times, raw.times)
    np.testing.assert_allclose(agg.survival, raw.survival, atol=1e-12)
    np.testing.assert_allclose(agg.lower, raw.lower, atol=1e-9)
    assert agg.at_risk.tolist() == raw.at_risk.tolist()
    kmf = KaplanMeierFitter().fit(d, event_observed=e)
    np.testing.assert_allclose(agg.survival, kmf.survival_function_at_times(agg.times).to_numpy(), atol=1e-12)
    # scales: a million views as counts
    big = retention_curve(bins["d"], bins["e"], weights=bins["n"] * 200, video_length=90)
    assert big.n_views == 1_000_000
    np.testing.assert_allclose(big.survival, raw.survival, atol=1e-12)


def test_key_moment_found_at_planted_drop():
    rng = np.random.default_rng(3)
    length = 120.0
    d = np.concatenate([rng.uniform(0, length, 3000), rng.uniform(30, 35, 1500), np.full(3000, length)])
    curve = retention_curve(d, d < length, video_length=length)
    moments = key_moments(curve)
    assert moments, "the planted drop-off should be flagged"
    first = moments[0]
    assert first.start >= 29 and first.end <= 36
    assert first.share_lost == pytest.approx(1500 / 7500, abs=0.03)
    assert "0:3" in first.sentence and "% of viewers leave between" in first.sentence
    assert all(m.relative_drop >= 0.05 for m in moments)
    # never overlapping
    spans = sorted((m.start, m.end) for m in moments)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_steady_decline_and_tiny_audiences_are_not_flagged():
    rng = np.random.default_rng(4)
    d = np.minimum(rng.exponential(40.0, 20000), 120.0)
    steady = retention_curve(d, d < 120, video_length=120)
    assert key_moments(steady) == []
    few = np.array([3.0, 10, 31, 32, 33, 60, 60, 60])  # 3 of 8 leave in 30-35 s: too few to call
    assert key_moments(retention_curve(few, few < 60, video_length=60)) == []


def test_everyone_finishes():
    curve = retention_curve(np.full(50, 30.0), np.zeros(50, bool), video_length=30)
    assert average_percentage_viewed(curve) == pytest.approx(1.0)
    assert median_view_duration(curve) == 30.0
    assert key_moments(curve) == []


def test_as_dict_is_json():
    curve = retention_curve([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 0], video_length=6)
    data = json.loads(json.dumps(curve.as_dict()))
    assert set(data) >= {"times", "survival", "lower", "upper", "at_risk", "video_length", "n_views",
                         "average_percentage_viewed", "median_view_duration"}
    assert len(data["times"]) == len(data["survival"]) == len(data["at_risk"])


def test_format_time():
    assert format_time(5) == "0:05" and format_time(75) == "1:15" and format_time(3725) == "1:02:05"


@pytest.mark.parametrize(
    "args",
    [
        ([], []),
        ([1, 2], [True]),
        ([1, -2], [True, True]),
        ([1, float("nan")], [True, True]),
    ],
)
def test_invalid_input(args):
    with pytest.raises(InvalidData):
        retention_curve(*args)


def test_invalid_weights_and_length():
    with pytest.raises(InvalidData):
        retention_curve([1, 2], [True, True], weights=[1.5, 2])
    with pytest.raises(InvalidData):
        retention_curve([1, 2], [True, True], weights=[0, 0])
    with pytest.raises(InvalidData):
        retention_curve([1, 2], [True, True], video_length=0)
