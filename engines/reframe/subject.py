"""Where the subject is on each analysed frame: faces first (Haar cascades), else saliency combined with motion.

* Saliency is the spectral residual of Hou & Zhang (CVPR 2007): the log amplitude spectrum minus its local
  average is what is *unexpected* in the picture; transformed back with the original phase and squared it lights
  up the objects that stand out (repeated texture cancels). It is computed on an ``SAL_WIDTH``-pixel-wide gray
  picture, so it costs well under a millisecond.
* Motion is the absolute difference from the previous analysed frame at the same size.
* The two maps are mixed (motion counts more the more of it there is), weighted by a mild centre prior, averaged
  over time (temporal consistency) and thresholded; the connected regions are the candidate subjects. The one
  with the most mass — discounted by its distance to the last subject, so the pick does not flip between two
  equal blobs — is the primary; the regions with at least ``GROUP_SHARE`` of its mass are subjects too.
* Faces: two frontal cascades that must agree, else the profile cascade both ways round; run about
  ``FACE_RATE`` times a second (they are the slow part). Detections are linked into tracks; a shot is framed on
  faces when one track is persistent, on its biggest-and-most-persistent track plus the faces of similar size.
* ``pack`` frames the primary and as many other subjects as fit in the crop, and says which share of them that
  is (``coverage``): two equal subjects too far apart give 0.5, and the shot gets letterbox/blur instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from .types import Box, Subject

SAL_WIDTH = 96
SAL_SIGMA = 2.5  # Gaussian blur of the saliency map, pixels at SAL_WIDTH
MOTION_SCALE = 40.0  # grey levels of frame difference that count as full motion
THRESHOLD = 0.5  # share of the map's peak a subject's pixels reach
GROUP_SHARE = 0.35  # a region (face) with this share of the primary's mass (area) is a subject too
MEMORY = 0.5  # weight of the running map in the temporal average
FACE_RATE = 2.0  # face checks per second (the cascades are the slow part)
MIN_FACE_SHARE = 0.4  # share of a shot's face checks a track must be seen in
SCALE_STEP = 1.15  # cascade pyramid step
LINK = 1.5  # a face moves at most this many face widths between two checks


# --------------------------------------------------------------------------------------------------------------
# Saliency and motion
# --------------------------------------------------------------------------------------------------------------
def spectral_residual(gray: np.ndarray, sigma: float = SAL_SIGMA) -> np.ndarray:
    """Spectral-residual saliency of a small gray picture, scaled to a peak of 1 (float32, same shape)."""
    spectrum = np.fft.fft2(gray.astype(np.float64))
    log_amp = np.log(np.abs(spectrum) + 1e-9)
    local = sum(np.roll(np.roll(log_amp, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9.0
    residual = log_amp - local  # the spectrum is periodic: the 3×3 average wraps round
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    saliency = cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), sigma)
    peak = float(saliency.max())
    return saliency / peak if peak > 0 else saliency


def _centre_prior(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    d2 = ((x - (w - 1) / 2) / w) ** 2 + ((y - (h - 1) / 2) / h) ** 2
    return (0.7 + 0.3 * np.exp(-d2 / (2 * 0.35 ** 2))).astype(np.float32)


class SaliencyTracker:
    """Saliency + motion per frame with temporal smoothing; ``reset()`` at every shot boundary."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._avg: np.ndarray | None = None
        self._prev: np.ndarray | None = None
        self._last: tuple[float, float] | None = None

    def push(self, gray: np.ndarray, fit: tuple[float, float]) -> tuple[Box, Box, float, float]:
        """Primary box, framed box (both in ``gray``'s pixels), confidence and coverage (see ``pack``) of one
        frame; ``fit`` is the largest box (w, h) the crop frames, in ``gray``'s pixels."""
        h0, w0 = gray.shape
        scale = SAL_WIDTH / w0
        small = cv2.resize(gray, (SAL_WIDTH, max(8, int(round(h0 * scale)))), interpolation=cv2.INTER_AREA)
        small = small.astype(np.float32)
        sal = spectral_residual(small)
        if self._prev is not None and self._prev.shape == small.shape:
            motion = cv2.GaussianBlur(np.abs(small - self._prev), (0, 0), 1.5) / MOTION_SCALE
            weight = 0.6 * min(1.0, float(motion.max()))
            peak = float(motion.max())
            combined = (1 - weight) * sal + (weight * motion / peak if peak > 0 else 0.0)
        else:
            combined = sal
        self._prev = small
        combined = combined * _centre_prior(*small.shape)
        self._avg = combined if self._avg is None else (1 - MEMORY) * combined + MEMORY * self._avg
        primary, box, score, coverage = self._regions(self._avg, (fit[0] * scale, fit[1] * scale))
        back = 1.0 / scale
        return scaled(primary, back), scaled(box, back), score, coverage

    def _regions(self, m: np.ndarray, fit: tuple[float, float]) -> tuple[Box, Box, float, float]:
        peak = float(m.max())
        h, w = m.shape
        if peak <= 0:
            return (0.0, 0.0, float(w), float(h)), (0.0, 0.0, float(w), float(h)), 0.0, 0.0
        mask = (m >= THRESHOLD * peak).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        masses = np.bincount(labels.ravel(), weights=m.ravel(), minlength=count)[1:]
        ys, xs = np.mgrid[0:h, 0:w]
        cx = np.bincount(labels.ravel(), weights=(m * xs).ravel(), minlength=count)[1:] / masses
        cy = np.bincount(labels.ravel(), weights=(m * ys).ravel(), minlength=count)[1:] / masses
        pick = masses.copy()
        if self._last is not None:  # temporal consistency: prefer the region near the last subject
            d2 = ((cx - self._last[0]) / w) ** 2 + ((cy - self._last[1]) / h) ** 2
            pick = masses * (0.4 + 0.6 * np.exp(-d2 / (2 * 0.25 ** 2)))
        best = int(np.argmax(pick))
        self._last = (float(cx[best]), float(cy[best]))
        keep = [best] + [int(i) for i in np.argsort(-masses) if i != best and masses[i] >= GROUP_SHARE * masses[best]]
        box, coverage = pack([stats[i + 1, :4].astype(float) for i in keep], masses[keep], fit)
        # confidence: how much the primary region stands out from the picture as a whole, and how alone it is
        inside = float(m[labels == best + 1].mean())
        contrast = inside / max(1e-6, float(m.mean()))
        alone = float(masses[best] / masses.sum())
        score = float(np.clip((contrast - 2.0) / 4.0, 0.0, 1.0) * (0.5 + 0.5 * alone))
        return scaled(stats[best + 1, :4], 1.0), box, score, coverage


