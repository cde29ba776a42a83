"""SHAP explanations of the watch-time and click models: additivity per original column, ranking, sentences."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.errors import InvalidData
from analytics.explain import column_groups, explain_model
from analytics.predict import fit_ctr_model, fit_watch_time_model


def _sessions(n: int = 700, seed: int = 0) -> pd.DataFrame:
    """Rows shaped like studio's dashboard model_frame, with planted effects."""
    rng = np.random.default_rng(seed)
    f = pd.DataFrame({
        "device": rng.choice(["mobile", "desktop", "tv"], n), "region": rng.choice(["EU", "US", "ASIA"], n),
        "hour": rng.integers(0, 24, n), "weekend": rng.integers(0, 2, n), "returning": rng.integers(0, 2, n),
        "video_length_s": rng.uniform(30, 600, n), "title_words": rng.integers(2, 12, n).astype(float)})
    # watch time: mostly video length, a little device
    f["watch_time_s"] = 0.5 * f["video_length_s"] + 20 * (f["device"] == "tv") + rng.normal(0, 10, n)
    # clicks: mostly device, a little hour
    logit = -1.0 + 2.5 * (f["device"] == "mobile") + 0.05 * (f["hour"] - 12)
    f["clicked"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return f


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _sessions()


@pytest.fixture(scope="module")
def watch(data):
    model = fit_watch_time_model(data.drop(columns=["clicked"]), seed=0)
    return model, explain_model(model, data, max_rows=300)


@pytest.fixture(scope="module")
def ctr(data):
    model = fit_ctr_model(data.drop(columns=["watch_time_s"]), seed=0)
    return model, explain_model(model, data, max_rows=300)


@pytest.mark.parametrize("which", ["watch", "ctr"])
def test_shap_values_add_up_to_the_model_output(which, request):
    model, exp = request.getfixturevalue(which)
    assert exp.values.shape == (300, 7) and exp.features == model.features
    total = exp.base_value + exp.values.sum(axis=1)
    np.testing.assert_allclose(total, exp.predictions, rtol=1e-6, atol=1e-6)
    rows = exp.inputs
    if which == "watch":
        assert exp.output == "seconds of watch time" and exp.probabilities is None
        np.testing.assert_allclose(exp.predictions, model.predict(rows), rtol=1e-9)
    else:
        assert exp.output == "log-odds of a click"
        np.testing.assert_allclose(exp.probabilities, model.predict(rows), rtol=1e-9)
        np.testing.assert_allclose(1 / (1 + np.exp(-exp.predictions)), exp.probabilities, rtol=1e-9)


@pytest.mark.parametrize("which, top", [("watch", "video_length_s"), ("ctr", "device")])
def test_global_importance_ranks_planted_feature_first(which, top, request):
    _, exp = request.getfixturevalue(which)
    imp = exp.global_importance()
    assert list(imp.columns) == ["feature", "mean_abs_shap"] and len(imp) == 7
    assert imp["feature"].iloc[0] == top
    assert imp["mean_abs_shap"].iloc[0] > 2 * imp["mean_abs_shap"].iloc[1]
    assert imp["mean_abs_shap"].is_monotonic_decreasing


@pytest.mark.parametrize("which", ["watch", "ctr"])
def test_row_explanation_sentence_names_the_top_feature(which, request):
    _, exp = request.getfixturevalue(which)
    for i in range(5):
        row = exp.row(i)
        shaps = [c.shap for c in row.contributions]
        assert shaps == sorted(shaps, key=lambda v: -abs(v))
        assert row.base_value + sum(shaps) == pytest.approx(row.prediction, rel=1e-6, abs=1e-6)
        top = row.contributions[0]
        assert top.feature.replace("_s", "").replace("_", " ") in row.sentence and top.text in row.sentence
        assert row.sentence.startswith("Predicted watch time" if which == "watch" else "Predicted click chance")
        json.dumps(row.as_dict())
    json.dumps(exp.as_dict())


def test_watch_sentence_reads_in_seconds(watch):
    _, exp = watch
    row = exp.row(0)
    length = exp.inputs.loc[0, "video_length_s"]
    assert f"video length ({length:.3g} s)" in row.sentence
    assert " s is " in row.sentence and "the average" in row.sentence


def test_columns_map_back_to_inputs(ctr, watch):
    ctr_groups = column_groups(ctr[0].model.named_steps["prepare"])
    assert len(ctr_groups["device"]) == 3 and len(ctr_groups["hour"]) == 7  # 3 one-hot, 5 knots + degree 3 − 1
    watch_groups = column_groups(watch[0].model.named_steps["prepare"])
    assert len(watch_groups["region"]) == 3 and len(watch_groups["hour"]) == 1
    assert sorted(i for cols in ctr_groups.values() for i in cols) == list(range(sum(map(len, ctr_groups.values()))))


def test_sampling_and_errors(watch, data):
    model, _ = watch
    small = explain_model(model, data, max_rows=40, seed=1)
    assert small.values.shape == (40, 7)
    with pytest.raises(InvalidData, match="needs a model"):
        explain_model(object(), data)
    with pytest.raises(InvalidData, match="No rows"):
        explain_model(model, data.iloc[:0])
    with pytest.raises(InvalidData, match="lack the column"):
        explain_model(model, data.drop(columns=["device"]))
    with pytest.raises(InvalidData, match="out of range"):
        small.row(40)
