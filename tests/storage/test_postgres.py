"""PostgreSQL end to end: migrations from an empty database and from every earlier revision with rows in place, the
downgrade/upgrade round trip, two web processes on one database, a restore that refuses a database in use — and the
portability checks that run on both databases (aggregates come back as plain numbers, days are UTC days).

The rest of the storage suite runs on both databases through tests/storage/conftest.py; these are the tests that
need a database of their own (``pg``: the session's private PostgreSQL server, tests/pgfixtures.py)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from storage import backup
from storage.audience_models import ViewSession
from storage.config import Settings
from storage.db import alembic_config, current_revision, make_engine, migrate, open_store
from storage.models import Base
from storage.repo import assets, audience, projects, publications
from tests.pgfixtures import SERVER_TIME_ZONE

SCRIPTS = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
HEAD = SCRIPTS.get_current_head()
EARLIER = [s.revision for s in SCRIPTS.walk_revisions() if s.revision != HEAD]  # newest first
T0 = "2026-10-01 09:00:00+00"


def _alembic(engine, action: str, revision: str) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def _model_diff(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def _at_least(revision: str, wanted: str) -> bool:
    """``revision`` is ``wanted`` or comes after it."""
    return wanted in {r.revision for r in SCRIPTS.iterate_revisions(revision, "base")}


def _seed(conn, revision: str) -> dict[str, int]:
    """Rows an instance at ``revision`` could hold, written with that revision's columns (ids from the sequences,
    never explicit: the sequences must keep working after the upgrade)."""
    ids = {}
    ids["project"] = conn.execute(text(
        "INSERT INTO projects (name, description, created_at, updated_at) "
        f"VALUES ('Harbour', 'old project', '{T0}', '{T0}') RETURNING id")).scalar()
    ids["asset"] = conn.execute(text(
        "INSERT INTO assets (project_id, kind, name, content_hash, ext, size_bytes, meta, created_at) "
        f"VALUES (:p, 'video', 'dawn.mp4', :h, '.mp4', 10, '{{\"note\": \"kept\"}}', '{T0}') RETURNING id"),
        {"p": ids["project"], "h": "ab" * 32}).scalar()
    ids["script"] = conn.execute(text(
        f"INSERT INTO scripts (project_id, title, format, created_at, updated_at) "
        f"VALUES (:p, 'Draft', 'fountain', '{T0}', '{T0}') RETURNING id"), {"p": ids["project"]}).scalar()
    ids["job"] = conn.execute(text(
        "INSERT INTO jobs (project_id, kind, queue, status, progress, message, params, result, cancel_requested, "
        f"attempts, created_at) VALUES (:p, 'thumbs', 'cpu', 'done', 1.0, 'ok', '{{}}', '{{\"n\": 3}}', false, 1, "
        f"'{T0}') RETURNING id"), {"p": ids["project"]}).scalar()
    if _at_least(revision, "0002"):
        ids["publication"] = conn.execute(text(
            "INSERT INTO publications (project_id, asset_id, slug, title, description, visibility, duration_s, "
            f"is_sample, created_at, updated_at) VALUES (:p, :a, 'harbour-at-dawn', 'Harbour at dawn', '', "
            f"'public', 60.0, false, '{T0}', '{T0}') RETURNING id"),
            {"p": ids["project"], "a": ids["asset"]}).scalar()
        for key, watched in (("long-view-00001", 25.0), ("short-view-0001", 3.0)):
            conn.execute(text(
                "INSERT INTO view_sessions (publication_id, session_key, viewer, device, region, source, started_at, "
                "last_at, impressed, played, ended, max_position_s, watched_s, events) VALUES (:pub, :key, "
                f"'viewer-1', 'desktop', 'unknown', 'watch', '{T0}', '{T0}', true, true, false, :w, :w, 3)"),
                {"pub": ids["publication"], "key": key, "w": watched})
    return ids


@pytest.fixture
def engine_on(pg):
    """Engines on new empty databases of the session's server, disposed (and the databases dropped) afterwards."""
    made = []

    def make():
        url = pg.create(migrated=False)
        engine = make_engine(url)
        made.append((url, engine))
        return engine

    yield make
    for url, engine in made:
        engine.dispose()
        pg.drop(url)


def test_an_empty_postgresql_is_migrated_to_head_matching_the_models(engine_on, tmp_path):
    engine = engine_on()
    assert inspect(engine).get_table_names() == []
    store = open_store(Settings(data_dir=tmp_path / "data", database_url=engine.url.render_as_string(False)))
    try:
        assert current_revision(store.engine) == HEAD
        assert _model_diff(store.engine) == []
        with store.session() as s:  # and it takes rows
            p = projects.create_project(session=s, name="First light")
        with store.session() as s:
            assert [x.name for x in projects.list_projects(session=s)] == ["First light"] and p.id == 1
    finally:
        store.close()
    migrate(engine)  # again: nothing to do
    assert current_revision(engine) == HEAD


