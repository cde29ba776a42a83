"""Viewing sessions and the SQL aggregates behind the Audience tab, on small hand-computed event sets."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from storage.audience_models import EventKind, ViewEvent, ViewSession
from storage.errors import Conflict, InvalidValue, NotFound
from storage.media import MediaStore
from storage.models import AssetKind
from storage.repo import assets, audience, projects, publications

E = audience.Event
DAY1 = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)


def _video(s, media: MediaStore, project_id: int, duration: float = 60.0, name: str = "clip.mp4"):
    stored = media.put_bytes(name.encode() * 10, ext=".mp4")
    return assets.add_asset(session=s, project_id=project_id, stored=stored, kind=AssetKind.video, name=name,
                            duration_s=duration)


@pytest.fixture
def pub(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="Channel")
        v = _video(s, store.media, p.id)
        return publications.publish(session=s, project_id=p.id, asset_id=v.id, title="Harbour at dawn").id


def _view(store, pub_id, key, viewer, events, *, device="desktop", when=DAY1, arm_id=None):
    evs = [E(EventKind(k), pos, w, when + timedelta(seconds=i)) for i, (k, pos, w) in enumerate(events)]
    with store.session() as s:
        audience.record_events(session=s, publication_id=pub_id, session_key=key, viewer=viewer, events=evs,
                               device=device, arm_id=arm_id)


def test_events_fold_into_their_session(store, pub):
    _view(store, pub, "sess-aaaa", "v1", [("impression", 0, 0), ("play", 0, 0), ("heartbeat", 5, 5)])
    # a second batch of the same page view: a seek far ahead does not count as reached, a huge watched is clamped
    _view(store, pub, "sess-aaaa", "v1", [("seek", 50, 0), ("heartbeat", 20, 500), ("leave", 21, 1)])
    with store.session() as s:
        row = s.query(ViewSession).one()
        assert (row.impressed, row.played, row.ended) == (True, True, False)
        assert row.max_position_s == 21
        assert row.watched_s == pytest.approx(5 + audience.MAX_WATCHED_PER_EVENT + 1)
        assert row.events == 6
        assert s.query(ViewEvent).count() == 6


def test_summary_is_exact_on_a_hand_computed_set(store, pub):
    _view(store, pub, "s1-xxxxx", "v1", [("impression", 0, 0), ("play", 0, 0), ("heartbeat", 25, 25),
                                         ("ended", 60, 5)])                       # view, 30 s, completed
    _view(store, pub, "s2-xxxxx", "v2", [("impression", 0, 0)])                    # impression only
    _view(store, pub, "s3-xxxxx", "v3", [("impression", 0, 0), ("play", 0, 0), ("leave", 5, 5)],
          device="mobile")                                                         # bounce (5 s < 10 s)
    _view(store, pub, "s4-xxxxx", "v1", [("impression", 0, 0), ("play", 0, 0), ("leave", 12, 12)],
          when=DAY1 + timedelta(days=1))                                           # returning viewer
    with store.session() as s:
        m = audience.summary(session=s)
        # views count from 10 s watched: the 5 s bounce is a play, not a view
        assert (m["impressions"], m["plays"], m["views"], m["viewers"], m["completions"]) == (4, 3, 2, 3, 1)
        assert m["ctr"] == pytest.approx(0.75)  # plays per impression
        assert m["watch_time_s"] == pytest.approx(47)
        assert m["avg_view_duration_s"] == pytest.approx(47 / 3)  # per play
        assert m["bounce_rate"] == pytest.approx(1 / 3)
        by_device = {r["key"]: r for r in audience.breakdown(session=s, by="device")}
        assert (by_device["mobile"]["plays"], by_device["mobile"]["views"]) == (1, 0)
        assert by_device["desktop"]["views"] == 2
        days = audience.breakdown(session=s, by="day")
        assert [(d["key"], d["views"]) for d in days] == [("2026-11-02", 1), ("2026-11-03", 1)]
        nr = audience.new_vs_returning(session=s)
        assert [(r["day"], r["new_viewers"], r["returning_viewers"]) for r in nr] == [
            ("2026-11-02", 3, 0), ("2026-11-03", 0, 1)]
        assert audience.funnel(session=s) == {"impressions": 4, "plays": 3, "views": 2, "halfway": 1,
                                              "completed": 1}
        only_day2 = audience.Filters(start=DAY1.date() + timedelta(days=1))
        assert audience.summary(session=s, filters=only_day2)["views"] == 1
        ratings = {(r["user"], r["item"]): r["rating"] for r in audience.implicit_ratings(session=s)}
        assert ratings[("v1", pub)] == pytest.approx(5.0) and ratings[("v3", pub)] == pytest.approx(1 + 4 * 5 / 60)
        with pytest.raises(InvalidValue):
            audience.breakdown(session=s, by="colour")


def test_retention_bins_give_the_same_curve_as_lifelines_on_raw_views(store, pub):
    from lifelines import KaplanMeierFitter

    from analytics.retention import retention_curve

    rng = np.random.default_rng(3)
    reached = np.minimum(rng.exponential(30, size=200).round(), 60)
    for n, r in enumerate(reached):
        kind = "ended" if r >= 60 else "leave"
        _view(store, pub, f"ret-{n:05d}", f"v{n}", [("play", 0, 0), (kind, float(r), float(r))])
    with store.session() as s:
        bins = audience.retention_bins(session=s, publication_id=pub)
    d = np.array([b["second"] for b in bins], float)
    e = np.array([not b["ended"] for b in bins])
    w = np.array([b["count"] for b in bins], float)
    curve = retention_curve(np.where(e, d, 60.0), e, w, video_length=60.0)
    kmf = KaplanMeierFitter().fit(reached, event_observed=reached < 60)
    expected = kmf.survival_function_at_times(curve.times[:-1]).to_numpy()
    np.testing.assert_allclose(curve.survival[:-1], expected, atol=1e-12)
    assert w.sum() == 200


def test_viewer_ids_are_pseudonymous_and_rotate_daily(store):
    """More in tests/studio/test_viewer_privacy.py (rotation, the day boundary, nothing raw stored)."""
    with store.session() as s:
        day1 = audience.day_salts(session=s, today=DAY1.date())
        again = audience.day_salts(session=s, today=DAY1.date())
        day2 = audience.day_salts(session=s, today=DAY1.date() + timedelta(days=1))
    ids = dict(user_agent="Mozilla/5.0 (X11)", ip="192.0.2.7", video=1)
    a, b = audience.viewer_ids(day1, **ids), audience.viewer_ids(again, **ids)
    c = audience.viewer_ids(day2, **ids)
    assert a == b and len(a) == 1 and len(a[0]) == 16 and "192" not in a[0]
    assert c[0] != a[0] and c[1] == a[0]  # the next day: a new id, yesterday's still recognisable
    assert audience.viewer_ids(day1, **{**ids, "video": 2}) != a


def test_publish_validates_and_private_pages_are_not_served(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="P")
        v = _video(s, store.media, p.id)
        img = assets.add_asset(session=s, project_id=p.id, stored=store.media.put_bytes(b"png", ext=".png"),
                               kind=AssetKind.image, name="t.png")
        with pytest.raises(InvalidValue, match="video"):
            publications.publish(session=s, project_id=p.id, asset_id=img.id, title="x")
        with pytest.raises(InvalidValue, match="title"):
            publications.publish(session=s, project_id=p.id, asset_id=v.id, title="   ")
        one = publications.publish(session=s, project_id=p.id, asset_id=v.id, title="Café Tour!")
        two = publications.publish(session=s, project_id=p.id, asset_id=v.id, title="Café Tour!",
                                   visibility="private")
        assert one.slug == "cafe-tour" and two.slug == "cafe-tour-2"
        with pytest.raises(Conflict):
            publications.publish(session=s, project_id=p.id, asset_id=v.id, title="x", slug="cafe-tour")
        assert publications.by_slug(session=s, slug="cafe-tour").id == one.id
        with pytest.raises(NotFound):
            publications.by_slug(session=s, slug="cafe-tour-2")
        assert [x.slug for x in publications.list_publications(session=s, listed_only=True)] == ["cafe-tour"]


def test_experiment_counts_each_page_view_once_and_the_winner_is_applied(store, pub):
    with store.session() as s:
        with pytest.raises(InvalidValue):
            publications.start_experiment(session=s, publication_id=pub, variants=[{"title": "Only one"}])
        exp = publications.start_experiment(session=s, publication_id=pub,
                                            variants=[{"title": "Dawn"}, {"title": "Harbour sunrise"}])
        a, b = (x.id for x in exp.arms)
        with pytest.raises(Conflict):
            publications.start_experiment(session=s, publication_id=pub, variants=[{"title": "x"}, {"title": "y"}])
    _view(store, pub, "ab-1xxxx", "v1", [("impression", 0, 0), ("play", 0, 0)], arm_id=b)
    _view(store, pub, "ab-1xxxx", "v1", [("heartbeat", 5, 5), ("play", 5, 0)], arm_id=b)
    _view(store, pub, "ab-2xxxx", "v2", [("impression", 0, 0)], arm_id=a)
    with store.session() as s:
        exp = publications.running_experiment(session=s, publication_id=pub)
        assert [(x.impressions, x.clicks) for x in exp.arms] == [(1, 0), (1, 1)]
        publications.stop_experiment(session=s, experiment_id=exp.id, winner_arm_id=b)
        assert publications.get_publication(session=s, publication_id=pub).title == "Harbour sunrise"


def test_deleting_a_project_removes_its_publications_and_audience(store, pub):
    _view(store, pub, "del-xxxx", "v1", [("impression", 0, 0), ("play", 0, 0)])
    with store.session() as s:
        audience.add_comment(session=s, publication_id=pub, text="Nice")
        project_id = publications.get_publication(session=s, publication_id=pub).project_id
        projects.delete_project(session=s, project_id=project_id)
    with store.session() as s:
        assert s.query(ViewSession).count() == 0 and s.query(ViewEvent).count() == 0
        assert publications.list_publications(session=s) == []


def test_a_published_video_cannot_be_deleted_from_under_its_page(store, pub):
    with store.session() as s:
        asset_id = publications.get_publication(session=s, publication_id=pub).asset_id
    with pytest.raises(Conflict, match="published as 'Harbour at dawn'"):
        with store.session() as s:
            assets.delete_asset(session=s, asset_id=asset_id)
    with store.session() as s:
        assert publications.get_publication(session=s, publication_id=pub).asset_id == asset_id
