"""The animatic's sound: voice-over placed at its times over a music bed that ducks under it (numpy/scipy).

    mixed = mix(n, speech=[(samples, start_s), ...], music=bed, duck_db=-12, music_db=-6)   # float32 (2, n)

* Everything is 48 kHz stereo float32 (``RATE``); mono inputs are duplicated, more channels folded down.
* The music bed is looped (with a short crossfade at each seam) when shorter than the film, trimmed when longer,
  faded in over 50 ms and out over the last 2 s, and scaled by ``music_db`` (a gain on the file as it is).
* Ducking is a sidechain: the summed speech is the key. Its level is followed in 1 ms blocks (RMS, held for
  ``HOLD_S`` so the gaps between words do not count as silence), turned into a gain reduction by a soft-knee
  threshold (none below ``THRESHOLD_DB``, all of ``duck_db`` from ``KNEE_DB`` above it), and that gain is smoothed
  with attack ``ATTACK_S`` / release ``RELEASE_S`` ballistics in the dB domain (so the recovery takes the same time
  whatever the voice's level) and applied ``LOOKAHEAD_S`` early, so the bed is already down at the first syllable.
  The per-block gain is interpolated to every sample: no zipper noise, no click.
* A look-ahead peak limiter holds the sum under ``CEILING_DB`` (−1 dBFS) with no sample over it.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

RATE = 48000
ATTACK_S = 0.010
RELEASE_S = 0.250
HOLD_S = 0.35
LOOKAHEAD_S = 0.02
THRESHOLD_DB = -45.0
KNEE_DB = 6.0
BLOCK_S = 0.001
CEILING_DB = -1.0
FADE_IN_S = 0.05
FADE_OUT_S = 2.0
LOOP_SEAM_S = 0.03
_FLOOR_DB = -120.0


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def to_stereo(samples: np.ndarray) -> np.ndarray:
    """(n,) or (channels, n) → float32 (2, n): mono duplicated, more than two channels averaged into both."""
    s = np.asarray(samples, dtype=np.float32)
    if s.ndim == 1:
        s = s[None, :]
    if s.shape[0] == 2:
        return np.ascontiguousarray(s)
    if s.shape[0] == 1:
        return np.repeat(s, 2, axis=0)
    folded = s.mean(axis=0, keepdims=True)
    return np.repeat(folded, 2, axis=0)


def load_track(path: Path, *, duration_s: float | None = None, rate: int = RATE) -> np.ndarray:
    """Decode an audio (or video) file's sound as float32 (2, n) at ``rate`` (errors name the file)."""
    from ..media import read_audio

    return to_stereo(read_audio(Path(path), sample_rate=rate, mono=False, duration_s=duration_s))


