"""Stabilisation: the project's ``stabilize`` engine (``lite``) against the common OpenCV tutorial method.

    .venv/bin/python bench/stabilize.py [--json]

Input: ``../shared/data/video/small-shaky-5.avi`` (210 frames, 320x180, handheld; skipped with a message when
absent). Peer: the moving-average stabiliser of the well-known OpenCV tutorial (LearnOpenCV "Video Stabilization
Using Point Feature Matching"), implemented here with the *same* tracker (``engines.video.motion.pair_motion``):
cumulative sum of per-pair (dx, dy, da), a box moving average of radius 30 frames, each frame warped by
(smoothed − trajectory) and zoomed 4 % about its centre ("fixBorder"). Both write an H.264 MP4 with the same
writer, inside the timing. Metrics: residual jitter (``engines.video.metrics.jitter``: mean |path − Gaussian-
smoothed path|, sigma 0.2 s) of input and outputs, measured by the same code on the decoded files; crop = share of
each side removed; border = share of output pixels that come from outside the source frame (black borders; mean
over frames, and the worst frame); ms/frame = wall time / frames. A fair comparison needs jitter *and* border:
the tutorial's 4 % zoom leaves borders, so the peer is also run zoomed to the crop it needs to hide them, and the
project with that same crop_max.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.media import iter_frames, probe  # noqa: E402
from engines.video import STABILIZE, StabilizeRequest  # noqa: E402
from engines.video.io import write_video  # noqa: E402
from engines.video.metrics import jitter  # noqa: E402
from engines.video.motion import camera_path, pair_motion, similarity  # noqa: E402
from engines.video.stabilize import analyse_motion, border_exposure, needed_crop, plan  # noqa: E402

CLIP = ROOT.parent / "shared" / "data" / "video" / "small-shaky-5.avi"
RADIUS = 30
TUTORIAL_ZOOM = 1.04
#: λ whose cut-off matches the tutorial's window (box of 2·30+1 frames: half power at ≈ 4.6 s; the smoother's
#: half power is at λ·ω⁴ ≈ 0.41, ω = 2π/(4.6 s · 30 fps)) — the same time scale, not a value tuned to the clip.
MATCHED_SMOOTHNESS = 1e5


def naive_moving_average(src: Path, out: Path, zoom: float = TUTORIAL_ZOOM) -> dict:
    start = time.perf_counter()
    info = probe(src)
    fps = info.fps or 30.0
    motions = [np.zeros(3)]
    prev = None
    for f in iter_frames(src):
        g = cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY)
        if prev is not None:
            # same tracker as the engine; the tutorial measures rotation about the top-left corner, we use the
            # centred estimate for both so only the smoothing differs
            m = pair_motion(prev, g)
            motions.append(np.zeros(3) if m is None else m[:3])
        prev = g
    transforms = np.array(motions)
    trajectory = np.cumsum(transforms, axis=0)
    kernel = np.ones(2 * RADIUS + 1) / (2 * RADIUS + 1)
    smoothed = np.stack([np.convolve(np.pad(trajectory[:, i], RADIUS, mode="edge"), kernel, mode="valid")
                         for i in range(3)], axis=1)
    difference = smoothed - trajectory
    w, h = info.video.width, info.video.height
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    zoom_m = np.vstack([cv2.getRotationMatrix2D(tuple(centre), 0, zoom), [0, 0, 1]])  # the tutorial's fixBorder
    matrices, needs = [], []
    for dx, dy, da in difference:
        c, s = np.cos(da), np.sin(da)
        rot = np.array([[c, -s], [s, c]])
        m = np.eye(3)
        m[:2, :2] = rot
        m[:2, 2] = centre - rot @ centre + (dx, dy)
        matrices.append((zoom_m @ m)[:2])
        needs.append(needed_crop(similarity(dx, dy, da), w, h))  # the same warp in centred coordinates

    def frames():
        for f in iter_frames(src):
            yield cv2.warpAffine(f.image, matrices[min(f.index, len(matrices) - 1)], (w, h))

    n = write_video(frames(), out, fps, w, h)
    seconds = time.perf_counter() - start
    border_mean, border_max = border_exposure(matrices, w, h)
    return {"seconds": seconds, "ms_per_frame": 1000 * seconds / n, "crop": 1 - 1 / zoom, "frames": n,
            "border_mean": border_mean, "border_max": border_max, "crop_needed": float(max(needs))}


def project(src: Path, out: Path, **params) -> dict:
    """Run the engine; its border exposure from the same analysis and plan the engine renders with."""
    request = StabilizeRequest(media=src, out=out, **params)
    result = STABILIZE.create().run(request)
    info = probe(src)
    motions, w, h = analyse_motion(src, request.analysis_side)
    matrices, crop, _ = plan(camera_path(motions), w, h, info.fps or 30.0, request.smoothness,
                             request.first_order, request.crop_max)
    border_mean, border_max = border_exposure(matrices, w, h)
    return {"crop": result.crop, "ms_per_frame": result.ms_per_frame, "frames": result.frames,
            "clipped": result.clipped_frames, "border_mean": border_mean, "border_max": border_max}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not CLIP.exists():
        print(f"skipped: {CLIP} is absent (the shared data folder is only in this workplace)")
        return 0
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows["input"] = {"jitter": jitter(CLIP)}
        peer = naive_moving_average(CLIP, tmp / "peer.mp4")
        peer["jitter"] = jitter(tmp / "peer.mp4")
        equal = min(0.5, peer["crop_needed"])  # the crop the tutorial needs to show no border on any frame
        runs = {
            "project (defaults, crop_max 0.1)": {},
            f"project (crop_max {equal:.3f} = peer's no-border crop)": {"crop_max": equal},
            f"project (crop_max {equal:.3f}, smoothness {MATCHED_SMOOTHNESS:.0e})": {
                "crop_max": equal, "smoothness": MATCHED_SMOOTHNESS},
        }
        for i, (name, params) in enumerate(runs.items()):
            out = tmp / f"ours{i}.mp4"
            rows[name] = project(CLIP, out, **params)
            rows[name]["jitter"] = jitter(out)
        rows[f"peer (moving average r={RADIUS}, tutorial 4% zoom)"] = peer
        fair = naive_moving_average(CLIP, tmp / "peer-fair.mp4", zoom=1 / (1 - equal))
        fair["jitter"] = jitter(tmp / "peer-fair.mp4")
        rows[f"peer (zoom to its no-border crop {equal:.3f})"] = fair
    for r in rows.values():
        j = r.pop("jitter")
        r["jitter_px"], r["jitter_deg"] = j.translation_px, j.rotation_deg
    names = list(rows)
    ours, ours_eq, peer_row = rows[names[1]], rows[names[2]], rows[names[4]]
    ratio = {"jitter_px project/peer (defaults vs tutorial)": ours["jitter_px"] / max(1e-9, peer_row["jitter_px"]),
             "jitter_px project/peer (both at the peer's no-border crop)":
                 ours_eq["jitter_px"] / max(1e-9, rows[names[5]]["jitter_px"]),
             "ms_per_frame project/peer": ours["ms_per_frame"] / peer_row["ms_per_frame"],
             "jitter reduction project": 1 - ours["jitter_px"] / rows["input"]["jitter_px"],
             "jitter reduction peer": 1 - peer_row["jitter_px"] / rows["input"]["jitter_px"]}
    if args.json:
        print(json.dumps({"clip": CLIP.name, "rows": rows, "ratio": ratio}, indent=2))
        return 0
    print(f"{CLIP.name}")
    print(f"{'':52s} {'jitter px':>9s} {'jitter °':>8s} {'crop':>6s} {'border':>7s} {'worst':>6s} {'ms/frame':>8s}")
    for name, r in rows.items():
        crop = f"{r['crop']:.3f}" if "crop" in r else "-"
        border = f"{100 * r['border_mean']:.2f}%" if "border_mean" in r else "-"
        worst = f"{100 * r['border_max']:.1f}%" if "border_max" in r else "-"
        ms = f"{r['ms_per_frame']:.1f}" if "ms_per_frame" in r else "-"
        print(f"{name:52s} {r['jitter_px']:9.3f} {r['jitter_deg']:8.3f} {crop:>6s} {border:>7s} {worst:>6s} {ms:>8s}")
    print(f"peer's crop needed for no border on any frame: {peer['crop_needed']:.3f}")
    for k, v in ratio.items():
        print(f"{k}: {v:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
