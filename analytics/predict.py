"""Models on video/viewer features: watch-time regression and click-through classification.

Both take one row per example with a target column; text/category columns (device, region, …) are one-hot
encoded, numeric and boolean ones are used as numbers (missing values allowed). Watch time uses
gradient-boosted trees; clicks use a logistic regression with spline features, whose probabilities stay
calibrated on small data. A held-out quarter measures the
model against a naive baseline, and permutation importance on that held-out data says which inputs matter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import InvalidData

MIN_ROWS = 30
MIN_PER_CLASS = 10
MAX_IMPORTANCE_ROWS = 5000
PARALLEL_ROWS = 50_000  # below this, OpenMP threads cost more than they save (and thrash on a busy machine)


def _threads(n_rows: int) -> Any:
    """Limit native thread pools to one thread for small inputs."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if n_rows < PARALLEL_ROWS else None)


def _humanise(col: str) -> str:
    """``watch_time_s`` → ``watch time (seconds)``."""
    text = str(col)
    text = text[:-2] + " (seconds)" if text.endswith("_s") else text
    return text.replace("_", " ").strip()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Importance:
    """How much the held-out score drops when one input column is shuffled."""

    feature: str
    importance: float
    std: float
    sentence: str

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "importance": self.importance, "std": self.std, "sentence": self.sentence}


@dataclass
class _Fitted:
    target: str
    features: list[str]
    categorical: list[str]
    n_train: int
    n_test: int
    importances: list[Importance]
    summary: str
    model: Any = field(repr=False)

    def _inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise InvalidData(f"The rows to predict lack the column(s) {', '.join(map(str, missing))}.")
        return _coerce(frame[self.features], self.categorical)

    def _common(self) -> dict[str, Any]:
        return {"target": self.target, "features": list(self.features), "categorical": list(self.categorical),
                "n_train": self.n_train, "n_test": self.n_test, "summary": self.summary,
                "importances": [i.as_dict() for i in self.importances]}


@dataclass
class WatchTimeModel(_Fitted):
    """Regression result; ``predict(frame)`` gives the expected target for new rows."""

    r2: float = 0.0
    mae: float = 0.0
    baseline_mae: float = 0.0

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        with _threads(len(frame)):
            return np.asarray(self.model.predict(self._inputs(frame)), dtype=float)

    def as_dict(self) -> dict[str, Any]:
        return {**self._common(), "r2": self.r2, "mae": self.mae, "baseline_mae": self.baseline_mae}


@dataclass
class CtrModel(_Fitted):
    """Click model result; ``predict(frame)`` gives the probability of a click for new rows."""

    auc: float = 0.5
    log_loss: float = 0.0
    baseline_log_loss: float = 0.0
    brier: float = 0.0
    base_rate: float = 0.0
    calibration: dict[str, list[float]] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        with _threads(len(frame)):
            return np.asarray(self.model.predict_proba(self._inputs(frame))[:, 1], dtype=float)

    def as_dict(self) -> dict[str, Any]:
        return {**self._common(), "auc": self.auc, "log_loss": self.log_loss,
                "baseline_log_loss": self.baseline_log_loss, "brier": self.brier, "base_rate": self.base_rate,
                "calibration": {k: list(v) for k, v in self.calibration.items()}}


def _prepare(frame: pd.DataFrame, target: str, what: str) -> tuple[pd.DataFrame, pd.Series, list[str], list[str]]:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidData(f"No rows to learn {what} from.")
    if target not in frame.columns:
        raise InvalidData(f"The data has no '{target}' column to predict.")
    data = frame[frame[target].notna()]
    if len(data) < MIN_ROWS:
        raise InvalidData(f"Predicting {what} needs at least {MIN_ROWS} rows with a known {_humanise(target)}; "
                          f"only {len(data)} so far.")
    X = data.drop(columns=[target]).dropna(axis=1, how="all")
    cat = [c for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))]
    num = [c for c in X.columns if c not in cat]
    if not cat and not num:
        raise InvalidData(f"Predicting {what} needs at least one input column besides '{target}'.")
    return _coerce(X, cat), data[target], cat, num


def _coerce(X: pd.DataFrame, cat: list[str]) -> pd.DataFrame:
    return X.astype({c: (str if c in cat else float) for c in X.columns})


