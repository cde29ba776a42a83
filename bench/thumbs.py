"""Thumbnail picking: the project's ``thumbs`` engine (``lite``) against FFmpeg's own ``thumbnail`` filter.

    .venv/bin/python bench/thumbs.py            # table, ratios and where the project loses
    .venv/bin/python bench/thumbs.py --json     # the same results as JSON

The peer is FFmpeg's ``thumbnail`` filter (of each batch of N frames it keeps the one closest to the batch's mean
colour histogram) run through PyAV's filter graph, ``buffer -> thumbnail=n=N -> buffersink`` with
N = total_frames // 12, so it yields about 12 frames; its frames are scaled to 320 px wide inside the timing, as
the project's thumbnails are. Both use the same decoder threading (``thread_type="AUTO"``) in the same process,
and run in alternating order; the time shown is the median of ``--repeat`` runs. The project's time includes its
poster and contact sheet (work the peer does not do).

Inputs: every video in ``../shared/data/video/`` (relative to the repository root; skipped with a message when
absent) plus clips made here in a temp folder by splicing that real footage:

* ``testvideo+fades``: testvideo.mp4 dipped to near-black at four points (frames multiplied by a ramp), so that
  about 30 % of its duration is black or near-black (the footage has fades of its own: about 21 % of
  testvideo.mp4's frames are already too dark, so about half of this clip's frames are);
* ``testvideo+flash+blur``: testvideo.mp4 with five single-frame white flashes and three 1.5 s stretches under a
  heavy Gaussian blur (``cv2.GaussianBlur``, sigma 12 px at 1280 px wide);
* ``goldeneye+all``: goldeneye-vfr-drop3.mp4 (variable frame rate, timestamps kept) with two dips to black, two
  flashes and one blurred stretch.

Quality is measured the same way for both methods, on the picked frames as decoded by one reference pass at
320 px wide (picks are matched to that pass by timestamp):

* ``bad``: share of picks that are badly exposed (mean luma < 20 or > 235, or luma std < 6);
* ``avoid``: share of picks that are badly exposed while a well-exposed frame exists in the same 1/12 of the
  duration (mistakes a picker could have avoided);
* ``sharp``: mean variance of the Laplacian of the picks, divided by that of the sharpest frame of the clip.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from engines.thumbs import REGISTRY, ThumbnailRequest  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "video"
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm"}
COUNT = 12
#: Width at which the picks are measured (and the peer's frames are scaled to, like the project's tiles).
MEASURE_WIDTH = 320
#: Badly exposed: mean luma below DARK or above BRIGHT, or luma standard deviation below FLAT (0..255 scale).
DARK, BRIGHT, FLAT = 20.0, 235.0, 6.0


# --------------------------------------------------------------------------------------------------------------
# Reference pass: every frame of a clip at 320 px, with the statistics the quality metrics need
# --------------------------------------------------------------------------------------------------------------
@dataclass
class ClipStats:
    times: np.ndarray  # seconds from the container's start time (the project's convention)
    luma_mean: np.ndarray
    luma_std: np.ndarray
    sharpness: np.ndarray  # variance of the Laplacian of the luma
    duration_s: float

    @property
    def bad(self) -> np.ndarray:
        return (self.luma_mean < DARK) | (self.luma_mean > BRIGHT) | (self.luma_std < FLAT)

    def segment_of(self, time_s: float | np.ndarray, count: int = COUNT):
        return np.minimum(count - 1, np.floor(np.asarray(time_s) / (self.duration_s / count)).astype(int))


def _scaled_size(width: int, height: int) -> tuple[int, int]:
    out_w = min(MEASURE_WIDTH, width)
    return out_w, max(2, 2 * round(out_w * height / width / 2))


def _origin_s(container) -> float:
    # Same time zero as engines.media (container start time), so the project's times and ours agree.
    return container.start_time / av.time_base if container.start_time is not None else 0.0


def clip_stats(path: Path) -> ClipStats:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        origin = _origin_s(container)
        size = _scaled_size(stream.codec_context.width, stream.codec_context.height)
        rows = []
        for frame in container.decode(stream):
            rgb = frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="AREA")
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            rows.append((frame.time - origin, float(gray.mean()), float(gray.std()),
                         float(cv2.Laplacian(gray, cv2.CV_64F).var())))
    data = np.array(sorted(rows))
    times = data[:, 0]
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.04
    return ClipStats(times, data[:, 1], data[:, 2], data[:, 3], duration_s=float(times[-1]) + step)


# --------------------------------------------------------------------------------------------------------------
# The two methods: each returns the picked times (seconds from the container's start time)
# --------------------------------------------------------------------------------------------------------------
def run_project(path: Path, count: int) -> list[float]:
    result = REGISTRY.create().run(ThumbnailRequest(media=path, count=count))
    return [t.time_s for t in result.thumbs]


def run_peer(path: Path, count: int) -> list[float]:
    """FFmpeg's thumbnail filter on every decoded frame; its picks scaled to 320 px wide RGB."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # as engines.media decodes
        origin = _origin_s(container)
        total = stream.frames
        if not total:  # no frame count in the header: estimate it from the duration, as one would with ffprobe
            duration = (float(stream.duration * stream.time_base) if stream.duration
                        else (container.duration or 0) / av.time_base)
            total = round(duration * float(stream.average_rate or stream.guessed_rate or 25))
        graph = av.filter.Graph()
        source = graph.add_buffer(template=stream)
        thumbnail = graph.add("thumbnail", f"n={max(1, total // count)}")
        sink = graph.add("buffersink")
        source.link_to(thumbnail)
        thumbnail.link_to(sink)
        graph.configure()
        size = _scaled_size(stream.codec_context.width, stream.codec_context.height)
        picks: list[tuple[float, np.ndarray]] = []

        def drain() -> None:
            while True:
                try:
                    out = sink.pull()
                except (av.BlockingIOError, av.EOFError):
                    return
                image = out.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="AREA")
                picks.append((float(out.pts * stream.time_base) - origin, image))

        for frame in container.decode(stream):
            source.push(frame)
            drain()
        source.push(None)  # flush: the last, partial batch gives one more frame
        drain()
    return [t for t, _ in picks]


