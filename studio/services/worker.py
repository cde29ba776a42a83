"""Job worker processes: one pulls the studio's queued jobs from the store and runs them; a supervisor in the web
process starts, restarts and stops them.

    python -m studio.services.worker --data-dir D [--queues cpu,gpu] [--concurrency N] [--grace-s S]

A worker opens the same store as the web process (``REELSMITH_DATA`` / ``DATABASE_URL`` / ``REELSMITH_MEDIA_DIR``;
``--data-dir`` as in ``app.py``), registers the same tasks, requeues jobs whose worker died (and keeps doing so), and
runs until SIGTERM or Ctrl-C: then it stops claiming, gives running jobs ``--grace-s`` seconds to finish, and puts
the others back in the queue. Pin a GPU worker to one GPU with ``CUDA_VISIBLE_DEVICES=0 ... --queues gpu``.

On one machine nothing of this is started by hand: ``python app.py`` starts its own worker processes
(``REELSMITH_LOCAL_WORKERS=process``, see ``WorkerSupervisor``). Start workers yourself (and set
``REELSMITH_LOCAL_WORKERS=0`` for the web process) to use more machines or a GPU box; with a broker
(``REELSMITH_BROKER_URL``) the workers are Celery's (``studio.services.celery_app``).
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from storage.config import Settings, load_settings
from storage.db import open_store

from .runner import QUEUES, JobRunner

log = logging.getLogger("reelsmith.worker")
ROOT = Path(__file__).resolve().parents[2]
WAKE = {"cpu": b"c", "gpu": b"g"}  # what the supervisor writes to a worker's stdin: "a job is waiting"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m studio.services.worker",
                                description="Run Reelsmith jobs queued in the store.")
    p.add_argument("--data-dir", default=None,
                   help="the studio's data dir (env REELSMITH_DATA, default ./data); DATABASE_URL still wins")
    p.add_argument("--queues", default="cpu,gpu", help="queues to take jobs from (default %(default)s)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="CPU jobs at a time (env REELSMITH_CPU_WORKERS, default 2); GPU jobs run one at a time")
    p.add_argument("--grace-s", type=float, default=None,
                   help="on SIGTERM, seconds running jobs get to finish before they are requeued "
                        "(env REELSMITH_WORKER_GRACE_S, default 8)")
    p.add_argument("--poll-s", type=float, default=0.5,
                   help="seconds between looks at the queue when idle (default %(default)s)")
    p.add_argument("--supervised", action="store_true",
                   help="started by a studio (LocalRunner): wake on a byte on stdin, stop when stdin closes or the "
                        "parent process dies")
    args = p.parse_args(argv)
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = [q for q in queues if q not in QUEUES]
    if unknown or not queues:
        p.error(f"--queues takes {' and/or '.join(QUEUES)}, got {args.queues!r}")
    args.queues = queues
    return args


def die_with_parent(stop: threading.Event) -> None:
    """Stop (SIGTERM) when the process that started this one dies, even by SIGKILL: PR_SET_PDEATHSIG on Linux, and
    a watch on the parent's pid everywhere (a re-parented process has another parent)."""
    parent = int(os.environ.get("REELSMITH_SUPERVISOR_PID") or os.getppid())
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while not stop.is_set():
            if os.getppid() != parent:
                log.warning("the studio that started this worker is gone; stopping")
                stop.set()
            stop.wait(1.0)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def listen_for_wakes(runner: JobRunner, stop: threading.Event) -> None:
    """The supervisor writes a byte per submitted job to stdin; end of file: the supervisor is gone, stop."""
    def read() -> None:
        fd = sys.stdin.fileno()
        while True:
            try:
                data = os.read(fd, 256)
            except OSError:
                data = b""
            if not data:
                stop.set()
                return
            for queue, byte in WAKE.items():
                if byte in data:
                    runner.wake(queue)
    threading.Thread(target=read, name="wake-reader", daemon=True).start()


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
    if args.supervised:
        die_with_parent(stop)

    from .app_state import register_tasks

    store = open_store(settings)
    runner = register_tasks(JobRunner(store, cpu_workers=settings.cpu_workers, queues=args.queues,
                                      poll_s=max(0.05, args.poll_s)))
    try:
        runner.recover()
        runner.start()
        if args.supervised:
            listen_for_wakes(runner, stop)
        log.info("worker %s: queues %s, %d CPU job(s) at a time, lease %.0f s, store %s%s", runner.worker_id,
                 ",".join(args.queues), settings.cpu_workers, runner.lease_s, settings.safe_database_url(),
                 f", CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']!r}"
                 if "CUDA_VISIBLE_DEVICES" in os.environ else "")
        while not stop.wait(1.0):
            pass
        log.info("worker %s stopping: finishing or requeueing running jobs", runner.worker_id)
        runner.shutdown(wait=True, grace_s=settings.worker_grace_s if args.grace_s is None else args.grace_s)
    finally:
        store.close()
    log.info("worker %s stopped", runner.worker_id)
    return 0


