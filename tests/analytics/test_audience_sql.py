"""The SQL behind the audience analytics, on SQLite and on PostgreSQL ([sqlite] / [pg], tests/analytics/conftest.py):
every aggregate the dashboards, segments, retention curves and recommenders read equals the same computation done
in pandas on the raw rows, and the frames handed to the analytics are numeric (no Decimal or object columns).

Sessions start at random seconds over ten days, many within minutes of midnight UTC, so a day computed in any zone
but UTC (the PostgreSQL test server runs at UTC+14) shows up as a wrong day."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from storage.models import AssetKind
from storage.repo import assets, audience, projects, publications
from studio.services import dashboard

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
DURATIONS = (30.0, 60.0, 0.0)  # a video of unknown length has no completion
DEVICES = ("mobile", "desktop", "tablet", "unknown")


@pytest.fixture
def loaded(store):
    """Three published videos and 400 summarised sessions of 60 viewers; returns (publication ids, raw rows)."""
    rng = np.random.default_rng(11)
    with store.session() as s:
        p = projects.create_project(session=s, name="Portable channel")
        pubs = []
        for i, duration in enumerate(DURATIONS):
            stored = store.media.put_bytes(f"video {i}".encode() * 20, ext=".mp4")
            a = assets.add_asset(session=s, project_id=p.id, stored=stored, kind=AssetKind.video,
                                 name=f"v{i}.mp4", duration_s=duration)
            pubs.append(publications.publish(session=s, project_id=p.id, asset_id=a.id, title=f"Video {i}").id)
    rows = []
    for n in range(400):
        vid = int(rng.integers(3))
        near_midnight = rng.random() < 0.4
        day = int(rng.integers(10))
        seconds = (86400 - int(rng.integers(1, 900))) if near_midnight else int(rng.integers(0, 86400))
        played = bool(rng.random() < 0.7)
        reached = float(rng.uniform(0, DURATIONS[vid] or 45.0)) if played else 0.0
        rows.append({"publication_id": pubs[vid], "session_key": f"portable-{n:05d}", "viewer": f"v{rng.integers(60)}",
                     "device": DEVICES[rng.integers(len(DEVICES))], "region": ("EU", "US", "unknown")[n % 3],
                     "arm_id": None, "source": "import", "started_at": START + timedelta(days=day, seconds=seconds),
                     "last_at": START + timedelta(days=day, seconds=seconds + 60), "impressed": True,
                     "played": played, "ended": played and bool(rng.random() < 0.3), "counted": played and reached >= 10,
                     "max_position_s": reached, "watched_s": round(reached * float(rng.uniform(0.8, 1.2)), 3),
                     "events": int(rng.integers(1, 9))})
    with store.session() as s:
        audience.bulk_load(session=s, sessions=rows, events=[])
    raw = pd.DataFrame(rows)
    raw["day"] = raw["started_at"].dt.strftime("%Y-%m-%d")
    raw["duration"] = raw["publication_id"].map(dict(zip(pubs, DURATIONS)))
    return pubs, raw


def _metrics(g: pd.DataFrame) -> dict:
    plays = int(g["played"].sum())
    return {"impressions": int(g["impressed"].sum()), "plays": plays, "views": int(g["counted"].sum()),
            "watch_time_s": pytest.approx(float(g["watched_s"].sum())),
            "bounces": int((g["played"] & (g["watched_s"] < audience.BOUNCE_SECONDS)).sum()),
            "completions": int(g["ended"].sum()), "viewers": int(g["viewer"].nunique())}


def _subset(row: dict, keys) -> dict:
    return {k: row[k] for k in keys}


def test_totals_and_breakdowns_match_pandas(store, loaded):
    pubs, raw = loaded
    with store.session() as s:
        total = audience.summary(session=s)
        assert _subset(total, _metrics(raw)) == _metrics(raw)
        for by, col in (("day", "day"), ("device", "device"), ("region", "region"), ("video", "publication_id")):
            got = audience.breakdown(session=s, by=by)
            want = {k: _metrics(g) for k, g in raw.groupby(col)}
            assert [r["key"] for r in got] == sorted(want), by
            for r in got:
                assert _subset(r, want[r["key"]]) == want[r["key"]], (by, r["key"])
        # a date filter takes whole UTC days
        window = audience.Filters(publication_ids=(pubs[0], pubs[2]), start=date(2026, 11, 3), end=date(2026, 11, 5))
        part = raw[raw["publication_id"].isin(window.publication_ids) & raw["day"].between("2026-11-03", "2026-11-05")]
        assert _subset(audience.summary(session=s, filters=window), _metrics(part)) == _metrics(part)
        funnel = audience.funnel(session=s)
        assert (funnel["plays"], funnel["views"], funnel["completed"]) == (
            int(raw["played"].sum()), int(raw["counted"].sum()), int((raw["counted"] & raw["ended"]).sum()))
        assert funnel["halfway"] == int((raw["counted"] & (raw["duration"] > 0)
                                         & (raw["max_position_s"] >= raw["duration"] / 2)).sum())


def test_new_and_returning_viewers_per_day_match_pandas(store, loaded):
    _, raw = loaded
    first = raw.groupby("viewer")["started_at"].transform("min").dt.strftime("%Y-%m-%d")
    raw = raw.assign(new=first == raw["day"])
    want = [{"day": d, "new_viewers": int(g.loc[g["new"], "viewer"].nunique()),
             "returning_viewers": int(g.loc[~g["new"], "viewer"].nunique())} for d, g in raw.groupby("day")]
    with store.session() as s:
        assert audience.new_vs_returning(session=s) == want


def test_retention_bins_and_curve_match_pandas(store, loaded):
    pubs, raw = loaded
    one = raw[(raw["publication_id"] == pubs[1]) & raw["played"]]
    want = one.assign(second=np.floor(one["max_position_s"]).astype(int)).groupby(["second", "ended"]).size()
    with store.session() as s:
        bins = audience.retention_bins(session=s, publication_id=pubs[1])
    assert {(b["second"], bool(b["ended"])): b["count"] for b in bins} == {k: int(v) for k, v in want.items()}
    assert [b["second"] for b in bins] == sorted(b["second"] for b in bins)


def test_viewer_features_and_ratings_match_pandas(store, loaded):
    _, raw = loaded
    completion = np.where(raw["duration"] > 0, np.minimum(raw["max_position_s"] / raw["duration"].replace(0, 1), 1.0),
                          0.0)
    raw = raw.assign(completion=np.where(raw["played"], completion, np.nan),
                     mobile=raw["device"].isin(("mobile", "tablet")).astype(float))
    with store.session() as s:
        got = {r["viewer"]: r for r in audience.viewer_features(session=s)}
        ratings = {(r["user"], r["item"]): r["rating"] for r in audience.implicit_ratings(session=s)}
    assert set(got) == set(raw["viewer"])
    for viewer, g in raw.groupby("viewer"):
        r = got[viewer]
        assert r["views"] == int(g["counted"].sum()) and r["active_days"] == g["day"].nunique()
        assert r["watch_time_s"] == pytest.approx(g["watched_s"].sum())
        assert r["mobile_share"] == pytest.approx(g["mobile"].mean())
        assert r["play_rate"] == pytest.approx(g["played"].mean())
        want = g["completion"].mean()
        assert (r["avg_completion"] is None) if np.isnan(want) else r["avg_completion"] == pytest.approx(want)
    played = raw[raw["played"]]
    for (viewer, item), g in played.groupby(["viewer", "publication_id"]):
        duration = g["duration"].iloc[0]
        frac = min(1.0, g["max_position_s"].max() / duration) if duration else 0.0
        assert ratings[(viewer, item)] == pytest.approx(1.0 + 4.0 * frac)
    assert len(ratings) == played.groupby(["viewer", "publication_id"]).ngroups


def test_dashboard_frames_are_numeric_and_segments_fit(store, loaded):
    board = dashboard.compute(store, dashboard.make_filters(None, None, None))
    for name in ("daily", "by_device", "by_region", "by_video", "new_returning"):
        frame = getattr(board, name)
        numeric = frame.drop(columns=[c for c in ("key", "day", "title") if c in frame.columns])
        assert all(np.issubdtype(t, np.number) for t in numeric.dtypes), (name, dict(numeric.dtypes))
    assert list(board.daily["key"]) == sorted(board.daily["key"]) and len(board.daily) >= 10
    assert board.retention is not None and np.all(np.diff(board.retention.survival) <= 1e-12)  # from the bins
    assert 0.0 < board.apv <= 1.0
    frame = dashboard.model_frame(store, board.filters)
    assert len(frame) == 400 and all(np.issubdtype(frame[c].dtype, np.number)
                                     for c in ("hour", "weekend", "returning", "clicked", "watch_time_s"))
    seg = dashboard.segments(store, board.filters)
    assert seg.labels.size == raw_viewers(loaded) and seg.segments
    assert all(np.isfinite(seg.map_xy).ravel())


def raw_viewers(loaded) -> int:
    return loaded[1]["viewer"].nunique()
