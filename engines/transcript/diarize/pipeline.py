"""The diarization pipeline both backends share; they differ only in how a window of speech becomes a vector.

    decode (16 kHz mono) → VAD → sliding windows inside each speech region → ``embed`` (backend)
    → clustering (given or estimated number of speakers) → mode filter → turns → S1, S2 ... by first appearance

Options (``EngineConfig.options``, all optional): ``vad`` ("auto", "silero", "webrtc", "energy"), ``window_s``,
``hop_s``, ``min_distance``, ``min_silhouette`` and ``min_share`` (how the number of speakers is estimated: see
``cluster.estimate_speakers``), ``smooth`` (mode filter width, in windows) and ``merge_gap_s`` (pauses up to
this long between two turns of one speaker are bridged).
"""
from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from ...base import Engine
from ...context import Context
from ...errors import InvalidInput
from .audio import SAMPLE_RATE, load_audio, speech_regions
from .cluster import cluster, mode_filter
from .types import DiarizeRequest, DiarizeResult, Turn

Window = tuple[int, int]


class WindowDiarizer(Engine[DiarizeRequest, DiarizeResult]):
    """Base of the diarization backends: subclasses set the defaults below and implement ``embed``."""

    kind = "diarize"
    window_s: ClassVar[float] = 1.5
    hop_s: ClassVar[float] = 0.25
    #: Regions shorter than this get no window of their own; they take the label of the nearest window.
    min_window_s: ClassVar[float] = 0.5
    min_distance: ClassVar[float] = 0.2
    min_silhouette: ClassVar[float] = 0.3
    min_share: ClassVar[float] = 0.1
    smooth: ClassVar[int] = 5
    merge_gap_s: ClassVar[float] = 0.5

    def option(self, key: str, default: Any) -> Any:
        return type(default)(self.config.options.get(key, default))

    def embed(self, samples: np.ndarray, windows: list[Window], ctx: Context) -> np.ndarray:
        """One vector per window (rows in the order of ``windows``)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def run(self, request: DiarizeRequest, ctx: Context | None = None) -> DiarizeResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()
        # 1. Check inputs
        if not isinstance(request, DiarizeRequest):
            raise InvalidInput(f"Expected a DiarizeRequest, not {type(request).__name__}.")
        window_s, hop_s = self.option("window_s", self.window_s), self.option("hop_s", self.hop_s)
        if not 0 < hop_s <= window_s:
            raise InvalidInput(f"hop_s ({hop_s}) must be more than 0 and at most window_s ({window_s}).")
        # 2. Decode
        ctx.report(0.0, "Decoding audio")
        samples = load_audio(request.media, ctx)
        ctx.check()
        # 3. Find speech
        ctx.report(0.15, "Finding speech")
        regions, vad = speech_regions(samples, self.option("vad", "auto"))
        ctx.check()
        # 4. Cut windows and embed them
        windows, owners = make_windows(regions, int(window_s * SAMPLE_RATE), int(hop_s * SAMPLE_RATE),
                                       int(self.option("min_window_s", self.min_window_s) * SAMPLE_RATE))
        ctx.report(0.3, f"Describing {len(windows)} windows of speech")
        embeddings = self.embed(samples, windows, ctx.sub(0.3, 0.9)) if windows else np.zeros((0, 1))
        ctx.check()
        # 5. Cluster: who is who
        ctx.report(0.9, "Clustering speakers")
        labels = cluster(embeddings, speakers=request.speakers, min_k=request.min_speakers,
                         max_k=request.max_speakers, **{key: self.option(key, getattr(self, key))
                                                       for key in ("min_distance", "min_silhouette", "min_share")})
        # 6. Smooth, make turns, name the speakers
        turns = make_turns(regions, windows, owners, labels, smooth=self.option("smooth", self.smooth),
                           merge_gap=int(self.option("merge_gap_s", self.merge_gap_s) * SAMPLE_RATE))
        seconds = time.perf_counter() - started
        duration = samples.size / SAMPLE_RATE
        ctx.report(1.0, f"{len({t.speaker for t in turns})} speakers")
        return DiarizeResult(segments=turns, speakers=len({t.speaker for t in turns}), backend=self.name,
                             seconds=seconds, rtf=seconds / max(duration, 1e-9), duration_s=duration, vad=vad)


def make_windows(regions: list[Window], window: int, hop: int, min_window: int) -> tuple[list[Window], list[int]]:
    """Sliding windows inside each region (a short region is one window; one under ``min_window`` none, unless
    no region is that long) and the index of the region each window belongs to."""
    windows: list[Window] = []
    owners: list[int] = []
    long_enough = [(e - s) >= min_window for s, e in regions]
    for r, (s, e) in enumerate(regions):
        if not long_enough[r] and any(long_enough):
            continue
        if e - s <= window:
            starts = [s]
        else:
            starts = list(range(s, e - window + 1, hop))
            if starts[-1] < e - window:
                starts.append(e - window)
        windows.extend((a, min(a + window, e)) for a in starts)
        owners.extend([r] * len(starts))
    return windows, owners


def make_turns(regions: list[Window], windows: list[Window], owners: list[int], labels: np.ndarray, *,
               smooth: int, merge_gap: int) -> list[Turn]:
    """Speaker turns: inside each region every hop-sized cell takes the (mode-filtered) label of the window
    whose centre is nearest; regions without a window take the label of the nearest window; equal neighbours
    separated by at most ``merge_gap`` samples are merged; speakers are named in order of first appearance."""
    if not regions or not len(labels):
        return []
    owners_arr = np.asarray(owners)
    centres = np.array([(s + e) / 2 for s, e in windows])
    smoothed = np.asarray(labels, dtype=int).copy()
    for r in np.unique(owners_arr):
        idx = np.flatnonzero(owners_arr == r)
        smoothed[idx] = mode_filter(smoothed[idx], smooth)
    pieces: list[list[int]] = []  # [start, end, label] in samples
    cell = max(1, int(0.05 * SAMPLE_RATE))
    for r, (s, e) in enumerate(regions):
        idx = np.flatnonzero(owners_arr == r)
        if not len(idx):  # a short region: the nearest window anywhere
            idx = np.array([int(np.argmin(np.abs(centres - (s + e) / 2)))])
        bounds = np.arange(s, e, cell)
        mids = np.minimum(bounds + cell / 2, e)
        nearest = idx[np.argmin(np.abs(mids[:, None] - centres[idx][None, :]), axis=1)]
        for start, label in zip(bounds, smoothed[nearest]):
            end = min(int(start) + cell, e)
            if pieces and pieces[-1][2] == label and int(start) - pieces[-1][1] <= merge_gap:
                pieces[-1][1] = end
            else:
                pieces.append([int(start), end, int(label)])
    names: dict[int, str] = {}
    for _, _, label in pieces:
        names.setdefault(label, f"S{len(names) + 1}")
    return [Turn(s / SAMPLE_RATE, e / SAMPLE_RATE, names[label]) for s, e, label in pieces]
