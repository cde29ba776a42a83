"""Speech clean-up: ``lite`` spectral enhancer (here) and ``neural`` DeepFilterNet3 (``deepfilter.py``), same contract.

    result = DENOISE.create(EngineConfig(backend="lite")).run(DenoiseRequest(Path("in.mp4"), Path("out.wav")), ctx)

Both write a WAV (32-bit float by default, or 16-bit) at the input's sample rate with its channels (``mono=True``
downmixes first), to a temp name renamed into place; any file PyAV decodes is accepted.

``lite``, per channel, in 8 s blocks with 2 s margins and 50 ms crossfades (bounded memory, streamed):
1. STFT, frames of ~64 ms (a power of two), 75 % overlap, √Hann analysis and synthesis windows.
2. Noise PSD: minimum statistics (1.5 s windows, bias calibrated on white noise) as a start, then three rounds of
   a time–frequency speech-absence decision (power < 3 × the current estimate) and a masked average of the
   non-speech bins over ±0.2 s (±1 s where few bins are free; the minimum statistics where none are: no pauses).
3. Gain: a-priori SNR by the decision-directed rule (Ephraim–Malah, α = 0.95) run forwards and backwards (their
   gains' geometric mean), one more step from that gain's SNR (two-step noise reduction); log-spectral amplitude
   (MMSE-LSA) gain ≤ 1, weighted by the speech presence probability towards a −25 dB floor (OM-LSA, Cohen); the
   presence is median-filtered (3 frames, then 3 bins), so the attenuated background has no isolated peaks (musical
   noise: its 99.9th-percentile bin stands ~11 dB over its median, as in untouched noise).
4. Back-off: the block's SNR, from the noise estimate and from the level of its quietest 10 ms (see
   ``clean_segment``): full strength up to 18 dB, none from 30 dB (the audio passes unchanged), so clean speech
   is not made worse. ``strength`` scales the attenuation in dB.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput, InvalidMedia
from .wavio import WavSink

FORMATS = ("f32", "s16")
FRAME_S, BLOCK_S, MARGIN_S, FADE_S = 0.064, 8.0, 2.0, 0.05
ALPHA, XI_MIN, FLOOR_DB = 0.95, 1e-3, -25.0
SNR_FULL_DB, SNR_BYPASS_DB = 18.0, 30.0


@dataclass(frozen=True)
class DenoiseRequest:
    """``strength`` 0..1 (0: unchanged); ``mono`` downmixes first; ``sample_format`` "f32" or "s16"."""

    media: Path
    out: Path
    strength: float = 1.0
    mono: bool = False
    sample_format: str = "f32"

    def as_dict(self) -> dict[str, Any]:
        return {"media": str(self.media), "out": str(self.out), "strength": self.strength, "mono": self.mono,
                "sample_format": self.sample_format}


@dataclass
class DenoiseResult:
    """``noise_floor_db``: RMS level of the input's noise (dBFS; neural: of what it removed); ``snr_db``: the
    input's estimated speech-to-noise ratio; ``applied``: strength after the clean-speech back-off (lite)."""

    out: Path
    sample_rate: int
    channels: int
    duration_s: float
    seconds: float
    rtf: float
    noise_floor_db: float
    snr_db: float
    backend: str
    applied: float = 1.0
    downmixed: bool = False
    notes: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "sample_rate": self.sample_rate, "channels": self.channels,
                "duration_s": round(self.duration_s, 3), "seconds": round(self.seconds, 3),
                "rtf": round(self.rtf, 4), "noise_floor_db": round(self.noise_floor_db, 1),
                "snr_db": round(self.snr_db, 1), "backend": self.backend, "applied": round(self.applied, 3),
                "downmixed": self.downmixed, "notes": self.notes, "parameters": self.parameters}


# --------------------------------------------------------------------------------------------------------------
# Input and output, shared with the neural backend
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    media: Path
    out: Path
    sample_rate: int
    channels: int
    expected: int  # samples, from the container's duration (for progress only)
    downmixed: bool
    notes: tuple[str, ...]