def scaled(box: Sequence[float] | np.ndarray, factor: float) -> Box:
    """``box`` (x, y, w, h) multiplied by ``factor``, as plain floats."""
    return (float(box[0]) * factor, float(box[1]) * factor, float(box[2]) * factor, float(box[3]) * factor)


def pack(boxes: list[np.ndarray], weights: np.ndarray, fit: tuple[float, float]) -> tuple[Box, float]:
    """The union of ``boxes[0]`` (the primary) and as many of the others, in order, as still fit in ``fit``
    (w, h); and the coverage: the share of the total weight (mass, face area) that union holds. Two equal
    subjects too far apart for one crop give 0.5; a subject with small distractors around it, nearly 1."""
    x0, y0, w0, h0 = (float(v) for v in boxes[0])
    x1, y1 = x0 + w0, y0 + h0
    taken = float(weights[0])
    for box, weight in zip(boxes[1:], weights[1:]):
        nx0, ny0 = min(x0, box[0]), min(y0, box[1])
        nx1, ny1 = max(x1, box[0] + box[2]), max(y1, box[1] + box[3])
        if nx1 - nx0 <= fit[0] and ny1 - ny0 <= fit[1]:
            x0, y0, x1, y1 = nx0, ny0, nx1, ny1
            taken += float(weight)
    return (x0, y0, x1 - x0, y1 - y0), taken / max(1e-9, float(np.sum(weights)))


# --------------------------------------------------------------------------------------------------------------
# Faces
# --------------------------------------------------------------------------------------------------------------
def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / max(1e-9, a[2] * a[3] + b[2] * b[3] - inter)