def _pipeline(cat: list[str], num: list[str], estimator: Any, splines: bool = False) -> Any:
    """One-hot for categories; numbers as they are, or (for a linear model) imputed, spline-expanded, scaled."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

    onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=20, sparse_output=False)
    numeric: Any = "passthrough"
    if splines:
        numeric = make_pipeline(SimpleImputer(strategy="median"), SplineTransformer(n_knots=5, degree=3,
                                                                                    extrapolation="linear"),
                                StandardScaler())
    pre = ColumnTransformer([("cat", onehot, cat), ("num", numeric, num)])
    return Pipeline([("prepare", pre), ("model", estimator)])


def _importances(model: Any, X: pd.DataFrame, y: Any, scoring: str, label: str, seed: int) -> list[Importance]:
    from sklearn.inspection import permutation_importance

    if len(X) > MAX_IMPORTANCE_ROWS:
        X = X.sample(MAX_IMPORTANCE_ROWS, random_state=seed)
        y = y.loc[X.index]
    res = permutation_importance(model, X, y, scoring=scoring, n_repeats=5, random_state=seed)
    order = np.argsort(-res.importances_mean, kind="stable")
    out = []
    for rank, i in enumerate(order):
        name, imp = str(X.columns[i]), float(res.importances_mean[i])
        if imp < 0.01:
            sentence = f"{_cap(_humanise(name))} makes little or no difference."
        else:
            lead = "matters most" if rank == 0 else "also matters"
            sentence = f"{_cap(_humanise(name))} {lead}: shuffling it lowers the {label} by {imp:.2f}."
        out.append(Importance(feature=name, importance=imp, std=float(res.importances_std[i]), sentence=sentence))
    return out


def fit_watch_time_model(frame: pd.DataFrame, target: str = "watch_time_s", test_size: float = 0.25,
                         seed: int = 0) -> WatchTimeModel:
    """Gradient-boosted regression of ``target``; R² and MAE on held-out rows vs always predicting the mean."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error, r2_score
    from sklearn.model_selection import train_test_split

    # 1. Check inputs and split
    X, y, cat, num = _prepare(frame, target, "watch time")
    y = pd.to_numeric(y, errors="coerce")
    if y.isna().any():
        raise InvalidData(f"'{target}' must be a number on every row.")
    if y.nunique() < 2:
        raise InvalidData(f"Every row has the same {_humanise(target)}, so there is nothing to predict.")
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed)
    # 2. Fit and evaluate against the mean
    with _threads(len(X)):
        model = _pipeline(cat, num, HistGradientBoostingRegressor(random_state=seed)).fit(X_tr, y_tr)
        pred = model.predict(X_te)
        # 3. Explain
        imps = _importances(model, X_te, y_te, "r2", "R²", seed)
    r2, mae = float(r2_score(y_te, pred)), float(mean_absolute_error(y_te, pred))
    base_mae = float(mean_absolute_error(y_te, np.full(len(y_te), y_tr.mean())))
    summary = (f"On held-out data the model explains {max(r2, 0.0):.0%} of the variation in {_humanise(target)}; "
               f"its typical error is {mae:.3g} vs {base_mae:.3g} when always guessing the average.")
    return WatchTimeModel(target=target, features=list(X.columns), categorical=cat,
                          n_train=len(X_tr), n_test=len(X_te),
                          importances=imps, summary=summary, model=model, r2=r2, mae=mae, baseline_mae=base_mae)


def _calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    table: dict[str, list[float]] = {"predicted": [], "observed": [], "count": []}
    for b in np.unique(idx):
        m = idx == b
        table["predicted"].append(float(p[m].mean()))
        table["observed"].append(float(y[m].mean()))
        table["count"].append(float(m.sum()))
    return table


def fit_ctr_model(frame: pd.DataFrame, target: str = "clicked", test_size: float = 0.25,
                  seed: int = 0) -> CtrModel:
    """Logistic regression of a 0/1 ``target`` (one-hot categories, spline-expanded numbers).

    Fitted by log-loss, its probabilities are calibrated by construction (the held-out ``calibration`` table
    shows predicted vs observed click rates); AUC and log-loss are measured on held-out rows.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    # 1. Check inputs and split
    X, y, cat, num = _prepare(frame, target, "clicks")
    y = pd.to_numeric(y, errors="coerce")
    if not set(pd.unique(y)) <= {0.0, 1.0}:
        raise InvalidData(f"'{target}' must be 0/1 (clicked or not); found other values.")
    y = y.astype(float).astype(int)
    counts = y.value_counts()
    if len(counts) < 2:
        raise InvalidData(f"Every row has {_humanise(target)} = {int(counts.index[0])}; a model needs both "
                          "clicks and non-clicks.")
    if counts.min() < MIN_PER_CLASS:
        raise InvalidData(f"Predicting clicks needs at least {MIN_PER_CLASS} clicks and {MIN_PER_CLASS} "
                          f"non-clicks; only {int(counts.min())} of the rarer kind so far.")
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    # 2. Fit and evaluate against the base rate
    model = _pipeline(cat, num, LogisticRegression(C=1.0, max_iter=2000), splines=True)
    with _threads(len(X)):
        model.fit(X_tr, y_tr)
        p = np.clip(model.predict_proba(X_te)[:, 1], 1e-6, 1 - 1e-6)
        # 3. Explain
        imps = _importances(model, X_te, y_te, "roc_auc", "AUC", seed)
    rate = float(y_tr.mean())
    auc = float(roc_auc_score(y_te, p))
    ll = float(log_loss(y_te, p, labels=[0, 1]))
    base_ll = float(log_loss(y_te, np.full(len(y_te), rate), labels=[0, 1]))
    summary = (f"On held-out data the model ranks a random click above a random non-click {auc:.0%} of the time "
               f"(AUC {auc:.2f}; 50% is guessing); log-loss {ll:.3f} vs {base_ll:.3f} using the {rate:.1%} "
               "base rate.")
    return CtrModel(target=target, features=list(X.columns), categorical=cat,
                    n_train=len(X_tr), n_test=len(X_te),
                    importances=imps, summary=summary, model=model, auc=auc, log_loss=ll, baseline_log_loss=base_ll,
                    brier=float(brier_score_loss(y_te, p)), base_rate=rate,
                    calibration=_calibration_table(y_te.to_numpy(), p))
