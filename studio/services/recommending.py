"""Recommendation preview for the Audience tab: trained on implicit ratings from the store (how much of each
video a viewer watched, 1–5), with titles and descriptions as content for videos nobody has watched yet."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analytics.errors import InvalidData
from storage.db import Store
from storage.repo import audience, publications


@dataclass
class TrainedRecommender:
    model: object
    titles: dict[int, str]
    viewers: list[str]
    summary: str

    seen: dict[str, set[int]] = field(default_factory=dict)

    def for_viewer(self, viewer: str, k: int = 5) -> list[tuple[str, float, bool]]:
        """Top ``k`` videos by predicted rating: unwatched ones first, then watched ones (flagged)."""
        recs = self.model.recommend(viewer, k=len(self.titles) or k, exclude_seen=False)
        watched = self.seen.get(viewer, set())
        ranked = sorted(recs, key=lambda r: (int(r[0]) in watched, -r[1]))[:k]
        return [(self.titles.get(int(item), f"#{item}"), float(score), int(item) in watched)
                for item, score in ranked]


def train(store: Store, filters: audience.Filters) -> TrainedRecommender:
    from analytics.recommend import create

    with store.session() as s:
        rows = audience.implicit_ratings(session=s, filters=filters)
        pubs = publications.list_publications(session=s)
        titles = {p.id: p.title for p in pubs}
        texts = {p.id: f"{p.title}. {p.description}" for p in pubs}
    if len(rows) < 10:
        raise InvalidData("Too few views to train a recommender (need at least 10 viewer–video pairs).")
    frame = pd.DataFrame(rows)
    model = create("hybrid", item_text=texts, scale=(1.0, 5.0)).fit(frame)
    counts = frame.groupby("user").size().sort_values(ascending=False)
    summary = (f"Trained on {len(frame):,} viewer–video pairs from {frame['user'].nunique():,} viewers and "
               f"{frame['item'].nunique()} videos ({len(texts)} with text for cold start). Viewers are listed "
               f"most active first.")
    seen = {str(u): set(map(int, g)) for u, g in frame.groupby("user")["item"]}
    return TrainedRecommender(model=model, titles=titles, viewers=[str(v) for v in counts.index], summary=summary,
                              seen=seen)
