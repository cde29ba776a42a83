"""SHAP explanations of the watch-time and click models in :mod:`analytics.predict`, per ORIGINAL input column.

The models see transformed columns (one-hot categories; for the click model, spline-expanded numbers). SHAP is
computed on those — ``TreeExplainer`` on the boosted trees (seconds of watch time), ``LinearExplainer`` with an
independent (interventional) background masker on the logistic regression (log-odds of a click) — and the
columns made from one input (every ``device_*`` indicator, every spline of ``hour``) are summed back into it.
Additivity survives the sum: for every row, ``base_value + values[row].sum()`` is the model output.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import AnalyticsError, InvalidData
from analytics.predict import CtrModel, WatchTimeModel, _threads

OUTPUTS = {"watch": "seconds of watch time", "ctr": "log-odds of a click"}


def _name(col: str) -> str:
    """``video_length_s`` → ``video length``."""
    text = str(col)
    return text.removesuffix("_s").replace("_", " ").strip()


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def describe(feature: str, value: Any, categorical: bool) -> str:
    """How a row's input reads in a sentence: ``device = mobile``, ``video length (300 s)``, ``hour (21)``."""
    if categorical:
        return f"{_name(feature)} = {value}"
    if value is None or pd.isna(value):
        return f"{_name(feature)} (missing)"
    unit = " s" if str(feature).endswith("_s") else ""
    return f"{_name(feature)} ({_num(float(value))}{unit})"


@dataclass(frozen=True)
class Contribution:
    """One input's push on one prediction, in the model's output space."""

    feature: str
    value: Any
    shap: float
    text: str

    def as_dict(self) -> dict[str, Any]:
        value = self.value.item() if isinstance(self.value, np.generic) else self.value
        return {"feature": self.feature, "value": value, "shap": self.shap, "text": self.text}


@dataclass
class RowExplanation:
    """Why one row got its prediction: base + contributions (largest first) = prediction."""

    prediction: float
    base_value: float
    contributions: list[Contribution]
    inputs: dict[str, Any]
    sentence: str
    probability: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"prediction": self.prediction, "base_value": self.base_value, "probability": self.probability,
                "contributions": [c.as_dict() for c in self.contributions], "sentence": self.sentence,
                "inputs": {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.inputs.items()}}


@dataclass
class Explanation:
    """SHAP values of ``inputs`` rows (n_rows × n_features, original columns) in the ``output`` space."""

    features: list[str]
    values: np.ndarray
    base_value: float
    output: str
    predictions: np.ndarray
    inputs: pd.DataFrame = field(repr=False)
    categorical: list[str]
    target: str
    probabilities: np.ndarray | None = None

    def global_importance(self) -> pd.DataFrame:
        """Mean |SHAP| per input column, most influential first."""
        imp = pd.DataFrame({"feature": self.features, "mean_abs_shap": np.abs(self.values).mean(axis=0)})
        return imp.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)

    def row(self, i: int) -> RowExplanation:
        """The explanation of the ``i``-th explained row, with a plain-language sentence."""
        if not -len(self.predictions) <= i < len(self.predictions):
            raise InvalidData(f"Row {i} is out of range; {len(self.predictions)} rows were explained.")
        inputs = self.inputs.iloc[i].to_dict()
        contribs = [Contribution(feature=f, value=inputs[f], shap=float(v),
                                 text=describe(f, inputs[f], f in self.categorical))
                    for f, v in zip(self.features, self.values[i])]
        contribs.sort(key=lambda c: -abs(c.shap))
        prob = None if self.probabilities is None else float(self.probabilities[i])
        pred = float(self.predictions[i])
        return RowExplanation(prediction=pred, base_value=self.base_value, contributions=contribs, inputs=inputs,
                              sentence=self._sentence(pred, prob, contribs), probability=prob)

    def _sentence(self, pred: float, prob: float | None, contribs: list[Contribution]) -> str:
        diff = pred - self.base_value
        unit = " s" if prob is None and self.target.endswith("_s") else ""

        def amount(x: float) -> str:
            return f"{_num(abs(x))}{unit}" if prob is None else f"{abs(x):.2f}"

        if prob is None:
            head = f"Predicted {_name(self.target)} {_num(pred)}{unit}"
            avg = f"the average {_num(self.base_value)}{unit}"
        else:
            base_p = 1.0 / (1.0 + np.exp(-self.base_value))
            head = f"Predicted click chance {prob:.0%} (log-odds {pred:.2f})"
            avg = f"the average log-odds {self.base_value:.2f} ({base_p:.0%})"
        def push(c: Contribution) -> str:
            return f"{c.text} {'raises' if c.shap > 0 else 'lowers'} it by {amount(c.shap)}"

        if abs(diff) < 1e-9 or not contribs or contribs[0].shap == 0:
            return f"{head} equals {avg}."
        # the biggest pushes in the direction of the difference; the biggest push overall is always named
        along = [c for c in contribs if c.shap * diff > 0][:2]
        against = f", although {push(contribs[0])}" if contribs[0] not in along else ""
        reasons = " and ".join(push(c) for c in along)
        return f"{head} is {amount(diff)} {'above' if diff > 0 else 'below'} {avg}, mostly because {reasons}{against}."

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "values": self.values.tolist(), "base_value": self.base_value,
                "output": self.output, "predictions": self.predictions.tolist(), "target": self.target,
                "probabilities": None if self.probabilities is None else self.probabilities.tolist(),
                "global_importance": self.global_importance().to_dict("records")}


