"""Watch-time and CTR models on planted data: they beat the baseline and find the planted feature."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.errors import InvalidData
from analytics.predict import fit_ctr_model, fit_watch_time_model


def _frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "duration_s": rng.uniform(30, 600, n),
        "device": rng.choice(["mobile", "desktop", "tv"], n),
        "region": rng.choice(list("ABCDE"), n),
        "hour": rng.integers(0, 24, n),
        "noise": rng.normal(size=n),
    })


@pytest.fixture(scope="module")
def watch():
    f = _frame()
    rng = np.random.default_rng(1)
    f["watch_time_s"] = 0.6 * f["duration_s"] + rng.normal(0, 25, len(f))  # planted: duration drives watch time
    return f, fit_watch_time_model(f, seed=0)


@pytest.fixture(scope="module")
def ctr():
    f = _frame(1200, seed=2)
    rng = np.random.default_rng(3)
    logit = -2.0 + 3.5 * (f["device"] == "mobile") + 0.3 * f["noise"]  # planted: device drives clicks
    f["clicked"] = (rng.random(len(f)) < 1 / (1 + np.exp(-logit))).astype(int)
    return f, fit_ctr_model(f, seed=0)


def test_watch_time_model_beats_mean_and_finds_duration(watch):
    f, m = watch
    assert m.r2 > 0.5
    assert m.mae < 0.5 * m.baseline_mae
    assert m.importances[0].feature == "duration_s"
    assert m.importances[0].importance > 5 * max(i.importance for i in m.importances[1:])
    assert "matters most" in m.importances[0].sentence and "Duration (seconds)" in m.importances[0].sentence
    assert m.n_train + m.n_test == len(f) and set(m.features) == set(f.columns) - {"watch_time_s"}
    pred = m.predict(f.head(5))
    np.testing.assert_allclose(pred, 0.6 * f["duration_s"].head(5), atol=60)


def test_watch_time_as_dict_is_json(watch):
    _, m = watch
    data = json.loads(json.dumps(m.as_dict()))
    assert {"r2", "mae", "baseline_mae", "importances", "summary", "features", "categorical"} <= set(data)
    assert data["categorical"] == ["device", "region"] and "model" not in data


def test_ctr_model_beats_base_rate_and_finds_device(ctr):
    f, m = ctr
    assert m.auc > 0.75
    assert m.log_loss < m.baseline_log_loss - 0.05
    assert m.importances[0].feature == "device"
    p = m.predict(f)
    assert p.shape == (len(f),) and np.all((p > 0) & (p < 1))
    # calibrated: predicted rates track observed ones by device
    by_device = pd.DataFrame({"p": p, "y": f["clicked"], "device": f["device"]}).groupby("device").mean()
    np.testing.assert_allclose(by_device["p"], by_device["y"], atol=0.06)
    cal = m.calibration
    assert len(cal["predicted"]) == len(cal["observed"]) == len(cal["count"]) and sum(cal["count"]) == m.n_test
    data = json.loads(json.dumps(m.as_dict()))
    assert {"auc", "log_loss", "baseline_log_loss", "brier", "base_rate", "calibration"} <= set(data)


def test_boolean_target_and_numeric_only_inputs():
    rng = np.random.default_rng(7)
    f = pd.DataFrame({"x": rng.normal(size=300), "constant": 1.0})
    f["clicked"] = rng.random(300) < 1 / (1 + np.exp(-2 * f["x"]))
    m = fit_ctr_model(f)
    assert m.categorical == [] and m.auc > 0.75 and m.importances[0].feature == "x"


def test_unseen_category_at_prediction_time(ctr):
    f, m = ctr
    new = f.head(3).assign(device="console")
    assert np.all(np.isfinite(m.predict(new)))
    with pytest.raises(InvalidData, match="lack"):
        m.predict(f.drop(columns=["device"]).head(3))


def test_too_little_data_and_bad_targets_raise():
    f = _frame(100)
    with pytest.raises(InvalidData, match="at least 30 rows"):
        fit_watch_time_model(f.head(10).assign(watch_time_s=1.0))
    with pytest.raises(InvalidData, match="same"):
        fit_watch_time_model(f.assign(watch_time_s=42.0))
    with pytest.raises(InvalidData, match="no 'clicked' column"):
        fit_ctr_model(f)
    with pytest.raises(InvalidData, match="both"):
        fit_ctr_model(f.assign(clicked=0))
    with pytest.raises(InvalidData, match="0/1"):
        fit_ctr_model(f.assign(clicked=np.arange(len(f)) % 3))
    rare = np.zeros(len(f), int)
    rare[:3] = 1
    with pytest.raises(InvalidData, match="at least 10 clicks"):
        fit_ctr_model(f.assign(clicked=rare))
    with pytest.raises(InvalidData, match="must be a number"):
        fit_watch_time_model(f.assign(watch_time_s="long"))
    with pytest.raises(InvalidData, match="input column"):
        fit_watch_time_model(pd.DataFrame({"watch_time_s": np.arange(40.0)}))
