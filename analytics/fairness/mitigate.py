"""Two ways to reduce unfairness, each reporting what it costs.

* :func:`rerank_for_exposure` re-orders each viewer's candidates so creator groups get their target share of
  position-discounted exposure (a constrained greedy in the spirit of FA*IR / Singh & Joachims); the cost is the
  NDCG of the new lists against the original scores.
* :func:`optimise_thresholds` picks group-specific (randomised) thresholds on precomputed scores with fairlearn's
  ``ThresholdOptimizer`` for demographic parity or equal opportunity; the cost is accuracy.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from analytics.errors import InvalidData

from .exposure import ExposureReport, exposure_report, position_weights, target_shares
from .metrics import (
    ArrayLike,
    GroupReport,
    as_binary,
    as_groups,
    as_scores,
    group_report,
    points,
    same_length,
)

CONSTRAINTS = {"demographic_parity": "demographic parity", "true_positive_rate_parity": "equal opportunity",
               "equal_opportunity": "equal opportunity"}
OBJECTIVES = ("accuracy_score", "balanced_accuracy_score")


# --- re-ranking for exposure ----------------------------------------------------------------------------------------
@dataclass
class RerankResult:
    """New top-k lists, exposure before/after, and the relevance cost."""

    lists: dict[Hashable, list[tuple[Hashable, float]]]
    before: ExposureReport
    after: ExposureReport
    ndcg: float
    mean_score_before: float
    mean_score_after: float
    summary: str

    @property
    def score_kept(self) -> float:
        """Mean score after / before (1.0 = nothing given up); NaN when the scores are not positive."""
        return self.mean_score_after / self.mean_score_before if self.mean_score_before > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {"lists": {str(u): [[str(i), s] for i, s in v] for u, v in self.lists.items()},
                "before": self.before.as_dict(), "after": self.after.as_dict(), "ndcg": self.ndcg,
                "mean_score_before": self.mean_score_before, "mean_score_after": self.mean_score_after,
                "score_kept": None if np.isnan(self.score_kept) else self.score_kept, "summary": self.summary}


def _greedy(groups: list[str], want: Mapping[str, float], w: np.ndarray, tolerance: float) -> list[int]:
    """Indices (into the best-first candidates) for positions 1..k.

    Each position takes the best remaining candidate, unless some group's share of the exposure handed out so
    far is below its target minus ``tolerance``; then the most under-exposed such group's best candidate."""
    queues: dict[str, deque[int]] = {}
    for idx, g in enumerate(groups):
        queues.setdefault(g, deque()).append(idx)
    exposure = dict.fromkeys(queues, 0.0)
    picked: list[int] = []
    for pos in range(min(len(w), len(groups))):
        live = [g for g, q in queues.items() if q]
        total, choice = float(w[:pos].sum()), None
        if total > 0:
            deficit = {g: want.get(g, 0.0) - exposure[g] / total for g in live}
            needy = [g for g in live if deficit[g] > tolerance]
            if needy:
                choice = max(needy, key=lambda g: (deficit[g], -queues[g][0]))
        if choice is None:
            choice = min(live, key=lambda g: queues[g][0])
        picked.append(queues[choice].popleft())
        exposure[choice] += float(w[pos])
    return picked


def _ndcg(gains: np.ndarray, picked: list[int], k: int) -> float:
    """NDCG@k of ``picked`` with ``gains`` of the best-first candidates (log2 discount)."""
    disc = position_weights(k)
    ideal = float(np.sum(np.sort(gains)[::-1][:k] * disc[:min(k, len(gains))]))
    got = float(np.sum(gains[picked] * disc[:len(picked)]))
    return got / ideal if ideal > 0 else 1.0


