"""Thompson-sampling A/B/n tests: convergence, P(best), expected loss, stop rule, invalid counts."""
from __future__ import annotations

import json

import numpy as np
import pytest

from analytics.errors import InvalidData
from analytics.experiments import (
    Arm,
    choose_arm,
    posterior_density,
    posteriors,
    stop_rule,
)


def _simulate(true_ctr: list[float], impressions: int, seed: int, check_every: int = 0):
    rng = np.random.default_rng(seed)
    n = np.zeros(len(true_ctr), dtype=int)
    c = np.zeros(len(true_ctr), dtype=int)
    picks, stops = [], []
    for i in range(1, impressions + 1):
        k = choose_arm([Arm(int(a), int(b)) for a, b in zip(n, c)], rng)
        picks.append(k)
        n[k] += 1
        c[k] += rng.random() < true_ctr[k]
        if check_every and i % check_every == 0:
            stops.append(stop_rule(list(zip(n, c)), draws=5000).stop)
    return n, c, np.array(picks), stops


def test_bandit_converges_and_stop_rule_picks_best():
    n, c, picks, _ = _simulate([0.04, 0.05, 0.08], 20000, seed=0)
    assert n.sum() == 20000
    assert np.mean(picks[10000:] == 2) > 0.7
    decision = stop_rule([Arm(int(a), int(b), name=f"thumb {i}") for i, (a, b) in enumerate(zip(n, c))])
    assert decision.stop and decision.winner == 2 == decision.leader
    assert decision.p_best >= 0.95 and decision.expected_loss < 0.001
    assert decision.reason.startswith("Stop: 'thumb 2' wins")
    json.dumps(decision.as_dict())


def test_posteriors_values():
    arms = [(1000, 40), (1000, 50), (1000, 80)]
    post = posteriors(arms, draws=40000, rng=1)
    assert sum(p.p_best for p in post) == pytest.approx(1.0)
    assert [p.name for p in post] == ["A", "B", "C"]
    assert post[2].p_best > 0.99 and post[0].p_best < 0.01
    for p, (n, c) in zip(post, arms):
        assert p.mean == pytest.approx((1 + c) / (2 + n))
        assert p.lower < p.mean < p.upper
    # expected loss: ~0 for the clear winner, ~the gap in means for a clear loser
    assert post[2].expected_loss < 1e-4
    assert post[0].expected_loss == pytest.approx(post[2].mean - post[0].mean, abs=2e-3)
    # the 95% interval of Beta(81, 921) (exact quantiles)
    assert post[2].lower == pytest.approx(0.0648, abs=5e-4) and post[2].upper == pytest.approx(0.0988, abs=5e-4)


def test_choose_arm_is_thompson():
    rng = np.random.default_rng(5)
    picks = [choose_arm([(1000, 10), (1000, 300)], rng) for _ in range(200)]
    assert sum(picks) == 200  # the clear winner is always drawn highest
    even = [choose_arm([(0, 0), (0, 0)], rng) for _ in range(2000)]
    assert 0.45 < np.mean(even) < 0.55  # with no data, both are explored


def test_identical_arms_do_not_stop():
    decision = stop_rule([(5000, 250)] * 3)
    assert not decision.stop and decision.winner is None
    assert all(abs(p.p_best - 1 / 3) < 0.03 for p in decision.arms)
    assert "Keep testing" in decision.reason and "95%" in decision.reason
    _, _, _, stops = _simulate([0.05, 0.05, 0.05], 20000, seed=0, check_every=1000)
    assert len(stops) == 20 and not any(stops)


def test_minimum_impressions_and_loss_threshold():
    thin = stop_rule([(60, 30), (60, 1)], min_impressions=100)
    assert not thin.stop and thin.leader == 0 and "only 60 impressions" in thin.reason
    assert thin.p_best > 0.99  # clear, but not enough impressions yet
    close = stop_rule([(20000, 1000), (20000, 1080)], max_loss=1e-6)
    assert not close.stop and "could still cost" in close.reason
    assert stop_rule([(20000, 1000), (20000, 1080)]).stop


def test_posterior_density_chart():
    chart = posterior_density([(1000, 40), (500, 40)], points=400)
    assert chart.pdf.shape == (2, 400) and chart.names == ["A", "B"]
    areas = np.trapezoid(chart.pdf, chart.x, axis=1)
    np.testing.assert_allclose(areas, 1.0, atol=0.01)
    assert chart.x[np.argmax(chart.pdf[0])] == pytest.approx(0.04, abs=0.002)
    data = json.loads(json.dumps(chart.as_dict()))
    assert len(data["x"]) == 400 and data["series"][1]["name"] == "B"


@pytest.mark.parametrize("arms", [[], [(10, 11)], [(-1, 0)], [(10, -1)], [(10.5, 1)], [(10,)], [("x", 1)]])
def test_invalid_counts(arms):
    with pytest.raises(InvalidData):
        posteriors(arms)


def test_stop_rule_needs_two_arms():
    with pytest.raises(InvalidData, match="two versions"):
        stop_rule([(100, 5)])
    with pytest.raises(InvalidData, match="more clicks"):
        choose_arm([(100, 5), (3, 4)])
