"""Fairness metrics, exposure, mitigations and the gap over time: hand-computed values, fairlearn parity, errors."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
)

from analytics.errors import InvalidData
from analytics.fairness import (
    binarize,
    exposure_report,
    gap_over_time,
    group_report,
    optimise_thresholds,
    parity_difference,
    rerank_for_exposure,
)

# group a: 4 rows, group b: 4 rows
HAND_TRUE = [1, 1, 0, 0, 1, 1, 1, 0]
HAND_PRED = [1, 1, 1, 0, 1, 0, 0, 0]
HAND_GROUP = ["a"] * 4 + ["b"] * 4


def _random(n: int = 3000, seed: int = 0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["EU", "US", "ASIA"], n)
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < np.where(g == "EU", 0.3, 0.45) + 0.2 * y).astype(int)
    return y, p, g


# --- group metrics ---------------------------------------------------------------------------------------------------
def test_hand_example_values():
    r = group_report(HAND_TRUE, HAND_PRED, HAND_GROUP, label="region", outcome="recommended")
    by = r.frame.set_index("group")
    # selection a = 3/4, b = 1/4; TPR a = 2/2, b = 1/3; accuracy a = 3/4, b = 2/4
    assert by.loc["a", "selection_rate"] == 0.75 and by.loc["b", "selection_rate"] == 0.25
    assert by.loc["a", "tpr"] == 1.0 and by.loc["b", "tpr"] == pytest.approx(1 / 3)
    assert by.loc["a", "accuracy"] == 0.75 and by.loc["b", "accuracy"] == 0.5
    assert list(by["n"]) == [4, 4] and list(by["positives"]) == [2, 3]
    assert r.statistical_parity_difference == pytest.approx(0.5)
    assert r.parity_ratio == pytest.approx(1 / 3)
    assert r.equal_opportunity_difference == pytest.approx(2 / 3)
    assert not r.four_fifths_met and r.accuracy == pytest.approx(5 / 8) and r.n == 8
    assert r.summary == ("Viewers in region b are recommended 50 points less often than viewers in region a "
                         "(25% vs 75%); the four-fifths rule is not met (ratio 0.33).")
    # the signed two-group formula: P(Ŷ=1 | unprivileged) − P(Ŷ=1 | privileged)
    assert parity_difference(HAND_PRED, HAND_GROUP, privileged="a") == pytest.approx(-0.5)
    assert parity_difference(HAND_PRED, HAND_GROUP, privileged="b") == pytest.approx(0.5)


def test_matches_fairlearn_on_random_data():
    y, p, g = _random()
    r = group_report(y, p, g)
    assert r.statistical_parity_difference == pytest.approx(demographic_parity_difference(y, p, sensitive_features=g))
    assert r.parity_ratio == pytest.approx(demographic_parity_ratio(y, p, sensitive_features=g))
    assert r.equal_opportunity_difference == pytest.approx(equal_opportunity_difference(y, p, sensitive_features=g))
    by = r.frame.set_index("group")
    for k in ("EU", "US", "ASIA"):
        assert by.loc[k, "selection_rate"] == pytest.approx(p[g == k].mean())
    assert "EU" in r.summary and "four-fifths rule is not met" in r.summary
    data = json.loads(json.dumps(r.as_dict()))
    assert len(data["groups"]) == 3 and {"selection_lo", "tpr_hi", "accuracy"} <= set(data["groups"][0])


def test_bootstrap_intervals_contain_estimate_narrow_with_n_and_are_seeded():
    widths = []
    for n in (300, 6000):
        r = group_report(*_random(n, seed=1), n_boot=300, seed=3)
        f = r.frame
        for col, lo, hi in (("selection_rate", "selection_lo", "selection_hi"), ("tpr", "tpr_lo", "tpr_hi"),
                            ("accuracy", "accuracy_lo", "accuracy_hi")):
            assert (f[lo] <= f[col]).all() and (f[col] <= f[hi]).all()
        widths.append((f["selection_hi"] - f["selection_lo"]).mean())
    assert widths[1] < widths[0] / 3  # ~ 1/sqrt(20)
    a = group_report(*_random(500), seed=7).frame
    b = group_report(*_random(500), seed=7).frame
    pd.testing.assert_frame_equal(a, b)
    assert group_report(*_random(500), n_boot=0).frame["selection_lo"].isna().all()


def test_group_without_positives_has_no_tpr():
    r = group_report([0, 0, 1, 1], [1, 0, 1, 0], ["a", "a", "b", "b"])
    assert np.isnan(r.frame.set_index("group").loc["a", "tpr"]) and np.isnan(r.equal_opportunity_difference)
    json.dumps(r.as_dict())


def test_binarize_uses_median_or_given_threshold():
    b = binarize([10.0, 20.0, 30.0, 40.0, 50.0])
    assert b.threshold == 30.0 and b.labels.tolist() == [0, 0, 1, 1, 1] and b.rate == 0.6
    b = binarize(np.array([1.0, 5.0, 9.0]), threshold=5.0)
    assert b.labels.tolist() == [0, 1, 1] and b.as_dict()["threshold"] == 5.0


@pytest.mark.parametrize("args, match", [
    (([], [], []), "empty"),
    (([1, 0, 1], [1, 0], ["a", "b", "a"]), "Lengths differ"),
    (([1, 0, 1], [1, 0, 1], ["a", "a", "a"]), "Only one group"),
    (([1, 0, 2], [1, 0, 1], ["a", "b", "a"]), "y_true must be 0/1"),
    (([1, 0, 1], [0.3, 0.2, 0.9], ["a", "b", "a"]), "binarize"),
    (([1, 0, 1], [1, 0, 1], ["a", None, "b"]), "missing"),
])
def test_group_report_rejects_bad_input(args, match):
    with pytest.raises(InvalidData, match=match):
        group_report(*args)


def test_parity_difference_and_binarize_errors():
    with pytest.raises(InvalidData, match="exactly two"):
        parity_difference([1, 0, 1], ["a", "b", "c"], privileged="a")
    with pytest.raises(InvalidData, match="privileged group 'z'"):
        parity_difference([1, 0], ["a", "b"], privileged="z")
    with pytest.raises(InvalidData, match="finite"):
        binarize([1.0, np.nan])


# --- exposure --------------------------------------------------------------------------------------------------------
ITEMS = {"a1": "A", "a2": "A", "b1": "B", "b2": "B"}


def test_exposure_shares_hand_computed():
    w2 = 1 / np.log2(3)  # rank 2
    r = exposure_report({"u1": ["a1", "b1"], "u2": ["a2", "a1"]}, ITEMS, user_group={"u1": "young", "u2": "old"})
    by = r.frame.set_index("group")
    assert by.loc["A", "exposure"] == pytest.approx(2 + w2) and by.loc["B", "exposure"] == pytest.approx(w2)
    share_a = (2 + w2) / (2 + 2 * w2)
    assert r.shares["A"] == pytest.approx(share_a) and r.shares["B"] == pytest.approx(1 - share_a)
    assert list(by["target"]) == [0.5, 0.5] and by.loc["A", "ratio"] == pytest.approx(2 * share_a)
    assert r.gap == pytest.approx(share_a - 0.5)
    assert r.summary.startswith("Creators in group B get 19% of the exposure against a target of 50%")
    assert r.by_user_group.loc["young", "A"] == pytest.approx(1 / (1 + w2))
    assert r.by_user_group.loc["old"].tolist() == [1.0, 0.0]
    # a given target is normalised; no discount counts every slot once
    r2 = exposure_report({"u1": ["a1", "b1"], "u2": ["a2", "a1"]}, ITEMS, target={"A": 3, "B": 1}, discount="none")
    assert r2.shares == {"A": 0.75, "B": 0.25} and r2.gap == 0.0 and "matches the target" in r2.summary
    data = json.loads(json.dumps(r.as_dict()))
    assert data["by_user_group"]["old"] == {"A": 1.0, "B": 0.0}


def test_exposure_errors():
    with pytest.raises(InvalidData, match="no creator group"):
        exposure_report({"u": ["a1", "zz"]}, ITEMS)
    with pytest.raises(InvalidData, match="No recommendation lists"):
        exposure_report({}, ITEMS)
    with pytest.raises(InvalidData, match="discount"):
        exposure_report({"u": ["a1"]}, ITEMS, discount="exp")
    with pytest.raises(InvalidData, match="no viewer group"):
        exposure_report({"u": ["a1"]}, ITEMS, user_group={"v": "x"})
    with pytest.raises(InvalidData, match="target"):
        exposure_report({"u": ["a1"]}, ITEMS, target={"A": -1.0})


# --- mitigations -----------------------------------------------------------------------------------------------------
def _skewed_candidates(users: int = 60, seed: int = 0):
    """Catalogue 50/50; group A items score higher, so ~80%+ of each top-10 is A."""
    rng = np.random.default_rng(seed)
    items = {f"a{i}": "A" for i in range(40)} | {f"b{i}": "B" for i in range(40)}
    cands = {u: [(it, float(rng.normal(1.0 if g == "A" else 0.6, 0.25))) for it, g in items.items()]
             for u in range(users)}
    return cands, items


def test_rerank_reduces_exposure_gap_at_a_reported_cost():
    cands, items = _skewed_candidates()
    res = rerank_for_exposure(cands, items, k=10)
    assert res.before.shares["A"] > 0.75
    assert res.before.gap > 0.25 and res.after.gap < 0.05
    assert 0.5 < res.ndcg < 1.0 and res.mean_score_after < res.mean_score_before
    assert 0.5 < res.score_kept < 1.0
    for u, new in res.lists.items():
        assert len(new) == 10 and len({i for i, _ in new}) == 10 and set(new) <= set(cands[u])
    assert "NDCG@10" in res.summary
    json.dumps(res.as_dict())
    # a tolerance that never binds keeps the original top-k
    same = rerank_for_exposure(cands, items, k=10, tolerance=0.99)
    assert same.ndcg == pytest.approx(1.0) and same.after.gap == pytest.approx(same.before.gap)


def test_rerank_errors():
    with pytest.raises(InvalidData, match="No candidates"):
        rerank_for_exposure({}, ITEMS)
    with pytest.raises(InvalidData, match="k must be"):
        rerank_for_exposure({"u": [("a1", 1.0)]}, ITEMS, k=0)
    with pytest.raises(InvalidData, match="no creator group"):
        rerank_for_exposure({"u": [("zz", 1.0)]}, ITEMS)


def _biased_scores(n: int = 3000, seed: int = 0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    p = np.clip(rng.beta(2, 2, n) + np.where(g == "a", 0.15, -0.15), 0.01, 0.99)
    return p, (rng.random(n) < p).astype(int), g  # calibrated scores: 0.5 is the best single threshold


@pytest.mark.parametrize("constraint, metric", [("demographic_parity", "statistical_parity_difference"),
                                                ("equal_opportunity", "equal_opportunity_difference")])
def test_threshold_optimiser_reduces_gap_with_nonnegative_cost(constraint, metric):
    scores, y, g = _biased_scores()
    res = optimise_thresholds(scores, y, g, constraint=constraint, n_boot=50)
    assert getattr(res.before, metric) > 0.2
    assert getattr(res.after, metric) < getattr(res.before, metric) / 3
    assert res.accuracy_cost >= 0
    assert res.accuracy_cost == pytest.approx(100 * (res.before.accuracy - res.after.accuracy))
    assert set(res.rules) == {"a", "b"} and res.y_pred.shape == (len(y),)
    again = optimise_thresholds(scores, y, g, constraint=constraint, n_boot=50)
    assert np.array_equal(res.y_pred, again.y_pred)  # seeded randomisation
    json.dumps(res.as_dict())


def test_threshold_optimiser_errors():
    scores, y, g = _biased_scores(200)
    with pytest.raises(InvalidData, match="Unknown constraint"):
        optimise_thresholds(scores, y, g, constraint="equalized_odds")
    with pytest.raises(InvalidData, match="one class"):
        optimise_thresholds(scores, np.ones_like(y), g)
    with pytest.raises(InvalidData, match="Lengths differ"):
        optimise_thresholds(scores[:-1], y, g)


# --- over time -------------------------------------------------------------------------------------------------------
def test_gap_over_time_per_week_with_missing_group_and_empty_week():
    rows = [  # (day, group, pred, label); weeks start on Mondays: Jan 1, 8, 15, 22
        ("2024-01-01", "a", 1, 1), ("2024-01-02", "a", 1, 0), ("2024-01-03", "a", 0, 1), ("2024-01-07", "a", 0, 0),
        ("2024-01-02", "b", 1, 1), ("2024-01-04", "b", 0, 1), ("2024-01-05", "b", 0, 0), ("2024-01-06", "b", 0, 0),
        ("2024-01-09", "a", 1, 1), ("2024-01-10", "a", 0, 0),  # week 2: group a only
        ("2024-01-23", "a", 1, 1), ("2024-01-24", "a", 1, 1), ("2024-01-25", "b", 0, 1), ("2024-01-26", "b", 1, 1),
    ]
    frame = pd.DataFrame(rows, columns=["day", "region", "shown", "clicked"])
    out = gap_over_time(frame, time_col="day", group_col="region", pred_col="shown", label_col="clicked")
    assert list(out["period"]) == list(pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]))
    assert out["n"].tolist() == [8, 2, 0, 4] and out["n_b"].tolist() == [4, 0, 0, 2]
    np.testing.assert_allclose(out["selection_rate_a"], [0.5, 0.5, np.nan, 1.0])
    np.testing.assert_allclose(out["selection_rate_b"], [0.25, np.nan, np.nan, 0.5])
    np.testing.assert_allclose(out["parity_difference"], [0.25, np.nan, np.nan, 0.5])
    np.testing.assert_allclose(out["tpr_b"], [0.5, np.nan, np.nan, 0.5])
    np.testing.assert_allclose(out["equal_opportunity_difference"], [0.0, np.nan, np.nan, 0.5])


def test_gap_over_time_errors():
    frame = pd.DataFrame({"day": ["2024-01-01", "2024-01-02"], "g": ["a", "b"], "p": [1, 0.5]})
    with pytest.raises(InvalidData, match="lacks the column"):
        gap_over_time(frame, time_col="when", group_col="g", pred_col="p")
    with pytest.raises(InvalidData, match="0/1"):
        gap_over_time(frame, time_col="day", group_col="g", pred_col="p")
    with pytest.raises(InvalidData, match="Only one group"):
        gap_over_time(frame.assign(g="a", p=1), time_col="day", group_col="g", pred_col="p")