# --- the supervisor: LocalRunner's worker processes ------------------------------------------------------------------
def visible_gpus() -> list[str]:
    """The GPUs this host offers, without touching CUDA here: ``CUDA_VISIBLE_DEVICES`` when set (ids or UUIDs; empty
    or -1: none), else what ``nvidia-smi -L`` lists, else none."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids = [d.strip() for d in env.split(",") if d.strip()]
        return [] if not ids or ids[0] == "-1" else ids
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(ln for ln in out.splitlines() if ln.startswith("GPU "))]


@dataclass(frozen=True)
class WorkerPlan:
    """One worker process to keep running."""

    name: str
    queues: tuple[str, ...]
    concurrency: int
    env: dict[str, str] = field(default_factory=dict)


def plan_workers(cpu_workers: int, gpus: list[str]) -> list[WorkerPlan]:
    """One ``gpu`` worker per GPU (pinned to it, one job at a time) and a pool of ``cpu_workers`` CPU processes (one
    job each, kept off the GPUs: separate processes scale where threads share one interpreter). Without a GPU the
    first CPU process also runs the ``gpu`` lane — heavy backends on the CPU, one job at a time, as the lane means."""
    cpu = [WorkerPlan(f"cpu{i}", ("cpu", "gpu") if i == 0 and not gpus else ("cpu",), 1,
                      {"CUDA_VISIBLE_DEVICES": ""}) for i in range(max(1, cpu_workers))]
    return [WorkerPlan(f"gpu{i}", ("gpu",), 1, {"CUDA_VISIBLE_DEVICES": gpu}) for i, gpu in enumerate(gpus)] + cpu


@dataclass
class _Child:
    plan: WorkerPlan
    proc: subprocess.Popen | None = None
    started: float = 0.0
    quick_deaths: int = 0
    next_start: float = 0.0


class WorkerSupervisor:
    """Starts ``python -m studio.services.worker`` processes (spawned: a fresh interpreter, never a fork of this
    process), wakes them when a job is submitted (a byte on their stdin), starts one again when it dies, and stops
    them (SIGTERM, then SIGKILL after ``grace_s`` + 10 s). They die with this process: their stdin closes, and on
    Linux the kernel sends them SIGTERM (PR_SET_PDEATHSIG, which follows the thread that started them — so every
    start happens on the supervisor's own thread)."""

    def __init__(self, settings: Settings, *, cpu_workers: int | None = None, plans: list[WorkerPlan] | None = None,
                 grace_s: float | None = None, poll_s: float = 1.0, python: str = sys.executable) -> None:
        self.settings = settings
        self.plans = plans if plans is not None else plan_workers(cpu_workers or settings.cpu_workers,
                                                                  visible_gpus())
        self.grace_s = settings.worker_grace_s if grace_s is None else grace_s
        self.poll_s = poll_s
        self.python = python
        self.children = [_Child(p) for p in self.plans]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
                self._thread.start()

    def pids(self) -> dict[str, int | None]:
        return {c.plan.name: (c.proc.pid if c.proc is not None and c.proc.poll() is None else None)
                for c in self.children}

    def wait_started(self, timeout_s: float = 30) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(self.pids().values()):
                return True
            time.sleep(0.05)
        return False

    def notify(self, queue: str | None) -> None:
        """A job of ``queue`` (None: any) is waiting: tell the workers that take it."""
        with self._lock:
            for child in self.children:
                if child.proc is None or child.proc.stdin is None or (queue and queue not in child.plan.queues):
                    continue
                try:
                    os.write(child.proc.stdin.fileno(), WAKE[queue] if queue else b"cg")
                except (BlockingIOError, BrokenPipeError, OSError, ValueError):
                    pass  # full (it is busy and will look again) or gone (it is being restarted)

    def stop(self, timeout_s: float | None = None) -> None:
        """SIGTERM every worker (running jobs get ``grace_s`` to finish, then go back to the queue); SIGKILL what is
        still running after ``timeout_s`` (default ``grace_s`` + 10)."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            live = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in live:
            proc.terminate()
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.grace_s + 10)
        for proc in live:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker process %s did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait(10)
        for child in self.children:
            if child.proc is not None and child.proc.stdin is not None:
                try:
                    child.proc.stdin.close()
                except OSError:
                    pass

    # --- on the supervisor's thread ----------------------------------------------------------------------------
    def _command(self, plan: WorkerPlan) -> list[str]:
        return [self.python, "-m", "studio.services.worker", "--queues", ",".join(plan.queues),
                "--concurrency", str(plan.concurrency), "--grace-s", str(self.grace_s), "--supervised"]

    def _spawn(self, child: _Child) -> None:
        env = {**os.environ, **self.settings.as_env(), **child.plan.env}
        env.pop("REELSMITH_USERS", None)
        env["REELSMITH_SUPERVISOR_PID"] = str(os.getpid())
        proc = subprocess.Popen(self._command(child.plan), cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                start_new_session=True)  # Ctrl-C reaches the studio, which stops its workers
        os.set_blocking(proc.stdin.fileno(), False)
        with self._lock:
            child.proc, child.started = proc, time.monotonic()
        log.info("started worker process %s (pid %s): queues %s%s", child.plan.name, proc.pid,
                 ",".join(child.plan.queues),
                 f", CUDA_VISIBLE_DEVICES={child.plan.env['CUDA_VISIBLE_DEVICES']!r}"
                 if "CUDA_VISIBLE_DEVICES" in child.plan.env else "")

    def _watch(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for child in self.children:
                if self._stop.is_set():
                    break
                if child.proc is None:
                    if now >= child.next_start:
                        try:
                            self._spawn(child)
                        except OSError:
                            log.exception("could not start worker process %s", child.plan.name)
                            child.next_start = now + 5.0
                    continue
                code = child.proc.poll()
                if code is None:
                    continue
                uptime = now - child.started
                child.quick_deaths = child.quick_deaths + 1 if uptime < 30 else 0
                delay = min(30.0, 0.5 * 2 ** min(child.quick_deaths, 6)) if child.quick_deaths else 0.0
                log.warning("worker process %s (pid %s) exited with %s after %.0f s; starting it again in %.1f s",
                            child.plan.name, child.proc.pid, code, uptime, delay)
                with self._lock:
                    if child.proc.stdin is not None:
                        try:
                            child.proc.stdin.close()
                        except OSError:
                            pass
                    child.proc = None
                child.next_start = now + delay
            self._kick.wait(self.poll_s)
            self._kick.clear()


if __name__ == "__main__":
    raise SystemExit(main())
