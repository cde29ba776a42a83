"""Run a test suite on SQLite and on PostgreSQL: one private PostgreSQL server per test session (tests/pgserver.py),
a fresh database per test, dropped afterwards.

A conftest (or a test module) opts in with

    from tests.pgfixtures import database_url, db_backend, pytest_generate_tests, settings  # noqa: F401

``settings`` wraps the one above it (tests/conftest.py) and puts it on ``database_url``: None on SQLite (the file in
the test's data dir), a fresh database on PostgreSQL; ``store`` takes ``settings``, so it follows. Every test that
uses them runs twice, ids ``[sqlite]`` and ``[pg]``. A test that can only hold on SQLite (PRAGMAs, the file itself)
is marked ``@pytest.mark.sqlite_only("why")`` and runs once, as ``[sqlite]``. PostgreSQL missing is an error of
every ``[pg]`` test, never a skip: CI installs it (tests/system-deps.sh).

Each test's database is cloned from a template migrated to head once per session (``CREATE DATABASE ... TEMPLATE``,
about 30 ms with the drop), so ``open_store`` finds nothing to do; ``pg.create(migrated=False)`` gives an empty one
for migration and restore tests. The server runs in a time zone far from UTC (``SERVER_TIME_ZONE``), so SQL that
depended on the server's zone rather than on UTC fails here.
"""
from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import replace

import pytest
from sqlalchemy.engine import make_url

from storage.config import Settings
from tests.pgserver import PostgresUnavailable, postgres_server

BACKENDS = ("sqlite", "pg")
TEMPLATE = "reelsmith"  # the database postgres_server creates; migrated to head, then only cloned
SERVER_TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: most UTC evenings are the next day there


class PgServer:
    """The session's PostgreSQL: creates and drops test databases through one autocommit admin connection."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._names = itertools.count(1)
        admin = make_url(url).set(drivername="postgresql", database="postgres")
        self._admin = psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True)
        self._template_ready = False
        # STRATEGY FILE_COPY (PostgreSQL 15+) clones a small template about twice as fast as the default
        version = self._admin.execute("SHOW server_version_num").fetchone()[0]
        self._strategy = " STRATEGY FILE_COPY" if int(version) >= 150000 else ""

    def url_for(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def _migrate_template(self) -> None:
        from storage.db import make_engine, migrate

        engine = make_engine(self.url)
        try:
            migrate(engine)
        finally:
            engine.dispose()  # a template must have no connections when it is cloned
        self._template_ready = True

    def create(self, *, migrated: bool = True) -> str:
        """A new database (at head, or empty) and its URL."""
        name = f"t_{os.getpid()}_{next(self._names)}"
        if migrated:
            if not self._template_ready:
                self._migrate_template()
            self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"{self._strategy}')
        else:
            self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url_for(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        # FORCE: a test that forgot to dispose an engine must not make the next ones fail
        self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._admin.close()


_SERVER: dict[str, object] = {}


def shared_server(config: pytest.Config) -> PgServer:
    """The one server of this test session (started on first use, stopped when the session ends), whichever
    conftest asks for it. Missing PostgreSQL fails the test that asked, loudly."""
    if "error" in _SERVER:
        pytest.fail(str(_SERVER["error"]), pytrace=False)
    if "server" not in _SERVER:
        stack = contextlib.ExitStack()
        try:
            url = stack.enter_context(postgres_server(TEMPLATE, fast=True,
                                                      settings={"timezone": SERVER_TIME_ZONE}))
            server = PgServer(url)
        except PostgresUnavailable as exc:
            stack.close()
            _SERVER["error"] = (f"PostgreSQL is needed for the [pg] tests and is not installed: {exc} "
                                "(`make test` installs it through tests/system-deps.sh)")
            pytest.fail(str(_SERVER["error"]), pytrace=False)
        except BaseException:
            stack.close()
            raise
        stack.callback(server.close)
        config.add_cleanup(stack.close)
        config.add_cleanup(_SERVER.clear)
        _SERVER["server"] = server
    return _SERVER["server"]  # type: ignore[return-value]


@pytest.fixture
def pg(request) -> PgServer:
    """The session's PostgreSQL server (for tests that make databases of their own)."""
    return shared_server(request.config)


@pytest.fixture
def db_backend(request) -> str:
    """"sqlite" or "pg": set by ``pytest_generate_tests``."""
    return request.param


@pytest.fixture
def database_url(db_backend, request):
    """None on SQLite (the settings put the file in the data dir); a fresh migrated database on PostgreSQL."""
    if db_backend == "sqlite":
        yield None
        return
    server = shared_server(request.config)
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request):
    """``database_url`` for fixtures shared by a module (tests using it run once per backend, grouped): None on
    SQLite, a fresh migrated database on PostgreSQL."""
    if request.param == "sqlite":
        yield None
        return
    server = shared_server(request.config)
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture
def settings(settings, database_url) -> Settings:  # noqa: F811 - the conftest's settings above this one
    """The settings of the conftest above (tests/conftest.py), on the test's database."""
    return replace(settings, database_url=database_url) if database_url else settings


@pytest.fixture
def blank_database(db_backend, request):
    """A factory of empty databases on the test's backend (restore targets): None on SQLite."""
    made: list[str] = []

    def make() -> str | None:
        if db_backend == "sqlite":
            return None
        url = shared_server(request.config).create(migrated=False)
        made.append(url)
        return url

    yield make
    for url in made:
        shared_server(request.config).drop(url)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" not in metafunc.fixturenames:
        return
    only = metafunc.definition.get_closest_marker("sqlite_only")
    if only is not None and not (only.args and str(only.args[0]).strip()):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: sqlite_only needs the reason it cannot hold on "
                                "PostgreSQL")
    backends = ["sqlite"] if only else list(BACKENDS)
    metafunc.parametrize("db_backend", backends, ids=backends, indirect=True)
