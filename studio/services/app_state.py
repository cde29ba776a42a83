"""What one running studio holds: settings, the open store and the job runner. Built in ``app.main``, not at
import; handlers reach it through the closure their tab's ``build(studio)`` received."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from storage.config import Settings
from storage.db import Store, open_store
from storage.repo import users as users_repo

from . import creating, editing, governance, ingest, publishing, shorts, sound, transcribing, writing
from .runner import JobRunner


def sweep_folder(folder, older_than_s: float = 24 * 3600) -> int:
    """Remove files and folders in ``folder`` (download copies, render scratch) older than a day."""
    import shutil
    import time

    removed = 0
    cutoff = time.time() - older_than_s
    for entry in folder.iterdir() if folder.is_dir() else []:
        if entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed += 1
    return removed


@dataclass
class Studio:
    settings: Settings
    store: Store
    runner: JobRunner
    purge_stop: threading.Event | None = None

    def close(self) -> None:
        if self.purge_stop is not None:
            self.purge_stop.set()
        self.runner.shutdown(wait=False)
        self.store.close()


def start_studio(settings: Settings) -> Studio:
    """Open the store (migrating it), register tasks, recover interrupted jobs, sync team users."""
    for path in (settings.data_dir, settings.tmp_dir, settings.gradio_tmp_dir):
        path.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    store.media.sweep_tmp()
    sweep_folder(settings.tmp_dir)
    runner = JobRunner(store, cpu_workers=settings.cpu_workers)
    for spec in [ingest.SPEC, *writing.SPECS, *creating.SPECS, *editing.SPECS, *publishing.SPECS,
                 *sound.SPECS, *transcribing.SPECS,
                 *shorts.SPECS]:
        runner.register(spec)
    runner.recover()
    if settings.users:
        with store.session() as s:
            users_repo.sync_users(session=s, pairs=users_repo.parse_users(settings.users))
    purge_stop = governance.start_purge_timer(store)  # the viewer-data retention period, now and every 6 h
    return Studio(settings=settings, store=store, runner=runner, purge_stop=purge_stop)
