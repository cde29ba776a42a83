"""What one running studio holds: settings, the open store and the job runner. Built in ``app.main``, not at
import; handlers reach it through the closure their tab's ``build(studio)`` received."""
from __future__ import annotations

from dataclasses import dataclass

from storage.config import Settings
from storage.db import Store, open_store
from storage.repo import users as users_repo

from . import creating, ingest, writing
from .runner import JobRunner


@dataclass
class Studio:
    settings: Settings
    store: Store
    runner: JobRunner

    def close(self) -> None:
        self.runner.shutdown(wait=False)
        self.store.close()


def start_studio(settings: Settings) -> Studio:
    """Open the store (migrating it), register tasks, recover interrupted jobs, sync team users."""
    for path in (settings.data_dir, settings.tmp_dir, settings.gradio_tmp_dir):
        path.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    store.media.sweep_tmp()
    runner = JobRunner(store, cpu_workers=settings.cpu_workers)
    for spec in [ingest.SPEC, *writing.SPECS, *creating.SPECS]:
        runner.register(spec)
    runner.recover()
    if settings.users:
        with store.session() as s:
            users_repo.sync_users(session=s, pairs=users_repo.parse_users(settings.users))
    return Studio(settings=settings, store=store, runner=runner)
