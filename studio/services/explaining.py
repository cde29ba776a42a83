"""SHAP explanations of the watch-time and click-through models fitted on the store's sessions: overall and
for one video (the mean explanation over that video's sessions — additive, so it still sums to the mean
prediction)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.errors import InvalidData
from storage.db import Store
from storage.repo import audience, publications

from . import dashboard


@dataclass
class Explained:
    model: str
    explanation: object          # analytics.explain.Explanation over a sample of all sessions
    fitted: object
    frame: pd.DataFrame          # model rows with META_COLUMNS
    titles: dict[int, str]
    summary: str


def explain(store: Store, filters: audience.Filters, model: str) -> Explained:
    from analytics.explain import explain_model

    frame = dashboard.model_frame(store, filters, with_meta=True)
    watch, ctr = dashboard.fit_models(store, filters, frame)
    if model == "watch":
        fitted, rows = watch, frame[frame["clicked"] == 1]
    elif model == "ctr":
        fitted, rows = ctr, frame
    else:
        raise InvalidData(f"Models are watch and ctr; got {model!r}.")
    with store.session() as s:
        titles = {p.id: p.title for p in publications.list_publications(session=s)}
    exp = explain_model(fitted, rows, max_rows=400)
    return Explained(model, exp, fitted, rows, titles, fitted.summary)


def for_video(done: Explained, publication_id: int):
    """The explanation of the model's average output on one video's sessions (a ``RowExplanation``)."""
    from analytics.explain import Explanation, explain_model

    rows = done.frame[done.frame["publication_id"] == publication_id]
    if rows.empty:
        raise InvalidData("This video has no sessions in the chosen range.")
    e = explain_model(done.fitted, rows, max_rows=400)
    inputs = {}
    for f in e.features:
        col = e.inputs[f]
        inputs[f] = col.mode().iat[0] if f in e.categorical else float(pd.to_numeric(col).mean())
    probs = None if e.probabilities is None else np.array([1 / (1 + np.exp(-e.predictions.mean()))])
    mean = Explanation(features=e.features, values=e.values.mean(axis=0, keepdims=True), base_value=e.base_value,
                       output=e.output, predictions=np.array([e.predictions.mean()]),
                       inputs=pd.DataFrame([inputs]), categorical=e.categorical, target=e.target,
                       probabilities=probs)
    return mean.row(0), len(rows)
