"""Ten API sessions at once: a real studio process (``app.py``) on 127.0.0.1 driven by ``gradio_client`` sessions,
each working on its own project, first one after another (serial), then all at the same time (concurrent).

    .venv/bin/python bench/concurrency.py                   # 10 sessions: upload, voice, music
    .venv/bin/python bench/concurrency.py --sessions 4 --jobs speak --json

Each session: creates its own project, uploads its own generated clip (``tests/media_factory``; every session's
clip has its own name and length) — an ingest job —, runs jobs whose outputs land in its project (``--jobs``, from
``speak`` (voice) and ``music``), and reads its project back. It checks that the upload's answer describes its own
clip (name and length) and that its project holds exactly its own assets (all named after the session), i.e. no
cross-talk of state between sessions. (Jobs on the uploaded clip itself — shots, loudness — are not reachable over
the API: their asset pickers are filled by UI-only events, so a client cannot choose the clip.)

Reports, for the serial and the concurrent run: sessions, wall time, jobs finished / failed (from the store),
session errors, cross-talk found, p50/p95 of each operation's latency, and the lines of the studio's log that say
"database is locked" (must be 0). Peer: the same sessions one after another; the ratio is serial / concurrent wall
time (> 1: the studio serves sessions side by side faster than one by one).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FPS = 24
JOBS = ("speak", "music")


@dataclass
class SessionResult:
    index: int
    project: str
    ok: bool = False
    error: str = ""
    cross_talk: list[str] = field(default_factory=list)
    latencies: dict[str, float] = field(default_factory=dict)  # operation -> seconds
    seconds: float = 0.0


def clip_for(folder: Path, index: int, tag: str) -> tuple[Path, int]:
    """This session's clip: its own name and its own length (1 s + 0.25 s per index), so answers can be checked."""
    from tests.media_factory import write_clip

    frames = FPS + 6 * index
    path = write_clip(folder / f"{tag}-s{index:02d}.mp4", size=(160, 120), seconds=frames / FPS)
    return path, frames


def run_session(url: str, index: int, clip: Path, frames: int, tag: str, jobs=("speak",)) -> SessionResult:
    """One API session on its own project; never raises (errors are in the result)."""
    from gradio_client import Client, handle_file

    marker = clip.stem  # in this session's project, clip, speech and music names: whatever it sees must carry it
    res = SessionResult(index=index, project=f"{tag} session {index} ({marker})")
    t_start = time.perf_counter()

    def timed(op, *args, **kwargs):
        t = time.perf_counter()
        out = client.predict(*args, **kwargs)
        res.latencies[op] = time.perf_counter() - t
        return out

    def own_names(pid, when):
        _, table = timed(f"list_assets_{when}", pid, api_name="/list_assets")
        names = [r[1] for r in table["data"] if r and r[0] not in ("", None)]
        strangers = [n for n in names if marker not in n]
        if strangers:
            res.cross_talk.append(f"{when}: assets of other sessions in project {pid}: {strangers}")
        return names

    try:
        t = time.perf_counter()
        client = Client(url, verbose=False)
        res.latencies["connect"] = time.perf_counter() - t
        update, _ = timed("create_project", res.project, api_name="/create_project")
        pid = update["value"]
        # 1. The upload (an ingest job); its answer must describe this session's clip (its own length)
        status, _ = timed("upload", pid, [handle_file(str(clip))], api_name="/upload_media")
        if "Added" not in status:
            raise AssertionError(f"upload: {status[:300]}")
        said = re.search(r"Added (\S+): video, 160×120, 24 fps, ([\d.]+) s", status)
        if not said or said[1] != clip.name or abs(float(said[2]) - frames / FPS) > 0.1:  # lengths differ by 0.25 s
            res.cross_talk.append(f"upload answered: {status[:200]}")
        if own_names(pid, "after_upload") != [clip.name]:
            res.cross_talk.append("the project does not hold exactly its upload")
        # 2. Jobs whose outputs land in the project, named after this session's words
        if "speak" in jobs:
            _, message = timed("speak", pid, f"{marker} checks in from session {index}.", "", 165,
                               api_name="/speak")
            if not message.startswith("Spoke"):
                raise AssertionError(f"speak: {message}")
        if "music" in jobs:
            _, message = timed("music", pid, f"{marker} bed", "hopeful", 5, index, "", None,
                               api_name="/compose_music")
            if not message.startswith("Composed"):
                raise AssertionError(f"music: {message}")
        names = own_names(pid, "at_end")
        if len(names) != 1 + len(jobs):
            res.cross_talk.append(f"expected {1 + len(jobs)} assets, saw {names}")
        res.ok = not res.cross_talk
    except Exception as exc:  # noqa: BLE001 - reported, not raised: one session's failure must not hide the others'
        res.error = f"{type(exc).__name__}: {exc}"[:500]
    res.seconds = time.perf_counter() - t_start
    return res


