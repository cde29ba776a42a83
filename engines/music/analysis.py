"""Key and tempo of a reference recording (numpy/scipy): what the lite composer takes from a ``melody`` file.

* key: a chroma vector (STFT energy folded onto the 12 pitch classes, 55 Hz–2 kHz) correlated with the
  Krumhansl–Kessler major and minor key profiles in all 12 transpositions;
* tempo: autocorrelation of a spectral-flux onset envelope, the strongest lag between 60 and 180 BPM
  (with a mild preference for the 80–160 range against octave errors).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from ..context import Context
from ..errors import Cancelled, InvalidInput, ReelsmithError
from .types import key_name

ANALYSIS_RATE = 16000
MAX_REFERENCE_S = 120.0

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def read_reference(path: Path, sample_rate: int, ctx: Context | None = None,
                   max_s: float = MAX_REFERENCE_S) -> np.ndarray:
    """The file's audio as mono float32 at ``sample_rate``; any decoding problem becomes ``InvalidInput``."""
    from ..media import read_audio

    path = Path(path)
    try:
        samples = read_audio(path, sample_rate=sample_rate, mono=True, duration_s=max_s, ctx=ctx)
    except Cancelled:
        raise
    except ReelsmithError as exc:
        raise InvalidInput(f"Melody file {path.name} cannot be used: {exc}") from exc
    if samples.size < sample_rate // 4 or not np.any(samples):
        raise InvalidInput(f"Melody file {path.name} is silent or shorter than a quarter of a second.")
    return samples.astype(np.float32)


def chroma(samples: np.ndarray, sr: int, fmin: float = 55.0, fmax: float = 2000.0) -> np.ndarray:
    """Energy per pitch class (C=0 … B=11), normalised to sum to 1."""
    nfft = 8192 if sr >= 16000 else 4096
    _, _, spec = signal.stft(samples, fs=sr, nperseg=nfft, noverlap=nfft // 2, boundary=None)
    power = (np.abs(spec) ** 2).sum(axis=1)
    freqs = np.fft.rfftfreq(nfft, 1.0 / sr)
    keep = (freqs >= fmin) & (freqs <= fmax)
    pcs = np.round(12 * np.log2(freqs[keep] / 440.0)).astype(int) % 12
    pcs = (pcs + 9) % 12  # A=9
    out = np.bincount(pcs, weights=power[keep], minlength=12)
    total = out.sum()
    return out / total if total > 0 else out


def estimate_key(samples: np.ndarray, sr: int) -> tuple[int, str, float]:
    """(tonic pitch class, "major" | "minor", correlation) of the best-matching key profile."""
    c = chroma(samples, sr)
    best = (0, "major", -2.0)
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(c, np.roll(profile, tonic))[0, 1])
            if r > best[2]:
                best = (tonic, mode, r)
    return best


def onset_envelope(samples: np.ndarray, sr: int, hop: int) -> np.ndarray:
    """Half-wave rectified spectral flux of the log spectrum, one value per ``hop`` samples."""
    nfft = 4 * hop
    _, _, spec = signal.stft(samples, fs=sr, nperseg=nfft, noverlap=nfft - hop, boundary=None)
    logmag = np.log1p(100.0 * np.abs(spec))
    flux = np.maximum(0.0, np.diff(logmag, axis=1)).sum(axis=0)
    return flux - flux.mean()


def estimate_tempo(samples: np.ndarray, sr: int, lo: float = 60.0, hi: float = 180.0) -> tuple[float, float]:
    """(BPM, strength 0..1) from the onset envelope's autocorrelation; strength is the peak's normalised value."""
    hop = max(1, sr // 200)  # 5 ms frames
    env = onset_envelope(samples, sr, hop)
    if env.size < 10 or not np.any(env):
        return 0.0, 0.0
    frame_rate = sr / hop
    ac = signal.fftconvolve(env, env[::-1])[env.size - 1:]
    ac /= ac[0] if ac[0] > 0 else 1.0
    lags = np.arange(ac.size)
    bpm = np.where(lags > 0, 60.0 * frame_rate / np.maximum(lags, 1), np.inf)
    window = (bpm >= lo) & (bpm <= hi)
    if not np.any(window):
        return 0.0, 0.0
    weight = np.exp(-0.5 * (np.log2(np.where(window, bpm, 120.0) / 120.0) / 1.0) ** 2)
    score = np.where(window, ac * weight, -np.inf)
    k = int(np.argmax(score))
    if 0 < k < ac.size - 1:  # parabolic interpolation of the peak
        a, b, c = ac[k - 1], ac[k], ac[k + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom != 0 else 0.0
    else:
        shift = 0.0
    return float(60.0 * frame_rate / (k + shift)), float(max(0.0, ac[k]))


def describe_reference(path: Path, ctx: Context | None = None) -> dict[str, Any]:
    """Key and tempo of a reference file (tempo only when the beat is clear enough)."""
    samples = read_reference(path, ANALYSIS_RATE, ctx)
    tonic, mode, key_r = estimate_key(samples, ANALYSIS_RATE)
    bpm, strength = estimate_tempo(samples, ANALYSIS_RATE)
    out: dict[str, Any] = {"file": Path(path).name, "key": key_name(tonic, mode), "key_confidence": round(key_r, 3)}
    if bpm > 0 and strength >= 0.1:
        out["tempo_bpm"] = round(bpm, 1)
        out["tempo_confidence"] = round(strength, 3)
    return out
