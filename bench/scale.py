"""Job throughput and queue latency: the local runner's worker processes vs Celery workers on Redis, with 1 and 2
CPU workers, on the same jobs (issue 12).

    .venv/bin/python bench/scale.py                  # 20 loudness jobs per run, table and ratios (~1-2 min)
    .venv/bin/python bench/scale.py --jobs 40 --json

Each run: a fresh data dir (SQLite), one generated clip (3 s, 64x48, a tone; ``tests/media_factory``), the workers
started and warmed up (one job each, not timed), then ``--jobs`` loudness jobs submitted at once and waited for.

- **LocalRunner** (``REELSMITH_LOCAL_WORKERS=process``, the default of ``python app.py``): the studio's supervisor
  starts ``python -m studio.services.worker`` — N CPU workers = one pool process running N jobs at a time (threads),
  as the studio runs it; woken by a byte on its stdin when a job is submitted.
- **LocalRunner/procs** (2 workers and up; not a setting, for comparison): the same supervisor starting N pool
  processes of one job each instead of one process of N threads.
- **CeleryRunner** (``REELSMITH_BROKER_URL``): N Celery workers, ``-P solo -c 1 -Q cpu --prefetch-multiplier 1``,
  one process each, on a private ``redis-server`` on 127.0.0.1 (``tests/workers/redisserver.py``).

Metrics from the job rows: **throughput** = jobs / (last finish − first submit); **queue latency** = started_at −
created_at per job (p50, p95; in a burst it is mostly waiting behind other jobs); **pick-up** = the same for a job
submitted to idle workers (median of 5: the hand-over cost alone). Ratios are Celery / Local (throughput > 1: Celery
faster; latency < 1: Celery quicker).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass
class Run:
    runner: str
    workers: int
    jobs: int
    seconds: float  # submit of the first job to the end of the last, as the client saw it
    throughput: float  # jobs per second
    latency_p50: float
    latency_p95: float
    pickup: float
    failed: int


def _rows(store, ids):
    from storage.repo import jobs as jobs_repo

    with store.session() as s:
        return [jobs_repo.get_job(session=s, job_id=i) for i in ids]


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def one_run(kind: str, workers: int, jobs: int, clip: Path, broker_url: str | None) -> Run:
    from dataclasses import replace

    from studio.services.app_state import make_runner
    from tests.workers.conftest import add_clip, site

    root = Path(tempfile.mkdtemp(prefix=f"scale-{kind}-{workers}-"))
    try:
        with site(root, broker_url=broker_url if kind == "celery" else None, lease_s=60.0,
                  visibility_s=3600.0, cpu_workers=workers) as st:
            pid, aid = add_clip(st.store, clip)
            if kind == "celery":
                runner = make_runner(st.store, st.settings)
                names = [f"w{i}" for i in range(workers)]
                for name in names:
                    st.start_celery(name)
                st.wait_ready(*names)
            else:
                runner = make_runner(st.store, replace(st.settings, local_workers="process"))
                if kind == "procs":
                    from studio.services.worker import WorkerPlan, WorkerSupervisor

                    runner.supervisor = WorkerSupervisor(st.settings, plans=[
                        WorkerPlan(f"cpu{i}", ("cpu", "gpu"), 1) for i in range(workers)])
            runner.recover()
            runner.start()
            try:
                params = {"asset_id": aid}
                # warm-up: every worker imports its engines and runs one job (not timed)
                for j in [runner.submit("loudness", project_id=pid, params=params) for _ in range(workers)]:
                    runner.run_to_end(j, timeout_s=120)
                pickups = []
                for _ in range(5):
                    j = runner.submit("loudness", project_id=pid, params=params)
                    runner.run_to_end(j, timeout_s=120)
                    [row] = _rows(st.store, [j])
                    pickups.append((row.started_at - row.created_at).total_seconds())
                t0 = time.monotonic()
                ids = [runner.submit("loudness", project_id=pid, params=params) for _ in range(jobs)]
                for j in ids:
                    runner.run_to_end(j, timeout_s=600)
                wall = time.monotonic() - t0
                rows = _rows(st.store, ids)
            finally:
                runner.shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    first = min(r.created_at for r in rows)
    last = max(r.finished_at for r in rows)
    span = (last - first).total_seconds()
    waits = [(r.started_at - r.created_at).total_seconds() for r in rows if r.started_at]
    name = {"local": "LocalRunner", "procs": "LocalRunner/procs", "celery": "CeleryRunner"}[kind]
    return Run(runner=name, workers=workers, jobs=jobs, seconds=round(wall, 3), throughput=round(jobs / span, 3),
               latency_p50=round(_pct(waits, 0.5), 4), latency_p95=round(_pct(waits, 0.95), 4),
               pickup=round(statistics.median(pickups), 4),
               failed=sum(1 for r in rows if r.status.value != "done"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=20, help="jobs per run (default %(default)s)")
    p.add_argument("--workers", default="1,2", help="CPU worker counts to try (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the runs and ratios as JSON")
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    from tests.media_factory import write_clip
    from tests.workers.redisserver import redis_server

    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    folder = Path(tempfile.mkdtemp(prefix="scale-clip-"))
    runs: list[Run] = []
    try:
        clip = write_clip(folder / "tone.mp4", size=(64, 48), seconds=3.0)
        with redis_server() as url:
            for n in counts:
                for kind in ("local", "procs", "celery") if n > 1 else ("local", "celery"):
                    runs.append(one_run(kind, n, args.jobs, clip, url))
                    if not args.json:
                        print(f"  {runs[-1].runner} x{n}: {runs[-1].throughput} jobs/s", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    ratios = {}
    for n in counts:
        local = next(r for r in runs if r.runner == "LocalRunner" and r.workers == n)
        celery = next(r for r in runs if r.runner == "CeleryRunner" and r.workers == n)
        ratios[n] = {"throughput celery/local": round(celery.throughput / local.throughput, 3),
                     "latency p50 celery/local": round(celery.latency_p50 / max(local.latency_p50, 1e-4), 3),
                     "pick-up celery/local": round(celery.pickup / max(local.pickup, 1e-4), 3)}
        procs = next((r for r in runs if r.runner == "LocalRunner/procs" and r.workers == n), None)
        if procs is not None:
            ratios[n]["throughput local-procs/local"] = round(procs.throughput / local.throughput, 3)
    for kind in ("LocalRunner", "LocalRunner/procs", "CeleryRunner"):
        one = next((r for r in runs if r.runner == kind.split("/")[0] and r.workers == 1), None)
        two = next((r for r in runs if r.runner == kind and r.workers == 2), None)
        if one and two:
            ratios[f"{kind} 2 workers / 1"] = {"throughput": round(two.throughput / one.throughput, 3)}
    if args.json:
        print(json.dumps({"runs": [asdict(r) for r in runs], "ratios": ratios}, indent=2))
        return 0
    print(f"\n{'runner':<17} {'workers':>7} {'jobs':>5} {'jobs/s':>7} {'queue p50 s':>11} {'queue p95 s':>11} "
          f"{'pick-up s':>9} {'failed':>6}")
    for r in runs:
        print(f"{r.runner:<17} {r.workers:>7} {r.jobs:>5} {r.throughput:>7.2f} {r.latency_p50:>11.3f} "
              f"{r.latency_p95:>11.3f} {r.pickup:>9.3f} {r.failed:>6}")
    print()
    for key, values in ratios.items():
        label = f"{key} worker(s)" if isinstance(key, int) else key
        print(f"{label}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
