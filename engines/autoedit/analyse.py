"""Silence-based rough cut: loudness per video frame → speech runs → kept clips with margins → ``Timeline``.

The rules, in the order they are applied (all lengths in whole frames of the video's rate):

1. Loudness: RMS in dBFS of the mono mix at 16 kHz over one window per video frame, streamed with
   ``iter_audio`` so a long file never sits in memory (16 kHz is plenty for a level meter). Digital silence
   reads as ``FLOOR_DB`` (−120 dBFS).
2. Threshold: ``silence_db`` when given (e.g. −40 dBFS). When ``None`` it is *relative to the file*:
   ``AUTO_BELOW_P95_DB`` (25 dB) under the 95th percentile of the window levels (the level of the speech),
   clamped to ``AUTO_RANGE_DB`` (−60..−20 dBFS), so quiet recordings and loud ones are both cut sensibly.
   A window louder than the threshold is "sound".
3. Pauses: a run of quiet windows is removed only when it is at least ``min_silence_s`` long (short pauses
   between words and sentences stay); leading and trailing silences follow the same rule.
4. Margins: ``margin_s`` of the pause is kept after the sound before it and before the sound after it, so word
   endings and breaths are not clipped. The removed part is the pause minus both margins (when that is empty
   the pause stays).
5. Minimum clip: a kept clip shorter than ``min_clip_s`` (a click, a cough) is dropped.
6. Shot cuts (optional ``shots``, seconds): a clip start moves *earlier* to a shot cut within ``snap_s`` and
   a clip end moves *later* to one, so edits land on picture cuts; snapping only ever keeps more, never cuts
   into sound. Clips that then touch or overlap are merged.
7. Highlight score (optional): per clip, 0.5 × its mean loudness energy + 0.5 × its mean motion (absolute
   luma difference between frames sampled 5 times a second from a 64-pixel decode), each normalised by the
   largest clip value, so 1.0 is the loudest / busiest clip of the cut.

The analysis is not cached yet (see the package notes).
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput, InvalidMedia, UnsupportedMedia
from ..media import iter_audio, iter_frames, probe
from .timeline import Clip, Timeline, frame_rate, frames_to_seconds, frames_to_tc, seconds_to_frames

ANALYSIS_RATE = 16000
FLOOR_DB = -120.0
AUTO_BELOW_P95_DB = 25.0
AUTO_RANGE_DB = (-60.0, -20.0)
MOTION_SIDE = 64
MOTION_STEP_S = 0.2


@dataclass(frozen=True)
class AutoEditRequest:
    """What to cut. ``silence_db`` None → relative threshold (see module notes); ``shots`` are cut times in
    seconds to snap clip boundaries to (within ``snap_s``); ``highlights`` adds a loudness+motion score."""

    media: Path
    silence_db: float | None = None
    margin_s: float = 0.2
    min_clip_s: float = 0.5
    min_silence_s: float = 0.5
    shots: tuple[float, ...] = ()
    snap_s: float = 0.3
    highlights: bool = True

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["media"] = str(self.media)
        data["shots"] = list(self.shots)
        return data


@dataclass
class AutoEditResult:
    timeline: Timeline
    removed_s: float
    kept_s: float
    parameters: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        fps = self.timeline.fps
        return {
            "name": self.timeline.name, "fps": fps, "kept_s": round(self.kept_s, 3),
            "removed_s": round(self.removed_s, 3), "seconds": round(self.seconds, 3),
            "parameters": self.parameters,
            "clips": [{"label": c.label, "src_in": round(c.src_in, 4), "src_out": round(c.src_out, 4),
                       "src_in_tc": frames_to_tc(c.frames(fps)[0], fps),
                       "src_out_tc": frames_to_tc(c.frames(fps)[1], fps),
                       "score": None if c.score is None else round(c.score, 3), "reason": c.reason}
                      for c in self.timeline.clips],
        }


# --------------------------------------------------------------------------------------------------------------
# 1. Loudness
# --------------------------------------------------------------------------------------------------------------
def window_energy(chunks: Iterable[np.ndarray], fps: float, sample_rate: int = ANALYSIS_RATE) -> np.ndarray:
    """Mean square per video-frame window from a stream of mono chunks (window k = samples
    ``[round(k*sr/fps), round((k+1)*sr/fps))``; the last partial window counts)."""
    rate = frame_rate(fps)
    bounds = lambda k: int(round(k * sample_rate / rate))
    energies: list[float] = []
    buf = np.zeros(0, dtype=np.float64)
    offset = 0  # sample index of buf[0]
    k = 0
    for chunk in chunks:
        buf = np.concatenate([buf, np.asarray(chunk, dtype=np.float64)])
        while bounds(k + 1) - offset <= buf.size:
            a, b = bounds(k) - offset, bounds(k + 1) - offset
            seg = buf[a:b]
            energies.append(float(np.mean(seg * seg)) if seg.size else 0.0)
            k += 1
        cut = bounds(k) - offset
        buf, offset = buf[cut:], offset + cut
    if buf.size:
        energies.append(float(np.mean(buf * buf)))
    return np.asarray(energies, dtype=np.float64)


def to_db(energy: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(FLOOR_DB, 10.0 * np.log10(np.maximum(energy, 1e-30)))


def auto_threshold(db: np.ndarray) -> float:
    if db.size == 0:
        return AUTO_RANGE_DB[0]
    return float(np.clip(np.percentile(db, 95) - AUTO_BELOW_P95_DB, *AUTO_RANGE_DB))


# --------------------------------------------------------------------------------------------------------------
# 2. Cut planning (pure: frame numbers in, frame ranges out)
# --------------------------------------------------------------------------------------------------------------
def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of the True runs."""
    if mask.size == 0:
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def plan_cuts(sound: np.ndarray, fps: float, *, margin_s: float = 0.2, min_clip_s: float = 0.5,
              min_silence_s: float = 0.5, shots: Iterable[float] = (), snap_s: float = 0.3,
              total_frames: int | None = None) -> list[tuple[int, int]]:
    """Kept ``[in, out)`` frame ranges from a per-frame "sound" mask (rules 3-6 of the module notes)."""
    n = int(total_frames if total_frames is not None else sound.size)
    margin = seconds_to_frames(margin_s, fps)
    min_sil = max(1, seconds_to_frames(min_silence_s, fps))
    min_clip = seconds_to_frames(min_clip_s, fps)
    runs = _runs(np.asarray(sound, dtype=bool)[:n])
    if not runs:
        return []
    # 3. Close pauses shorter than min_silence (between runs; leading/trailing handled by the margins below).
    merged = [list(runs[0])]
    for a, b in runs[1:]:
        if a - merged[-1][1] < min_sil:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    # Leading / trailing silence shorter than min_silence stays.
    if merged[0][0] < min_sil:
        merged[0][0] = 0
    if n - merged[-1][1] < min_sil:
        merged[-1][1] = n
    # 4. Margins (merge again where the margins meet, i.e. the pause minus both margins is empty).
    kept: list[list[int]] = []
    for a, b in merged:
        a, b = max(0, a - margin), min(n, b + margin)
        if kept and a <= kept[-1][1]:
            kept[-1][1] = max(kept[-1][1], b)
        else:
            kept.append([a, b])
    # 5. Minimum clip length.
    kept = [r for r in kept if r[1] - r[0] >= max(1, min_clip)]
    # 6. Snap outwards to shot cuts, then merge what touches.
    cuts = sorted(seconds_to_frames(t, fps) for t in shots if 0 <= t)
    snap = seconds_to_frames(snap_s, fps)
    if cuts and snap > 0:
        for r in kept:
            before = [c for c in cuts if r[0] - snap <= c <= r[0]]
            after = [c for c in cuts if r[1] <= c <= min(n, r[1] + snap)]
            if before:
                r[0] = before[0]
            if after:
                r[1] = after[-1]
        out: list[list[int]] = []
        for r in kept:
            if out and r[0] <= out[-1][1]:
                out[-1][1] = max(out[-1][1], r[1])
            else:
                out.append(r)
        kept = out
    return [(a, b) for a, b in kept]