def rerank_for_exposure(candidates: Mapping[Hashable, Sequence[tuple[Hashable, float]]],
                        item_group: Mapping[Hashable, str], *, k: int = 10,
                        target: Mapping[str, float] | None = None, tolerance: float = 0.02,
                        discount: str = "log2") -> RerankResult:
    """Re-rank each user's ``(item, score)`` candidates into a top-``k`` that shares exposure fairly.

    ``target`` is the wanted exposure share per creator group (default: catalogue share in ``item_group``).
    Relevance cost: mean NDCG@k of the new lists against the original scores (scores shifted to be
    non-negative where needed; 1.0 = no loss) and the mean score of the recommended items before/after."""
    # 1. Check inputs
    if not isinstance(candidates, Mapping) or not candidates:
        raise InvalidData("No candidates to re-rank (expected {user: [(item, score), ...]}).")
    if k < 1:
        raise InvalidData(f"k must be at least 1, got {k}.")
    if not 0 <= tolerance < 1:
        raise InvalidData(f"tolerance is a share between 0 and 1, got {tolerance}.")
    want = target_shares(item_group, target)
    w = position_weights(k, discount)
    # 2. Greedy re-rank per user
    before: dict[Hashable, list[Hashable]] = {}
    after: dict[Hashable, list[tuple[Hashable, float]]] = {}
    ndcgs, kept_before, kept_after = [], [], []
    for user, cands in candidates.items():
        try:
            pairs = sorted(((item, float(s)) for item, s in cands), key=lambda p: -p[1])
        except (TypeError, ValueError):
            raise InvalidData(f"Candidates of user {user!r} must be (item, score) pairs.") from None
        missing = [i for i, _ in pairs if i not in item_group]
        if missing:
            raise InvalidData(f"Candidate item {missing[0]!r} of user {user!r} has no creator group in item_group.")
        scores = as_scores([s for _, s in pairs], f"scores of user {user!r}") if pairs else np.empty(0)
        picked = _greedy([str(item_group[i]) for i, _ in pairs], want, w, tolerance)
        before[user] = [i for i, _ in pairs[:k]]
        after[user] = [pairs[j] for j in picked]
        if pairs:
            ndcgs.append(_ndcg(scores - min(0.0, scores.min()), picked, k))
            kept_before.extend(scores[:k])
            kept_after.extend(scores[picked])
    # 3. Exposure before/after and the cost
    rep_before = exposure_report(before, item_group, target=want, discount=discount)
    rep_after = exposure_report({u: [i for i, _ in v] for u, v in after.items()}, item_group, target=want,
                                discount=discount)
    ndcg = float(np.mean(ndcgs))
    mb, ma = float(np.mean(kept_before)), float(np.mean(kept_after))
    summary = (f"Re-ranking moved the largest exposure gap from {points(rep_before.gap)} to {points(rep_after.gap)} "
               f"at a relevance cost of NDCG@{k} {ndcg:.2f} (1.00 = no loss).")
    return RerankResult(lists=after, before=rep_before, after=rep_after, ndcg=ndcg, mean_score_before=mb,
                        mean_score_after=ma, summary=summary)


# --- group-specific thresholds ---------------------------------------------------------------------------------------
class _PrefitScores(BaseEstimator):
    """A fitted "model" whose prediction is the precomputed score in column 0 (for ``prefit=True``)."""

    def fit(self, X: Any, y: Any = None) -> _PrefitScores:
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=float)[:, 0]

    def __sklearn_is_fitted__(self) -> bool:
        return True


@dataclass
class ThresholdResult:
    """Decisions before (one threshold) and after (per-group thresholds), with their fairness and accuracy."""

    constraint: str
    objective: str
    threshold: float
    before: GroupReport
    after: GroupReport
    accuracy_cost: float
    rules: dict[str, list[dict[str, Any]]]
    summary: str
    y_pred: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"constraint": self.constraint, "objective": self.objective, "threshold": self.threshold,
                "before": self.before.as_dict(), "after": self.after.as_dict(), "accuracy_cost": self.accuracy_cost,
                "rules": self.rules, "summary": self.summary}


