"""What the Audience tab shows, computed from the store (plain data; the charts are drawn in studio/charts.py).

Every number comes from SQL aggregates over viewing sessions (``storage.repo.audience``); the statistics and
models come from ``analytics``. Cheap parts run on every refresh; recommendations and the watch-time and
click-through models are fitted on demand.
"""
from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from analytics import experiments as exp_stats
from analytics import retention as ret
from analytics.errors import InvalidData
from storage.audience_models import Publication
from storage.db import Store
from storage.repo import audience, publications

_SENTIMENT_CACHE: dict[tuple[int, str], float] = {}
_SENTIMENT_LOCK = threading.Lock()


@dataclass
class Dashboard:
    filters: audience.Filters
    videos: dict[int, str]
    summary: dict[str, Any]
    funnel: dict[str, int]
    daily: pd.DataFrame
    imported: pd.DataFrame
    by_device: pd.DataFrame
    by_region: pd.DataFrame
    by_video: pd.DataFrame
    new_returning: pd.DataFrame
    retention_video: int | None = None
    retention: ret.RetentionCurve | None = None
    moments: list[ret.KeyMoment] = field(default_factory=list)
    apv: float = 0.0
    experiment: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def parse_day(text: str | None, what: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidData(f"The {what} date must look like 2026-11-26.") from None


def make_filters(video_ids: list[int] | None, start: str | None, end: str | None) -> audience.Filters:
    s, e = parse_day(start, "start"), parse_day(end, "end")
    if s and e and s > e:
        raise InvalidData("The start date is after the end date.")
    return audience.Filters(publication_ids=tuple(video_ids) if video_ids else None, start=s, end=e)


def video_choices(store: Store, project_id: int | None = None) -> list[tuple[str, int]]:
    with store.session() as s:
        return [(f"{p.title}{' (sample)' if p.is_sample else ''}", p.id)
                for p in publications.list_publications(session=s, project_id=project_id)]


def compute(store: Store, filters: audience.Filters) -> Dashboard:
    with store.session() as s:
        videos = {p.id: p.title for p in publications.list_publications(session=s)}
        by_video = pd.DataFrame(audience.breakdown(session=s, by="video", filters=filters))
        if not by_video.empty:
            by_video["title"] = by_video["key"].map(videos)
        board = Dashboard(
            filters=filters, videos=videos, summary=audience.summary(session=s, filters=filters),
            funnel=audience.funnel(session=s, filters=filters),
            daily=pd.DataFrame(audience.breakdown(session=s, by="day", filters=filters)),
            imported=pd.DataFrame(audience.imported_daily(session=s, filters=filters)),
            by_device=pd.DataFrame(audience.breakdown(session=s, by="device", filters=filters)),
            by_region=pd.DataFrame(audience.breakdown(session=s, by="region", filters=filters)),
            by_video=by_video,
            new_returning=pd.DataFrame(audience.new_vs_returning(session=s, filters=filters)))
        # Retention: the chosen video, or the most viewed one
        target = None
        if filters.publication_ids and len(filters.publication_ids) == 1:
            target = filters.publication_ids[0]
        elif not by_video.empty and by_video["views"].max() > 0:
            target = int(by_video.sort_values("views", ascending=False)["key"].iloc[0])
        if target is not None:
            pub = s.get(Publication, target)
            bins = audience.retention_bins(session=s, publication_id=target, filters=filters)
            board.retention_video = target
            if bins and pub is not None and pub.duration_s > 0:
                d = np.array([b["second"] for b in bins], float)
                e = np.array([not b["ended"] for b in bins], bool)
                w = np.array([b["count"] for b in bins], float)
                d = np.where(e, d, pub.duration_s)  # reaching the end: censored at the video's length
                try:
                    board.retention = ret.retention_curve(d, e, w, video_length=pub.duration_s)
                    board.moments = ret.key_moments(board.retention)
                    board.apv = ret.average_percentage_viewed(board.retention)
                except InvalidData as exc:
                    board.notes.append(exc.message)
            exp = publications.running_experiment(session=s, publication_id=target)
            if exp is None:
                exp = next(iter(sorted(pub.experiments, key=lambda x: x.id, reverse=True)), None) if pub else None
            if exp is not None and exp.arms:
                arms = [exp_stats.Arm(a.impressions, a.clicks, a.title or a.label) for a in exp.arms]
                board.experiment = {
                    "id": exp.id, "name": exp.name, "status": exp.status, "video": pub.title,
                    "arm_ids": [a.id for a in exp.arms],
                    "decision": exp_stats.stop_rule(arms),
                    "density": exp_stats.posterior_density(arms)}
    return board


def sentiment_frame(store: Store, filters: audience.Filters, method: str = "auto") -> pd.DataFrame:
    """Comments in range with a score in [−1, 1] (learned model on MiniLM when available, else VADER)."""
    from analytics.sentiment import score_texts

    with store.session() as s:
        rows = [(c.id, c.publication_id, c.created_at, c.author, c.text)
                for c in audience.list_comments(session=s, publication_ids=filters.publication_ids,
                                                start=filters.start, end=filters.end, limit=5000)]
    frame = pd.DataFrame(rows, columns=["id", "video", "at", "author", "text"])
    if frame.empty:
        return frame.assign(score=[])
    with _SENTIMENT_LOCK:
        if len(_SENTIMENT_CACHE) > 200_000:  # a cache, not a store: keep it bounded
            _SENTIMENT_CACHE.clear()
        todo = [(i, t) for i, t in zip(frame["id"], frame["text"]) if (i, method) not in _SENTIMENT_CACHE]
        if todo:
            scores = score_texts([t for _, t in todo], method=method)
            _SENTIMENT_CACHE.update({(i, method): float(x) for (i, _), x in zip(todo, scores)})
        frame["score"] = [_SENTIMENT_CACHE[(i, method)] for i in frame["id"]]
    frame["day"] = pd.to_datetime(frame["at"]).dt.strftime("%Y-%m-%d")
    return frame


def segments(store: Store, filters: audience.Filters):
    from analytics.segments import segment_audience

    with store.session() as s:
        frame = pd.DataFrame(audience.viewer_features(session=s, filters=filters))
    if frame.empty:
        raise InvalidData("No viewers in this range yet.")
    frame = frame.set_index("viewer").fillna(0.0).astype(float)
    return segment_audience(frame)


META_COLUMNS = ["viewer", "publication_id", "started_at"]


def model_frame(store: Store, filters: audience.Filters, *, with_meta: bool = False) -> pd.DataFrame:
    """One row per viewing session: the models' inputs and targets (and, ``with_meta``, who/which/when —
    ``META_COLUMNS`` — for fairness by group and explanations per video; not model inputs)."""
    with store.session() as s:
        rows = audience.session_rows(session=s, filters=filters)
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise InvalidData("No viewing sessions in this range yet.")
    started = pd.to_datetime(frame["started_at"])
    first = frame.groupby("viewer")["started_at"].transform("min")
    out = pd.DataFrame({
        "device": frame["device"].astype(str), "region": frame["region"].astype(str),
        "hour": started.dt.hour, "weekend": (started.dt.dayofweek >= 5).astype(int),
        "returning": (frame["started_at"] > first).astype(int),
        "video_length_s": frame["duration_s"].astype(float),
        "title_words": frame["title"].str.split().str.len().astype(float),
        "clicked": frame["played"].astype(int), "watch_time_s": frame["watched_s"].astype(float)})
    if with_meta:
        out["viewer"], out["publication_id"], out["started_at"] = frame["viewer"], frame["publication_id"], started
    return out


def fit_models(store: Store, filters: audience.Filters, frame: pd.DataFrame | None = None):
    """The watch-time model (on sessions that played) and the click-through model (on all sessions)."""
    from analytics.predict import fit_ctr_model, fit_watch_time_model

    frame = model_frame(store, filters) if frame is None else frame.drop(columns=META_COLUMNS, errors="ignore")
    ctr = fit_ctr_model(frame.drop(columns=["watch_time_s"]), target="clicked")
    viewed = frame[frame["clicked"] == 1].drop(columns=["clicked"])
    watch = fit_watch_time_model(viewed, target="watch_time_s")
    return watch, ctr


def export_csv(board: Dashboard) -> str:
    """Every breakdown of the dashboard as one CSV (a ``group`` column says which)."""
    buf = io.StringIO()
    # views: counted views (10 s watched, one per viewer, video and hour); plays: page views where play was pressed
    cols = ["group", "key", "impressions", "views", "ctr", "watch_time_s", "avg_view_duration_s",
            "bounce_rate", "completions", "viewers", "plays"]
    w = csv.writer(buf)
    w.writerow(cols)
    for name, frame in (("day", board.daily), ("video", board.by_video), ("device", board.by_device),
                        ("region", board.by_region)):
        for _, r in frame.iterrows() if not frame.empty else []:
            key = board.videos.get(r["key"], r["key"]) if name == "video" else r["key"]
            w.writerow([name, key, *(r[c] for c in cols[2:])])
    return buf.getvalue()
