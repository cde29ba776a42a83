"""Audio for the recognisers: checked, decoded to 16 kHz mono, and cut into windows of speech.

``load_speech`` turns bad input into the project's ``InvalidMedia`` errors (no audio track, 0 s, damaged,
not media); any rate or channel layout (8 kHz mono, 7.1 ...) is resampled and downmixed by ``engines.media``.
``speech_windows`` finds speech with Silero VAD (shipped with faster-whisper, ONNX, CPU) and packs it into
windows of at most ``max_s`` seconds, cut at pauses, so silence is never decoded and each window is one
Whisper pass (the recognisers report progress and check cancellation between windows).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..context import Context, NullContext
from ..errors import InvalidMedia, UnsupportedMedia
from ..media import probe, read_audio

SAMPLE_RATE = 16_000
#: Pauses longer than this split windows (the silence between is skipped, not decoded).
MAX_GAP_S = 1.5


def load_speech(path: Path, ctx: Context | None = None, max_duration_s: float | None = None) -> np.ndarray:
    """The audio of ``path`` as float32 16 kHz mono, or a clear ``InvalidMedia`` error naming the file."""
    ctx = ctx or NullContext()
    path = Path(path)
    info = probe(path, max_duration_s=max_duration_s)
    if info.audio is None:
        what = "a still image" if info.kind == "image" else "a video without sound"
        raise UnsupportedMedia(f"{path.name} is {what}: it has no audio track to caption.")
    samples = read_audio(path, sample_rate=SAMPLE_RATE, mono=True, ctx=ctx)
    if samples.size < SAMPLE_RATE // 100:
        raise InvalidMedia(f"{path.name} has no sound to caption: its audio track is 0 seconds long.")
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(samples, dtype=np.float32)


def _fixed_windows(n: int, max_s: float) -> list[tuple[int, int]]:
    step = int(max_s * SAMPLE_RATE)
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def speech_windows(samples: np.ndarray, *, vad: bool = True, max_s: float = 30.0, max_gap_s: float = MAX_GAP_S,
                   pad_s: float = 0.0) -> list[tuple[int, int]]:
    """Sample ranges to decode, in order: speech found by the VAD packed into windows of at most ``max_s``
    seconds (a window closes at a pause longer than ``max_gap_s``), or plain ``max_s`` windows without VAD.
    ``pad_s`` widens each window into the silence around it (never into the next window)."""
    if not vad or importlib.util.find_spec("faster_whisper") is None:
        return _fixed_windows(samples.size, max_s)
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=0.5, min_silence_duration_ms=300, speech_pad_ms=300,
                         max_speech_duration_s=max_s - 1.0)
    regions = get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)
    windows: list[list[int]] = []
    limit, gap = int(max_s * SAMPLE_RATE), int(max_gap_s * SAMPLE_RATE)
    for region in regions:
        start, end = int(region["start"]), int(region["end"])
        if windows and end - windows[-1][0] <= limit and start - windows[-1][1] <= gap:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    windows = [w for w in windows if w[1] - w[0] >= SAMPLE_RATE // 10]
    pad = int(pad_s * SAMPLE_RATE)
    out = []
    for k, (s, e) in enumerate(windows):
        low = (windows[k - 1][1] + s) // 2 if k else 0
        high = (e + windows[k + 1][0]) // 2 if k + 1 < len(windows) else samples.size
        out.append((max(s - pad, low), min(e + pad, high)))
    return out
