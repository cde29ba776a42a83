"""Frame-to-frame camera motion: sparse LK tracking + a RANSAC similarity per frame pair.

The classic stabilisation front end (``goodFeaturesToTrack`` → ``calcOpticalFlowPyrLK`` →
``estimateAffinePartial2D``), in coordinates centred on the picture so that translation and rotation do not mix.
Each pair gives ``(dx, dy, da, ds)``: the translation in pixels, rotation in radians and log-scale that map the
previous frame's points onto the current frame's.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

MAX_CORNERS = 300
QUALITY = 0.01
MIN_DISTANCE = 8
RANSAC_PX = 2.0


class PairTracker:
    """Feed grey frames in order; ``push`` returns the motion from the previous frame (zeros for the first)."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self.failures = 0

    def push(self, gray: np.ndarray) -> np.ndarray:
        prev, self._prev = self._prev, gray
        if prev is None:
            return np.zeros(4)
        motion = pair_motion(prev, gray)
        if motion is None:
            self.failures += 1
            return np.zeros(4)
        return motion


def to_gray(rgb: np.ndarray, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """Grey picture scaled to fit ``max_side``, and the scale from it back to ``rgb``'s pixels."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    if max_side and max(h, w) > max_side:
        s = max_side / max(h, w)
        gray = cv2.resize(gray, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
        return gray, max(h, w) / max(gray.shape)
    return gray, 1.0


def pair_motion(prev: np.ndarray, cur: np.ndarray) -> np.ndarray | None:
    """``(dx, dy, da, ds)`` from ``prev`` to ``cur`` (grey uint8), or ``None`` when too little can be tracked."""
    pts = cv2.goodFeaturesToTrack(prev, maxCorners=MAX_CORNERS, qualityLevel=QUALITY, minDistance=MIN_DISTANCE,
                                  blockSize=3)
    if pts is None or len(pts) < 6:
        return None
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, winSize=(21, 21), maxLevel=3)
    if nxt is None:
        return None
    ok = status.ravel() == 1
    if ok.sum() < 6:
        return None
    h, w = prev.shape
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0], np.float32)
    src = pts.reshape(-1, 2)[ok] - centre
    dst = nxt.reshape(-1, 2)[ok] - centre
    m, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                             maxIters=2000, confidence=0.99)
    if m is None or inliers is None or int(inliers.sum()) < 6:
        return None
    a, b = float(m[0, 0]), float(m[1, 0])
    scale = math.hypot(a, b)
    if not (0.5 < scale < 2.0):
        return None
    return np.array([float(m[0, 2]), float(m[1, 2]), math.atan2(b, a), math.log(scale)])


def similarity(dx: float, dy: float, da: float, ds: float = 0.0) -> np.ndarray:
    """3×3 matrix of the similarity ``p -> s R(da) p + (dx, dy)`` in centred coordinates."""
    s = math.exp(ds)
    c, n = s * math.cos(da), s * math.sin(da)
    return np.array([[c, -n, dx], [n, c, dy], [0.0, 0.0, 1.0]])


def params(m: np.ndarray) -> np.ndarray:
    """``(dx, dy, da, ds)`` of a 3×3 similarity matrix."""
    a, b = m[0, 0], m[1, 0]
    return np.array([m[0, 2], m[1, 2], math.atan2(b, a), math.log(math.hypot(a, b))])


def camera_path(pair_motions: np.ndarray) -> np.ndarray:
    """Compose the per-pair motions into the camera path: row k maps frame 0's centred points onto frame k's.

    Returned as an (n, 4) array of ``(x, y, angle, log-scale)``; angles are unwrapped.
    """
    acc = np.eye(3)
    out = np.zeros((len(pair_motions), 4))
    for k, motion in enumerate(pair_motions):
        if k:
            acc = similarity(*motion) @ acc
        out[k] = params(acc)
    out[:, 2] = np.unwrap(out[:, 2])
    return out
