"""Recommendation preview for the Audience tab: trained on implicit ratings from the store (how much of each
video a viewer watched, 1–5), with titles and descriptions as content for videos nobody has watched yet."""
from __future__ import annotations

from dataclasses import dataclass

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

    def for_viewer(self, viewer: str, k: int = 5) -> list[tuple[str, float]]:
        recs = self.model.recommend(viewer, k=k, exclude_seen=True)
        return [(self.titles.get(int(item), f"#{item}"), float(score)) for item, score in recs]


def train(store: Store, filters: audience.Filters) -> TrainedRecommender:
    from analytics.recommend import make_recommender

    with store.session() as s:
        rows = audience.implicit_ratings(session=s, filters=filters)
        pubs = publications.list_publications(session=s)
        titles = {p.id: p.title for p in pubs}
        texts = {p.id: f"{p.title}. {p.description}" for p in pubs}
    if len(rows) < 10:
        raise InvalidData("Too few views to train a recommender (need at least 10 viewer–video pairs).")
    frame = pd.DataFrame(rows)
    model = make_recommender("hybrid", item_text=texts, scale=(1.0, 5.0)).fit(frame)
    counts = frame.groupby("user").size().sort_values(ascending=False)
    summary = (f"Trained on {len(frame):,} viewer–video pairs from {frame['user'].nunique():,} viewers and "
               f"{frame['item'].nunique()} videos ({len(texts)} with text for cold start). Viewers are listed "
               f"most active first.")
    return TrainedRecommender(model=model, titles=titles, viewers=[str(v) for v in counts.index], summary=summary)
