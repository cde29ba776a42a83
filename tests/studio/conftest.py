from __future__ import annotations

import pytest

from storage.config import Settings, sqlite_url
from studio.services.app_state import start_studio


def open_studio(tmp_path_factory, name: str = "studio", users: str | None = None):
    """A whole studio (store, runner with every task) in a fresh data dir; ``users`` makes it a team instance. Its
    jobs run on worker threads of the test process (``python app.py`` starts worker processes instead)."""
    data = tmp_path_factory.mktemp(name) / "data"
    return start_studio(Settings(data_dir=data, database_url=sqlite_url(data), users=users,
                                 local_workers="thread"))


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """A studio shared by one test module."""
    st = open_studio(tmp_path_factory)
    yield st
    st.close()


@pytest.fixture
def upload_dir(studio, tmp_path):
    """A folder inside the studio's scratch dir: files named in requests must come from there (or Gradio's)."""
    folder = studio.settings.tmp_dir / f"test-{tmp_path.name}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
