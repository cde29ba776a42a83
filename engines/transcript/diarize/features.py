"""Speaker features without a model: MFCCs (NumPy/SciPy only) and their statistics over sliding windows.

``mfcc`` follows the usual recipe (pre-emphasis 0.97, 25 ms Hamming frames every 10 ms, 40 HTK-mel bands up to
7.6 kHz, log, DCT-II) and drops c0 (loudness), so what is left describes the shape of the voice's spectrum.
``window_stats`` turns frames into one vector per window: the mean and standard deviation of each coefficient,
computed from cumulative sums so thousands of overlapping windows cost one pass.
"""
from __future__ import annotations

import numpy as np
from scipy.fft import dct, rfft

SAMPLE_RATE = 16_000
HOP = 160  # 10 ms: one feature frame per 160 samples
_WIN, _NFFT = 400, 512
BLOCK = 3000  # frames (30 s) per FFT batch


def _mel_filters(n_mels: int, n_fft: int, rate: int, f_min: float = 60.0, f_max: float = 7600.0) -> np.ndarray:
    def to_mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    mels = np.linspace(to_mel(f_min), to_mel(f_max), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (bins[None, :] - lower) / (centre - lower)
    down = (upper - bins[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


def mfcc(samples: np.ndarray, n_mfcc: int = 20, n_mels: int = 40) -> np.ndarray:
    """(frames, n_mfcc - 1) MFCCs c1..c{n_mfcc-1}, frame ``i`` starting at sample ``i * HOP``."""
    x = np.asarray(samples, dtype=np.float32)
    x = np.concatenate([x[:1], x[1:] - 0.97 * x[:-1]])
    if x.size < _WIN:
        x = np.pad(x, (0, _WIN - x.size))
    n = 1 + (x.size - _WIN) // HOP
    frames = np.lib.stride_tricks.as_strided(x, shape=(n, _WIN), strides=(x.strides[0] * HOP, x.strides[0]))
    window, filters = np.hamming(_WIN).astype(np.float32), _mel_filters(n_mels, _NFFT, SAMPLE_RATE).T
    out = np.empty((n, n_mfcc - 1), dtype=np.float32)
    for a in range(0, n, BLOCK):  # in blocks, so an hour of audio never becomes a gigabyte of spectra
        power = np.abs(rfft(frames[a:a + BLOCK] * window, n=_NFFT, axis=1)) ** 2
        out[a:a + BLOCK] = dct(np.log(power @ filters + 1e-8), type=2, norm="ortho", axis=1)[:, 1:n_mfcc]
    return out


def window_stats(features: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """Mean and standard deviation of ``features`` (frames × dims) inside each window of samples."""
    if not windows:
        return np.zeros((0, 2 * features.shape[1]), dtype=np.float32)
    f = features.astype(np.float64)
    zero = np.zeros((1, f.shape[1]))
    s1, s2 = np.concatenate([zero, np.cumsum(f, 0)]), np.concatenate([zero, np.cumsum(f * f, 0)])
    total = len(f)
    starts = np.clip(np.array([s for s, _ in windows]) // HOP, 0, total - 1)
    ends = np.clip(np.array([e for _, e in windows]) // HOP, starts + 1, total)
    count = (ends - starts)[:, None]
    mean = (s1[ends] - s1[starts]) / count
    var = np.maximum((s2[ends] - s2[starts]) / count - mean ** 2, 0.0)
    return np.hstack([mean, np.sqrt(var)]).astype(np.float32)
