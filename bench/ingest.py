"""Watch-page event ingest under load: a real studio process (``app.py``) on 127.0.0.1, concurrent clients
posting event batches the way the player does, some malformed on purpose, while the studio page is polled.

    .venv/bin/python bench/ingest.py                     # 50k events, 16 clients (about a minute on 2 cores)
    .venv/bin/python bench/ingest.py --events 10000 --clients 8 --json

Reports: events/s accepted, request latency (median/p95), how many events the store holds afterwards (must
equal the accepted count: nothing lost), malformed requests answered 4xx (must be all of them), and the
studio page's response time during the load vs idle (the UI stays responsive). Peer: the same requests against
a bare FastAPI app that only parses the JSON and returns 202 (no validation, no database), so the ratio shows
what validation + durable storage cost per event. Only loopback addresses are used; every loop is bounded.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
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


def _prepare_store(data: Path) -> str:
    from storage.config import Settings, sqlite_url
    from storage.db import open_store
    from storage.models import AssetKind
    from storage.repo import assets, projects, publications

    store = open_store(Settings(data_dir=data, database_url=sqlite_url(data)))
    with store.session() as s:
        p = projects.create_project(session=s, name="Load test")
        v = assets.add_asset(session=s, project_id=p.id, stored=store.media.put_bytes(b"\0" * 1024, ext=".mp4"),
                             kind=AssetKind.video, name="v.mp4", duration_s=120.0)
        slug = publications.publish(session=s, project_id=p.id, asset_id=v.id, title="Load test").slug
    store.close()
    return slug


def _client(port, slug, cid, n_requests, batch, bad_every, out, lock):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat, ok_events, bad_4xx, bad_sent, other = [], 0, 0, 0, 0
    for j in range(n_requests):
        token = f"viewer-{cid:03d}-{j // 10:05d}"  # a browser sends ~10 batches, like one viewing
        session = f"sess-{cid:03d}-{j // 10:05d}"
        malformed = bad_every and j % bad_every == bad_every - 1
        events = [{"type": "heartbeat", "position": float(k), "watched": 1.0} for k in range(batch)]
        if malformed:
            events[0]["type"] = "explode"
            bad_sent += 1
        body = json.dumps({"video": slug, "session": session, "token": token, "tz": "Europe/Oslo",
                           "events": events})
        t = time.perf_counter()
        conn.request("POST", "/api/watch/events", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        lat.append(time.perf_counter() - t)
        if malformed:
            bad_4xx += 400 <= r.status < 500
        elif r.status == 202:
            ok_events += batch
        else:
            other += 1
    with lock:
        out["lat"] += lat
        out["ok"] += ok_events
        out["bad_sent"] += bad_sent
        out["bad_4xx"] += bad_4xx
        out["other"] += other


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


def load(port, slug, events, clients, batch, bad_every) -> dict:
    per_client = events // batch // clients
    out, lock = {"lat": [], "ok": 0, "bad_sent": 0, "bad_4xx": 0, "other": 0}, threading.Lock()
    stop, ui = threading.Event(), {}
    probe = threading.Thread(target=_ui_probe, args=(port, stop, ui))
    probe.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=_client, args=(port, slug, c, per_client, batch, bad_every, out, lock))
               for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    probe.join()
    lat = sorted(out["lat"])
    return {"wall_s": wall, "events_ok": out["ok"], "events_per_s": out["ok"] / wall, "requests": len(lat),
            "latency_median_ms": 1000 * statistics.median(lat), "latency_p95_ms": 1000 * lat[int(0.95 * len(lat))],
            "malformed_sent": out["bad_sent"], "malformed_4xx": out["bad_4xx"], "unexpected": out["other"],
            "ui_median_ms": 1000 * statistics.median(ui["ui"]) if ui.get("ui") else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--bad-every", type=int, default=50, help="every Nth request is malformed (0: none)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="reelsmith-ingest-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    results = {}
    try:
        # Ours: the real studio
        data = tmp / "data"
        slug = _prepare_store(data)
        port = _port()
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--data-dir", str(data)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            _wait(port, proc)
            idle = []
            for _ in range(10):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                t = time.perf_counter()
                c.request("GET", "/")
                c.getresponse().read()
                idle.append(time.perf_counter() - t)
            results["reelsmith"] = load(port, slug, args.events, args.clients, args.batch, args.bad_every)
            results["reelsmith"]["ui_idle_median_ms"] = 1000 * statistics.median(idle)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        from sqlalchemy import create_engine, text
        eng = create_engine(f"sqlite:///{data / 'reelsmith.db'}")
        with eng.connect() as conn:
            results["reelsmith"]["events_stored"] = conn.execute(text("SELECT count(*) FROM view_events")).scalar()
        # Peer: a bare endpoint
        (tmp / "peer_app.py").write_text(PEER_APP)
        port = _port()
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "peer_app:app", "--port", str(port),
                                 "--log-level", "warning"], cwd=tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)
        try:
            _wait(port, proc)
            results["bare_fastapi"] = load(port, "x", args.events, args.clients, args.batch, 0)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ours, peer = results["reelsmith"], results["bare_fastapi"]
    results["ratio_events_per_s"] = ours["events_per_s"] / peer["events_per_s"]
    results["lost_events"] = ours["events_ok"] - ours["events_stored"]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, r in (("reelsmith (validate + store)", ours), ("bare FastAPI (parse only)", peer)):
        print(f"{name:30} {r['events_ok']:>7} events in {r['wall_s']:6.1f} s = {r['events_per_s']:8.0f} events/s; "
              f"latency median {r['latency_median_ms']:.1f} ms, p95 {r['latency_p95_ms']:.1f} ms")
    print(f"stored {ours['events_stored']} of {ours['events_ok']} accepted (lost {results['lost_events']}); "
          f"malformed answered 4xx: {ours['malformed_4xx']}/{ours['malformed_sent']}; unexpected answers: "
          f"{ours['unexpected']}")
    print(f"studio page during load: median {ours['ui_median_ms']:.0f} ms (idle {ours['ui_idle_median_ms']:.0f} ms)")
    print(f"ratio events/s reelsmith / bare: {results['ratio_events_per_s']:.2f}")


if __name__ == "__main__":
    main()
