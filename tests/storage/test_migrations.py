from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.db import current_revision, open_store
from storage.models import Base
from storage.repo import projects, scripts


def test_fresh_database_is_migrated_to_head(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {"users", "projects", "scripts", "script_versions", "assets", "asset_links", "provenance", "jobs",
            "job_assets", "preferences", "publications", "view_sessions", "view_events", "comments",
            "imported_metrics", "experiments", "experiment_arms", "viewer_salts", "project_members", "audit_log",
            "review_requests", "alembic_version"} <= tables
    assert current_revision(store.engine) == "0004"


def test_a_0001_database_upgrades_to_head_keeping_its_rows(tmp_path):
    from sqlalchemy import create_engine

    from storage.db import migrate
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (name, description, created_at, updated_at) "
                          "VALUES ('Old', '', '2026-01-01', '2026-01-01')"))
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM projects")).scalar() == "Old"
        assert "view_sessions" in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT review_required FROM projects")).scalar() in (0, False)
    assert current_revision(engine) == "0004"


def test_migrations_match_the_models(store):
    """A model change without a migration would show up here as a difference."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


@pytest.mark.sqlite_only("WAL and foreign_keys are SQLite PRAGMAs; PostgreSQL has MVCC and enforces keys always")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_second_start_keeps_data(settings):
    first = open_store(settings)
    with first.session() as s:
        p = projects.create_project(session=s, name="Harbour film")
        sc = scripts.create_script(session=s, project_id=p.id, title="Draft", text="INT. HARBOUR - NIGHT")
        scripts.save_version(session=s, script_id=sc.id, text="INT. HARBOUR - DAWN")
    first.close()

    second = open_store(settings)  # migrations run again: must be a no-op
    with second.session() as s:
        [p] = projects.list_projects(session=s)
        assert p.name == "Harbour film"
        [sc] = scripts.list_scripts(session=s, project_id=p.id)
        assert [v.number for v in sc.versions] == [1, 2]
        assert "-INT. HARBOUR - NIGHT" in scripts.diff_versions(session=s, script_id=sc.id, old=1, new=2)
    second.close()
