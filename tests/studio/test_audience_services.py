"""Platform-export import (row-by-row validation), the sample channel and the dashboard built from them."""
from __future__ import annotations

import pytest

from storage.audience_models import ImportedMetric, ViewSession
from storage.errors import InvalidValue
from storage.repo import audience, publications
from storage.config import Settings, sqlite_url
from studio.services import audience_import, dashboard, publishing, sample_audience
from studio.services.app_state import start_studio
from tests.pgfixtures import module_database_url  # noqa: F401


@pytest.fixture(scope="module")
def studio(tmp_path_factory, module_database_url):  # noqa: F811
    """The dashboard SQL on both databases: a studio on SQLite, then one on PostgreSQL ([sqlite] / [pg])."""
    data = tmp_path_factory.mktemp("studio") / "data"
    st = start_studio(Settings(data_dir=data, database_url=module_database_url or sqlite_url(data)))
    yield st
    st.close()


@pytest.fixture(scope="module")
def channel(studio):
    counts = sample_audience.generate(studio.store, viewers=150, days=14, seed=3)
    yield counts
    sample_audience.remove_sample(studio.store)


def _slug(studio, index=0):
    with studio.store.session() as s:
        return sorted(p.slug for p in publications.list_publications(session=s) if p.is_sample)[index]


def test_sample_channel_is_labelled_and_feeds_every_dashboard(studio, channel):
    assert channel["publications"] == 6 and channel["events"] > channel["sessions"] > 150
    assert sample_audience.has_sample(studio.store)
    board = dashboard.compute(studio.store, dashboard.make_filters(None, None, None))
    assert board.summary["views"] > 0 and 0 < board.summary["ctr"] < 1
    assert len(board.daily) >= 10 and set(board.by_device["key"]) >= {"desktop", "mobile"}
    assert board.retention is not None and board.retention.survival[0] <= 1.0 and 0 < board.apv < 1
    assert board.experiment is not None and len(board.experiment["decision"].arms) == 3
    assert board.funnel["impressions"] >= board.funnel["views"] >= board.funnel["halfway"] >= \
        board.funnel["completed"]
    csv_text = dashboard.export_csv(board)
    assert csv_text.splitlines()[0].startswith("group,key,impressions,views,ctr")
    assert {line.split(",")[0] for line in csv_text.splitlines()[1:]} == {"day", "video", "device", "region"}
    seg = dashboard.segments(studio.store, board.filters)
    assert 2 <= seg.k <= 8 and abs(sum(x.share for x in seg.segments) - 1) < 1e-9
    sent = dashboard.sentiment_frame(studio.store, board.filters, method="vader")
    neg = sent[sent["text"].str.contains("awful")]["score"]
    pos = sent[sent["text"].str.contains("Loved this")]["score"]
    assert len(sent) == channel["comments"] and (neg.empty or neg.max() < 0) and (pos.empty or pos.min() > 0)


def test_filters_by_video_and_date(studio, channel):
    with studio.store.session() as s:
        first = publications.list_publications(session=s)[-1].id
    one = dashboard.compute(studio.store, dashboard.make_filters([first], None, None))
    everything = dashboard.compute(studio.store, dashboard.make_filters(None, None, None))
    assert 0 < one.summary["impressions"] < everything.summary["impressions"]
    assert list(one.by_video["key"]) == [first]
    with pytest.raises(Exception, match="start date is after"):
        dashboard.make_filters(None, "2026-11-20", "2026-11-01")
    with pytest.raises(Exception, match="2026-11-26"):
        dashboard.make_filters(None, "yesterday", None)


def test_metrics_csv_import_reports_bad_rows_and_upserts(studio, channel, upload_dir):
    slug = _slug(studio)
    path = upload_dir / "metrics.csv"
    path.write_text("video,date,impressions,views,watch_time_hours\n"
                    f"{slug},2026-10-01,1000,120,4.5\n"
                    f"{slug},2026-10-02,900,80,2\n"
                    "no-such-video,2026-10-02,1,1,1\n"
                    f"{slug},02/10/2026,1,1,1\n"
                    f"{slug},2026-10-03,10,50,1\n"
                    f"{slug},2026-10-04,ten,5,1\n", encoding="utf-8")
    report = audience_import.import_metrics(studio.store, path, platform="YouTube")
    assert (report.accepted, report.rejected) == (2, 4)
    text = report.as_text()
    for fragment in ("line 4: unknown video", "line 5: date must be YYYY-MM-DD", "line 6: views cannot exceed",
                     "line 7: impressions is not a number"):
        assert fragment in text
    audience_import.import_metrics(studio.store, path, platform="YouTube")  # again: replaces, no duplicates
    with studio.store.session() as s:
        rows = s.query(ImportedMetric).filter_by(platform="YouTube").all()
        assert len(rows) == 2 and sum(r.watch_time_s for r in rows) == pytest.approx(6.5 * 3600)


