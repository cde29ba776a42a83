"""Fairness of the studio's models, from the store's data: the click-through and watch-time models by viewer
group (statistical parity, equal opportunity, the gap over time, threshold optimisation) and the recommender
by creator group (position-discounted exposure, a constrained re-rank)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import InvalidData
from storage.db import Store
from storage.repo import audience, publications

from . import dashboard, recommending

VIEWER_GROUPS = {"region": "viewer region", "device": "viewer device"}
CREATOR_GROUPS = {"project": "project (creator)", "length": "video length (shorter / longer half of the catalogue)"}
MODELS = {"ctr": "Click-through model", "watch": "Watch-time model", "recommender": "Recommender (exposure)"}


@dataclass
class ModelFairness:
    model: str
    attribute: str
    report: Any               # analytics.fairness.GroupReport
    over_time: pd.DataFrame
    decision: str             # what Ŷ = 1 means here, in words
    scores: np.ndarray
    y_true: np.ndarray
    groups: np.ndarray
    threshold: float


def classifier_fairness(store: Store, filters: audience.Filters, model: str, attribute: str,
                        n_boot: int = 200) -> ModelFairness:
    """Fit the model on the store's sessions and measure its decisions by viewer group."""
    from analytics.fairness import gap_over_time, group_report

    if attribute not in VIEWER_GROUPS:
        raise InvalidData(f"Viewer groups are {', '.join(VIEWER_GROUPS)}; got {attribute!r}.")
    frame = dashboard.model_frame(store, filters, with_meta=True)
    watch, ctr = dashboard.fit_models(store, filters, frame)
    if model == "ctr":
        rows = frame
        scores = ctr.predict(rows)
        y_true = rows["clicked"].to_numpy().astype(int)
        threshold = float(y_true.mean())
        decision = (f"Ŷ = 1: the model gives the viewer an above-average chance to click (≥ {threshold:.0%}, the "
                    "channel's click rate); Y = 1: they clicked.")
    elif model == "watch":
        rows = frame[frame["clicked"] == 1]
        scores = watch.predict(rows)
        threshold = float(np.median(scores))
        y_true = (rows["watch_time_s"].to_numpy() >= threshold).astype(int)
        decision = (f"Ŷ = 1: predicted watch time at least {threshold:.0f} s (the median prediction); Y = 1: they "
                    "really watched that long.")
    else:
        raise InvalidData(f"Classifier models are ctr and watch; got {model!r}.")
    y_pred = (scores >= threshold).astype(int)
    groups = rows[attribute].astype(str).to_numpy()
    report = group_report(y_true, y_pred, groups, n_boot=n_boot, label=VIEWER_GROUPS[attribute])
    timed = pd.DataFrame({"t": rows["started_at"].to_numpy(), "g": groups, "p": y_pred, "y": y_true})
    trend = gap_over_time(timed, time_col="t", group_col="g", pred_col="p", label_col="y", freq="W")
    return ModelFairness(model, attribute, report, trend, decision, np.asarray(scores, dtype=float), y_true,
                         groups, threshold)


def best_single_threshold(scores: np.ndarray, y_true: np.ndarray) -> tuple[float, float]:
    """The one threshold for everybody that maximises accuracy (the fair comparison for the optimiser, which
    also maximises accuracy): (threshold, accuracy)."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], y_true[order]
    # predicting 1 for the top j rows: accuracy = (TP_j + TN_j) / n
    tp = np.concatenate([[0], np.cumsum(y)])
    tn = (len(y) - y.sum()) - np.concatenate([[0], np.cumsum(1 - y)])
    acc = (tp + tn) / len(y)
    j = int(np.argmax(acc))
    thr = float(s[j - 1]) if j > 0 else float(s[0]) + 1e-9
    return thr, float(acc[j])


def mitigate_thresholds(fair: ModelFairness, constraint: str):
    """Per-group thresholds (fairlearn's ThresholdOptimizer) on the same scores; before/after and the cost."""
    from analytics.fairness import optimise_thresholds

    scores = fair.scores
    if fair.model == "watch":  # the optimiser wants scores on a 0–1 scale; rank-preserving rescale
        lo, hi = float(scores.min()), float(scores.max())
        scores = (scores - lo) / ((hi - lo) or 1.0)
        threshold = (fair.threshold - lo) / ((hi - lo) or 1.0)
    else:
        threshold = fair.threshold
    return optimise_thresholds(scores, fair.y_true, fair.groups, constraint=constraint, threshold=threshold)


@dataclass
class RecommenderFairness:
    attribute: str
    viewer_attribute: str
    report: Any              # analytics.fairness.ExposureReport
    candidates: dict[str, list[tuple[int, float]]]
    item_group: dict[int, str]
    titles: dict[int, str]
    k: int


def _item_groups(store: Store, attribute: str) -> tuple[dict[int, str], dict[int, str]]:
    with store.session() as s:
        pubs = publications.list_publications(session=s)
        titles = {p.id: p.title for p in pubs}
        if attribute == "project":
            groups = {p.id: p.project.name for p in pubs}
        elif attribute == "length":
            cut = float(np.median([p.duration_s or 0.0 for p in pubs])) if pubs else 0.0
            groups = {p.id: f"shorter (< {cut:.0f} s)" if (p.duration_s or 0.0) < cut else f"longer (≥ {cut:.0f} s)"
                      for p in pubs}
        else:
            raise InvalidData(f"Creator groups are {', '.join(CREATOR_GROUPS)}; got {attribute!r}.")
    return groups, titles


def recommender_fairness(store: Store, filters: audience.Filters, attribute: str, viewer_attribute: str = "region",
                         k: int = 3, max_viewers: int = 2000) -> RecommenderFairness:
    """Train the recommender, rank every video for each viewer and measure exposure per creator group (overall
    and per viewer group)."""
    from analytics.fairness import exposure_report

    item_group, titles = _item_groups(store, attribute)
    trained = recommending.train(store, filters)
    frame = dashboard.model_frame(store, filters, with_meta=True)
    viewer_group = frame.groupby("viewer")[viewer_attribute].agg(lambda x: x.mode().iat[0]).astype(str).to_dict()
    known = set(item_group)
    candidates: dict[str, list[tuple[int, float]]] = {}
    for viewer in trained.viewers[:max_viewers]:
        recs = trained.model.recommend(viewer, k=len(known), exclude_seen=False)
        candidates[viewer] = [(int(i), float(sc)) for i, sc in recs if int(i) in known]
    k = max(1, min(k, len(known) - 1 or 1))
    lists = {v: [i for i, _ in c[:k]] for v, c in candidates.items()}
    groups_present = {item_group[i] for i in known}
    if len(groups_present) < 2:
        raise InvalidData(f"All published videos fall in one group by {CREATOR_GROUPS[attribute]}; exposure "
                          "fairness needs at least two groups.")
    report = exposure_report(lists, item_group, user_group={v: viewer_group.get(v, "unknown") for v in lists})
    return RecommenderFairness(attribute, viewer_attribute, report, candidates, item_group, titles, k)


def rerank(fair: RecommenderFairness, tolerance: float = 0.02):
    from analytics.fairness import rerank_for_exposure

    return rerank_for_exposure(fair.candidates, fair.item_group, k=fair.k, tolerance=tolerance)
