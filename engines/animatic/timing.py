"""Scene lengths fitted to their speech, and where scenes, speech and captions lie on the output timeline.

    duration_i = max(min_duration_s_i, speech_i + 2 * pad)
    start_i    = sum(duration_j for j < i) - i * crossfade        (consecutive scenes overlap by the crossfade)
    total      = sum(durations) - crossfade * (n - 1)
    speech_i starts at start_i + pad

The crossfade must be shorter than half the shortest scene, so that at most two scenes overlap at any time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidInput
from .types import Caption


def fit_duration(min_duration_s: float, speech_s: float | None, pad_s: float) -> float:
    """A scene lasts at least ``min_duration_s`` and long enough for its speech with ``pad_s`` either side."""
    if speech_s is None or speech_s <= 0:
        return float(min_duration_s)
    return max(float(min_duration_s), float(speech_s) + 2.0 * float(pad_s))


@dataclass(frozen=True)
class Timeline:
    durations: tuple[float, ...]
    spans: tuple[tuple[float, float], ...]
    speech_starts: tuple[float | None, ...]  # seconds on the output timeline (None: the scene has no speech)
    crossfade_s: float
    total_s: float

    def frame_count(self, fps: int) -> int:
        return max(1, int(round(self.total_s * fps)))

    def active(self, time_s: float, first: int = 0) -> list[int]:
        """Indices of the scenes visible at ``time_s`` (one, or two during a crossfade), searching from
        ``first`` (scenes before it are known to have ended)."""
        found = []
        for i in range(first, len(self.spans)):
            start, end = self.spans[i]
            if start > time_s:
                break
            if time_s < end or i == len(self.spans) - 1:
                found.append(i)
        return found or [len(self.spans) - 1]


def plan(durations: list[float], crossfade_s: float, *, speech_s: list[float | None] | None = None,
         pad_s: float = 0.0) -> Timeline:
    """Place scenes of the given lengths on one timeline; raise ``InvalidInput`` when the crossfade is too long."""
    if not durations:
        raise InvalidInput("An animatic needs at least one scene.")
    shortest = min(range(len(durations)), key=lambda i: durations[i])
    if len(durations) > 1 and crossfade_s > 0 and not crossfade_s < durations[shortest] / 2:
        raise InvalidInput(
            f"The crossfade ({crossfade_s:g} s) must be shorter than half the shortest scene: scene "
            f"{shortest + 1} lasts {durations[shortest]:.2f} s, so use a crossfade under "
            f"{durations[shortest] / 2:.2f} s or lengthen that scene.")
    fade = crossfade_s if len(durations) > 1 else 0.0
    spans, start = [], 0.0
    for d in durations:
        spans.append((start, start + d))
        start += d - fade
    speech = speech_s or [None] * len(durations)
    starts = tuple(None if s is None or s <= 0 else spans[i][0] + pad_s for i, s in enumerate(speech))
    return Timeline(tuple(durations), tuple(spans), starts, fade, spans[-1][1])


def place_captions(timeline: Timeline, captions: list[tuple[Caption, ...]]) -> list[Caption]:
    """Each scene's captions moved onto the output timeline, cut at the scene's end (those starting after it are
    dropped), sorted by start."""
    placed: list[Caption] = []
    for (start, end), scene_captions in zip(timeline.spans, captions):
        for c in scene_captions:
            a, b = start + c.start_s, min(end, start + c.end_s)
            if b - a > 1e-3:
                placed.append(Caption(a, b, c.text))
    placed.sort(key=lambda c: (c.start_s, c.end_s))
    return placed


def seconds_to_samples(seconds: float, rate: int) -> int:
    return int(math.floor(seconds * rate + 0.5))