def open_source(request: DenoiseRequest) -> Source:
    """Check the request and probe the input (``InvalidInput``/``InvalidMedia`` with a message for the user)."""
    from ..media import probe

    if not (isinstance(request.strength, (int, float)) and 0.0 <= request.strength <= 1.0):
        raise InvalidInput(f"strength must be between 0 and 1, not {request.strength}.")
    if request.sample_format not in FORMATS:
        raise InvalidInput(f"sample_format must be one of {', '.join(FORMATS)}, not {request.sample_format!r}.")
    media, out = Path(request.media), Path(request.out)
    if out.suffix.lower() != ".wav":
        raise InvalidInput(f"The output must be a .wav file, not {out.name}.")
    if out.exists() and out.is_dir():
        raise InvalidInput(f"{out} is a folder; give a file name for the output.")
    if media.exists() and out.exists() and out.resolve() == media.resolve():
        raise InvalidInput("The output must not overwrite the input.")
    info = probe(media)
    if info.audio is None:
        raise InvalidMedia(f"{media.name} has no audio track.")
    rate, channels = int(info.audio.sample_rate), int(info.audio.channels)
    if rate < 1000 or channels < 1:
        raise InvalidMedia(f"{media.name}: its audio track has no usable sample rate or channels.")
    notes = ["strength 0: copied unchanged (levels not measured)"] if request.strength == 0 else []
    if request.mono and channels > 1:
        notes.append(f"downmixed {channels} channels to mono")
    elif channels > 2:
        notes.append(f"kept all {channels} channels, each cleaned on its own")
    expected = int(round((info.duration_s or 0.0) * rate))
    return Source(media, out, rate, 1 if request.mono else channels, expected, request.mono and channels > 1,
                  tuple(notes))


def read_chunks(src: Source, ctx: Context) -> Iterator[np.ndarray]:
    """The input at its own rate as float32 chunks of shape (channels, n)."""
    from ..media import iter_audio

    for chunk in iter_audio(src.media, sample_rate=src.sample_rate, mono=src.downmixed or src.channels == 1,
                            ctx=ctx):
        yield chunk[None, :] if chunk.ndim == 1 else chunk


def no_samples(src: Source) -> InvalidMedia:
    return InvalidMedia(f"{src.media.name}: its audio track is empty (0 seconds).")


# --------------------------------------------------------------------------------------------------------------
# DSP
# --------------------------------------------------------------------------------------------------------------
def frame_size(rate: int) -> tuple[int, int]:
    n = 1 << max(8, int(math.log2(FRAME_S * rate)))
    return n, n // 4


def stft(x: np.ndarray, n: int, hop: int) -> np.ndarray:
    window = np.sqrt(np.hanning(n + 1)[:-1])
    pad = np.pad(x, (n - hop, n))
    count = (pad.size - n) // hop + 1
    return np.fft.rfft(np.lib.stride_tricks.sliding_window_view(pad, n)[::hop][:count] * window, axis=-1)


