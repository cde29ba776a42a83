"""Watch-page event ingest under load: a real studio process (``app.py``) on 127.0.0.1, concurrent clients
posting event batches the way the player does (some malformed on purpose), while the studio page is polled; on
SQLite, on PostgreSQL, or both.

    .venv/bin/python bench/ingest.py                                # SQLite, 50k events, 16 clients
    .venv/bin/python bench/ingest.py --db both --events 20000 --max-seconds 90
    .venv/bin/python bench/ingest.py --db postgres --json

PostgreSQL is a private server started for the run from the system's binaries (tests/pgserver.py), durable
settings (fsync on); the studio reaches it through ``DATABASE_URL``.

Reports per database: events/s accepted, request latency (median/p95/p99), HTTP 5xx answers (503 = the event
buffer was full and the client retried after Retry-After, like the player; any other 5xx is an error), 429s,
malformed requests answered 4xx (must be all of them), how many events the database holds a moment after the
load and after the studio was stopped with Ctrl-C, and **events lost = accepted − stored** (must be 0), plus the
studio page's response time during the load vs idle. Peer: the same requests against a bare FastAPI app that only
parses the JSON and returns 202 (no validation, no database). Only loopback addresses are used; every loop is
bounded in count and in time (``--max-seconds`` per run).
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# a desktop browser: the studio drops events from bots, scripts and headless browsers (and from no user agent)
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
              "Safari/537.36")
VIDEOS = 4
MAX_RETRIES = 5

PEER_APP = '''
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
app = FastAPI()
@app.post("/api/watch/events")
async def events(request: Request):
    body = await request.json()
    return JSONResponse({"accepted": len(body.get("events", []))}, status_code=202)
@app.get("/")
def root():
    return {"ok": True}
'''


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")


def _prepare_store(data: Path, url: str) -> list[str]:
    from storage.config import Settings
    from storage.db import open_store
    from storage.models import AssetKind
    from storage.repo import assets, projects, publications

    store = open_store(Settings(data_dir=data, database_url=url))
    with store.session() as s:
        p = projects.create_project(session=s, name="Load test")
        v = assets.add_asset(session=s, project_id=p.id, stored=store.media.put_bytes(b"\0" * 1024, ext=".mp4"),
                             kind=AssetKind.video, name="v.mp4", duration_s=120.0)
        slugs = [publications.publish(session=s, project_id=p.id, asset_id=v.id, title=f"Load test {i}").slug
                 for i in range(VIDEOS)]
    store.close()
    return slugs


def _count_events(url: str) -> int:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM view_events")).scalar())
    finally:
        eng.dispose()


def _client(port, slugs, cid, n_requests, batch, bad_every, deadline, out, lock):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat, accepted, sent_ok, bad_4xx, bad_sent = [], 0, 0, 0, 0
    status: dict[int, int] = {}
    slug = slugs[cid % len(slugs)]
    for j in range(n_requests):
        if time.monotonic() > deadline:
            break
        token = f"viewer-{cid:03d}-{j // 10:05d}"  # a browser sends ~10 batches, like one viewing
        session = f"sess-{cid:03d}-{j // 10:05d}"
        malformed = bad_every and j % bad_every == bad_every - 1
        events = [{"type": "heartbeat", "position": float(k), "watched": 1.0} for k in range(batch)]
        if malformed:
            events[0]["type"] = "explode"
            bad_sent += 1
        body = json.dumps({"video": slug, "session": session, "token": token, "tz": "Europe/Oslo",
                           "events": events})
        for attempt in range(MAX_RETRIES + 1):
            t = time.perf_counter()
            try:
                conn.request("POST", "/api/watch/events", body, {"Content-Type": "application/json",
                                                                  "User-Agent": USER_AGENT})
                r = conn.getresponse()
                data = r.read()
            except OSError:  # connection dropped: count it as a 5xx-class failure and reconnect
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status[599] = status.get(599, 0) + 1
                continue
            lat.append(time.perf_counter() - t)
            status[r.status] = status.get(r.status, 0) + 1
            if r.status in (429, 503) and attempt < MAX_RETRIES and time.monotonic() < deadline:
                time.sleep(min(2.0, float(r.getheader("Retry-After") or 1)))  # what the player does, bounded
                continue
            break
        if malformed:
            bad_4xx += 400 <= r.status < 500
        elif r.status == 202:
            accepted += int(json.loads(data).get("accepted", 0))
            sent_ok += batch
    with lock:
        out["lat"] += lat
        out["accepted"] += accepted
        out["sent_ok"] += sent_ok
        out["bad_sent"] += bad_sent
        out["bad_4xx"] += bad_4xx
        for code, n in status.items():
            out["status"][code] = out["status"].get(code, 0) + n


def _ui_probe(port, stop, out):
    times = []
    while not stop.is_set() and len(times) < 10_000:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        t = time.perf_counter()
        c.request("GET", "/")
        c.getresponse().read()
        times.append(time.perf_counter() - t)
        stop.wait(0.25)
    out["ui"] = times


def _pct(sorted_values: list[float], q: float) -> float:
    return 1000 * sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))] if sorted_values else 0.0


def load(port, slugs, events, clients, batch, bad_every, max_seconds) -> dict:
    per_client = events // batch // clients
    out = {"lat": [], "accepted": 0, "sent_ok": 0, "bad_sent": 0, "bad_4xx": 0, "status": {}}
    lock, stop, ui = threading.Lock(), threading.Event(), {}
    probe = threading.Thread(target=_ui_probe, args=(port, stop, ui))
    probe.start()
    t0 = time.perf_counter()
    deadline = time.monotonic() + max_seconds
    threads = [threading.Thread(target=_client, args=(port, slugs, c, per_client, batch, bad_every, deadline, out,
                                                      lock)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    probe.join()
    lat = sorted(out["lat"])
    st = out["status"]
    return {"wall_s": wall, "events_accepted": out["accepted"], "events_sent_ok": out["sent_ok"],
            "events_per_s": out["accepted"] / wall, "requests": len(lat),
            "latency_median_ms": 1000 * statistics.median(lat) if lat else 0.0,
            "latency_p95_ms": _pct(lat, 0.95), "latency_p99_ms": _pct(lat, 0.99),
            "http_5xx": sum(n for c, n in st.items() if c >= 500), "http_503_busy": st.get(503, 0),
            "http_5xx_errors": sum(n for c, n in st.items() if c >= 500 and c != 503), "http_429": st.get(429, 0),
            "status_counts": {str(k): v for k, v in sorted(st.items())},
            "malformed_sent": out["bad_sent"], "malformed_4xx": out["bad_4xx"],
            "cut_by_time_limit": time.monotonic() > deadline,
            "ui_median_ms": 1000 * statistics.median(ui["ui"]) if ui.get("ui") else None}


def _stop(proc: subprocess.Popen) -> float:
    """Ctrl-C (the studio's graceful stop: buffered events are written), then TERM/KILL if it hangs."""
    t = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return time.perf_counter() - t


def run_studio(db: str, url: str, data: Path, args, env: dict) -> dict:
    from storage.config import sqlite_url

    url = url or sqlite_url(data)
    slugs = _prepare_store(data, url)
    env = {**env, "DATABASE_URL": url} if db == "postgres" else {k: v for k, v in env.items() if k != "DATABASE_URL"}
    port = _port()
    log = data.parent / f"studio-{db}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--data-dir", str(data)], cwd=ROOT,
                                stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        _wait(port, proc)
        idle = []
        for _ in range(10):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t = time.perf_counter()
            c.request("GET", "/")
            c.getresponse().read()
            idle.append(time.perf_counter() - t)
        res = load(port, slugs, args.events, args.clients, args.batch, args.bad_every, args.max_seconds)
        res["ui_idle_median_ms"] = 1000 * statistics.median(idle)
        # a moment later, while the studio still runs: the buffer is written every ~0.25 s
        deadline, stored = time.monotonic() + 10, -1
        while time.monotonic() < deadline:
            stored = _count_events(url)
            if stored >= res["events_accepted"]:
                break
            time.sleep(0.2)
        res["stored_while_running"] = stored
    finally:
        res_stop = _stop(proc) if proc.poll() is None else 0.0
    res["stop_s"] = res_stop
    res["events_stored"] = _count_events(url)
    res["events_lost"] = res["events_accepted"] - res["events_stored"]
    res["database"] = "PostgreSQL (private server, fsync on)" if db == "postgres" else "SQLite (WAL)"
    tail = log.read_text(errors="replace")
    res["server_errors_logged"] = tail.count("Traceback")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--bad-every", type=int, default=50, help="every Nth request is malformed (0: none)")
    ap.add_argument("--max-seconds", type=float, default=90.0, help="stop sending after this long (per database)")
    ap.add_argument("--no-peer", action="store_true", help="skip the bare FastAPI peer")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="reelsmith-ingest-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("REELSMITH_USERS", None)
    results: dict = {}
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    try:
        for db in dbs:
            if db == "postgres":
                from tests.pgserver import postgres_server

                ctx = postgres_server()
            else:
                ctx = contextlib.nullcontext("")
            with ctx as url:
                results[db] = run_studio(db, url, tmp / db / "data", args, env)
        if not args.no_peer:
            (tmp / "peer_app.py").write_text(PEER_APP)
            port = _port()
            proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "peer_app:app", "--port", str(port),
                                     "--log-level", "warning"], cwd=tmp, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=env)
            try:
                _wait(port, proc)
                results["bare_fastapi"] = load(port, ["x"], args.events, args.clients, args.batch, 0,
                                               args.max_seconds)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    peer = results.get("bare_fastapi")
    for db in dbs:
        if peer:
            results[db]["ratio_events_per_s_vs_bare"] = results[db]["events_per_s"] / peer["events_per_s"]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for db in dbs:
        r = results[db]
        print(f"{r['database']}: {r['events_accepted']} events in {r['wall_s']:.1f} s = "
              f"{r['events_per_s']:.0f} events/s; latency median {r['latency_median_ms']:.1f} ms, "
              f"p95 {r['latency_p95_ms']:.1f} ms, p99 {r['latency_p99_ms']:.1f} ms")
        print(f"  5xx: {r['http_5xx']} (503 busy, retried: {r['http_503_busy']}; errors: {r['http_5xx_errors']}); "
              f"429: {r['http_429']}; malformed answered 4xx: {r['malformed_4xx']}/{r['malformed_sent']}"
              f"{'; CUT BY --max-seconds' if r['cut_by_time_limit'] else ''}")
        print(f"  stored {r['events_stored']} of {r['events_accepted']} accepted: LOST {r['events_lost']} "
              f"(stored a moment after the load, studio running: {r['stored_while_running']}; graceful stop "
              f"{r['stop_s']:.1f} s)")
        print(f"  studio page during load: median {r['ui_median_ms']:.0f} ms (idle {r['ui_idle_median_ms']:.0f} ms)"
              + (f"; events/s vs bare FastAPI: {r['ratio_events_per_s_vs_bare']:.2f}" if peer else ""))
    if peer:
        print(f"bare FastAPI (parse only): {peer['events_per_s']:.0f} events/s; latency median "
              f"{peer['latency_median_ms']:.1f} ms, p99 {peer['latency_p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