# --------------------------------------------------------------------------------------------------------------
# 3. Highlight score
# --------------------------------------------------------------------------------------------------------------
def motion_curve(path: Path, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """``(times, energy)``: mean absolute luma difference between frames sampled every ``MOTION_STEP_S``."""
    times, values, prev = [], [], None
    for frame in iter_frames(path, max_side=MOTION_SIDE, step_s=MOTION_STEP_S, ctx=ctx):
        luma = frame.image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        if prev is not None and prev.shape == luma.shape:
            times.append(frame.time_s)
            values.append(float(np.mean(np.abs(luma - prev))) / 255.0)
        prev = luma
    return np.asarray(times), np.asarray(values)


def highlight_scores(ranges: list[tuple[int, int]], energy: np.ndarray, motion: tuple[np.ndarray, np.ndarray],
                     fps: float) -> list[float]:
    loud = np.array([float(np.mean(energy[a:b])) if b > a and a < energy.size else 0.0 for a, b in ranges])
    times, values = motion
    move = []
    for a, b in ranges:
        sel = (times >= frames_to_seconds(a, fps)) & (times < frames_to_seconds(b, fps))
        move.append(float(np.mean(values[sel])) if sel.any() else 0.0)
    move = np.asarray(move)
    norm = lambda v: v / v.max() if v.size and v.max() > 0 else np.zeros_like(v)
    return [float(x) for x in 0.5 * norm(np.sqrt(loud)) + 0.5 * norm(move)]


# --------------------------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------------------------
def _check(request: AutoEditRequest) -> None:
    for name in ("margin_s", "min_clip_s", "min_silence_s", "snap_s"):
        value = getattr(request, name)
        if not (math.isfinite(value) and 0 <= value <= 60):
            raise InvalidInput(f"{name} must be between 0 and 60 seconds, not {value}.")
    if request.silence_db is not None and not (-120 < request.silence_db < 0):
        raise InvalidInput(f"silence_db must be between -120 and 0 dBFS, not {request.silence_db}.")
    if any(not math.isfinite(t) or t < 0 for t in request.shots):
        raise InvalidInput("shot cut times must be seconds of 0 or more.")


class AutoEditor(Engine[AutoEditRequest, AutoEditResult]):
    """Silence-based rough cut (CPU, no model)."""

    kind, name = "autoedit", "lite"

    def run(self, request: AutoEditRequest, ctx: Context | None = None) -> AutoEditResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()
        # 1. Check inputs
        _check(request)
        path = Path(request.media)
        info = probe(path)
        if info.video is None:
            raise UnsupportedMedia(f"{path.name} has no video stream: the rough cut needs a video.")
        if info.audio is None:
            raise InvalidMedia(f"{path.name} has no audio: nothing to cut on silence.")
        fps = info.fps or 25.0
        ctx.report(0.02, "Measuring loudness")
        # 2. Loudness per frame, streamed
        duration = info.duration_s or 0.0
        energy = window_energy(_reporting(iter_audio(path, sample_rate=ANALYSIS_RATE, ctx=ctx), ctx, duration,
                                          0.02, 0.5 if request.highlights else 0.9), fps)
        total = seconds_to_frames(duration, fps) if duration > 0 else energy.size
        if energy.size < total:
            energy = np.concatenate([energy, np.zeros(total - energy.size)])
        db = to_db(energy[:total])
        threshold = request.silence_db if request.silence_db is not None else auto_threshold(db)
        # 3. Plan the cuts
        ranges = plan_cuts(db > threshold, fps, margin_s=request.margin_s, min_clip_s=request.min_clip_s,
                           min_silence_s=request.min_silence_s, shots=request.shots, snap_s=request.snap_s,
                           total_frames=total)
        if not ranges:
            raise InvalidMedia(f"{path.name} has no sound above {threshold:.1f} dBFS: nothing to keep.")
        # 4. Highlight scores
        scores: list[float | None] = [None] * len(ranges)
        if request.highlights:
            ctx.report(0.5, "Measuring motion")
            scores = highlight_scores(ranges, energy, motion_curve(path, ctx.sub(0.5, 0.95)), fps)
        # 5. Timeline
        clips = []
        for i, ((a, b), score) in enumerate(zip(ranges, scores)):
            clips.append(Clip(source=str(path.resolve()), src_in=frames_to_seconds(a, fps),
                              src_out=frames_to_seconds(b, fps), label=f"{path.stem} {i + 1:03d}",
                              reason=f"sound above {threshold:.1f} dBFS, {request.margin_s:g}s margins",
                              score=score))
        width = info.video.display_width if info.video else 0
        height = info.video.display_height if info.video else 0
        timeline = Timeline(name=f"{path.stem} rough cut", fps=fps, width=width, height=height, clips=clips)
        kept = timeline.duration
        parameters = {**request.as_dict(), "threshold_db": round(threshold, 2),
                      "threshold": "given" if request.silence_db is not None else
                      f"auto: p95 - {AUTO_BELOW_P95_DB:g} dB clamped to {AUTO_RANGE_DB}"}
        ctx.report(1.0, f"Kept {len(clips)} clips, {kept:.1f}s")
        return AutoEditResult(timeline=timeline, kept_s=kept, removed_s=max(0.0, frames_to_seconds(total, fps) - kept),
                              parameters=parameters, seconds=time.perf_counter() - started)


def _reporting(chunks: Iterable[np.ndarray], ctx: Context, duration: float, start: float, end: float):
    done = 0
    for i, chunk in enumerate(chunks):
        done += chunk.shape[-1]
        if duration > 0 and i % 64 == 0:
            ctx.report(start + (end - start) * min(1.0, done / ANALYSIS_RATE / duration), "Measuring loudness")
        yield chunk