def istft(spec: np.ndarray, n: int, hop: int, length: int) -> np.ndarray:
    frames = np.fft.irfft(spec, n, axis=-1) * np.sqrt(np.hanning(n + 1)[:-1])
    out = np.zeros((len(frames) - 1) * hop + n)
    for k in range(n // hop):  # overlap-add, one phase of the hop at a time
        part = frames[:, k * hop:(k + 1) * hop].reshape(-1)
        out[k * hop:k * hop + part.size] += part
    return out[n - hop:n - hop + length] / 2.0  # √Hann² at 75 % overlap sums to 2


LSA_LOG_V = (math.log(1e-10), math.log(60.0), 8192)  # table of exp(½E₁(v)) over log v; 1 above the top


@lru_cache(maxsize=1)
def _lsa_table() -> np.ndarray:
    from scipy.special import exp1

    low, high, size = LSA_LOG_V
    return np.append(np.exp(0.5 * exp1(np.exp(np.linspace(low, high, size)))), 1.0)


def _lsa(xi: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Ephraim–Malah log-spectral amplitude gain, ≤ 1 (exp(½E₁(v)) looked up: much quicker than ``exp1``)."""
    low, high, size = LSA_LOG_V
    ratio = xi / (1.0 + xi)
    index = (np.log(np.maximum(ratio * gamma, 1e-10)) - low) * ((size - 1) / (high - low)) + 0.5
    return np.minimum(ratio * _lsa_table()[np.minimum(index, size).astype(np.intp)], 1.0)


def _smooth(a: np.ndarray, fps: float, sigma_s: float) -> np.ndarray:
    """≈ Gaussian of ``sigma_s`` along time (two boxes), 3 bins along frequency."""
    from scipy.ndimage import uniform_filter1d

    w = max(1, int(round(math.sqrt(6.0 * (sigma_s * fps) ** 2 + 1.0))))
    for _ in range(2):
        a = uniform_filter1d(a, w, axis=0, mode="nearest")
    return uniform_filter1d(a, 3, axis=1, mode="nearest")


def _min_stats(power: np.ndarray, fps: float) -> np.ndarray:
    from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

    w = max(3, int(round(1.5 * fps)))
    low = minimum_filter1d(uniform_filter1d(power, max(1, int(round(0.04 * fps))), axis=0, mode="nearest"),
                           w, axis=0, mode="nearest")
    return uniform_filter1d(maximum_filter1d(low, w // 2, axis=0, mode="nearest"), w // 2, axis=0, mode="nearest")


def _pool(a: np.ndarray, q: int) -> np.ndarray:
    """Mean of each ``q`` frames (the smoothing below runs at ~25 frames a second: 4× less work at 48 kHz)."""
    pad = (-len(a)) % q
    return np.pad(a, ((0, pad), (0, 0)), mode="edge").reshape(-1, q, a.shape[1]).mean(axis=1) if q > 1 else a


@lru_cache(maxsize=16)
def _min_stats_bias(n: int, hop: int, rate: int) -> float:
    """mean / minimum-statistics estimate on white noise (a constant of the frame settings)."""
    q = max(1, round(rate / hop / 25))
    power = _pool(np.abs(stft(np.random.default_rng(0).standard_normal(20 * rate), n, hop)[:, 2:-2]) ** 2, q)
    return float(power.mean() / _min_stats(power, rate / hop / q).mean())


def estimate_noise(power: np.ndarray, rate: int, n: int, hop: int) -> np.ndarray:
    """Noise PSD (frames × bins) from the non-speech bins; see the module docstring, step 2."""
    from scipy.ndimage import uniform_filter1d

    q = max(1, round(rate / hop / 25))
    fps, k, frames = rate / hop / q, 3.0, len(power)
    est = _min_stats(_pool(power, q), fps) * _min_stats_bias(n, hop, rate)
    unbias = (1 - (1 + k) * math.exp(-k)) / (1 - math.exp(-k))  # mean of an exponential cut at k × its mean
    for _ in range(3):
        free = power < k * np.repeat(est, q, axis=0)[:frames]
        pooled_free, pooled = _pool(free.astype(power.dtype), q), _pool(np.where(free, power, 0.0), q)
        near, wide_free = _smooth(pooled_free, fps, 0.2), _smooth(pooled_free, fps, 1.0)
        local = _smooth(pooled, fps, 0.2) / np.maximum(near, 1e-9) / unbias
        wide = np.where(wide_free > 0.02, _smooth(pooled, fps, 1.0) / np.maximum(wide_free, 1e-9) / unbias, est)
        weight = near / (near + 0.1)
        est = weight * local + (1 - weight) * wide
    est = np.repeat(est, q, axis=0)[:frames]
    return np.maximum(uniform_filter1d(est, q, axis=0, mode="nearest") if q > 1 else est, 1e-20)


def _decision_directed(power: np.ndarray, noise: np.ndarray, reverse: bool) -> np.ndarray:
    gains = np.empty_like(power)
    gamma = power / noise
    clean = np.zeros(power.shape[1])
    for t in (range(len(power) - 1, -1, -1) if reverse else range(len(power))):
        xi = np.maximum(ALPHA * clean / noise[t] + (1 - ALPHA) * np.maximum(gamma[t] - 1.0, 0.0), XI_MIN)
        gains[t] = g = _lsa(xi, gamma[t])
        clean = g * g * power[t]
    return gains


def _analyse(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, hop = frame_size(rate)
    spec = stft(x.astype(np.float64), n, hop)
    power = spec.real ** 2 + spec.imag ** 2
    return spec, power, estimate_noise(power, rate, n, hop)


def _presence(xi: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Speech presence probability (Cohen's OM-LSA): the a-priori absence from the a-priori SNR averaged over a
    local (3 × 3) and a wide (3 frames × 31 bins) neighbourhood, −10..−5 dB → present; then 3-point medians, so
    that no isolated bin stands out of the attenuated background (musical noise)."""
    from scipy.ndimage import uniform_filter1d

    def present(bins: int) -> np.ndarray:
        level = uniform_filter1d(uniform_filter1d(xi, bins, axis=1, mode="nearest"), 3, axis=0, mode="nearest")
        return np.clip((10 * np.log10(np.maximum(level, 1e-10)) + 10.0) / 5.0, 0.0, 1.0)

    absent = np.minimum(1.0 - present(3) * present(31), 0.95)
    v = np.minimum(xi / (1.0 + xi) * gamma, 50.0)
    return _median3(_median3(1.0 / (1.0 + absent / (1.0 - absent) * (1.0 + xi) * np.exp(-v)), 0), 1)


def _median3(a: np.ndarray, axis: int) -> np.ndarray:
    """Median of each value and its two neighbours along ``axis`` (edges repeated); twice = separable 3 × 3."""
    pad = np.pad(a, [(1, 1) if k == axis else (0, 0) for k in range(a.ndim)], mode="edge")
    before, after = np.take(pad, range(0, a.shape[axis]), axis), np.take(pad, range(2, a.shape[axis] + 2), axis)
    return np.maximum(np.minimum(before, a), np.minimum(np.maximum(before, a), after))


def clean_channel(spec: np.ndarray, power: np.ndarray, noise: np.ndarray, rate: int, weight: float,
                  length: int) -> np.ndarray:
    """Step 3: the gain (forward/backward decision-directed → TSNR → OM-LSA) raised to ``weight``, applied."""
    gamma = power / noise
    gain = np.sqrt(_decision_directed(power, noise, False) * _decision_directed(power, noise, True))
    xi = np.maximum(gain ** 2 * gamma, XI_MIN)
    presence, floor = _presence(xi, gamma), 10 ** (FLOOR_DB / 20)
    gain = np.maximum(_lsa(xi, gamma) ** presence * floor ** (1.0 - presence), floor) ** weight
    n, hop = frame_size(rate)
    return istft(spec * gain, n, hop, length).astype(np.float32)


@dataclass
class Levels:
    """Running sums for the result: noise and total energy (samples²), and the back-off weights."""

    noise: float = 0.0
    total: float = 0.0
    weights: list[float] = field(default_factory=list)

    def snr_db(self) -> float:
        return 10 * math.log10(max(self.total - self.noise, 1e-12) / max(self.noise, 1e-12))

    def floor_db(self, samples: int) -> float:
        return 10 * math.log10(max(self.noise / max(samples, 1), 1e-12))


def clean_evidence(mono: np.ndarray, rate: int) -> float:
    """SNR (dB) of the mix over its quietest 10 ms windows (2nd percentile), + 15 dB when 2 % or more of it is
    digital silence (a noisy recording is never exactly silent); digital silence itself is left out of the floor.
    Right for steady noise; it reads fluctuating noise 5–15 dB too clean (the floor is in its troughs)."""
    width = max(8, rate // 100)
    energy = np.mean(mono[:mono.size - mono.size % width].reshape(-1, width).astype(np.float64) ** 2, axis=1)
    live = energy[energy > 1e-10]
    if live.size == 0:
        return math.inf
    floor = float(live[live <= np.percentile(live, 2)].mean())
    bonus = 15.0 if live.size <= 0.98 * energy.size else 0.0
    return 10 * math.log10(max(float(live.mean()) - floor, 1e-20) / max(floor, 1e-30)) + bonus


def clean_segment(x: np.ndarray, rate: int, strength: float, levels: Levels,
                  check: Callable[[], None] = lambda: None) -> np.ndarray:
    """One block (channels, n) → cleaned block. Step 4: the back-off SNR is the larger of the noise estimate's
    (accurate on noisy speech, but it reads clean speech at 25–30 dB: some speech leaks into the estimate) and
    ``clean_evidence`` − 5 dB (a floor far below the speech, or digital silence, shows the speech is clean)."""
    if strength <= 0:
        return x
    mono = x.mean(axis=0)
    mix = _analyse(mono, rate)
    total, noise = float(mix[1].sum()), float(mix[2].sum())
    snr = max(10 * math.log10(max(total - noise, 1e-20) / max(noise, 1e-30)), clean_evidence(mono, rate) - 5)
    power = float(np.mean(mono.astype(np.float64) ** 2)) * x.shape[1]
    levels.noise, levels.total = levels.noise + power / (1 + 10 ** min(snr / 10, 30)), levels.total + power
    weight = strength * min(1.0, max(0.0, (SNR_BYPASS_DB - snr) / (SNR_BYPASS_DB - SNR_FULL_DB)))
    levels.weights.append(weight)
    if weight <= 0:
        return x
    out = np.empty_like(x)
    for c in range(x.shape[0]):
        check()
        out[c] = clean_channel(*(mix if x.shape[0] == 1 else _analyse(x[c], rate)), rate, weight, x.shape[1])
    return out


class Blocks:
    """Streams (channels, k) chunks through ``fn`` in blocks with margins on both sides, crossfaded where they
    meet; ``push`` and ``finish`` return the finished output in order (same length as the input in total)."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], rate: int) -> None:
        self.fn, self.block, self.margin = fn, int(BLOCK_S * rate), int(MARGIN_S * rate)
        self.fade = min(int(FADE_S * rate), self.margin)
        self.chunks: list[np.ndarray] = []
        self.buf: np.ndarray | None = None
        self.buf_start = self.start = self.total = 0
        self.tail: np.ndarray | None = None

    def push(self, chunk: np.ndarray) -> list[np.ndarray]:
        self.chunks.append(chunk)
        self.total += chunk.shape[1]
        out = []
        while self.total >= self.start + self.block + self.margin:
            out.append(self._step(self.start + self.block + self.margin, self.start + self.block))
        return out

    def finish(self) -> list[np.ndarray]:
        return [self._step(self.total, self.total)] if self.total > self.start else []

    def _step(self, stop: int, core_end: int) -> np.ndarray:
        if self.chunks:
            self.buf = np.concatenate(([] if self.buf is None else [self.buf]) + self.chunks, axis=1)
            self.chunks = []
        seg_start = max(0, self.start - self.margin)
        y = self.fn(self.buf[:, seg_start - self.buf_start:stop - self.buf_start])
        core = y[:, self.start - seg_start:core_end - seg_start].copy()
        if self.tail is not None:
            k = min(self.tail.shape[1], core.shape[1])
            ramp = np.linspace(0.0, 1.0, k + 2, dtype=np.float32)[1:-1]
            core[:, :k] += (self.tail[:, :k] - core[:, :k]) * (1 - ramp)  # exact where they agree
        self.tail = y[:, core_end - seg_start:core_end - seg_start + self.fade].copy()
        self.start = core_end
        drop = max(0, self.start - self.margin - self.buf_start)
        self.buf, self.buf_start = self.buf[:, drop:], self.buf_start + drop
        return core


# --------------------------------------------------------------------------------------------------------------
# Engine and command line
# --------------------------------------------------------------------------------------------------------------
class SpectralDenoiser(Engine[DenoiseRequest, DenoiseResult]):
    """Noise PSD from non-speech bins + decision-directed LSA gain with a clean-speech back-off (CPU)."""

    kind = "denoise"
    name = "lite"

    def run(self, request: DenoiseRequest, ctx: Context | None = None) -> DenoiseResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        src = open_source(request)
        rate, levels = src.sample_rate, Levels()
        blocks = Blocks(lambda seg: clean_segment(seg, rate, float(request.strength), levels, ctx.check), rate)

        # 2. Decode, clean and write block by block
        ctx.report(0.0, "Cleaning up speech")
        with WavSink(src.out, src.channels, rate, request.sample_format) as sink:
            for chunk in read_chunks(src, ctx):
                for piece in blocks.push(chunk):
                    ctx.check()
                    sink.write(piece)
                    ctx.report(min(0.99, sink.frames / max(1, src.expected)), "Cleaning up speech")
            for piece in blocks.finish():
                sink.write(piece)
            if sink.frames == 0:
                raise no_samples(src)
        ctx.report(1.0, "Done")

        # 3. Result
        seconds, duration = time.perf_counter() - started, sink.frames / rate
        applied = float(np.mean(levels.weights)) if levels.weights else 0.0
        return DenoiseResult(out=src.out, sample_rate=rate, channels=src.channels, duration_s=duration,
                             seconds=seconds, rtf=seconds / duration, noise_floor_db=levels.floor_db(sink.frames),
                             snr_db=levels.snr_db(), backend=self.name, applied=applied, downmixed=src.downmixed,
                             notes=list(src.notes) + (["input is clean: passed unchanged"] if request.strength > 0
                                                      and applied == 0 else []),
                             parameters=request.as_dict())


def add_cli(sub) -> None:
    """``denoise IN OUT [--backend lite|neural] [--strength S] [--mono] [--format f32|s16] [--json]``."""
    p: argparse.ArgumentParser = sub.add_parser("denoise", help="clean up speech (reduce background noise)")
    p.add_argument("media", type=Path, help="audio or video file")
    p.add_argument("out", type=Path, help="output .wav")
    p.add_argument("--backend", choices=("lite", "neural"), default="lite")
    p.add_argument("--strength", type=float, default=1.0, help="0 (unchanged) .. 1 (full), default 1")
    p.add_argument("--mono", action="store_true", help="downmix to one channel first")
    p.add_argument("--format", choices=FORMATS, default="f32", help="32-bit float (default) or 16-bit WAV")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--progress", action="store_true", help="print progress to stderr")
    p.set_defaults(func=cli_denoise)


def cli_denoise(args: argparse.Namespace) -> int:
    from ..base import EngineConfig
    from ..cli import fail, progress_context, run_once
    from ..errors import ReelsmithError
    from . import DENOISE

    request = DenoiseRequest(args.media, args.out, strength=args.strength, mono=args.mono, sample_format=args.format)
    try:
        result = run_once(DENOISE, EngineConfig(backend=args.backend), request, progress_context(args.progress))
    except ReelsmithError as exc:
        return fail(exc)
    d = result.as_dict()
    print(json.dumps(d, indent=2) if args.json else
          f"{d['out']}: {d['duration_s']} s, {d['channels']} ch @ {d['sample_rate']} Hz, noise floor "
          f"{d['noise_floor_db']} dBFS, SNR {d['snr_db']} dB, RTF {d['rtf']}" +
          "".join(f"\n{note}" for note in d["notes"]))
    return 0
