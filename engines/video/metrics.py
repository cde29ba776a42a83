"""Quality and steadiness metrics shared by the video engines and their benches.

* ``psnr`` / ``ssim``: scikit-image's ``peak_signal_noise_ratio`` and ``structural_similarity`` (RGB, data range
  255, ``channel_axis=-1``) — nothing re-implemented, so the numbers equal skimage's on the same arrays.
* ``Latency``: wall time per processed frame.
* ``jitter``: residual camera shake of a clip. The inter-frame motion is estimated with LK flow +
  ``estimateAffinePartial2D`` (``motion.pair_motion``), accumulated into a camera path (x, y, angle), and the path
  minus its Gaussian-smoothed self (sigma = 0.2 s) is the high-frequency part; jitter is its mean absolute size
  — pixels for translation (Euclidean), degrees for rotation. Intentional pans pass the smoothing; shake does not.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from scipy.ndimage import gaussian_filter1d
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ..context import Context, NullContext
from .motion import PairTracker, camera_path, to_gray

#: Longest side at which jitter is measured (results are scaled back to the clip's own pixels).
JITTER_SIDE = 320
#: Width of the smoothing that separates intended motion from shake, in seconds.
JITTER_SIGMA_S = 0.2


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of two uint8 pictures of the same shape (``inf`` when identical)."""
    return float(peak_signal_noise_ratio(reference, test, data_range=255))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean SSIM of two uint8 pictures (RGB: per channel, ``channel_axis=-1``; grey: 2-D)."""
    if reference.ndim == 3:
        return float(structural_similarity(reference, test, data_range=255, channel_axis=-1))
    return float(structural_similarity(reference, test, data_range=255))


@dataclass
class QualityMeter:
    """Running mean PSNR/SSIM over the pairs it is given (every ``every``-th call is measured)."""

    every: int = 1
    psnr_values: list[float] = field(default_factory=list)
    ssim_values: list[float] = field(default_factory=list)
    _calls: int = 0

    def add(self, reference: np.ndarray, test: np.ndarray) -> None:
        self._calls += 1
        if (self._calls - 1) % max(1, self.every):
            return
        value = psnr(reference, test)
        self.psnr_values.append(min(value, 100.0))  # identical frames: cap at 100 dB so the mean stays finite
        self.ssim_values.append(ssim(reference, test))

    @property
    def psnr(self) -> float | None:
        return float(np.mean(self.psnr_values)) if self.psnr_values else None

    @property
    def ssim(self) -> float | None:
        return float(np.mean(self.ssim_values)) if self.ssim_values else None


class Latency:
    """``with latency.frame(): ...`` or ``latency.add(seconds)``; ``ms_per_frame`` is the mean."""

    def __init__(self) -> None:
        self.total_s = 0.0
        self.frames = 0
        self._start = time.perf_counter()

    def tick(self, frames: int = 1) -> None:
        self.frames += frames

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self._start

    @property
    def ms_per_frame(self) -> float:
        return 1000.0 * self.elapsed_s / max(1, self.frames)


@dataclass(frozen=True)
class Jitter:
    """Residual shake: mean |high-frequency path| as translation (pixels) and rotation (degrees)."""

    translation_px: float
    rotation_deg: float
    frames: int

    def as_dict(self) -> dict[str, float]:
        return {"translation_px": round(self.translation_px, 4), "rotation_deg": round(self.rotation_deg, 4),
                "frames": self.frames}


def jitter_from_motions(motions: np.ndarray, fps: float = 30.0) -> Jitter:
    """Jitter of a clip from its per-pair motions ``(dx, dy, da, ds)`` (row 0 is the first frame: zeros)."""
    motions = np.asarray(motions, dtype=float)
    n = len(motions)
    if n < 3:
        return Jitter(0.0, 0.0, n)
    path = camera_path(motions)
    sigma = max(1.0, JITTER_SIGMA_S * (fps or 30.0))
    # Odd (point) reflection at the ends keeps a steady pan straight there, so it does not count as shake.
    pad = min(n - 1, int(math.ceil(4 * sigma)))
    padded = np.pad(path, ((pad, pad), (0, 0)), mode="reflect", reflect_type="odd")
    high = path - gaussian_filter1d(padded, sigma, axis=0, mode="nearest")[pad:pad + n]
    return Jitter(float(np.mean(np.hypot(high[:, 0], high[:, 1]))), float(np.degrees(np.mean(np.abs(high[:, 2])))),
                  n)


class JitterMeter:
    """Streaming jitter: ``add(rgb)`` per frame, then ``result(fps)``. Holds one small grey frame."""

    def __init__(self, max_side: int = JITTER_SIDE) -> None:
        self.max_side = max_side
        self._tracker = PairTracker()
        self._motions: list[np.ndarray] = []

    def add(self, rgb: np.ndarray) -> None:
        gray, back = to_gray(rgb, self.max_side)
        motion = self._tracker.push(gray)
        motion[:2] *= back
        self._motions.append(motion)

    @property
    def motions(self) -> np.ndarray:
        return np.array(self._motions).reshape(-1, 4)

    def result(self, fps: float = 30.0) -> Jitter:
        return jitter_from_motions(self.motions, fps)


def jitter(source: str | Path | Iterable[np.ndarray], fps: float | None = None,
           ctx: Context | None = None) -> Jitter:
    """Residual jitter of a video file or of RGB frames (``fps`` defaults to the file's, else 30)."""
    ctx = ctx or NullContext()
    meter = JitterMeter()
    if isinstance(source, (str, Path)):
        from ..media import iter_frames, probe

        fps = fps or probe(source).fps or 30.0
        frames = (f.image for f in iter_frames(source, ctx=ctx))
    else:
        frames = source
    for i, image in enumerate(frames):
        if i % 8 == 0:
            ctx.check()
        meter.add(image)
    return meter.result(fps or 30.0)


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)