@pytest.mark.parametrize("start", EARLIER)
def test_an_earlier_revision_upgrades_to_head_keeping_its_rows(engine_on, start, tmp_path):
    """The previous revision (and every one before it) with data in place, upgraded by a studio starting up."""
    engine = engine_on()
    migrate(engine, start)
    with engine.begin() as conn:
        ids = _seed(conn, start)
    store = open_store(Settings(data_dir=tmp_path / "data", database_url=engine.url.render_as_string(False)))
    try:
        assert current_revision(store.engine) == HEAD and _model_diff(store.engine) == []
        with store.session() as s:
            [p] = projects.list_projects(session=s)
            assert (p.id, p.name, p.review_required) == (ids["project"], "Harbour", False)
            [a] = assets.list_assets(session=s, project_id=p.id)
            assert a.meta == {"note": "kept"} and a.created_at == datetime(2026, 10, 1, 9, tzinfo=timezone.utc)
            newer = projects.create_project(session=s, name="After the upgrade")  # the sequence was not disturbed
            assert newer.id > p.id
            if "publication" in ids:
                pub = s.get(publications.Publication, ids["publication"])
                assert pub.ai_generated is False
                totals = audience.summary(session=s)
                assert (totals["plays"], totals["views"]) == (2, 1)  # 0004 counted only the 25 s view
                assert audience.day_salts(session=s, today=date(2026, 10, 2))[1] is None
    finally:
        store.close()


