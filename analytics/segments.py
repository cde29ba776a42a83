"""Audience segments: K-means on standardised per-viewer features, k chosen by silhouette, described in words.

Input is one row per viewer (index = viewer id) with numeric columns such as ``views``, ``watch_time_s``,
``avg_completion`` (0..1), ``active_days``, ``mobile_share``, ``returning`` (0/1) and ``night_share``; any other
numeric column is used too and described generically. Non-numeric columns are ignored.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import InvalidData

MIN_VIEWERS = 6
PARALLEL_ROWS = 50_000
STANDS_OUT = 0.5  # |z| of a segment mean vs the population before a feature is worth a word


def _pct(v: float) -> str:
    return f"{v:.0%}"


def _minutes(v: float) -> str:
    return f"{v / 60:.1f} min" if v >= 60 else f"{v:.0f} s"


# Words for known columns: a noun or adjective (when high, when low) and a phrase(segment value, overall value).
_NOUNS: dict[str, tuple[str, str]] = {"avg_completion": ("long watchers", "samplers")}
_ADJECTIVES: dict[str, tuple[str, str]] = {
    "returning": ("Loyal", "New"), "mobile_share": ("Mobile", "Desktop"), "night_share": ("Night-owl", "Daytime"),
    "views": ("Frequent", "Occasional"), "watch_time_s": ("Heavy", "Light"), "active_days": ("Regular", "Drop-in"),
}
_PHRASES: dict[str, Callable[[float, float], str]] = {
    "avg_completion": lambda v, o: f"watch {_pct(v)} of each video on average (vs {_pct(o)} overall)",
    "mobile_share": lambda v, o: ("mostly on mobile" if v >= 0.5 else "mostly on desktop or TV")
    + f" ({_pct(v)} mobile vs {_pct(o)} overall)",
    "returning": lambda v, o: f"{_pct(v)} are returning viewers (vs {_pct(o)} overall)",
    "night_share": lambda v, o: f"{_pct(v)} of their viewing is at night (vs {_pct(o)} overall)",
    "views": lambda v, o: f"{v:.1f} views each (vs {o:.1f} overall)",
    "watch_time_s": lambda v, o: f"{_minutes(v)} watched each (vs {_minutes(o)} overall)",
    "active_days": lambda v, o: f"active on {v:.1f} days (vs {o:.1f} overall)",
}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _humanise(col: str) -> str:
    """``watch_time_s`` → ``watch time (seconds)``."""
    text = str(col)
    text = text[:-2] + " (seconds)" if text.endswith("_s") else text
    return text.replace("_", " ").strip()


@dataclass
class Segment:
    """One audience segment: its size, centre in original units, z-scores vs the population and a description."""

    label: int
    name: str
    description: str
    size: int
    share: float
    centre: dict[str, float]
    zscores: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "name": self.name, "description": self.description, "size": self.size,
                "share": self.share, "centre": dict(self.centre), "zscores": dict(self.zscores)}


@dataclass
class Segmentation:
    """Result of :func:`segment_audience`. ``labels`` is indexed by viewer id; ``map_*`` is the PCA scatter."""

    labels: pd.Series
    k: int
    silhouettes: dict[int, float]
    features: list[str]
    segments: list[Segment]
    map_ids: list[Any]
    map_xy: np.ndarray
    map_labels: np.ndarray
    explained_variance: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "silhouettes": {str(k): v for k, v in self.silhouettes.items()},
            "features": list(self.features),
            "viewer_ids": [_plain(i) for i in self.labels.index],
            "labels": self.labels.astype(int).tolist(),
            "segments": [s.as_dict() for s in self.segments],
            "map": {"viewer_ids": [_plain(i) for i in self.map_ids], "x": self.map_xy[:, 0].tolist(),
                    "y": self.map_xy[:, 1].tolist(), "labels": self.map_labels.astype(int).tolist(),
                    "explained_variance": list(self.explained_variance)},
        }


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v if isinstance(v, (int, float, str)) else str(v)


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidData("No viewers to segment.")
    num = frame.select_dtypes(include=["number", "bool"]).astype(float)
    num = num.replace([np.inf, -np.inf], np.nan).dropna(axis=1, how="all")
    if num.shape[1] == 0:
        raise InvalidData("Segmenting needs at least one numeric viewer feature (e.g. views, watch time).")
    if len(num) < MIN_VIEWERS:
        raise InvalidData(f"Segmenting needs at least {MIN_VIEWERS} viewers; only {len(num)} so far.")
    return num.fillna(num.median())


def _name_and_sentence(z: pd.Series, centre: pd.Series, overall: pd.Series, share: float,
                       taken: set[str]) -> tuple[str, str]:
    ranked = [c for c in z.abs().sort_values(ascending=False).index if abs(z[c]) >= STANDS_OUT]
    noun = "viewers"
    for c in ranked:
        if c in _NOUNS:
            noun = _NOUNS[c][0 if z[c] > 0 else 1]
            break
    adjectives = []
    for c in ranked:
        if c in _NOUNS:
            continue
        high, low = _ADJECTIVES.get(c, (f"High-{_humanise(c)}", f"Low-{_humanise(c)}"))
        adjectives.append((high if z[c] > 0 else low).lower())
    # the strongest adjective first; add the next one while the name is taken by a bigger segment
    name = ""
    for n_adj in range(1, len(adjectives) + 1):
        if (cand := _cap(f"{' '.join(adjectives[:n_adj])} {noun}")) not in taken:
            name = cand
            break
    if not name:
        base = "Typical viewers" if not ranked else _cap(f"{adjectives[0]} {noun}" if adjectives else noun)
        name, i = base, 2
        while name in taken:
            name, i = f"{base} ({i})", i + 1
    parts = [f"{share:.0%} of viewers"]
    for c in ranked[:3]:
        phrase = _PHRASES.get(c)
        v, o = float(centre[c]), float(overall[c])
        parts.append(phrase(v, o) if phrase else f"{_humanise(c)} {v:.3g} (vs {o:.3g} overall)")
    if not ranked:
        parts.append("close to the average on every measure")
    return name, "; ".join(parts)


def segment_audience(frame: pd.DataFrame, k_max: int = 8, seed: int = 0, max_map_points: int = 5000,
                     silhouette_sample: int = 10000) -> Segmentation:
    """Cluster viewers with K-means for k in 2..min(k_max, n-1), keeping the k with the best silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    # 1. Check and standardise (zero-variance columns become all-zero instead of dividing by zero)
    num = _prepare(frame)
    mean, std = num.mean(), num.std(ddof=0)
    z = ((num - mean) / std.where(std > 0, 1.0)).to_numpy()
    n_distinct = len(np.unique(np.round(z, 12), axis=0))
    if n_distinct < 2:
        raise InvalidData("All viewers look the same on every feature, so there are no segments to find.")
    # 2. Try each k and score it
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(z), silhouette_sample, replace=False) if len(z) > silhouette_sample else None
    silhouettes: dict[int, float] = {}
    fits: dict[int, Any] = {}
    for k in range(2, min(k_max, len(z) - 1, n_distinct) + 1):
        with threadpool_limits(limits=1 if len(z) < PARALLEL_ROWS else None):  # threads only pay off when big
            km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(z)
        if len(np.unique(km.labels_)) < 2:
            continue
        zs, ls = (z, km.labels_) if sample is None else (z[sample], km.labels_[sample])
        silhouettes[k] = float(silhouette_score(zs, ls)) if len(np.unique(ls)) > 1 else -1.0
        fits[k] = km
    if not fits:
        raise InvalidData("Could not split these viewers into at least two segments; add more viewers.")
    best_k = max(silhouettes, key=lambda k: (silhouettes[k], -k))
    labels = fits[best_k].labels_
    # 3. Describe each segment against the population
    centres = num.groupby(labels).mean()
    zscores = (centres - mean) / std.where(std > 0, 1.0)
    segments: list[Segment] = []
    taken: set[str] = set()
    for lab in sorted(centres.index, key=lambda c: -int((labels == c).sum())):
        size = int((labels == lab).sum())
        name, sentence = _name_and_sentence(zscores.loc[lab], centres.loc[lab], mean, size / len(labels), taken)
        taken.add(name)
        segments.append(Segment(label=int(lab), name=name, description=sentence, size=size,
                                share=size / len(labels), centre={c: float(v) for c, v in centres.loc[lab].items()},
                                zscores={c: float(v) for c, v in zscores.loc[lab].items()}))
    # 4. A 2-D map of (a sample of) viewers
    n_comp = min(2, z.shape[1])
    pca = PCA(n_components=n_comp, random_state=seed).fit(z)
    idx = np.sort(rng.choice(len(z), max_map_points, replace=False)) if len(z) > max_map_points else np.arange(len(z))
    xy = pca.transform(z[idx])
    if n_comp < 2:
        xy = np.column_stack([xy, np.zeros(len(xy))])
    return Segmentation(labels=pd.Series(labels, index=num.index, name="segment"), k=best_k, silhouettes=silhouettes,
                        features=list(num.columns), segments=segments, map_ids=list(num.index[idx]), map_xy=xy,
                        map_labels=labels[idx], explained_variance=pca.explained_variance_ratio_.tolist())
