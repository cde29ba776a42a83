from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Test studios make no scheduled backup (tests/storage/test_backup.py and test_maintenance.py make theirs)
os.environ.setdefault("REELSMITH_BACKUP_HOURS", "0")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage.config import Settings, sqlite_url  # noqa: E402
from storage.db import open_store  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    # jobs run on worker threads of the test process (``python app.py`` starts worker processes instead)
    return Settings(data_dir=data, database_url=sqlite_url(data), max_upload_mb=50, cpu_workers=2,
                    local_workers="thread")


@pytest.fixture
def store(settings):
    st = open_store(settings)
    yield st
    st.close()
