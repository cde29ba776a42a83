"""Audio for diarization: checked and decoded to 16 kHz mono, then cut into regions of speech by a VAD.

Voice activity detectors, best first (``vad="auto"`` takes the first one installed):

* ``silero``: Silero VAD v6 (MIT), the ONNX model shipped inside the ``silero-vad`` wheel, run by onnxruntime
  on one CPU thread (offline; ~0.005 RTF). Its TorchScript copy loads too, but runs ~40x slower as soon as torch
  has more than one thread, and importing ``silero_vad`` calls ``torch.set_num_threads(1)`` for the whole
  process, so we put the thread count back straight after and use the ONNX model.
* ``webrtc``: the WebRTC GMM detector (``webrtcvad-wheels``), 30 ms frames, aggressiveness 2.
* ``energy``: frame energy above an adaptive floor (no dependency): fine for clean recordings only.

All three give sample ranges ``[(start, end), ...]`` of speech, without overlaps, in time order.
"""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np

from ...context import Context, NullContext
from ...errors import InvalidInput, InvalidMedia, UnsupportedMedia
from ...media import probe, read_audio

SAMPLE_RATE = 16_000
VADS = ("silero", "webrtc", "energy")
_FRAME = 480  # 30 ms at 16 kHz (webrtc and energy)


def load_audio(path: Path, ctx: Context | None = None) -> np.ndarray:
    """The sound of ``path`` as float32 16 kHz mono, or an ``InvalidMedia`` error that names the file."""
    path = Path(path)
    info = probe(path)
    if info.audio is None:
        what = "a still image" if info.kind == "image" else "a video without sound"
        raise UnsupportedMedia(f"{path.name} is {what}: it has no audio track to diarize.")
    samples = read_audio(path, sample_rate=SAMPLE_RATE, mono=True, ctx=ctx or NullContext())
    if samples.size < SAMPLE_RATE // 100:
        raise InvalidMedia(f"{path.name} has no sound to diarize: its audio track is 0 seconds long.")
    return np.ascontiguousarray(np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0), dtype=np.float32)


def available_vad(name: str = "auto") -> str:
    """The detector that ``name`` resolves to ("auto": silero, else webrtc, else energy)."""
    needs = {"silero": ("silero_vad", "onnxruntime", "torch"), "webrtc": ("webrtcvad",), "energy": ()}

    def missing(vad: str) -> list[str]:
        return [m for m in needs[vad] if importlib.util.find_spec(m) is None]

    if name == "auto":
        return next(v for v in VADS if not missing(v))
    if name not in needs:
        raise InvalidInput(f"Unknown voice activity detector {name!r}; choose one of: auto, {', '.join(VADS)}.")
    if missing(name):
        raise InvalidInput(f"The {name} voice activity detector needs {', '.join(missing(name))}.")
    return name


def speech_regions(samples: np.ndarray, vad: str = "auto", *, min_speech_s: float = 0.25,
                   min_silence_s: float = 0.1, pad_s: float = 0.03) -> tuple[list[tuple[int, int]], str]:
    """Sample ranges of speech in ``samples`` (16 kHz mono) and the name of the detector that found them.

    Pauses shorter than ``min_silence_s`` are bridged, speech shorter than ``min_speech_s`` dropped, and each
    range widened by ``pad_s`` (never into its neighbour)."""
    name = available_vad(vad)
    if samples.size == 0 or float(np.max(np.abs(samples))) < 1e-4:  # digital silence: nothing to look for
        return [], name
    if name == "silero":
        regions = _silero(samples, min_speech_s, min_silence_s, pad_s)
    else:
        mask = _webrtc_mask(samples) if name == "webrtc" else _energy_mask(samples)
        regions = _regions_from_mask(mask, samples.size, min_speech_s, min_silence_s, pad_s)
    return regions, name


def _silero(samples: np.ndarray, min_speech_s: float, min_silence_s: float,
            pad_s: float) -> list[tuple[int, int]]:
    import torch

    threads = torch.get_num_threads()
    try:
        from silero_vad import get_speech_timestamps, load_silero_vad
    finally:
        torch.set_num_threads(threads)  # silero_vad.model sets 1 thread at import
    with warnings.catch_warnings():  # silero_vad uses importlib.resources.path (deprecated)
        warnings.simplefilter("ignore", DeprecationWarning)
        model = load_silero_vad(onnx=True)  # one per call: the model keeps state between chunks
    with torch.inference_mode():
        found = get_speech_timestamps(torch.from_numpy(samples), model, threshold=0.5, sampling_rate=SAMPLE_RATE,
                                      min_speech_duration_ms=int(min_speech_s * 1000),
                                      min_silence_duration_ms=int(min_silence_s * 1000),
                                      speech_pad_ms=int(pad_s * 1000))
    return [(int(r["start"]), int(r["end"])) for r in found if r["end"] > r["start"]]


def _frames(samples: np.ndarray) -> np.ndarray:
    n = samples.size // _FRAME
    return samples[: n * _FRAME].reshape(n, _FRAME)


def _webrtc_mask(samples: np.ndarray, aggressiveness: int = 2) -> np.ndarray:
    import webrtcvad

    detector = webrtcvad.Vad(aggressiveness)
    pcm = (np.clip(_frames(samples), -1.0, 1.0) * 32767).astype("<i2")
    return np.array([detector.is_speech(f.tobytes(), SAMPLE_RATE) for f in pcm], dtype=bool)


def _energy_mask(samples: np.ndarray) -> np.ndarray:
    """Frames louder than both the noise floor + 12 dB and the loudest frames − 40 dB."""
    frames = _frames(samples)
    if not len(frames):
        return np.zeros(0, dtype=bool)
    db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    floor, peak = np.percentile(db, 10), np.percentile(db, 99)
    return db > max(floor + 12.0, peak - 40.0, -70.0)


def _regions_from_mask(mask: np.ndarray, n_samples: int, min_speech_s: float, min_silence_s: float,
                       pad_s: float) -> list[tuple[int, int]]:
    """Runs of True frames → sample ranges, with short gaps bridged, short runs dropped and padding added."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    runs = [[int(s) * _FRAME, int(e) * _FRAME] for s, e in zip(edges[::2], edges[1::2])]
    merged: list[list[int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] < min_silence_s * SAMPLE_RATE:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    kept = [r for r in merged if r[1] - r[0] >= min_speech_s * SAMPLE_RATE]
    pad = int(pad_s * SAMPLE_RATE)
    out: list[tuple[int, int]] = []
    for k, (s, e) in enumerate(kept):
        low = (kept[k - 1][1] + s) // 2 if k else 0
        high = (e + kept[k + 1][0]) // 2 if k + 1 < len(kept) else n_samples
        out.append((max(s - pad, low), min(e + pad, high)))
    return out
