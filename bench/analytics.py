"""Dashboard computation time as viewing events grow: 10⁴, 10⁵, 10⁶ events.

    .venv/bin/python bench/analytics.py                  # all three sizes (about 2 minutes on 2 cores)
    .venv/bin/python bench/analytics.py --sizes 10000 100000 --json

For each size a fresh SQLite store is filled with a synthetic audience (sessions of ~10 events: impression, play,
heartbeats, leave/ended, across 20 videos, 60 days, 4 devices, 5 regions), then timed:

* ``ours``: ``studio.services.dashboard.compute`` — everything the Audience tab's Overview, Retention and
  Experiments show (summary, funnel, per-day/device/region/video breakdowns, new vs returning, Kaplan–Meier
  retention with key moments), from SQL aggregates over the session rows written at ingest;
* ``peer``: the common approach — load the raw events into pandas and compute the same summary, per-day and
  per-device metrics with ``groupby`` (no retention, no funnel: it does less).

Printed: seconds per size, seconds per million events, the growth factor from one size to the next (10 means
linear), and the ratio peer/ours.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage.config import Settings, sqlite_url  # noqa: E402
from storage.db import open_store  # noqa: E402
from storage.models import AssetKind  # noqa: E402
from storage.repo import assets, audience, projects, publications  # noqa: E402
from studio.services import dashboard  # noqa: E402

DEVICES = np.array(["desktop", "mobile", "tablet", "tv"])
REGIONS = np.array(["Europe", "America", "Asia", "Africa", "Australia"])


def fill(store, n_events: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with store.session() as s:
        p = projects.create_project(session=s, name="Bench")
        pubs = []
        for k in range(20):
            v = assets.add_asset(session=s, project_id=p.id, stored=store.media.put_bytes(b"v%d" % k, ext=".mp4"),
                                 kind=AssetKind.video, name=f"v{k}.mp4", duration_s=float(60 + 10 * k))
            pubs.append((publications.publish(session=s, project_id=p.id, asset_id=v.id, title=f"Video {k}").id,
                         60.0 + 10 * k))
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    n_sessions = n_events // 10
    viewers = rng.integers(0, max(10, n_sessions // 4), n_sessions)
    chunk = 20_000
    for lo in range(0, n_sessions, chunk):
        sessions, events = [], []
        for i in range(lo, min(n_sessions, lo + chunk)):
            pid, length = pubs[rng.integers(len(pubs))]
            t0 = start + timedelta(minutes=int(rng.integers(0, 60 * 24 * 60)))
            played = rng.random() < 0.45
            reached = float(min(length, rng.exponential(length / 2))) if played else 0.0
            ended = played and reached >= length
            key = f"b{i:09d}"
            kinds = ["impression"] + (["play"] + ["heartbeat"] * 7 + ["ended" if ended else "leave"] if played
                                      else [])
            while len(kinds) < 10:
                kinds.append("heartbeat" if played else "impression")
            for j, k in enumerate(kinds):
                events.append({"publication_id": pid, "session_key": key, "kind": k,
                               "position_s": reached * j / 9, "watched_s": reached / 9 if played else 0.0,
                               "occurred_at": t0 + timedelta(seconds=j * 5)})
            sessions.append({"publication_id": pid, "session_key": key, "viewer": f"v{viewers[i]}",
                             "device": DEVICES[rng.integers(4)], "region": REGIONS[rng.integers(5)],
                             "source": "sample", "started_at": t0, "last_at": t0, "impressed": True,
                             "played": played, "ended": ended, "max_position_s": reached,
                             "watched_s": reached, "events": 10, "arm_id": None})
        with store.session() as s:
            audience.bulk_load(session=s, sessions=sessions, events=events)


def ours(store) -> float:
    t = time.perf_counter()
    board = dashboard.compute(store, dashboard.make_filters(None, None, None))
    assert board.summary["views"] > 0 and board.retention is not None
    return time.perf_counter() - t


def peer(store) -> float:
    t = time.perf_counter()
    ev = pd.read_sql_query("SELECT e.session_key, e.kind, e.watched_s, e.occurred_at, s.device "
                           "FROM view_events e JOIN view_sessions s USING (session_key)", store.engine)
    ev["day"] = pd.to_datetime(ev["occurred_at"], format="mixed").dt.strftime("%Y-%m-%d")
    per = ev.groupby("session_key").agg(imp=("kind", lambda k: (k == "impression").any()),
                                       play=("kind", lambda k: (k == "play").any()),
                                       watch=("watched_s", "sum"), day=("day", "first"), device=("device", "first"))
    for key in ("day", "device"):
        per.groupby(key).agg(impressions=("imp", "sum"), views=("play", "sum"), watch=("watch", "sum"))
    assert per["play"].sum() > 0
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--no-peer", action="store_true", help="skip the pandas peer (slow at 10⁶)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix="reelsmith-analytics-"))
        try:
            data = tmp / "data"
            store = open_store(Settings(data_dir=data, database_url=sqlite_url(data)))
            t = time.perf_counter()
            fill(store, n)
            fill_s = time.perf_counter() - t
            ours(store)  # warm imports (lifelines, pandas) once; then time
            o = ours(store)
            p = None if args.no_peer else peer(store)
            rows.append({"events": n, "fill_s": fill_s, "ours_s": o, "peer_s": p})
            store.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'events':>10} {'fill s':>8} {'ours s':>8} {'s/M ev':>8} {'growth':>7} {'peer s':>8} {'peer/ours':>9}")
    prev = None
    for r in rows:
        growth = f"{r['ours_s'] / prev['ours_s']:.1f}x" if prev else "-"
        ps = f"{r['peer_s']:.2f}" if r["peer_s"] is not None else "-"
        ratio = f"{r['peer_s'] / r['ours_s']:.1f}" if r["peer_s"] is not None else "-"
        print(f"{r['events']:>10} {r['fill_s']:8.1f} {r['ours_s']:8.2f} {r['ours_s'] / r['events'] * 1e6:8.2f} "
              f"{growth:>7} {ps:>8} {ratio:>9}")
        prev = r
    print("growth: time ratio to the previous size (10x more events; 10x = linear)")


if __name__ == "__main__":
    main()
