"""Crop geometry and the crop path of one shot: dead zone, least-squares smoothing, clamping, speed limit.

Per shot, per free axis (x for a portrait crop of a landscape picture, y the other way round):

1. Target: the centre of the subjects' box on each analysed frame, linearly interpolated to every frame and
   clamped so that the crop stays inside the picture.
2. Hold (dead zone): a backlash filter — the framing stays where it is while the target is within ``hold`` of it
   and is dragged by the edge of the dead zone otherwise — run forwards and backwards and averaged (one pass
   alone lags the subject by ``hold``; the mean is centred on steady motion and stays exactly still when the
   subject wobbles within the zone). This is the "clamping before smoothing" form of a dead zone.
3. Smooth with stabilisation's regularised least squares (``engines.video.stabilize.smooth_path``:
   ``(I + λ₂D₂ᵀD₂) x = c``, λ₂ scaled by (fps/30)⁴); constant stretches stay exactly constant.
4. Clamp inside the picture again and bound the speed: a forward and a backward rate limiter (at most
   ``max_step`` pixels a frame), averaged — the mean of two paths each within the bound is within it, and clamping
   never makes a step longer, so no frame inside a shot jumps. Between shots the crop may jump.
"""
from __future__ import annotations

import numpy as np

from ..video.stabilize import smooth_path
from .types import Subject

#: The subjects framed together fill at most this share of the crop's width (height).
FIT_MARGIN = 0.92
#: A frame's subjects fit when the crop can hold at least this share of them (``Subject.coverage``).
MIN_COVERAGE = 0.65
#: A shot is framed by the crop when its subjects fit on at least this share of its analysed frames ...
MIN_FIT_SHARE = 0.7
#: ... and the finder's mean confidence is at least this.
MIN_CONFIDENCE = 0.2
#: In "auto", blur-fill when the fitted picture would cover less than this share of the output, else letterbox.
BLUR_BELOW = 0.8


def crop_size(width: int, height: int, aspect: tuple[int, int]) -> tuple[float, float]:
    """The largest crop of ``aspect`` (w, h) inside a ``width`` × ``height`` picture."""
    ratio = aspect[0] / aspect[1]
    if width / height > ratio:
        return height * ratio, float(height)
    return float(width), width / ratio


def output_size(crop: tuple[float, float], aspect: tuple[int, int], output_height: int | None) -> tuple[int, int]:
    """Even output size of ``aspect``: ``output_height`` high, or the crop's height (at most 1920)."""
    height = int(output_height) if output_height else min(1920, int(round(crop[1])))
    height = max(2, height - height % 2)
    width = int(round(height * aspect[0] / aspect[1] / 2.0)) * 2
    return max(2, width), height


def fitted_share(width: int, height: int, out: tuple[int, int]) -> float:
    """Share of the output area the whole picture covers when fitted inside it."""
    scale = min(out[0] / width, out[1] / height)
    return (width * scale) * (height * scale) / (out[0] * out[1])


def deadband(target: np.ndarray, hold: float) -> np.ndarray:
    """Backlash filter run forwards and backwards, averaged (see the module docstring); ``target`` is 1-D."""
    if hold <= 0 or len(target) == 0:
        return target.astype(float).copy()

    def one_way(seq: np.ndarray) -> np.ndarray:
        out = np.empty(len(seq))
        current = float(seq[0])
        for k, value in enumerate(seq):
            if value > current + hold:
                current = float(value) - hold
            elif value < current - hold:
                current = float(value) + hold
            out[k] = current
        return out

    return 0.5 * (one_way(target) + one_way(target[::-1])[::-1])


def limit_speed(path: np.ndarray, max_step: float) -> np.ndarray:
    """Forward and backward rate limiters (``max_step`` per frame), averaged; ``path`` is 1-D."""
    if len(path) < 2 or not np.isfinite(max_step):
        return path.copy()

    def one_way(seq: np.ndarray) -> np.ndarray:
        out = np.empty(len(seq))
        out[0] = seq[0]
        for k in range(1, len(seq)):
            out[k] = out[k - 1] + np.clip(seq[k] - out[k - 1], -max_step, max_step)
        return out

    return 0.5 * (one_way(path) + one_way(path[::-1])[::-1])


def shot_centres(subjects: list[Subject], start: int, end: int, source: tuple[int, int],
                 crop: tuple[float, float], *, hold: float, lam2: float,
                 max_step: tuple[float, float]) -> np.ndarray:
    """Crop centres (n × 2, source pixels) of frames ``start..end`` (inclusive) of one shot."""
    n = end - start + 1
    frames = np.arange(start, end + 1)
    if subjects:
        known = np.array([s.frame for s in subjects], float)
        boxes = np.array([s.box for s in subjects], float)
        centres = boxes[:, :2] + boxes[:, 2:] / 2.0
    else:
        known, centres = np.array([start], float), np.array([[source[0] / 2.0, source[1] / 2.0]])
    out = np.empty((n, 2))
    for axis in (0, 1):
        lo, hi = crop[axis] / 2.0, source[axis] - crop[axis] / 2.0
        if hi - lo < 1e-6:  # no room on this axis
            out[:, axis] = source[axis] / 2.0
            continue
        target = np.clip(np.interp(frames, known, centres[:, axis]), lo, hi)  # 1. target
        held = deadband(target, hold)  # 2. hold
        smooth = np.clip(smooth_path(held, lam2), lo, hi)  # 3. smooth, clamp
        out[:, axis] = np.clip(limit_speed(smooth, max_step[axis]), lo, hi)  # 4. speed limit
    return out


def decide_fill(subjects: list[Subject], requested: str, fitted: float) -> tuple[str, float, float, str]:
    """(fill, share of frames whose subjects fit, mean confidence, reason) for one shot."""
    if subjects:
        fits = float(np.mean([s.coverage >= MIN_COVERAGE for s in subjects]))
        confidence = float(np.mean([s.score for s in subjects]))
    else:
        fits, confidence = 0.0, 0.0
    if fits >= MIN_FIT_SHARE and confidence >= MIN_CONFIDENCE:
        return "crop", fits, confidence, "subject fits"
    reason = "subjects too far apart" if confidence >= MIN_CONFIDENCE else "no confident subject"
    if requested == "crop":
        return "crop", fits, confidence, reason + " (crop forced)"
    if requested in ("letterbox", "blur"):
        return requested, fits, confidence, reason
    return ("blur" if fitted < BLUR_BELOW else "letterbox"), fits, confidence, reason