METHODS: dict[str, Callable[[Path, int], list[float]]] = {"project": run_project, "peer": run_peer}


# --------------------------------------------------------------------------------------------------------------
# Quality of a set of picks
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Score:
    seconds: float
    runs: list[float]
    thumbs: int
    bad: int
    avoidable: int
    sharpness: float  # mean of the picks' Laplacian variance / the clip's sharpest frame
    times: list[float]
    match_error_s: float  # largest distance between a pick and the reference frame it was matched to

    @property
    def bad_rate(self) -> float:
        return self.bad / self.thumbs if self.thumbs else 0.0

    @property
    def avoidable_rate(self) -> float:
        return self.avoidable / self.thumbs if self.thumbs else 0.0


def score(times: list[float], stats: ClipStats, runs: list[float]) -> Score:
    if not times:
        return Score(statistics.median(runs), runs, 0, 0, 0, 0.0, [], 0.0)
    picked = np.asarray(times)
    index = np.clip(np.searchsorted(stats.times, picked), 1, len(stats.times) - 1)
    index = np.where(np.abs(stats.times[index - 1] - picked) <= np.abs(stats.times[index] - picked),
                     index - 1, index)
    if len(stats.times) == 1:
        index = np.zeros(len(picked), dtype=int)
    bad = stats.bad
    good_segments = set(stats.segment_of(stats.times[~bad]).tolist())
    pick_bad = bad[index]
    avoidable = sum(1 for seg, is_bad in zip(stats.segment_of(stats.times[index]), pick_bad)
                    if is_bad and int(seg) in good_segments)
    best = float(stats.sharpness.max()) or 1.0
    return Score(
        seconds=statistics.median(runs), runs=runs, thumbs=len(times), bad=int(pick_bad.sum()),
        avoidable=int(avoidable), sharpness=float(stats.sharpness[index].mean() / best),
        times=[round(float(t), 3) for t in times],
        match_error_s=float(np.abs(stats.times[index] - picked).max()))


# --------------------------------------------------------------------------------------------------------------
# Spliced clips: real footage with fades to black, white flashes and blurred stretches
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Splice:
    """Edits as fractions of the clip: dips to black (centre, fully dark width), flashes, blurred stretches."""

    dips: list[tuple[float, float]] = field(default_factory=list)
    flashes: list[float] = field(default_factory=list)
    blurs: list[tuple[float, float]] = field(default_factory=list)  # (start, length)
    ramp: float = 0.4  # fade length in seconds, each side of a dip
    floor: float = 0.04  # gain at the bottom of a dip: near-black, a trace of the picture left


def _gain(t: float, duration: float, splice: Splice) -> float:
    gain = 1.0
    for centre, width in splice.dips:
        distance = abs(t - centre * duration) - width * duration / 2
        gain = min(gain, float(np.clip(distance / splice.ramp, 0.0, 1.0)))
    return splice.floor + (1.0 - splice.floor) * gain


