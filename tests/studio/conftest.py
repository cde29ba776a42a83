from __future__ import annotations

import pytest

from storage.config import Settings, sqlite_url
from studio.services.app_state import start_studio


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """A whole studio (store, runner with every task) in a fresh data dir, shared by one test module."""
    data = tmp_path_factory.mktemp("studio") / "data"
    st = start_studio(Settings(data_dir=data, database_url=sqlite_url(data)))
    yield st
    st.close()
