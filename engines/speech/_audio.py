"""Sentence audio → one voice-over: trim each sentence's silence, join them with pauses, resample, time them."""
from __future__ import annotations

from math import gcd

import numpy as np

from .types import SpeechSegment

#: A sentence that ends with one of these gets the full pause after it; a piece cut from a long sentence half.
_TERMINAL = ".!?…\"'”’»)]"


def trim(samples: np.ndarray, rate: int, *, threshold: float = 0.01, margin_s: float = 0.02) -> np.ndarray:
    """``samples`` (n,) float without the near-silence at either end (keeping ``margin_s`` around the sound).

    The threshold is relative to the piece's peak, so quiet and loud voices are trimmed alike. A silent piece
    comes back empty."""
    if samples.size == 0:
        return samples
    level = np.abs(samples)
    peak = float(level.max())
    if peak <= 1e-4:
        return samples[:0]
    loud = np.flatnonzero(level > threshold * peak)
    margin = int(round(margin_s * rate))
    return samples[max(0, loud[0] - margin):min(samples.size, loud[-1] + 1 + margin)]


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling (scipy) of (n,) float samples from ``rate`` to ``target`` Hz."""
    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly  # imported here: only needed when the rates differ

    g = gcd(int(rate), int(target))
    return resample_poly(samples.astype(np.float64), target // g, rate // g).astype(np.float32)


def join(pieces: list[np.ndarray], texts: list[str], rate: int, pause_s: float) -> tuple[np.ndarray,
                                                                                         list[SpeechSegment]]:
    """Concatenate sentence audio with ``pause_s`` of silence after a full sentence (half after a piece of one).

    Returns the float32 samples (n,) at ``rate`` and one segment per piece, timed in the joined audio: the first
    starts at 0, the last ends at the end, and the gaps between them are the pauses."""
    out: list[np.ndarray] = []
    segments: list[SpeechSegment] = []
    position = 0
    for i, (piece, text) in enumerate(zip(pieces, texts)):
        if i:
            previous = texts[i - 1].rstrip()
            pause = pause_s if previous and previous[-1] in _TERMINAL else pause_s / 2
            gap = int(round(pause * rate))
            out.append(np.zeros(gap, dtype=np.float32))
            position += gap
        segments.append(SpeechSegment(text, position / rate, (position + piece.size) / rate))
        out.append(piece.astype(np.float32, copy=False))
        position += piece.size
    samples = np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
    return samples, segments


def retime(segments: list[SpeechSegment], n: int, rate: int) -> list[SpeechSegment]:
    """Clamp segment ends to the resampled length ``n`` (rounding can shorten it by a sample)."""
    end = n / rate
    return [SpeechSegment(s.text, min(s.start_s, end), min(s.end_s, end)) for s in segments]