def _blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """``cv2.GaussianBlur`` with a large sigma, run at a quarter of the size (same picture, 16 times less work)."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / 4), (w, h), interpolation=cv2.INTER_LINEAR)


def make_clip(source: Path, target: Path, splice: Splice) -> Path:
    """Re-encode ``source`` (libx264, timestamps kept, so variable frame rate stays variable) with the edits."""
    with av.open(str(source)) as src:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        origin = _origin_s(src)
        duration = src.duration / av.time_base if src.duration else float(stream.duration * stream.time_base)
        frames = stream.frames or round(duration * float(stream.average_rate))
        flash_frames = {round(f * frames) for f in splice.flashes}
        blur_spans = [(s * duration, (s + length) * duration) for s, length in splice.blurs]
        sigma = 12.0 * stream.codec_context.width / 1280
        with av.open(str(target), "w") as out:
            video = out.add_stream("libx264", rate=stream.average_rate)
            video.width, video.height = stream.codec_context.width, stream.codec_context.height
            video.pix_fmt = "yuv420p"
            video.time_base = stream.time_base
            video.codec_context.time_base = stream.time_base
            video.options = {"preset": "veryfast", "crf": "20"}
            for index, frame in enumerate(src.decode(stream)):
                t = frame.time - origin
                rgb = frame.to_ndarray(format="rgb24")
                if any(start <= t < end for start, end in blur_spans):
                    rgb = _blur(rgb, sigma)
                gain = _gain(t, duration, splice)
                if index in flash_frames:
                    rgb = (0.1 * rgb + 0.9 * 255).astype(np.uint8)
                elif gain < 1.0:
                    rgb = (rgb * gain).astype(np.uint8)
                new = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
                new.pts, new.time_base = frame.pts, stream.time_base
                for packet in video.encode(new):
                    out.mux(packet)
            for packet in video.encode():
                out.mux(packet)
    return target


SPLICES: dict[str, tuple[str, Splice]] = {
    # Four dips of 1-2.5 s in 24 s: with their fades they make about 30 % of the duration near-black (testvideo
    # has fades of its own, so about half of the clip's frames end up badly exposed).
    "testvideo+fades": ("testvideo.mp4", Splice(dips=[(0.12, 0.05), (0.37, 0.10), (0.61, 0.05), (0.86, 0.07)])),
    "testvideo+flash+blur": ("testvideo.mp4", Splice(flashes=[0.07, 0.29, 0.48, 0.71, 0.93],
                                                     blurs=[(0.17, 0.0625), (0.52, 0.0625), (0.78, 0.0625)])),
    "goldeneye+all": ("goldeneye-vfr-drop3.mp4", Splice(dips=[(0.2, 0.08), (0.66, 0.1)], flashes=[0.41, 0.87],
                                                         blurs=[(0.47, 0.1)])),
}


# --------------------------------------------------------------------------------------------------------------
# Benchmark
# --------------------------------------------------------------------------------------------------------------
def bench_one(name: str, path: Path, *, repeat: int, flip: bool, synthetic: bool, count: int) -> dict:
    stats = clip_stats(path)
    runs: dict[str, list[float]] = {m: [] for m in METHODS}
    picks: dict[str, list[float]] = {}
    for rep in range(repeat):
        order = list(METHODS) if (rep % 2 == 0) != flip else list(METHODS)[::-1]
        for method in order:
            started = time.perf_counter()
            picks[method] = METHODS[method](path, count)
            runs[method].append(time.perf_counter() - started)
    scores = {m: score(picks[m], stats, runs[m]) for m in METHODS}
    return {
        "name": name, "synthetic": synthetic, "frames": int(len(stats.times)),
        "duration_s": round(stats.duration_s, 3), "bad_frame_share": round(float(stats.bad.mean()), 4),
        "methods": {m: {**{k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(s).items()},
                        "bad_rate": round(s.bad_rate, 4), "avoidable_rate": round(s.avoidable_rate, 4)}
                    for m, s in scores.items()},
    }


def inputs(tmp: Path, with_synthetic: bool) -> list[tuple[str, Path, bool]]:
    found = sorted(p for p in DATA.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    result = [(p.name, p, False) for p in found]
    if with_synthetic:
        for name, (source, splice) in SPLICES.items():
            if (DATA / source).is_file():
                result.append((name, make_clip(DATA / source, tmp / f"{name}.mp4", splice), True))
    return result


def overall(rows: list[dict]) -> dict:
    def total(method: str, key: str) -> float:
        return sum(r["methods"][method][key] for r in rows)

    ratios = [r["methods"]["peer"]["seconds"] / r["methods"]["project"]["seconds"] for r in rows]
    summary = {
        "inputs": len(rows),
        "time_ratio_total": round(total("peer", "seconds") / total("project", "seconds"), 3),
        "time_ratio_geomean": round(math.exp(sum(map(math.log, ratios)) / len(ratios)), 3),
    }
    for m in METHODS:
        thumbs = total(m, "thumbs") or 1
        summary[m] = {"seconds": round(total(m, "seconds"), 3), "thumbs": int(total(m, "thumbs")),
                      "bad_rate": round(total(m, "bad") / thumbs, 4),
                      "avoidable_rate": round(total(m, "avoidable") / thumbs, 4),
                      "sharpness": round(sum(r["methods"][m]["sharpness"] for r in rows) / len(rows), 4)}
    return summary


def losses(rows: list[dict]) -> list[str]:
    """Plain sentences for every input where the project does worse than the peer on some metric."""
    found = []
    for r in rows:
        p, q = r["methods"]["project"], r["methods"]["peer"]
        if p["seconds"] > q["seconds"]:
            found.append(f"{r['name']}: slower ({p['seconds']:.2f} s vs {q['seconds']:.2f} s, "
                         f"ratio {q['seconds'] / p['seconds']:.2f})")
        if p["avoidable"] > q["avoidable"]:
            found.append(f"{r['name']}: more avoidable bad picks ({p['avoidable']} vs {q['avoidable']})")
        elif p["bad"] > q["bad"]:
            found.append(f"{r['name']}: more badly exposed picks ({p['bad']}/{p['thumbs']} vs "
                         f"{q['bad']}/{q['thumbs']}), none of them avoidable")
        if p["sharpness"] < q["sharpness"] - 0.005:
            found.append(f"{r['name']}: less sharp picks ({p['sharpness']:.3f} vs {q['sharpness']:.3f})")
        if p["thumbs"] < min(q["thumbs"], COUNT):
            found.append(f"{r['name']}: fewer thumbnails ({p['thumbs']} vs {q['thumbs']})")
    return found


def print_table(rows: list[dict], summary: dict) -> None:
    head = (f"{'input':<26} {'frames':>6} {'bad fr':>6} | {'method':<7} {'time s':>7} {'n':>3} {'bad':>5} "
            f"{'avoid':>5} {'sharp':>6} | {'peer/proj':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = r["methods"]["peer"]["seconds"] / r["methods"]["project"]["seconds"]
        for i, m in enumerate(METHODS):
            s = r["methods"][m]
            left = (f"{r['name'] + (' *' if r['synthetic'] else ''):<26} {r['frames']:>6} "
                    f"{r['bad_frame_share']:>6.0%}" if i == 0 else " " * 40)
            right = f"{ratio:>9.2f}" if i == 0 else ""
            print(f"{left} | {m:<7} {s['seconds']:>7.3f} {s['thumbs']:>3} {s['bad']:>2}/{s['thumbs']:<2} "
                  f"{s['avoidable']:>5} {s['sharpness']:>6.3f} | {right}")
    print("-" * len(head))
    print("* spliced here from the real footage.  bad fr: share of the clip's frames that are badly exposed.")
    p, q = summary["project"], summary["peer"]
    print(f"overall ({summary['inputs']} inputs): time peer/project {summary['time_ratio_total']:.2f} (total "
          f"{q['seconds']:.2f} s / {p['seconds']:.2f} s), geometric mean of ratios {summary['time_ratio_geomean']:.2f}")
    for name, s in (("project", p), ("peer", q)):
        print(f"  {name:<7}: bad picks {s['bad_rate']:.1%}, avoidable bad picks {s['avoidable_rate']:.1%} "
              f"of {s['thumbs']}, mean normalised sharpness {s['sharpness']:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per method and input (default 3)")
    parser.add_argument("--count", type=int, default=COUNT, help=f"thumbnails asked for (default {COUNT})")
    parser.add_argument("--no-synthetic", action="store_true", help="only the real clips, no spliced ones")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"skipped: no benchmark media at {DATA} (the shared data folder of this workplace)")
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-thumbs-") as tmp:
        clips = inputs(Path(tmp), not args.no_synthetic)
        if not clips:
            print(f"skipped: no video in {DATA}")
            return 0
        for method in METHODS.values():  # warm-up (imports, fonts, codec set-up), not timed
            method(clips[0][1], args.count)
        rows = [bench_one(name, path, repeat=max(1, args.repeat), flip=i % 2 == 1, synthetic=synthetic,
                          count=args.count)
                for i, (name, path, synthetic) in enumerate(clips)]
    summary = overall(rows)
    lost = losses(rows)
    if args.json:
        print(json.dumps({"count": args.count, "repeat": args.repeat, "inputs": rows, "overall": summary,
                          "project_loses": lost, "wall_s": round(time.perf_counter() - started, 1)}, indent=2))
        return 0
    print_table(rows, summary)
    print("where the project loses:" if lost else "where the project loses: nowhere on these inputs")
    for line in lost:
        print(f"  - {line}")
    worst = max(r["methods"][m]["match_error_s"] for r in rows for m in METHODS)
    print(f"(picks matched to reference frames within {worst * 1000:.1f} ms; "
          f"benchmark wall time {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