def _rules(thresholder: Any) -> dict[str, list[dict[str, Any]]]:
    """Per group: with probability p apply "score > t" (fairlearn mixes two such rules)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for g, spec in getattr(thresholder, "interpolation_dict", {}).items():
        out[str(g)] = [{"probability": float(spec[f"p{j}"]),
                        "operator": str(getattr(spec[f"operation{j}"], "operator", "")),
                        "threshold": float(getattr(spec[f"operation{j}"], "threshold", np.nan))}
                       for j in (0, 1) if f"p{j}" in spec]
    return out


def _gap_text(before: float, after: float) -> str:
    if np.isnan(before) or np.isnan(after):
        return "n/a"
    return f"{points(before)} → {points(after)}"


def optimise_thresholds(scores: ArrayLike, y_true: ArrayLike, groups: ArrayLike, *,
                        constraint: str = "demographic_parity", objective: str = "accuracy_score",
                        threshold: float = 0.5, seed: int = 0, n_boot: int = 200,
                        grid_size: int = 1000) -> ThresholdResult:
    """Group-specific thresholds on precomputed ``scores`` that satisfy ``constraint`` while maximising
    ``objective`` (fairlearn ``ThresholdOptimizer``, randomised predictions seeded by ``seed``).

    ``constraint``: ``"demographic_parity"`` or ``"true_positive_rate_parity"`` (alias ``"equal_opportunity"``).
    "Before" is one threshold for everyone (score ≥ ``threshold``). ``accuracy_cost`` is in percentage points."""
    from fairlearn.postprocessing import ThresholdOptimizer

    # 1. Check inputs
    s, yt = as_scores(scores, "scores"), as_binary(y_true, "y_true")
    same_length(scores=s, y_true=yt)
    g = as_groups(groups, len(s))
    if constraint not in CONSTRAINTS:
        raise InvalidData(f"Unknown constraint {constraint!r} (choose from {', '.join(CONSTRAINTS)}).")
    if objective not in OBJECTIVES:
        raise InvalidData(f"Unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)}).")
    if len(np.unique(yt)) < 2:
        raise InvalidData("y_true has only one class; thresholds need both positives and negatives.")
    # 2. Fit per-group thresholds on the scores
    fl_constraint = "true_positive_rate_parity" if constraint == "equal_opportunity" else constraint
    opt = ThresholdOptimizer(estimator=_PrefitScores(), constraints=fl_constraint, objective=objective,
                             grid_size=grid_size, prefit=True, predict_method="predict")
    X = s.reshape(-1, 1)
    try:
        opt.fit(X, yt, sensitive_features=g)
    except ValueError as err:
        raise InvalidData(f"Could not fit fair thresholds: {err}") from None
    y_after = np.asarray(opt.predict(X, sensitive_features=g, random_state=seed), dtype=np.int64)
    # 3. Compare before and after
    y_before = (s >= threshold).astype(np.int64)
    before = group_report(yt, y_before, g, n_boot=n_boot, seed=seed)
    after = group_report(yt, y_after, g, n_boot=n_boot, seed=seed)
    cost = 100.0 * (before.accuracy - after.accuracy)
    summary = (f"Per-group thresholds for {CONSTRAINTS[constraint]}: parity difference "
               f"{_gap_text(before.statistical_parity_difference, after.statistical_parity_difference)}, "
               f"equal-opportunity difference "
               f"{_gap_text(before.equal_opportunity_difference, after.equal_opportunity_difference)}; "
               f"accuracy {before.accuracy:.1%} → {after.accuracy:.1%} ({cost:.1f} points).")
    return ThresholdResult(constraint=fl_constraint, objective=objective, threshold=float(threshold), before=before,
                           after=after, accuracy_cost=cost, rules=_rules(opt.interpolated_thresholder_),
                           summary=summary, y_pred=y_after)
