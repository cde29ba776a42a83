"""Deleted words → the ranges of media to keep → a ``Timeline`` (the same one the rough cut exports and renders).

The rules for one run of consecutive deleted words, between the kept word before it (``prev``) and after it
(``next``):

1. Bounds: the cut starts no earlier than ``prev.end + margin`` and ends no later than ``next.start - margin``
   (rounded inwards to frames), so a kept word is never clipped. The margin shrinks to a quarter of the room
   between the kept words when Whisper's times leave less than that. With no ``prev`` the cut starts at 0, with
   no ``next`` it runs to the end of the media.
2. Snapping: with a per-frame loudness curve (``energy_curve``), the cut start moves *later* by up to
   ``snap_window_s`` to end the kept part on the quietest frame, and the cut end moves *earlier* by up to
   ``snap_window_s`` to start the next kept part on the quietest frame (frames within ``TIE_DB`` of the
   quietest count as equal; the one nearest the bound wins). Snapping only moves inwards, into the gap.
3. Kept ranges are the complement of the cuts in ``[0, duration]``, every boundary on the frame grid, so the
   render (``render_mp4``) is exactly ``sum(out - in)`` long.
4. ``remove_spans`` (seconds: accepted pauses or "unheard" fillers) are cut too, minus every kept word padded by
   the margin, rounded inwards to frames and not snapped.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..autoedit.analyse import ANALYSIS_RATE, to_db, window_energy
from ..autoedit.timeline import Clip, Timeline, frame_rate, frames_to_seconds
from ..context import Context
from ..errors import InvalidInput

TIE_DB = 1.5


def energy_curve(media: Path | np.ndarray, fps: float, *, sample_rate: int = ANALYSIS_RATE,
                 ctx: Context | None = None) -> np.ndarray:
    """Loudness in dBFS per video frame (``autoedit.window_energy`` + ``to_db``) of a media file (streamed at
    16 kHz mono) or of mono ``samples`` at ``sample_rate``."""
    if isinstance(media, np.ndarray):
        return to_db(window_energy([np.asarray(media, dtype=np.float64).reshape(-1)], fps, sample_rate))
    from ..media import iter_audio

    return to_db(window_energy(iter_audio(Path(media), sample_rate=ANALYSIS_RATE, ctx=ctx), fps, ANALYSIS_RATE))


def _frame(seconds: float, fps: float, up: bool) -> int:
    x = seconds * float(frame_rate(fps))
    return int(math.ceil(x - 1e-6)) if up else int(math.floor(x + 1e-6))


def _quietest(candidates: range, level: Any, nominal: int) -> int:
    """The candidate boundary with the quietest ``level(k)``; ties (within TIE_DB) go to the one nearest
    ``nominal``."""
    levels = [(k, level(k)) for k in candidates]
    known = [v for _, v in levels if v is not None]
    if not known:
        return nominal
    floor = min(known)
    quiet = [k for k, v in levels if v is not None and v <= floor + TIE_DB]
    return min(quiet, key=lambda k: abs(k - nominal))


def plan_transcript_cut(words: Sequence[Any], deleted: Iterable[int], *, duration: float,
                        energy_db: np.ndarray | None = None, fps: float, margin_s: float = 0.08,
                        snap_window_s: float = 0.25,
                        remove_spans: Sequence[tuple[float, float]] = ()) -> list[tuple[float, float]]:
    """Kept ``(in, out)`` ranges in seconds (on the frame grid of ``fps``) after deleting the word indices
    ``deleted`` of ``words`` (objects with ``start``/``end``, sorted) and the time ``remove_spans`` (pauses,
    unheard fillers: rule 4). See the module notes for the rules."""
    # 1. Check inputs
    if not (math.isfinite(duration) and duration > 0):
        raise InvalidInput(f"duration must be a positive number of seconds, not {duration}.")
    if margin_s < 0 or snap_window_s < 0:
        raise InvalidInput("margin_s and snap_window_s must be 0 or more.")
    n = len(words)
    gone = sorted({int(i) for i in deleted})
    if gone and not (0 <= gone[0] and gone[-1] < n):
        raise InvalidInput(f"deleted word index out of range (0–{n - 1}).")
    total = _frame(duration, fps, up=False)  # whole frames only: never past the end of the media
    if total <= 0:
        return []
    if not gone and not remove_spans:
        return [(0.0, frames_to_seconds(total, fps))]
    if n and len(gone) == n:
        return []
    snap = _frame(snap_window_s, fps, up=False)
    db = None if energy_db is None else np.asarray(energy_db, dtype=np.float64)
    level = lambda k: None if db is None or not 0 <= k < db.size else float(db[k])
    # 2. Runs of consecutive deleted words → cuts [a, b) in frames
    runs: list[list[int]] = []
    for i in gone:
        if runs and runs[-1][1] == i:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    cuts: list[tuple[int, int]] = []
    for first, stop in runs:
        prev = words[first - 1] if first > 0 else None
        nxt = words[stop] if stop < n else None
        room = (nxt.start if nxt else duration) - (prev.end if prev else 0.0)
        margin = min(margin_s, max(0.0, room) / 4)
        a0 = _frame(prev.end + margin, fps, up=True) if prev else 0
        b0 = _frame(nxt.start - margin, fps, up=False) if nxt else total
        a0, b0 = max(0, a0), min(total, b0)
        if b0 <= a0:
            continue  # no whole frame between the kept words: nothing can be cut without clipping one
        # 3. Snap inwards: the last kept frame (a - 1) / the first kept frame (b) on the quietest frame — but only
        #    within the gap before the first deleted word / after the last one, so no deleted word is kept
        a_max = min(b0 - 1, a0 + snap, max(a0, _frame(words[first].start, fps, up=False)))
        b_min = max(b0 - snap, min(b0, _frame(words[stop - 1].end, fps, up=True)))
        a = a0 if not prev else _quietest(range(a0, a_max + 1), lambda k: level(k - 1), a0)
        b = b0 if not nxt else _quietest(range(max(a + 1, b_min), b0 + 1), level, b0)
        if b > a:
            cuts.append((a, b))
    # 4. Extra spans, minus the kept words and their margins
    gone_set = set(gone)
    guard = sorted((w.start - margin_s, w.end + margin_s) for i, w in enumerate(words) if i not in gone_set)
    for lo, hi in remove_spans:
        for g0, g1 in guard + [(math.inf, math.inf)]:
            if g0 > lo:
                a, b = _frame(lo, fps, up=True), _frame(min(hi, g0), fps, up=False)
                if b > a:
                    cuts.append((max(0, a), min(total, b)))
            lo = max(lo, g1)
            if lo >= hi:
                break
    # 5. The complement, on the frame grid
    kept, at = [], 0
    for a, b in sorted(cuts):
        if a > at:
            kept.append((at, a))
        at = max(at, b)
    if at < total:
        kept.append((at, total))
    return [(frames_to_seconds(a, fps), frames_to_seconds(b, fps)) for a, b in kept]


def to_timeline(source: str | Path, kept: Sequence[tuple[float, float]], *, name: str, fps: float, width: int,
                height: int, sample_rate: int = 48000, words: Sequence[Any] | None = None,
                label_words: int = 4) -> Timeline:
    """A ``Timeline`` of ``source`` with one clip per kept range, labelled with its first words (``words``:
    objects with ``start`` and ``text`` or ``word``) or numbered when no words are given."""
    if not kept:
        raise InvalidInput("Nothing is kept: every word was deleted.")
    clips = []
    for k, (a, b) in enumerate(kept, start=1):
        inside = [w for w in (words or []) if a <= w.start < b]
        text = " ".join(str(getattr(w, "text", None) or getattr(w, "word", "")) for w in inside[:label_words])
        label = (text + (" …" if len(inside) > label_words else "")) if text else f"{Path(source).stem} {k:03d}"
        clips.append(Clip(source=str(source), src_in=float(a), src_out=float(b), label=label,
                          reason="kept by transcript edit"))
    return Timeline(name=name, fps=fps, width=width, height=height, clips=clips, sample_rate=sample_rate)