class FaceFinder:
    """Haar cascades from ``cv2.data.haarcascades``: a frontal face counts when two frontal cascades (``default``
    and ``alt2``) agree on it — either alone fires on blotchy textures — and profiles (both ways round, strict
    neighbour count) are looked for only when no frontal face is found."""

    def __init__(self) -> None:
        root = cv2.data.haarcascades
        self.frontal = cv2.CascadeClassifier(root + "haarcascade_frontalface_default.xml")
        self.second = cv2.CascadeClassifier(root + "haarcascade_frontalface_alt2.xml")
        self.profile = cv2.CascadeClassifier(root + "haarcascade_profileface.xml")
        if self.frontal.empty() or self.second.empty() or self.profile.empty():  # pragma: no cover
            raise RuntimeError(f"OpenCV's Haar cascades are missing from {root}")

    def detect(self, gray: np.ndarray) -> list[np.ndarray]:
        """Face boxes (x, y, w, h) in ``gray``'s pixels, overlapping detections merged."""
        eq = cv2.equalizeHist(gray)
        side = max(24, int(0.1 * min(gray.shape)))
        size = (side, side)
        found = [np.asarray(b, float) for b in self.frontal.detectMultiScale(eq, SCALE_STEP, 4, minSize=size)]
        if found:
            other = [np.asarray(b, float) for b in self.second.detectMultiScale(eq, SCALE_STEP, 3, minSize=size)]
            found = [b for b in found if any(_iou(b, o) > 0.3 for o in other)]
        if not found:
            found = [np.asarray(b, float) for b in self.profile.detectMultiScale(eq, SCALE_STEP, 8, minSize=size)]
            w = gray.shape[1]
            for b in self.profile.detectMultiScale(np.ascontiguousarray(eq[:, ::-1]), SCALE_STEP, 8,
                                                   minSize=size):
                found.append(np.array([w - b[0] - b[2], b[1], b[2], b[3]], float))
        merged: list[np.ndarray] = []
        for box in sorted(found, key=lambda b: -b[2] * b[3]):
            if all(_iou(box, m) < 0.3 for m in merged):
                merged.append(box)
        return merged


@dataclass
class FaceTrack:
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)

    @property
    def area(self) -> float:
        return float(np.mean([b[2] * b[3] for b in self.boxes]))

    def box_at(self, frame: int, gap: int) -> np.ndarray | None:
        """The track's box at ``frame`` (linear between detections), ``None`` farther than ``gap`` from it."""
        if frame < self.frames[0] - gap or frame > self.frames[-1] + gap:
            return None
        arr = np.array(self.boxes)
        return np.array([np.interp(frame, self.frames, arr[:, k]) for k in range(4)])


def link_faces(checks: list[tuple[int, list[np.ndarray]]]) -> list[FaceTrack]:
    """Greedy linking of per-frame detections into tracks (near centre, similar size)."""
    tracks: list[FaceTrack] = []
    for frame, boxes in checks:
        used: set[int] = set()
        for box in sorted(boxes, key=lambda b: -b[2] * b[3]):
            cbox = box[:2] + box[2:] / 2
            best, best_d = None, math.inf
            for i, tr in enumerate(tracks):
                last = tr.boxes[-1]
                d = float(np.hypot(*(cbox - last[:2] - last[2:] / 2)))
                if i not in used and d < LINK * max(last[2], box[2]) and 0.5 < box[2] / last[2] < 2.0 and d < best_d:
                    best, best_d = i, d
            if best is None:
                tracks.append(FaceTrack())
                best = len(tracks) - 1
            used.add(best)
            tracks[best].frames.append(frame)
            tracks[best].boxes.append(box)
    return tracks


def face_subjects(checks: list[tuple[int, list[np.ndarray]]], frames: list[tuple[int, float]], gap: int,
                  scale: float, fit: tuple[float, float]) -> list[Subject] | None:
    """Subjects of one shot from its face checks, or ``None`` when no face is persistent enough.

    ``frames`` are the (index, time) of the shot's analysed frames, ``gap`` how far (frames) a track is held
    beyond its ends, ``scale`` analysis → source pixels, ``fit`` the crop's largest box in analysis pixels."""
    if not checks:
        return None
    tracks = link_faces(checks)
    need = max(1, math.ceil(MIN_FACE_SHARE * len(checks)), 2 if len(checks) >= 3 else 1)
    persistent = [t for t in tracks if len(t.frames) >= need]
    if not persistent:
        return None
    primary = max(persistent, key=lambda t: t.area * len(t.frames))
    others = sorted((t for t in persistent if t is not primary and t.area >= GROUP_SHARE * primary.area),
                    key=lambda t: -t.area)
    out = []
    for index, time_s in frames:
        main = primary.box_at(index, gap)
        if main is None:
            main = primary.boxes[0] if index < primary.frames[0] else primary.boxes[-1]
        boxes = [main] + [b for b in (t.box_at(index, gap) for t in others) if b is not None]
        box, coverage = pack(boxes, np.array([b[2] * b[3] for b in boxes]), fit)
        score = 1.0 if index in primary.frames else 0.8
        out.append(Subject(index, time_s, scaled(box, scale), scaled(main, scale), score, "face", coverage))
    return out
