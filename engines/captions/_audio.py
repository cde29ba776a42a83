"""Audio for the recognisers: checked, decoded to 16 kHz mono, and cut into windows of speech.

``load_speech`` turns bad input into the project's ``InvalidMedia`` errors (no audio track, 0 s, damaged,
not media); any rate or channel layout (8 kHz mono, 7.1 ...) is resampled and downmixed by ``engines.media``.
``speech_regions`` finds speech with Silero VAD (shipped with faster-whisper, ONNX, CPU); ``speech_windows``
packs it into windows of at most ``max_s`` seconds, cut at pauses, so long silences are never decoded and
each window is one Whisper pass (the recognisers report progress and check cancellation between windows);
``snap_to_speech`` moves word times that spill into silence back onto the speech.
"""
from __future__ import annotations

import bisect
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


def speech_regions(samples: np.ndarray) -> list[tuple[int, int]]:
    """Sample ranges of speech found by Silero VAD, without padding (empty without faster-whisper)."""
    if importlib.util.find_spec("faster_whisper") is None:
        return [(0, samples.size)]
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=0.5, min_silence_duration_ms=300, speech_pad_ms=0, max_speech_duration_s=28.0)
    return [(int(r["start"]), int(r["end"])) for r in get_speech_timestamps(samples, options,
                                                                             sampling_rate=SAMPLE_RATE)]


def speech_windows(samples: np.ndarray, regions: list[tuple[int, int]] | None, *, max_s: float = 30.0,
                   max_gap_s: float = MAX_GAP_S, pad_s: float = 0.3) -> list[tuple[int, int]]:
    """Sample ranges to decode, in order: speech ``regions`` packed into windows of at most ``max_s`` seconds
    (a window closes at a pause longer than ``max_gap_s``) and widened by ``pad_s`` into the silence around
    them (never past the middle of a pause); plain ``max_s`` windows when ``regions`` is ``None`` (no VAD)."""
    if regions is None:
        return _fixed_windows(samples.size, max_s)
    pad = int(pad_s * SAMPLE_RATE)
    windows: list[list[int]] = []
    limit, gap = int(max_s * SAMPLE_RATE) - 2 * pad, int(max_gap_s * SAMPLE_RATE)
    for start, end in regions:
        if windows and end - windows[-1][0] <= limit and start - windows[-1][1] <= gap:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    windows = [w for w in windows if w[1] - w[0] >= SAMPLE_RATE // 10]
    out = []
    for k, (s, e) in enumerate(windows):
        low = (windows[k - 1][1] + s) // 2 if k else 0
        high = (e + windows[k + 1][0]) // 2 if k + 1 < len(windows) else samples.size
        out.append((max(s - pad, low), min(e + pad, high)))
    return out


def snap_to_speech(start: float, end: float, regions: list[tuple[int, int]]) -> tuple[float, float]:
    """A word's times moved out of the silence around it: Whisper's word times tend to start early after a
    pause and end late before one; the VAD knows where the speech is."""
    if not regions:
        return start, end
    s, e = start * SAMPLE_RATE, end * SAMPLE_RATE
    k = bisect.bisect_right([r[0] for r in regions], s) - 1  # the region starting at or before the word
    if k < 0 or s > regions[k][1]:  # the word starts in silence: move it to where the next speech starts
        nxt = regions[k + 1][0] if k + 1 < len(regions) else None
        if nxt is not None and nxt < e:
            s = nxt
    k = bisect.bisect_right([r[0] for r in regions], e) - 1
    if k >= 0 and e > regions[k][1] and regions[k][1] > s:  # ends in silence: at the end of its speech
        e = regions[k][1]
    return s / SAMPLE_RATE, max(e, s) / SAMPLE_RATE
