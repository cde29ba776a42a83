"""The storage suite runs every test that takes ``settings`` (or ``store``) on SQLite and on PostgreSQL
(tests/pgfixtures.py): ids ``[sqlite]`` and ``[pg]``; ``@pytest.mark.sqlite_only("why")`` for the few that cannot
hold on PostgreSQL."""
from __future__ import annotations

from tests.pgfixtures import (blank_database, database_url, db_backend, pg,  # noqa: F401
                              pytest_generate_tests, settings)
