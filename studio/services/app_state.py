"""What one running studio holds: settings, the open store and the job runner. Built in ``app.main``, not at
import; handlers reach it through the closure their tab's ``build(studio)`` received."""
from __future__ import annotations

from dataclasses import dataclass

from storage.config import Settings
from storage.db import Store, open_store
from storage.media import sweep_older
from storage.repo import users as users_repo

from . import creating, editing, ingest, publishing, shorts, sound, transcribing, url_import, writing
from .maintenance import Maintenance
from .runner import CeleryRunner, JobRunner, LocalRunner, TaskSpec


def sweep_folder(folder, older_than_s: float = 24 * 3600) -> int:
    """Remove files and folders in ``folder`` (download copies, render scratch) older than a day."""
    return sweep_older(folder, older_than_s)


@dataclass
class Studio:
    settings: Settings
    store: Store
    runner: JobRunner
    maintenance: Maintenance | None = None

    def close(self) -> None:
        if self.maintenance is not None:
            self.maintenance.stop()
        self.runner.shutdown(wait=False)
        self.store.close()


def task_specs() -> list[TaskSpec]:
    """Every job kind the studio runs; the web process and ``python -m studio.services.worker`` register the same."""
    return [ingest.SPEC, url_import.SPEC, *writing.SPECS, *creating.SPECS, *editing.SPECS, *publishing.SPECS,
            *sound.SPECS, *transcribing.SPECS, *shorts.SPECS]


def register_tasks(runner: JobRunner) -> JobRunner:
    for spec in task_specs():
        runner.register(spec)
    return runner


def make_runner(store: Store, settings: Settings) -> JobRunner:
    """The job runner these settings ask for: Celery workers when ``REELSMITH_BROKER_URL`` is set, else the local
    runner with worker processes (``REELSMITH_LOCAL_WORKERS=process``), threads (``thread``) or none (``0``)."""
    if settings.broker_url:
        runner: JobRunner = CeleryRunner(store, broker_url=settings.broker_url, cpu_workers=settings.cpu_workers)
    else:
        runner = LocalRunner(store, workers=settings.local_workers, cpu_workers=settings.cpu_workers)
    return register_tasks(runner)


def start_studio(settings: Settings) -> Studio:
    """Open the store (migrating it), register tasks, requeue jobs a crash left running, start the job runner (its
    worker processes or threads, and its reaper; see ``make_runner``), sync team users."""
    for path in (settings.data_dir, settings.tmp_dir, settings.gradio_tmp_dir):
        path.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    store.media.sweep_tmp()
    sweep_folder(settings.tmp_dir)
    runner = make_runner(store, settings)
    runner.recover()
    runner.start()  # queued jobs left by a previous run are picked up again
    if settings.users:
        with store.session() as s:
            users_repo.sync_users(session=s, pairs=users_repo.parse_users(settings.users))
    # the viewer-data retention purge, temp-file sweeps and the scheduled backup, now and on their periods
    maintenance = Maintenance(store).start()
    return Studio(settings=settings, store=store, runner=runner, maintenance=maintenance)