def _output_counts(trans: Any, cols: list[str], width: int) -> list[int]:
    """How many transformed columns each input column of one ColumnTransformer block became (in order)."""
    steps = [s for _, s in trans.steps] if hasattr(trans, "steps") else [trans]
    counts = next((list(s._n_features_outs) for s in steps if hasattr(s, "_n_features_outs")), None)  # one-hot
    if counts is None and width % len(cols) == 0:  # passthrough, scaler, splines: equal blocks, column-major
        counts = [width // len(cols)] * len(cols)
    if counts is None or sum(counts) != width:
        raise AnalyticsError(f"Cannot map {width} transformed columns back to {', '.join(cols)}.")
    return counts


def column_groups(prepare: Any) -> dict[str, list[int]]:
    """Transformed-column indices of each original input column of a fitted ColumnTransformer."""
    out: dict[str, list[int]] = {}
    for name, trans, cols in prepare.transformers_:
        block = prepare.output_indices_.get(name)
        if (isinstance(trans, str) and trans == "drop") or block is None or block.stop == block.start:
            continue
        cols = [cols] if isinstance(cols, str) else [str(c) for c in cols]
        start = block.start
        for col, n in zip(cols, _output_counts(trans, cols, block.stop - block.start)):
            out.setdefault(col, []).extend(range(start, start + n))
            start += n
    return out


def explain_model(fitted: WatchTimeModel | CtrModel, frame: pd.DataFrame, *, max_rows: int = 500,
                  background: int = 100, seed: int = 0) -> Explanation:
    """SHAP values of ``fitted`` (from ``fit_watch_time_model`` / ``fit_ctr_model``) on up to ``max_rows`` rows of
    ``frame`` (a random sample when longer), summed per original input column.

    Watch time: TreeExplainer, raw output in seconds. Clicks: LinearExplainer on log-odds with a background of
    ``background`` rows of ``frame``; ``predictions`` are log-odds and ``probabilities`` the click chances."""
    with warnings.catch_warnings():  # shap's import touches matplotlib colormap APIs that warn
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

    # 1. Check inputs and pick the rows
    if not isinstance(fitted, (WatchTimeModel, CtrModel)):
        raise InvalidData("explain_model needs a model from fit_watch_time_model() or fit_ctr_model().")
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidData("No rows to explain.")
    if max_rows < 1 or background < 1:
        raise InvalidData(f"max_rows and background must be at least 1 (got {max_rows}, {background}).")
    X = fitted._inputs(frame)
    rng = np.random.default_rng(seed)
    if len(X) > max_rows:
        X = X.iloc[np.sort(rng.choice(len(X), max_rows, replace=False))]
    # 2. Transform into the model's columns
    prepare, est = fitted.model.named_steps["prepare"], fitted.model.named_steps["model"]
    with _threads(len(X)):
        Z = prepare.transform(X)
        Z = np.asarray(Z.toarray() if hasattr(Z, "toarray") else Z, dtype=float)
        # 3. SHAP in the transformed space
        if isinstance(fitted, CtrModel):
            bg = Z[np.sort(rng.choice(len(Z), min(background, len(Z)), replace=False))]
            explainer = shap.LinearExplainer(est, shap.maskers.Independent(bg, max_samples=len(bg)))
            raw = np.asarray(explainer.shap_values(Z), dtype=float)
            pred = np.asarray(est.decision_function(Z), dtype=float)
            prob: np.ndarray | None = np.asarray(est.predict_proba(Z)[:, 1], dtype=float)
        else:
            explainer = shap.TreeExplainer(est, model_output="raw")
            raw = np.asarray(explainer.shap_values(Z, check_additivity=False), dtype=float)
            pred, prob = np.asarray(est.predict(Z), dtype=float), None
    base = float(np.ravel(explainer.expected_value)[0])
    # 4. Sum the transformed columns back into the original inputs and check additivity
    groups = column_groups(prepare)
    features = [f for f in fitted.features if f in groups]
    values = np.column_stack([raw[:, groups[f]].sum(axis=1) for f in features])
    gap = np.abs(base + values.sum(axis=1) - pred)
    if gap.max() > 1e-6 * max(1.0, float(np.abs(pred).max())):
        raise AnalyticsError(f"SHAP values do not add up to the model output (off by {gap.max():.3g}).")
    kind = "ctr" if isinstance(fitted, CtrModel) else "watch"
    return Explanation(features=features, values=values, base_value=base, output=OUTPUTS[kind], predictions=pred,
                       inputs=X.reset_index(drop=True), categorical=list(fitted.categorical), target=fitted.target,
                       probabilities=prob)
