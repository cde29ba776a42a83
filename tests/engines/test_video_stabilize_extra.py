"""Crop-aware stabilisation: the crop limit holds on every frame (no borders), and the result beats a moving average."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from engines.video import STABILIZE, StabilizeRequest
from engines.video.io import write_video
from engines.video.metrics import jitter
from engines.video.motion import camera_path
from engines.video.stabilize import border_exposure, correction_needs, crop_aware_smooth, plan, smooth_path
from tests.engines.test_video import FPS, SIZE, shaky_frames

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_stabilize", ROOT / "bench" / "stabilize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _violent_path(n: int = 80, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    motions = np.zeros((n, 4))
    motions[1:, :2] = rng.normal(0, 8, (n - 1, 2))
    motions[1:, 2] = rng.normal(0, 0.02, n - 1)
    motions[1:, 3] = rng.normal(0, 0.003, n - 1)
    return camera_path(motions)


def test_crop_aware_smoothing_respects_the_budget_without_clipping():
    path = _violent_path()
    w, h, crop_max = 160, 120, 0.08
    assert correction_needs(path, smooth_path(path, 5000.0), w, h).max() > crop_max  # plain smoothing would clip
    smooth, constrained = crop_aware_smooth(path, 5000.0, 0.0, w, h, crop_max)
    assert constrained > 0
    assert correction_needs(path, smooth, w, h).max() <= crop_max + 1e-6


def test_every_frame_stays_inside_the_source_no_borders():
    w, h, crop_max = 160, 120, 0.08
    matrices, crop, _ = plan(_violent_path(), w, h, 30.0, 5000.0, 0.0, crop_max)
    assert crop <= crop_max + 1e-6
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float).T
    half = 0.5  # pixel-centre vs pixel-edge conventions differ by half a pixel; more would show a border
    for m in matrices:
        inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))
        src = (inv @ corners)[:2]
        assert src[0].min() >= -half and src[0].max() <= w - 1 + half, src
        assert src[1].min() >= -half and src[1].max() <= h - 1 + half, src
    assert border_exposure(matrices, w, h) == (0.0, 0.0)


def test_synthetic_clip_steadier_than_moving_average_at_the_same_crop(tmp_path):
    src = tmp_path / "shaky.mp4"
    write_video(iter(shaky_frames(72)), src, FPS, *SIZE)
    result = STABILIZE.create().run(StabilizeRequest(media=src, out=tmp_path / "ours.mp4", crop_max=0.15))
    assert 0 < result.crop <= 0.15 + 1e-6
    peer = _bench().naive_moving_average(src, tmp_path / "peer.mp4", zoom=1 / (1 - result.crop))
    ours_j, peer_j = jitter(tmp_path / "ours.mp4").translation_px, jitter(tmp_path / "peer.mp4").translation_px
    assert ours_j < peer_j, (ours_j, peer_j, peer["border_mean"])
