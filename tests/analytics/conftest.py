"""Analytics tests that read the store (``settings`` / ``store``) run on SQLite and on PostgreSQL, as [sqlite] and
[pg] (tests/pgfixtures.py); the rest work on plain frames and run once."""
from __future__ import annotations

from tests.pgfixtures import (database_url, db_backend, pg,  # noqa: F401
                              pytest_generate_tests, settings)