def test_events_csv_import_builds_sessions(studio, channel, upload_dir):
    slug = _slug(studio, 1)
    path = upload_dir / "events.csv"
    path.write_text("video,viewer,session,event,position_s,watched_s,timestamp,device\n"
                    f"{slug},alice,s1,impression,0,0,2026-09-01T10:00:00Z,mobile\n"
                    f"{slug},alice,s1,play,0,0,2026-09-01T10:00:02Z,mobile\n"
                    f"{slug},alice,s1,leave,17,17,2026-09-01T10:00:19Z,mobile\n"
                    f"{slug},bob,s2,impression,0,0,1788000000,desktop\n"
                    f"{slug},bob,s2,teleport,0,0,1788000000,desktop\n"
                    f"{slug},bob,s1,play,0,0,1788000000,desktop\n", encoding="utf-8")
    report = audience_import.import_events(studio.store, path)
    assert (report.accepted, report.rejected) == (4, 2)
    assert "line 6: event must be one of" in report.as_text() and "line 7: session 's1'" in report.as_text()
    with studio.store.session() as s:
        rows = {r.session_key: r for r in s.query(ViewSession).filter_by(source="import")}
        alice = next(r for k, r in rows.items() if k.endswith("-s1"))
        assert (alice.played, alice.max_position_s, alice.watched_s, alice.device) == (True, 17.0, 17.0, "mobile")
        assert alice.viewer != "alice"
        day = audience.breakdown(session=s, by="day", filters=audience.Filters(
            start=dashboard.parse_day("2026-09-01", "start"), end=dashboard.parse_day("2026-09-01", "end")))
        assert [(d["key"], d["views"]) for d in day] == [("2026-09-01", 1)]


def test_unreadable_csvs_are_refused_whole(studio, channel, upload_dir):
    binary = upload_dir / "export.xlsx.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(InvalidValue):
        audience_import.import_metrics(studio.store, binary)
    wrong = upload_dir / "wrong.csv"
    wrong.write_text("title,when\nx,y\n")
    with pytest.raises(InvalidValue, match="needs the columns video and date"):
        audience_import.import_metrics(studio.store, wrong)
    with pytest.raises(InvalidValue, match="missing: viewer"):
        audience_import.import_events(studio.store, _events_header(upload_dir))


def _events_header(tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text("video,session,event,position_s,watched_s,timestamp\n")
    return p


def test_variants_parse_and_pairing():
    assert [v["title"] for v in publishing.parse_variants("One\n\nTwo\n", None)] == ["One", "Two"]
    with pytest.raises(InvalidValue, match="at least two"):
        publishing.parse_variants("Only", None)
    with pytest.raises(InvalidValue, match="as many titles"):
        publishing.parse_variants("A\nB\nC", [1, 2])


def test_recommender_ranks_unwatched_first_and_covers_a_video_nobody_has_watched(studio, channel):
    from storage.repo import assets as assets_repo
    from studio.services import recommending

    with studio.store.session() as s:
        first = publications.list_publications(session=s)[-1]
        fresh = publications.publish(session=s, project_id=first.project_id, asset_id=first.asset_id,
                                     title="Knife skills part two",
                                     description="Cooking lesson: chopping herbs and dicing vegetables safely.")
        fresh_title = fresh.title
        assert assets_repo.get_asset(session=s, asset_id=first.asset_id)
    try:
        model = recommending.train(studio.store, dashboard.make_filters(None, None, None))
        recs = model.for_viewer(model.viewers[-1], k=7)
        flags = [seen for _, _, seen in recs]
        assert flags == sorted(flags)  # unwatched (False) before watched (True)
        assert fresh_title in [title for title, _, _ in recs]
        assert all(1.0 <= score <= 5.0 for _, score, _ in recs)
    finally:
        with studio.store.session() as s:
            publications.delete_publication(session=s, publication_id=fresh.id)


def test_removing_the_sample_leaves_real_work_alone(studio, tmp_path):
    from storage.repo import projects
    with studio.store.session() as s:
        projects.create_project(session=s, name="Real work")
    sample_audience.generate(studio.store, viewers=20, days=3, seed=1)
    assert sample_audience.remove_sample(studio.store) == 6
    with studio.store.session() as s:
        assert [p.name for p in projects.list_projects(session=s)] == ["Real work"]
        assert s.query(ViewSession).filter_by(source="sample").count() == 0