# --------------------------------------------------------------------------------------------------------------
# Music bed
# --------------------------------------------------------------------------------------------------------------
def loop_to_length(music: np.ndarray, n: int, *, rate: int = RATE, seam_s: float = LOOP_SEAM_S) -> np.ndarray:
    """``music`` (2, m) repeated to ``n`` samples, each repeat crossfaded into the previous over ``seam_s``."""
    music = to_stereo(music)
    m = music.shape[1]
    if m == 0 or n == 0:
        return np.zeros((2, n), np.float32)
    if m >= n:
        return music[:, :n].copy()
    seam = min(int(seam_s * rate), m // 4)
    ramp = np.linspace(0.0, 1.0, seam, endpoint=False, dtype=np.float32)
    out = np.empty((2, n), np.float32)
    out[:, :m] = music
    pos = m - seam  # where the next repeat starts (its first ``seam`` samples overlap the previous one's last)
    while pos < n:
        k = min(seam, n - pos)
        out[:, pos:pos + k] = out[:, pos:pos + k] * (1.0 - ramp[:k]) + music[:, :k] * ramp[:k]
        end = min(n, pos + m)
        out[:, pos + k:end] = music[:, k:end - pos]
        pos += m - seam
    return out


def fades(n: int, *, rate: int = RATE, fade_in_s: float = FADE_IN_S, fade_out_s: float = FADE_OUT_S) -> np.ndarray:
    """Gain (n,) rising over ``fade_in_s`` and falling to silence over the last ``fade_out_s`` (each at most half
    of ``n``); the fade-out is a raised-cosine, so the end has no corner."""
    gain = np.ones(n, np.float32)
    k_in = min(int(fade_in_s * rate), n // 2)
    if k_in:
        gain[:k_in] = np.linspace(0.0, 1.0, k_in, endpoint=False)
    k_out = min(int(fade_out_s * rate), n // 2)
    if k_out:
        gain[n - k_out:] *= (0.5 + 0.5 * np.cos(np.linspace(0.0, math.pi, k_out))).astype(np.float32)
    return gain


# --------------------------------------------------------------------------------------------------------------
# Sidechain ducking
# --------------------------------------------------------------------------------------------------------------
def _smooth_db(target: np.ndarray, block_s: float, attack_s: float, release_s: float) -> np.ndarray:
    """Attack/release ballistics on a gain in dB (more negative = more reduction): one-pole smoothing whose
    coefficient depends on whether the reduction is growing (attack) or shrinking (release)."""
    a_att = math.exp(-block_s / max(attack_s, 1e-6))
    a_rel = math.exp(-block_s / max(release_s, 1e-6))
    out = np.empty_like(target)
    state = 0.0
    for i, value in enumerate(target.tolist()):
        a = a_att if value < state else a_rel
        state = value + a * (state - value)
        out[i] = state
    return out


def _block_rms(mono: np.ndarray, block: int) -> np.ndarray:
    """RMS of each ``block`` samples (the last block may be shorter), without copying the signal."""
    n = mono.shape[0]
    full = n // block
    body = mono[: full * block].reshape(full, block)
    rms = np.sqrt(np.einsum("ij,ij->i", body, body, dtype=np.float64) / block)
    if n > full * block:
        tail = mono[full * block:].astype(np.float64)
        rms = np.append(rms, np.sqrt(np.mean(tail * tail)))
    return rms


def _upsample(values: np.ndarray, block: int, n: int) -> np.ndarray:
    """Per-block values (taken at block centres) → ``n`` samples, linear between blocks (float32)."""
    edges = np.concatenate([values[:1], (values[:-1] + values[1:]) / 2, values[-1:]]).astype(np.float32)
    ramp = np.arange(block, dtype=np.float32) / block
    out = edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * ramp[None, :]
    return out.reshape(-1)[:n]


def duck_gain(key: np.ndarray, duck_db: float, *, rate: int = RATE, threshold_db: float = THRESHOLD_DB,
              knee_db: float = KNEE_DB, attack_s: float = ATTACK_S, release_s: float = RELEASE_S,
              hold_s: float = HOLD_S, lookahead_s: float = LOOKAHEAD_S, block_s: float = BLOCK_S) -> np.ndarray:
    """Per-sample gain (n,) for the music, from the sidechain ``key`` (the summed speech, (n,) or (ch, n))."""
    key = np.asarray(key, dtype=np.float32)
    if key.ndim == 2:
        key = key.mean(axis=0, dtype=np.float32)
    n = key.shape[0]
    if n == 0 or duck_db >= 0:
        return np.ones(n, np.float32)
    block = max(1, int(round(block_s * rate)))
    rms = _block_rms(key, block)
    blocks = rms.shape[0]
    level_db = 20.0 * np.log10(np.maximum(rms, 10 ** (_FLOOR_DB / 20)))
    # Hold: the level of a block is the loudest of the last ``hold_s`` (bridges the gaps between words).
    hold = max(1, int(round(hold_s / block_s)))
    level_db = maximum_filter1d(level_db, size=hold, origin=(hold - 1) // 2, mode="nearest")
    # Gain computer: no reduction below the threshold, all of duck_db from knee_db above it (linear in between).
    amount = np.clip((level_db - threshold_db) / max(knee_db, 1e-6), 0.0, 1.0)
    gain_db = _smooth_db(amount * duck_db, block / rate, attack_s, release_s)
    # Look-ahead: apply each gain a little early (the speech is known in advance), then one value per sample.
    shift = min(blocks - 1, int(round(lookahead_s / block_s)))
    if shift > 0:
        gain_db = np.concatenate([gain_db[shift:], np.full(shift, gain_db[-1])])
    return _upsample(10.0 ** (gain_db / 20.0), block, n)


# --------------------------------------------------------------------------------------------------------------
# Peak limiter
# --------------------------------------------------------------------------------------------------------------
def limit(x: np.ndarray, *, ceiling_db: float = CEILING_DB, rate: int = RATE, lookahead_s: float = 0.005,
          release_s: float = 0.08, in_place: bool = False) -> np.ndarray:
    """A look-ahead peak limiter linked across channels: no sample of the result is above ``ceiling_db``.

    The gain each sample needs is spread back over ``lookahead_s`` and held for ``release_s`` (a minimum
    filter), then smoothed with a moving average shorter than the look-ahead, so it ramps down before a peak and
    back up after it instead of clipping; a final clip catches rounding. ``x`` is (n,) or (channels, n)."""
    x = np.asarray(x, dtype=np.float32)
    out = x if in_place else x.copy()
    ceiling = np.float32(db_to_gain(ceiling_db))
    frames = out if out.ndim == 2 else out[None, :]
    if frames.size == 0:
        return out
    peak = np.abs(frames[0])
    for channel in frames[1:]:
        np.maximum(peak, np.abs(channel), out=peak)
    if float(peak.max()) <= ceiling:
        return out
    np.maximum(peak, np.float32(1e-12), out=peak)
    need = np.divide(ceiling, peak, out=peak)  # the gain each sample needs (re-using the buffer)
    np.minimum(need, np.float32(1.0), out=need)
    ahead = max(1, int(round(lookahead_s * rate)))
    after = max(1, int(round(release_s * rate)))
    size = ahead + after + 1
    # minimum over [i - after, i + ahead]: starts ``ahead`` samples before a peak, lasts ``after`` after it.
    held = minimum_filter1d(need, size=size, origin=after - size // 2, mode="nearest")
    del need, peak
    gain = uniform_filter1d(held, size=ahead, mode="nearest")  # a window inside the hold: never above the need
    del held
    frames *= gain[None, :]
    np.clip(frames, -ceiling, ceiling, out=frames)
    return out


# --------------------------------------------------------------------------------------------------------------
# The mix
# --------------------------------------------------------------------------------------------------------------
def place(tracks: list[tuple[np.ndarray, float]], n: int, *, rate: int = RATE) -> np.ndarray:
    """Sum of ``(samples, start_s)`` tracks laid on a silent (2, n) timeline (cut at its end)."""
    out = np.zeros((2, n), np.float32)
    for samples, start_s in tracks:
        s = to_stereo(samples)
        start = int(round(start_s * rate))
        if start >= n:
            continue
        src = s[:, max(0, -start):]
        start = max(0, start)
        k = min(src.shape[1], n - start)
        out[:, start:start + k] += src[:, :k]
    return out


def mix(n: int, *, speech: list[tuple[np.ndarray, float]] = (), music: np.ndarray | None = None,
        duck_db: float = -12.0, music_db: float = -6.0, rate: int = RATE, ceiling_db: float = CEILING_DB,
        fade_out_s: float = FADE_OUT_S) -> np.ndarray:
    """The finished soundtrack, float32 (2, n): speech at its times over the ducked, faded music bed, limited.

    Works in place where it can: about three (2, n) float32 arrays at the peak, whatever the number of tracks."""
    out = place(list(speech), n, rate=rate)
    if music is not None and to_stereo(music).shape[1]:
        gain = fades(n, rate=rate, fade_out_s=fade_out_s)
        gain *= np.float32(db_to_gain(music_db))
        if speech:
            gain *= duck_gain(out, duck_db, rate=rate)
        bed = loop_to_length(music, n, rate=rate)
        bed *= gain[None, :]
        del gain
        out += bed
        del bed
    return limit(out, ceiling_db=ceiling_db, rate=rate, in_place=True)
