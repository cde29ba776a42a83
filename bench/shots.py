"""Shot boundaries: the project's ``shots`` engine (``lite``) against PySceneDetect 0.7's Content, Adaptive and
Histogram detectors (default settings, PyAV backend).

    .venv/bin/python bench/shots.py            # table, overall F1 and fps per method, ratios, where we lose
    .venv/bin/python bench/shots.py --json     # the same results as JSON

Inputs:

* ``real``: every video in ``../shared/data/video/`` that has rows in ``transitions.csv`` (decoded-frame indices;
  gradual rows give a start..end span). Videos without ground truth are skipped.
* ``spliced``: two clips cut here (temp folder, PyAV libx264, 384x216, 30 fps) from that real footage with known
  boundaries: ``splice-cuts`` (hard cuts between testvideo, goldeneye and the handheld small-shaky clip, one
  single-frame white flash that must not count) and ``splice-gradual`` (dissolves of 15 and 20 frames, a fade out
  / black / fade in, one cut).

Scoring: a detection matches a ground-truth transition when its frame lies in [start - 2, end + 2] (so +-2 frames
for a cut, anywhere inside a gradual span); one-to-one greedy matching; precision, recall and F1 summed over the
clips of a group. PySceneDetect's scene starts are mapped to decoded-frame indices by their time (its own frame
numbers are nominal-rate numbers, which differ on variable-frame-rate files such as goldeneye-vfr-drop3.mp4).
fps = decoded frames / wall time of the whole run (open, decode, detect), best of ``--repeat`` runs.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.media import iter_frames  # noqa: E402
from engines.shots import REGISTRY, ShotRequest  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "video"
TOLERANCE = 2
SIZE = (384, 216)
FPS = 30
METHODS = ("project", "psd-content", "psd-adaptive", "psd-histogram")


# ------------------------------------------------------------------------------------------------------------
# Ground truth
# ------------------------------------------------------------------------------------------------------------
def real_truth() -> dict[Path, list[tuple[int, int]]]:
    truth: dict[Path, list[tuple[int, int]]] = {}
    table = DATA / "transitions.csv"
    if not table.exists():
        return truth
    with table.open(newline="") as fh:
        for row in csv.DictReader(fh):
            path = DATA / row["video"]
            if path.exists():
                truth.setdefault(path, []).append((int(row["start_frame"]), int(row["end_frame"])))
    return truth


def _load(path: Path, first: int, last: int) -> list[np.ndarray]:
    out = []
    for frame in iter_frames(path, max_side=max(SIZE)):
        if frame.index > last:
            break
        if frame.index >= first:
            out.append(cv2.resize(frame.image, SIZE, interpolation=cv2.INTER_AREA))
    return out


def _write(path: Path, frames: list[np.ndarray]) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def spliced(folder: Path) -> dict[Path, list[tuple[int, int]]]:
    test, golden, shaky = DATA / "testvideo.mp4", DATA / "goldeneye-vfr-drop3.mp4", DATA / "small-shaky-5.avi"
    if not all(p.exists() for p in (test, golden, shaky)):
        return {}
    leaf, deer, rock, tire = _load(test, 40, 140), _load(test, 240, 335), _load(test, 410, 515), _load(test, 565, 665)
    gold_a, gold_b, walk = _load(golden, 0, 56), _load(golden, 63, 137), _load(shaky, 0, 120)
    clips: dict[Path, list[tuple[int, int]]] = {}

    # 1. hard cuts, and a flash inside the tire shot
    parts = [gold_a, walk[:90], deer[:90], tire[:60], leaf[:80], gold_b]
    frames, truth = [], []
    for part in parts:
        if frames:
            truth.append((len(frames), len(frames)))
        frames.extend(part)
    flash_at = truth[3][0] + 30
    frames[flash_at] = np.full_like(frames[flash_at], 245)
    clips[folder / "splice-cuts.mp4"] = truth
    _write(folder / "splice-cuts.mp4", frames)

    # 2. dissolves and a fade out / in
    def dissolve(a: list[np.ndarray], b: list[np.ndarray], n: int) -> list[np.ndarray]:
        return [((1 - w) * a[i] + w * b[i]).astype(np.uint8) for i, w in enumerate(np.arange(1, n + 1) / (n + 1))]

    frames, truth = list(leaf[:70]), []
    tail = dissolve(leaf[70:85], rock[:15], 15)
    truth.append((len(frames), len(frames) + 14))
    frames += tail + rock[15:90]
    ramp = np.arange(1, 13) / 13
    truth.append((len(frames), len(frames) + 12))
    frames += [(a * (1 - w)).astype(np.uint8) for a, w in zip(rock[90:102], ramp)]
    frames += [np.zeros_like(leaf[0])] * 10
    truth.append((len(frames) - 1, len(frames) + 11))
    frames += [(a * w).astype(np.uint8) for a, w in zip(deer[:12], ramp)] + deer[12:70]
    truth.append((len(frames), len(frames) + 19))
    frames += dissolve(deer[70:90], walk[:20], 20) + walk[20:110]
    truth.append((len(frames), len(frames)))
    frames += gold_b
    clips[folder / "splice-gradual.mp4"] = truth
    _write(folder / "splice-gradual.mp4", frames)
    return clips


# ------------------------------------------------------------------------------------------------------------
# Methods
# ------------------------------------------------------------------------------------------------------------
def frame_times(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        return np.array([float(f.time) - origin for f in container.decode(stream)])


def run_project(path: Path, times: np.ndarray) -> tuple[list[int], int]:
    result = REGISTRY.create().run(ShotRequest(media=path))
    return [t.frame for t in result.transitions], result.frames


def run_psd(kind: str):
    def run(path: Path, times: np.ndarray) -> tuple[list[int], int]:
        from scenedetect import AdaptiveDetector, ContentDetector, HistogramDetector, SceneManager, open_video
        detector = {"content": ContentDetector, "adaptive": AdaptiveDetector, "histogram": HistogramDetector}[kind]()
        video = open_video(str(path), backend="pyav")
        manager = SceneManager()
        manager.add_detector(detector)
        frames = manager.detect_scenes(video)
        starts = [scene[0].seconds for scene in manager.get_scene_list()[1:]]
        # decoded-frame index of each scene start, by time
        found = [int(np.argmin(np.abs(times - s))) for s in starts]
        return found, frames
    return run


RUNNERS = {"project": run_project, "psd-content": run_psd("content"), "psd-adaptive": run_psd("adaptive"),
           "psd-histogram": run_psd("histogram")}


def score(found: list[int], truth: list[tuple[int, int]]) -> tuple[int, int, int]:
    free = list(truth)
    tp = 0
    for d in sorted(found):
        hits = [g for g in free if g[0] - TOLERANCE <= d <= g[1] + TOLERANCE]
        if hits:
            free.remove(min(hits, key=lambda g: abs((g[0] + g[1]) / 2 - d)))
            tp += 1
    return tp, len(found) - tp, len(free)


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(1, 2 * tp + fp + fn)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    real = real_truth()
    if not real:
        print(f"no ground truth under {DATA}; nothing to do")
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        groups = [("real", real), ("spliced", spliced(Path(tmp)))]
        for group, clips in groups:
            for path, truth in clips.items():
                times = frame_times(path)
                for method in METHODS:
                    best, found, frames = float("inf"), [], 0
                    for _ in range(args.repeat):
                        t0 = time.perf_counter()
                        found, frames = RUNNERS[method](path, times)
                        best = min(best, time.perf_counter() - t0)
                    tp, fp, fn = score(found, truth)
                    rows.append({"group": group, "clip": path.name, "method": method, "tp": tp, "fp": fp, "fn": fn,
                                 "f1": f1(tp, fp, fn), "frames": len(times), "seconds": best,
                                 "fps": len(times) / best, "found": found, "truth": truth})
    summary = {}
    for method in METHODS:
        for group in ("real", "spliced", "all"):
            sel = [r for r in rows if r["method"] == method and group in ("all", r["group"])]
            tp, fp, fn = (sum(r[k] for r in sel) for k in ("tp", "fp", "fn"))
            frames, secs = sum(r["frames"] for r in sel), sum(r["seconds"] for r in sel)
            summary.setdefault(method, {})[group] = {"tp": tp, "fp": fp, "fn": fn, "f1": f1(tp, fp, fn),
                                                     "fps": frames / secs if secs else 0.0}
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=2))
        return 0
    print(f"{'group':8s} {'clip':26s} {'method':14s} {'tp':>3s} {'fp':>3s} {'fn':>3s} {'F1':>6s} {'fps':>8s}")
    for r in rows:
        print(f"{r['group']:8s} {r['clip']:26s} {r['method']:14s} {r['tp']:3d} {r['fp']:3d} {r['fn']:3d} "
              f"{r['f1']:6.3f} {r['fps']:8.1f}")
    print("\noverall (F1 / fps)")
    print(f"{'method':14s} " + " ".join(f"{g:>18s}" for g in ("real", "spliced", "all")))
    for method in METHODS:
        cells = " ".join(f"{summary[method][g]['f1']:8.3f} /{summary[method][g]['fps']:7.1f}"
                         for g in ("real", "spliced", "all"))
        print(f"{method:14s} {cells}")
    ours = summary["project"]["all"]
    print("\nratios (project / peer, all clips)")
    for method in METHODS[1:]:
        peer = summary[method]["all"]
        print(f"  vs {method:14s} F1 x{ours['f1'] / max(peer['f1'], 1e-9):.2f}   fps x{ours['fps'] / max(peer['fps'], 1e-9):.2f}")
    losses = [r for r in rows if r["method"] == "project" and (r["fp"] or r["fn"])]
    beaten = [(r["clip"], m) for r in rows if r["method"] == "project" for m in METHODS[1:]
              for p in rows if p["method"] == m and p["clip"] == r["clip"] and p["f1"] > r["f1"]]
    print("\nwhere the project loses:")
    if not losses and not beaten:
        print("  nowhere on these clips")
    for r in losses:
        print(f"  {r['clip']}: {r['fp']} false, {r['fn']} missed; found {r['found']} truth {r['truth']}")
    for clip, method in beaten:
        print(f"  {clip}: {method} has the higher F1")
    slower = [(r["clip"], p["method"]) for r in rows if r["method"] == "project" for p in rows
              if p["clip"] == r["clip"] and p["method"] != "project" and p["fps"] > r["fps"]]
    for clip, method in slower:
        print(f"  {clip}: {method} is faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