def test_downgrade_to_nothing_and_upgrade_again(engine_on):
    engine = engine_on()
    migrate(engine)
    _alembic(engine, "downgrade", "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    with engine.connect() as conn:  # no types or sequences left behind to trip the next upgrade
        assert conn.execute(text("SELECT count(*) FROM pg_class WHERE relkind = 'S'")).scalar() == 0
    _alembic(engine, "upgrade", "head")
    assert current_revision(engine) == HEAD and _model_diff(engine) == []
    previous = SCRIPTS.get_revision(HEAD).down_revision
    _alembic(engine, "downgrade", previous)
    assert current_revision(engine) == previous
    _alembic(engine, "upgrade", "head")
    assert _model_diff(engine) == []


@pytest.mark.slow
def test_a_second_web_process_sees_the_same_projects(pg, tmp_path):
    """Two studios (different hosts in a team: own data dirs) on one PostgreSQL database see each other's work."""
    from gradio_client import Client

    from tests.e2e.conftest import start_server, stop_server

    url = pg.create()
    env = {"DATABASE_URL": url, "REELSMITH_LOCAL_WORKERS": "thread"}
    with ThreadPoolExecutor(2) as pool:  # both start at once (each takes a few seconds to import Gradio)
        starting = [pool.submit(start_server, tmp_path / name, env=env) for name in ("web1", "web2")]
    servers = [f.result() for f in starting if f.exception() is None]
    try:
        for f in starting:
            f.result()  # a studio that did not start fails the test (after the other is stopped)
        first, second = (Client(s.url, verbose=False) for s in servers)
        update, _ = first.predict("Made on the first", api_name="/create_project")
        made = update["value"]
        listed = second.predict(api_name="/list_projects")
        assert made in [c[1] for c in listed["choices"]] and "Made on the first" in str(listed["choices"])
        second.predict("Made on the second", api_name="/create_project")
        assert "Made on the second" in str(first.predict(api_name="/list_projects")["choices"])
        with pytest.raises(Exception, match="already"):  # names are unique across both processes
            second.predict("made on the first", api_name="/create_project")
    finally:
        for s in servers:
            stop_server(s)
        pg.drop(url)


def test_restore_refuses_a_database_in_use_and_leaves_it_untouched(pg, tmp_path):
    source = Settings(data_dir=tmp_path / "src", database_url=pg.create())
    target_url = pg.create()
    store = open_store(source)
    try:
        with store.session() as s:
            projects.create_project(session=s, name="Backed up")
        info = backup.create_backup(source)
    finally:
        store.close()
    target = open_store(Settings(data_dir=tmp_path / "other", database_url=target_url))
    try:
        with target.session() as s:
            projects.create_project(session=s, name="Already here")
        with pytest.raises(backup.BackupError, match="pg_restore failed"):
            backup.restore(info.path, tmp_path / "restored", database_url=target_url)
        with target.session() as s:  # one transaction: nothing half-restored
            assert [p.name for p in projects.list_projects(session=s)] == ["Already here"]
    finally:
        target.close()
        pg.drop(source.database_url)
        pg.drop(target_url)


# --- portability checks: run on both databases (the settings fixture) ---------------------------------------------
def _plain(value) -> bool:
    return value is None or (isinstance(value, (int, float, str)) and not isinstance(value, Decimal))


def test_aggregates_are_plain_numbers_and_days_are_utc_days(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="Channel")
        stored = store.media.put_bytes(b"clip" * 40, ext=".mp4")
        v = assets.add_asset(session=s, project_id=p.id, stored=stored, kind="video", name="c.mp4", duration_s=40.0)
        pub = publications.publish(session=s, project_id=p.id, asset_id=v.id, title="Late show").id
    # 23:30 UTC: a day boundary in almost every other time zone
    late = datetime(2026, 11, 2, 23, 30, tzinfo=timezone.utc)
    E, K = audience.Event, audience.EventKind
    for i, device in enumerate(("mobile", "desktop", "tablet")):
        with store.session() as s:
            audience.record_events(session=s, publication_id=pub, session_key=f"late-session-{i:04d}",
                                   viewer=f"viewer-{i}", device=device,
                                   events=[E(K.impression, 0, 0, late), E(K.play, 0, 0, late),
                                           E(K.heartbeat, 12.5 + i, 12.5 + i, late + timedelta(seconds=13))])
    with store.session() as s:
        rows = [audience.summary(session=s), *audience.breakdown(session=s, by="day"),
                *audience.new_vs_returning(session=s), *audience.viewer_features(session=s),
                *audience.retention_bins(session=s, publication_id=pub), *audience.implicit_ratings(session=s),
                audience.funnel(session=s)]
        for row in rows:
            assert all(_plain(v) for v in row.values()), row
        [day] = audience.breakdown(session=s, by="day")
        assert day["key"] == "2026-11-02" and day["views"] == 3
        [nr] = audience.new_vs_returning(session=s)
        assert (nr["day"], nr["new_viewers"]) == ("2026-11-02", 3)
        one_day = audience.Filters(start=date(2026, 11, 2), end=date(2026, 11, 2))
        assert audience.summary(session=s, filters=one_day)["plays"] == 3
        assert audience.summary(session=s, filters=audience.Filters(start=date(2026, 11, 3)))["plays"] == 0
        features = {f["viewer"]: f for f in audience.viewer_features(session=s)}
        assert features["viewer-0"]["mobile_share"] == 1.0 and features["viewer-1"]["mobile_share"] == 0.0
        assert features["viewer-2"]["avg_completion"] == pytest.approx(14.5 / 40.0)
        assert [b["second"] for b in audience.retention_bins(session=s, publication_id=pub)] == [12, 13, 14]
        started = s.scalar(select(ViewSession.started_at).order_by(ViewSession.id).limit(1))
        assert audience._aware(started) == late


def test_project_names_compare_without_case_on_both(store):
    with store.session() as s:
        projects.create_project(session=s, name="Ölfjord Nights")
    with store.session() as s:
        assert projects.find_project(session=s, name="ölfjord nights") is not None


def test_sessions_run_in_utc_on_a_server_in_another_zone(pg):
    """The suite's server runs far from UTC (tests/pgfixtures.py), so SQL that used the server's zone would fail in
    the [pg] tests; our engines pin every session to UTC."""
    import psycopg

    with psycopg.connect(make_url(pg.url).set(drivername="postgresql").render_as_string(False)) as raw:
        assert raw.execute("SHOW TimeZone").fetchone()[0] == SERVER_TIME_ZONE
    engine = make_engine(pg.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
            assert conn.execute(text("SELECT to_char(timestamptz '2026-11-02 23:30+00', 'YYYY-MM-DD')")).scalar() \
                == "2026-11-02"
    finally:
        engine.dispose()


def test_two_writers_folding_events_into_one_page_view_lose_nothing(pg, tmp_path):
    """Two web processes on one PostgreSQL get events of the same page view at once: every second watched is added
    (the session row is locked while it is read, added to and written back). On SQLite one process writes events,
    from one thread (studio/services/viewing.py), so there is no such race to test there."""
    import threading

    from sqlalchemy.exc import IntegrityError, OperationalError

    store = open_store(Settings(data_dir=tmp_path / "data", database_url=pg.create()))
    try:
        with store.session() as s:
            p = projects.create_project(session=s, name="Busy page")
            v = assets.add_asset(session=s, project_id=p.id, stored=store.media.put_bytes(b"busy" * 30, ext=".mp4"),
                                 kind="video", name="b.mp4", duration_s=600.0)
            pub = publications.publish(session=s, project_id=p.id, asset_id=v.id, title="Busy").id
        E, K = audience.Event, audience.EventKind
        start = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)
        errors = []

        def writer(n: int) -> None:
            try:
                for i in range(25):
                    batch = audience.SessionBatch(pub, "shared-page-view-1", "viewer-x",
                                                  [E(K.heartbeat, 1.0, 1.0, start + timedelta(seconds=i))] * 2)
                    for _ in range(50):  # what the event writer does with a deadlock or a concurrent creation
                        try:
                            with store.session() as s:
                                if n % 2:
                                    audience.record_many(session=s, batches=[batch])
                                else:
                                    audience.record_events(session=s, publication_id=pub, viewer=batch.viewer,
                                                           session_key=batch.session_key, events=batch.events)
                            break
                        except (OperationalError, IntegrityError):
                            continue
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        with store.session() as s:
            row = s.scalar(select(ViewSession).where(ViewSession.session_key == "shared-page-view-1"))
            assert (row.events, row.watched_s) == (4 * 25 * 2, 4 * 25 * 2 * 1.0)
    finally:
        store.close()
        pg.drop(store.settings.database_url)
