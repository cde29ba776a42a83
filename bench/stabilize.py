"""Stabilisation: the project's ``stabilize`` engine (``lite``) against the common OpenCV tutorial method.

    .venv/bin/python bench/stabilize.py [--json]

Input: ``../shared/data/video/small-shaky-5.avi`` (210 frames, 320x180, handheld; skipped with a message when
absent). Peer: the moving-average stabiliser of the well-known OpenCV tutorial (LearnOpenCV "Video Stabilization
Using Point Feature Matching"), implemented here with the *same* tracker (``engines.video.motion.pair_motion``):
cumulative sum of per-pair (dx, dy, da), a box moving average of radius 30 frames, each frame warped by
(smoothed − trajectory) and zoomed 4 % about its centre ("fixBorder"). Both write an H.264 MP4 with the same
writer, inside the timing. Metrics: residual jitter (``engines.video.metrics.jitter``: mean |path − Gaussian-
smoothed path|, sigma 0.2 s) of input and outputs, measured by the same code on the decoded files; crop = share of
each side removed; ms/frame = wall time / frames.
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
from engines.video.motion import pair_motion  # noqa: E402

CLIP = ROOT.parent / "shared" / "data" / "video" / "small-shaky-5.avi"
RADIUS = 30
TUTORIAL_ZOOM = 1.04


def naive_moving_average(src: Path, out: Path) -> dict:
    start = time.perf_counter()
    info = probe(src)
    fps = info.fps or 30.0
    grays, motions = [], [np.zeros(3)]
    prev = None
    for f in iter_frames(src):
        g = cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY)
        if prev is not None:
            # same tracker as the engine; the tutorial measures rotation about the top-left corner, we use the
            # centred estimate for both so only the smoothing differs
            m = pair_motion(prev, g)
            motions.append(np.zeros(3) if m is None else m[:3])
        prev = g
        grays.append(None)
    transforms = np.array(motions)
    trajectory = np.cumsum(transforms, axis=0)
    kernel = np.ones(2 * RADIUS + 1) / (2 * RADIUS + 1)
    smoothed = np.stack([np.convolve(np.pad(trajectory[:, i], RADIUS, mode="edge"), kernel, mode="valid")
                         for i in range(3)], axis=1)
    difference = smoothed - trajectory
    w, h = info.video.width, info.video.height
    centre = np.array([(w - 1) / 2, (h - 1) / 2])

    def frames():
        for f in iter_frames(src):
            dx, dy, da = difference[min(f.index, len(difference) - 1)]
            c, s = np.cos(da), np.sin(da)
            rot = np.array([[c, -s], [s, c]])
            m = np.zeros((2, 3))
            m[:, :2] = rot
            m[:, 2] = centre - rot @ centre + (dx, dy)
            warped = cv2.warpAffine(f.image, m, (w, h))
            zoom = cv2.getRotationMatrix2D(tuple(centre), 0, TUTORIAL_ZOOM)  # the tutorial's fixBorder
            yield cv2.warpAffine(warped, zoom, (w, h))

    n = write_video(frames(), out, fps, w, h)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "ms_per_frame": 1000 * seconds / n, "crop": 1 - 1 / TUTORIAL_ZOOM, "frames": n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not CLIP.exists():
        print(f"skipped: {CLIP} is absent (the shared data folder is only in this workplace)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        ours_out, peer_out = Path(tmp) / "ours.mp4", Path(tmp) / "peer.mp4"
        result = STABILIZE.create().run(StabilizeRequest(media=CLIP, out=ours_out))
        peer = naive_moving_average(CLIP, peer_out)
        before = jitter(CLIP)
        ours_j, peer_j = jitter(ours_out), jitter(peer_out)
    rows = {
        "input": {"jitter_px": before.translation_px, "jitter_deg": before.rotation_deg},
        "project (least squares + crop limit)": {
            "jitter_px": ours_j.translation_px, "jitter_deg": ours_j.rotation_deg, "crop": result.crop,
            "ms_per_frame": result.ms_per_frame, "frames": result.frames},
        "peer (moving average r=30, tutorial)": {
            "jitter_px": peer_j.translation_px, "jitter_deg": peer_j.rotation_deg, "crop": peer["crop"],
            "ms_per_frame": peer["ms_per_frame"], "frames": peer["frames"]},
    }
    ratio = {"jitter_px project/peer": ours_j.translation_px / max(1e-9, peer_j.translation_px),
             "jitter_deg project/peer": ours_j.rotation_deg / max(1e-9, peer_j.rotation_deg),
             "ms_per_frame project/peer": result.ms_per_frame / peer["ms_per_frame"],
             "jitter reduction project": 1 - ours_j.translation_px / before.translation_px,
             "jitter reduction peer": 1 - peer_j.translation_px / before.translation_px}
    if args.json:
        print(json.dumps({"clip": CLIP.name, "rows": rows, "ratio": ratio}, indent=2))
        return 0
    print(f"{CLIP.name}")
    print(f"{'':40s} {'jitter px':>10s} {'jitter °':>9s} {'crop':>6s} {'ms/frame':>9s}")
    for name, r in rows.items():
        crop = f"{r['crop']:.3f}" if "crop" in r else "-"
        ms = f"{r['ms_per_frame']:.1f}" if "ms_per_frame" in r else "-"
        print(f"{name:40s} {r['jitter_px']:10.3f} {r['jitter_deg']:9.3f} {crop:>6s} {ms:>9s}")
    for k, v in ratio.items():
        print(f"{k}: {v:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
