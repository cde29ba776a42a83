"""A job worker process: pulls the studio's queued jobs from the store and runs them.

    python -m studio.services.worker --data-dir D [--queues cpu,gpu] [--concurrency N] [--grace-s S]

It opens the same store as the web process (``REELSMITH_DATA`` / ``DATABASE_URL``; ``--data-dir`` as in ``app.py``),
registers the same tasks, requeues jobs whose worker died (and keeps doing so), and runs until SIGTERM or Ctrl-C:
then it stops claiming, gives running jobs ``--grace-s`` seconds to finish, and puts the others back in the queue.

On one machine nothing of this is needed: the web process runs its own workers. Start worker processes (and set
``REELSMITH_LOCAL_WORKERS=0`` for the web process, if it should run none) to use more machines or a GPU box.
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading
from dataclasses import replace
from pathlib import Path

from storage.config import load_settings
from storage.db import open_store

from .app_state import register_tasks
from .runner import QUEUES, JobRunner

log = logging.getLogger("reelsmith.worker")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m studio.services.worker",
                                description="Run Reelsmith jobs queued in the store.")
    p.add_argument("--data-dir", default=None,
                   help="the studio's data dir (env REELSMITH_DATA, default ./data); DATABASE_URL still wins")
    p.add_argument("--queues", default="cpu,gpu", help="queues to take jobs from (default %(default)s)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="CPU jobs at a time (env REELSMITH_CPU_WORKERS, default 2); GPU jobs run one at a time")
    p.add_argument("--grace-s", type=float, default=8.0,
                   help="on SIGTERM, seconds running jobs get to finish before they are requeued (default %(default)s)")
    args = p.parse_args(argv)
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = [q for q in queues if q not in QUEUES]
    if unknown or not queues:
        p.error(f"--queues takes {' and/or '.join(QUEUES)}, got {args.queues!r}")
    args.queues = queues
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = load_settings()
    if args.data_dir:
        settings = settings.with_data_dir(Path(args.data_dir))
    if args.concurrency:
        settings = replace(settings, cpu_workers=max(1, args.concurrency))
    for path in (settings.data_dir, settings.tmp_dir):
        path.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    store = open_store(settings)
    runner = register_tasks(JobRunner(store, cpu_workers=settings.cpu_workers, queues=args.queues))
    try:
        runner.recover()
        runner.start()
        log.info("worker %s: queues %s, %d CPU job(s) at a time, lease %.0f s, store %s", runner.worker_id,
                 ",".join(args.queues), settings.cpu_workers, runner.lease_s, settings.safe_database_url())
        while not stop.wait(1.0):
            pass
        log.info("worker %s stopping: finishing or requeueing running jobs", runner.worker_id)
        runner.shutdown(wait=True, grace_s=args.grace_s)
    finally:
        store.close()
    log.info("worker %s stopped", runner.worker_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