def run_many(url: str, clips: list[tuple[Path, int]], tag: str, jobs, concurrent: bool) -> tuple[list, float]:
    results: list[SessionResult | None] = [None] * len(clips)
    t = time.perf_counter()
    if concurrent:
        start = threading.Barrier(len(clips))

        def go(i):
            start.wait()
            results[i] = run_session(url, i, *clips[i], tag, jobs)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(len(clips))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    else:
        for i, (clip, frames) in enumerate(clips):
            results[i] = run_session(url, i, clip, frames, tag, jobs)
    return results, time.perf_counter() - t


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def job_counts(data_dir: Path, since_id: int = 0) -> dict[str, int]:
    con = sqlite3.connect(data_dir / "reelsmith.db")
    try:
        rows = con.execute("SELECT status, COUNT(*) FROM jobs WHERE id > ? GROUP BY status", (since_id,)).fetchall()
        return dict(rows)
    finally:
        con.close()


def last_job_id(data_dir: Path) -> int:
    con = sqlite3.connect(data_dir / "reelsmith.db")
    try:
        return con.execute("SELECT COALESCE(MAX(id), 0) FROM jobs").fetchone()[0]
    finally:
        con.close()


def locked_lines(log: Path) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines() if "database is locked" in line.lower())


def summarise(results: list[SessionResult], wall: float, jobs_by_status: dict[str, int], locked: int) -> dict:
    ops: dict[str, list[float]] = {}
    for r in results:
        for op, s in r.latencies.items():
            ops.setdefault(op, []).append(s)
    every = [s for v in ops.values() for s in v]
    return {
        "sessions": len(results), "wall_s": round(wall, 2), "sessions_ok": sum(r.ok for r in results),
        "errors": [f"session {r.index}: {r.error}" for r in results if r.error],
        "cross_talk": [f"session {r.index}: {c}" for r in results for c in r.cross_talk],
        "jobs": jobs_by_status, "jobs_finished": jobs_by_status.get("done", 0),
        "jobs_not_done": sum(n for st, n in jobs_by_status.items() if st != "done"),
        "database_is_locked": locked,
        "latency_p50_s": round(_pct(every, 0.5), 3), "latency_p95_s": round(_pct(every, 0.95), 3),
        "by_operation": {op: {"n": len(v), "p50_s": round(_pct(v, 0.5), 3), "p95_s": round(_pct(v, 0.95), 3)}
                         for op, v in ops.items()},
        "session_p50_s": round(_pct([r.seconds for r in results], 0.5), 2),
        "session_p95_s": round(_pct([r.seconds for r in results], 0.95), 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--jobs", default=",".join(JOBS), help="jobs each session runs after its upload: speak,music")
    p.add_argument("--workers", type=int, default=0,
                   help="run the jobs in N worker processes (python -m studio.services.worker, one job at a time "
                        "each) instead of the studio's own threads (REELSMITH_LOCAL_WORKERS=0)")
    p.add_argument("--no-serial", action="store_true", help="skip the serial (peer) run")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    jobs = tuple(j for j in args.jobs.split(",") if j)
    unknown = set(jobs) - set(JOBS)
    if unknown:
        p.error(f"unknown jobs {sorted(unknown)}; choose from {JOBS}")

    from tests.e2e.conftest import start_server, stop_server

    work = Path(tempfile.mkdtemp(prefix="reelsmith-concurrency-", dir="/var/tmp" if Path("/var/tmp").is_dir()
                                 else None))
    server = None
    workers: list[subprocess.Popen] = []
    try:
        clips = [clip_for(work, i, "c") for i in range(args.sessions)]
        serial_clips = [clip_for(work, i, "s") for i in range(args.sessions)]
        env = {"REELSMITH_LOCAL_WORKERS": "0"} if args.workers else {}
        server = start_server(work / "data", env=env)
        workers = [subprocess.Popen([sys.executable, "-m", "studio.services.worker", "--data-dir",
                                     str(server.data_dir), "--concurrency", "1"], cwd=ROOT,
                                    stdout=open(work / f"worker-{i}.log", "wb"), stderr=subprocess.STDOUT)
                   for i in range(args.workers)]
        report = {"job_workers": f"{args.workers} worker process(es)" if args.workers else
                  "the studio's own threads (REELSMITH_CPU_WORKERS, default 2)"}
        if not args.no_serial:
            first = last_job_id(server.data_dir)
            results, wall = run_many(server.url, serial_clips, "serial", jobs, concurrent=False)
            report["serial"] = summarise(results, wall, job_counts(server.data_dir, first), locked_lines(server.log))
        first = last_job_id(server.data_dir)
        results, wall = run_many(server.url, clips, "concurrent", jobs, concurrent=True)
        report["concurrent"] = summarise(results, wall, job_counts(server.data_dir, first), locked_lines(server.log))
        stop_server(server)
        for proc in workers:
            proc.terminate()
            proc.wait(30)
        locked = locked_lines(server.log) + sum(locked_lines(work / f"worker-{i}.log") for i in range(args.workers))
        server = None
        report["database_is_locked_total"] = locked
        if "serial" in report:
            report["ratio_serial_over_concurrent"] = round(report["serial"]["wall_s"] /
                                                           report["concurrent"]["wall_s"], 2)
        report["jobs_per_session"] = ["upload (ingest)", *jobs]
        if args.json:
            print(json.dumps(report, indent=1))
        else:
            _print(report)
        bad = any(report[k]["errors"] or report[k]["cross_talk"] or report[k]["jobs_not_done"]
                  for k in ("serial", "concurrent") if k in report) or locked
        return 1 if bad else 0
    finally:
        if server is not None:
            stop_server(server)
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def _print(report: dict) -> None:
    print(f"jobs per session: {', '.join(report['jobs_per_session'])}; jobs run by {report['job_workers']}")
    head = f"{'run':<11}{'sessions':>9}{'wall s':>8}{'ok':>4}{'jobs done':>10}{'not done':>9}{'errors':>7}" \
           f"{'x-talk':>7}{'locked':>7}{'p50 s':>7}{'p95 s':>7}"
    print(head)
    for name in ("serial", "concurrent"):
        if name not in report:
            continue
        r = report[name]
        print(f"{name:<11}{r['sessions']:>9}{r['wall_s']:>8.1f}{r['sessions_ok']:>4}{r['jobs_finished']:>10}"
              f"{r['jobs_not_done']:>9}{len(r['errors']):>7}{len(r['cross_talk']):>7}{r['database_is_locked']:>7}"
              f"{r['latency_p50_s']:>7.2f}{r['latency_p95_s']:>7.2f}")
    for name in ("serial", "concurrent"):
        if name in report:
            ops = report[name]["by_operation"]
            print(f"{name} per operation (p50 / p95 s): " +
                  ", ".join(f"{op} {v['p50_s']:.2f}/{v['p95_s']:.2f}" for op, v in ops.items()))
            for line in report[name]["errors"] + report[name]["cross_talk"]:
                print("  !", line)
    print(f"'database is locked' in the studio's (and workers') log: {report['database_is_locked_total']}")
    if "ratio_serial_over_concurrent" in report:
        print(f"ratio serial/concurrent wall time: {report['ratio_serial_over_concurrent']:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
