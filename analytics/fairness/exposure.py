"""Exposure fairness of ranked recommendation lists: which creator groups get seen, and by whom.

A slot's exposure falls with its rank as 1 / log2(1 + rank) (the DCG position discount: rank 1 gets 1, rank 3
gets 0.5). Summed per creator group over every list and normalised, that gives each group's exposure share, to
compare with a target share — by default the group's share of the catalogue, or one given (e.g. share of
relevance). The gap is the largest |share − target|.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import InvalidData

from .metrics import clean, points

DISCOUNTS = ("log2", "none")


def position_weights(k: int, discount: str = "log2") -> np.ndarray:
    """Exposure of ranks 1..k: ``1 / log2(1 + rank)`` for ``"log2"``, 1 for ``"none"``."""
    if discount not in DISCOUNTS:
        raise InvalidData(f"Unknown discount {discount!r} (choose from {', '.join(DISCOUNTS)}).")
    ranks = np.arange(1, k + 1, dtype=float)
    return 1.0 / np.log2(1.0 + ranks) if discount == "log2" else np.ones(k)


def target_shares(item_group: Mapping[Hashable, str], target: Mapping[str, float] | None = None) -> dict[str, float]:
    """Target exposure share per group: given ``target`` normalised to sum 1, else each group's catalogue share."""
    if not item_group:
        raise InvalidData("item_group is empty; exposure needs each item's creator group.")
    if target is None:
        counts = pd.Series([str(g) for g in item_group.values()]).value_counts()
        return {str(g): float(c / counts.sum()) for g, c in counts.sort_index().items()}
    vals = {str(g): float(v) for g, v in target.items()}
    if not vals or any(not np.isfinite(v) or v < 0 for v in vals.values()) or sum(vals.values()) <= 0:
        raise InvalidData(f"target must give non-negative shares with a positive total; got {dict(target)}.")
    total = sum(vals.values())
    out = {g: v / total for g, v in sorted(vals.items())}
    for g in sorted({str(x) for x in item_group.values()} - set(out)):
        out[g] = 0.0
    return out


@dataclass
class ExposureReport:
    """Exposure share vs target per creator group (``frame``), the largest gap, and a sentence."""

    frame: pd.DataFrame
    gap: float
    discount: str
    n_users: int
    summary: str
    by_user_group: pd.DataFrame | None = None

    @property
    def shares(self) -> dict[str, float]:
        """Exposure share per creator group."""
        return dict(zip(self.frame["group"], self.frame["share"].astype(float)))

    def as_dict(self) -> dict[str, Any]:
        rows = [{k: clean(v) for k, v in r.items()} for r in self.frame.to_dict("records")]
        by_user = None
        if self.by_user_group is not None:
            by_user = {str(u): {str(g): clean(v) for g, v in row.items()}
                       for u, row in self.by_user_group.to_dict("index").items()}
        return {"groups": rows, "gap": self.gap, "discount": self.discount, "n_users": self.n_users,
                "summary": self.summary, "by_user_group": by_user}


def _flatten(lists: Mapping[Hashable, Sequence[Hashable]], item_group: Mapping[Hashable, str],
             discount: str) -> pd.DataFrame:
    """One row per recommended slot: user, creator group, exposure weight."""
    if not isinstance(lists, Mapping) or not lists:
        raise InvalidData("No recommendation lists to measure (expected {user: [item, ...]}).")
    longest = max((len(v) for v in lists.values()), default=0)
    weights = position_weights(max(longest, 1), discount)
    users, items, w = [], [], []
    for user, ranked in lists.items():
        ranked = list(ranked)
        users.extend([user] * len(ranked))
        items.extend(ranked)
        w.extend(weights[:len(ranked)])
    missing = [i for i in dict.fromkeys(items) if i not in item_group]
    if missing:
        raise InvalidData(f"{len(missing)} recommended item(s) have no creator group in item_group, e.g. "
                          f"{', '.join(map(repr, missing[:3]))}.")
    if not items:
        raise InvalidData("Every recommendation list is empty; there is no exposure to share.")
    return pd.DataFrame({"user": users, "group": [str(item_group[i]) for i in items], "weight": w})


def _sentence(frame: pd.DataFrame, gap: float) -> str:
    diff = frame["share"] - frame["target"]
    if gap < 0.005:
        return f"Exposure matches the target shares to within {points(gap)} for every creator group."
    low = frame.loc[diff.idxmin()]
    return (f"Creators in group {low['group']} get {low['share']:.0%} of the exposure against a target of "
            f"{low['target']:.0%}; the largest gap from target is {points(gap)}.")


def exposure_report(lists: Mapping[Hashable, Sequence[Hashable]], item_group: Mapping[Hashable, str], *,
                    target: Mapping[str, float] | None = None, discount: str = "log2",
                    user_group: Mapping[Hashable, str] | None = None) -> ExposureReport:
    """Position-discounted exposure share per creator group of ranked ``lists`` ({user: [item, best first]}).

    ``item_group`` maps every item (the catalogue) to its creator group; ``target`` gives the wanted share per
    group (default: catalogue share). With ``user_group`` ({user: viewer group}) ``by_user_group`` holds the
    creator-group exposure shares seen by each viewer group (rows sum to 1)."""
    # 1. Check inputs and lay out one row per slot
    slots = _flatten(lists, item_group, discount)
    want = target_shares(item_group, target)
    # 2. Exposure and share per creator group vs target
    exposure = slots.groupby("group")["weight"].sum()
    groups = sorted(set(want) | set(exposure.index))
    frame = pd.DataFrame({"group": groups})
    frame["exposure"] = [float(exposure.get(g, 0.0)) for g in groups]
    frame["share"] = frame["exposure"] / frame["exposure"].sum()
    frame["target"] = [want.get(g, 0.0) for g in groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["ratio"] = frame["share"] / frame["target"]
    catalogue = pd.Series([str(v) for v in item_group.values()]).value_counts()
    frame["items"] = [int(catalogue.get(g, 0)) for g in groups]
    gap = float((frame["share"] - frame["target"]).abs().max())
    # 3. Creator mix seen by each viewer group
    by_user = None
    if user_group is not None:
        missing = [u for u in lists if u not in user_group]
        if missing:
            raise InvalidData(f"{len(missing)} user(s) have no viewer group in user_group, e.g. "
                              f"{', '.join(map(repr, missing[:3]))}.")
        slots["user_group"] = [str(user_group[u]) for u in slots["user"]]
        table = slots.pivot_table(index="user_group", columns="group", values="weight", aggfunc="sum", fill_value=0.0)
        by_user = table.reindex(columns=groups, fill_value=0.0).div(table.sum(axis=1), axis=0)
        by_user.columns.name, by_user.index.name = "creator_group", "user_group"
    return ExposureReport(frame=frame, gap=gap, discount=discount, n_users=len(lists), summary=_sentence(frame, gap),
                          by_user_group=by_user)
