"""Idea to animatic on the lite backends, through the studio's own jobs (what the Create tab runs).

    .venv/bin/python bench/idea_to_animatic.py [--scenes 5] [--size 1280x720] [--json]

Drafts a screenplay from a logline, makes a storyboard frame per scene, a 30 s music bed, the voice-over and the
animatic, each as a job in a throw-away studio (temp data dir, SQLite), and prints the wall time of each stage,
the film's length and the wall time per output second of the whole path. No peer: no other tool does this path
offline; the figure to watch is time per output second (below 1.0 is faster than real time).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage.config import Settings, sqlite_url  # noqa: E402
from storage.repo import projects, scripts  # noqa: E402
from studio.services.app_state import start_studio  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=5)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        studio = start_studio(Settings(data_dir=data, database_url=sqlite_url(data)))
        with studio.store.session() as s:
            pid = projects.create_project(session=s, name="Bench").id
            sid = scripts.create_script(session=s, project_id=pid, title="Bench").id
        stages = [
            ("draft", {"script_id": sid, "request": {"logline": "A harbour pilot must guide a stranger's boat "
                                                                "through a storm", "scenes": args.scenes}}),
            ("storyboard", {"project_id": pid, "script_id": sid, "request": {"width": 768, "height": 432}}),
            ("music", {"project_id": pid, "request": {"mood": "hopeful", "duration_s": 30.0}}),
            ("voiceover", {"project_id": pid, "script_id": sid}),
        ]
        times: dict[str, float] = {}
        music_id = None
        for kind, params in stages:
            t0 = time.perf_counter()
            snap = studio.runner.run_to_end(studio.runner.submit(kind, project_id=pid, params=params))
            times[kind] = time.perf_counter() - t0
            if snap.status.value != "done":
                raise SystemExit(f"{kind} failed: {snap.message}")
            if kind == "music":
                music_id = snap.result["asset_id"]
        t0 = time.perf_counter()
        snap = studio.runner.run_to_end(studio.runner.submit("animatic", project_id=pid, params={
            "project_id": pid, "script_id": sid, "music_asset_id": music_id, "width": width, "height": height}))
        times["animatic"] = time.perf_counter() - t0
        if snap.status.value != "done":
            raise SystemExit(f"animatic failed: {snap.message}")
        with studio.store.session() as s:
            from storage.repo import assets

            film = assets.get_asset(session=s, asset_id=snap.result["asset_id"])
            duration = film.duration_s
        studio.close()

    total = sum(times.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"scenes": args.scenes, "size": args.size, "stage_seconds": {k: round(v, 2) for k, v in times.items()},
              "total_seconds": round(total, 2), "film_seconds": round(duration, 2),
              "wall_per_output_second": round(total / duration, 3), "peak_rss_mb": round(peak_mb, 1)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"idea → animatic, lite backends, {args.scenes} scenes, {args.size}")
    for kind, secs in times.items():
        print(f"  {kind:<11} {secs:7.2f} s")
    print(f"  {'total':<11} {total:7.2f} s for {duration:.1f} s of film = {total / duration:.3f} s per output second")
    print(f"  peak RSS    {peak_mb:7.1f} MB")


if __name__ == "__main__":
    main()
