"""Decoding frames and audio with PyAV, one pass and small arrays.

* Frames are scaled down inside FFmpeg's reformat (swscale) call, so a full-resolution picture never becomes a
  numpy array when ``max_side`` is given; only the frames a caller keeps are converted at all.
* Nothing here holds the whole decoded video in memory; ``iter_frames`` and ``iter_audio`` are generators.
* Times (``time_s``) are seconds from the start of the file (the container's start time, as ffmpeg counts).
* Pictures are turned upright by default (``autorotate``) according to the stream's display matrix, as ffmpeg
  and players do, so a portrait phone video gives portrait frames.
* A damaged packet in the middle is skipped (the decoder conceals it, as players do); when too many are, or the
  demuxer cannot go on, ``CorruptMedia`` is raised. Frames already yielded stay valid.
"""
from __future__ import annotations

import bisect
import logging
import math
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..context import Context, NullContext
from ..errors import CorruptMedia, InvalidInput, MediaTooLarge, UnsupportedMedia
from .probe import _clock, _fps, audio_stream, open_container, stream_origin_s, video_stream

log = logging.getLogger(__name__)

#: Largest video frame decoded (``probe``'s default limit).
MAX_PIXELS = 8192 * 8192
#: Damaged packets tolerated in one decode pass before the file is called corrupt.
MAX_BAD_PACKETS = 16
#: Without a keyframe index, ``frames_at`` decodes forward (instead of seeking) at most this far ahead.
FORWARD_DECODE_S = 2.0
_EPS = 1e-4


@dataclass
class Frame:
    """One decoded picture: RGB ``uint8`` array of shape (height, width, 3).

    ``index`` is the 0-based number of the frame in decode order from the start of the file when the decoding
    started there; after a seek (``start_s > 0``, ``frames_at``) it is estimated as ``round(time_s * fps)``,
    which is exact for constant-frame-rate files and approximate otherwise.
    """

    index: int
    time_s: float
    image: np.ndarray


def _check_times(start_s: float, end_s: float | None, step_s: float | None) -> None:
    if not math.isfinite(start_s) or start_s < 0:
        raise InvalidInput(f"start_s must be a time of 0 seconds or more, not {start_s}.")
    if end_s is not None and not end_s > start_s:
        raise InvalidInput(f"end_s ({end_s}) must be after start_s ({start_s}).")
    if step_s is not None and not step_s > 0:
        raise InvalidInput(f"step_s must be more than 0 seconds, not {step_s}.")


def _output_size(width: int, height: int, max_side: int | None, sar: float) -> tuple[int, int] | None:
    """Size to scale a (width × height) picture to: fits ``max_side``, keeps the display aspect, even sides.

    ``None`` means "as it is" (no ``max_side``, already small enough and square pixels).
    """
    display_w = width * sar
    if max_side is None:
        if abs(sar - 1.0) < 1e-3:
            return None
        max_side = int(round(max(display_w, height)))
    longest = max(display_w, height)
    if longest <= max_side and abs(sar - 1.0) < 1e-3:
        return None
    scale = min(1.0, max_side / longest)
    cap = max(2, max_side - max_side % 2)
    out_w = min(cap, max(2, int(round(display_w * scale / 2)) * 2))
    out_h = min(cap, max(2, int(round(height * scale / 2)) * 2))
    return out_w, out_h


def _sar(stream: "av.VideoStream") -> float:
    ratio = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    if ratio is None or not ratio.numerator or not ratio.denominator:
        return 1.0
    value = float(ratio)
    return value if 0.1 < value < 10 else 1.0


def _to_rgb(frame: "av.VideoFrame", max_side: int | None, sar: float, autorotate: bool) -> np.ndarray:
    size = _output_size(frame.width, frame.height, max_side, sar)
    if size is None:
        image = frame.to_ndarray(format="rgb24")
    else:
        image = frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="AREA")
    if autorotate:
        turns = int(round((frame.rotation or 0) / 90.0)) % 4
        if turns:
            image = np.ascontiguousarray(np.rot90(image, k=turns))
    return image


def _decoded(container, stream, path: Path) -> Iterator["av.Frame"]:
    """Frames of one stream from the container's current position, skipping a few damaged packets."""
    bad = 0
    last_time = 0.0
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            log.debug("demuxing %s failed: %s", path, exc)
            raise CorruptMedia(f"{path.name} is damaged at about {_clock(last_time)}: "
                               "the rest of it cannot be read.") from None
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:
            bad += 1
            log.debug("bad packet in %s (%d so far): %s", path, bad, exc)
            if bad > MAX_BAD_PACKETS:
                raise CorruptMedia(f"{path.name} is damaged around {_clock(last_time)}: "
                                   "too much of its data cannot be decoded.") from None
            continue
        for frame in frames:
            if frame.time is not None:
                last_time = frame.time
            yield frame


def _frame_time(frame, origin: float, fallback: float) -> float:
    return max(0.0, frame.time - origin) if frame.time is not None else fallback


def _open_video(path: Path, *, fast: bool = False):
    """``fast`` skips the codec's in-loop deblocking (H.264/HEVC): about 15 % quicker, slightly blockier pictures,
    fine for analysis at reduced size (shot detection), never for pictures shown to a person."""
    container = open_container(path)
    stream = video_stream(container)
    if stream is None:
        container.close()
        raise UnsupportedMedia(f"{path.name} has no video stream.")
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > MAX_PIXELS:  # every frame would be decoded at full size before it is scaled down
        container.close()
        raise MediaTooLarge(f"{path.name} is {width}×{height} pixels; the limit is {MAX_PIXELS / 1e6:.1f} "
                            "megapixels.")
    stream.thread_type = "AUTO"
    if fast:
        stream.codec_context.options = {**dict(stream.codec_context.options or {}), "skip_loop_filter": "all"}
    return container, stream


def _seek(container, stream, seconds: float, origin: float, path: Path, fresh: bool = False) -> None:
    """Seek to the keyframe before ``seconds``; ``fresh``: nothing was demuxed yet, so if the file cannot seek at
    all (a damaged index) decoding from where it stands, the start, is still right."""
    if stream.time_base is None:
        raise CorruptMedia(f"{path.name}: its video stream has no time base, so it cannot be seeked.")
    try:
        container.seek(int((seconds + origin) / stream.time_base), stream=stream, backward=True)
    except av.FFmpegError as exc:
        log.debug("seeking %s to %.3fs failed: %s", path, seconds, exc)
        # Some streams cannot seek; decode from the start instead (slower, same frames).
        try:
            container.seek(0)
        except av.FFmpegError as again:
            log.debug("seeking %s to the start failed too: %s", path, again)
            if fresh:
                return
            raise CorruptMedia(f"{path.name} cannot be read from {_clock(seconds)}: its index is damaged "
                               "and it cannot be rewound.") from None


def iter_frames(path: str | Path, *, max_side: int | None = None, start_s: float = 0.0, end_s: float | None = None,
                step_s: float | None = None, ctx: Context | None = None,
                autorotate: bool = True, fast: bool = False) -> Iterator[Frame]:
    """Decode the video frames in ``[start_s, end_s)`` once, in order, scaled to fit ``max_side``.

    ``step_s`` keeps the first frame at or after each multiple of ``step_s`` from ``start_s`` (one frame per
    step). ``start_s > 0`` seeks to the keyframe before it and drops the frames before it. The container is
    closed when the generator ends, fails or is closed early.
    """
    _check_times(start_s, end_s, step_s)
    ctx = ctx or NullContext()
    path = Path(path)
    container, stream = _open_video(path, fast=fast)
    with closing(container):
        origin = stream_origin_s(container)
        fps = _fps(stream) or 25.0
        sar = _sar(stream)
        seeked = start_s > 0
        if seeked:
            _seek(container, stream, start_s, origin, path, fresh=True)
        next_keep = start_s
        time_s = start_s
        for index, frame in enumerate(_decoded(container, stream, path)):
            if index % 8 == 0:
                ctx.check()
            time_s = _frame_time(frame, origin, fallback=index / fps if not seeked else time_s + 1 / fps)
            if time_s < start_s - _EPS:
                continue
            if end_s is not None and time_s >= end_s - _EPS:
                break
            if step_s is not None:
                if time_s < next_keep - _EPS:
                    continue
                next_keep = start_s + (math.floor((time_s - start_s) / step_s + _EPS) + 1) * step_s
            number = int(round(time_s * fps)) if seeked else index
            yield Frame(number, time_s, _to_rgb(frame, max_side, sar, autorotate))


def _keyframe_times(stream: "av.VideoStream", origin: float) -> list[float] | None:
    """Keyframe times from the demuxer's index (MP4 has all of them, Matroska those in its cues); ``None`` when
    the index says too little to plan with."""
    try:
        entries = stream.index_entries
        keys = sorted(float(e.timestamp * stream.time_base) - origin for e in entries if e.is_keyframe)
    except (AttributeError, TypeError, av.FFmpegError):
        return None
    return keys if len(keys) >= 2 else None


def keyframe_times(path: str | Path) -> list[float] | None:
    """Times of the video keyframes listed in the file's index, without decoding (``None`` when the index lists
    fewer than two: no index, or Matroska without cues)."""
    container, stream = _open_video(Path(path))
    with closing(container):
        return _keyframe_times(stream, stream_origin_s(container))


def frames_at(path: str | Path, times_s: list[float], *, max_side: int | None = None, ctx: Context | None = None,
              exact: bool = True, autorotate: bool = True) -> list[Frame]:
    """The frame at (or just after) each time, in the order of ``times_s``.

    Times are visited in increasing order. Each is reached by seeking to the keyframe before it and decoding
    forward, unless decoding on from the previous time is cheaper: when the demuxer's index shows no keyframe
    between the two (else, without an index, when the gap is under ``FORWARD_DECODE_S``). So a few frames of a
    long file cost a few GOPs of decoding. A time past the end gives the last frame.

    With ``exact=False`` each time gives the keyframe at or before it instead: one decoded frame per distinct
    keyframe, much cheaper on files with long GOPs (used to score many candidate thumbnails).
    """
    ctx = ctx or NullContext()
    path = Path(path)
    if not times_s:
        return []
    for t in times_s:
        if not math.isfinite(t):
            raise InvalidInput(f"Frame times must be numbers of seconds, not {t}.")
    results: list[Frame | None] = [None] * len(times_s)
    container, stream = _open_video(path)
    with closing(container):
        origin = stream_origin_s(container)
        fps = _fps(stream) or 25.0
        sar = _sar(stream)
        keys = _keyframe_times(stream, origin)

        def key_before(t: float) -> int:  # index of the last keyframe at or before t (-1: none)
            return bisect.bisect_right(keys, t + _EPS) - 1 if keys else -1

        frames: Iterator | None = None
        current: tuple[float, "av.VideoFrame"] | None = None  # last decoded frame and its time
        current_key = -2  # keyframe-mode: index of the keyframe ``current`` is
        current_rgb: Frame | None = None
        for i in sorted(range(len(times_s)), key=lambda k: times_s[k]):
            ctx.check()
            target = max(0.0, float(times_s[i]))
            if not exact:
                if keys is None or current is None or key_before(target) != current_key:
                    _seek(container, stream, target, origin, path, fresh=frames is None)
                    frames = _decoded(container, stream, path)
                    current = next(((_frame_time(f, origin, target), f) for f in frames), None)
                    current_key, current_rgb = key_before(target), None
            else:
                if current is not None and target <= current[0] + _EPS:
                    forward = True  # the frame we hold is the first at or after target
                elif current is not None and keys is not None:
                    forward = key_before(target) <= key_before(current[0])
                else:
                    forward = current is not None and target - current[0] <= FORWARD_DECODE_S
                if not forward:
                    _seek(container, stream, target, origin, path, fresh=frames is None)
                    frames = _decoded(container, stream, path)
                    current, current_rgb = None, None
                while current is None or current[0] < target - _EPS:
                    frame = next(frames, None)
                    if frame is None:
                        break  # past the end: keep the last frame
                    current = (_frame_time(frame, origin, current[0] + 1 / fps if current else target), frame)
                    current_rgb = None
            if current is None:
                raise CorruptMedia(f"{path.name}: no video frame could be decoded near {_clock(target)}.")
            if current_rgb is None:
                current_rgb = Frame(int(round(current[0] * fps)), current[0],
                                    _to_rgb(current[1], max_side, sar, autorotate))
            results[i] = current_rgb
    return results  # type: ignore[return-value]


def _planar(frame, channels: int) -> np.ndarray:
    """(channels, samples) float32 from a packed-float frame."""
    return np.array(frame.to_ndarray(), dtype=np.float32, copy=True).reshape(-1, channels).T.copy()


#: FFmpeg's resampler converts at most this many channels.
MAX_CHANNELS = 64
#: Audio slower than this is a damaged header, not sound (a WAV saying 2 Hz would decode as hours of noise).
MIN_SOURCE_RATE = 1000


class Resampler:
    """``av.AudioResampler`` to ``format`` (packed float by default) at ``rate``/``layout`` that follows a change
    of the input's format, layout or rate in mid-stream (damaged or spliced files; PyAV's own raises
    ``ValueError``) by flushing and starting a new one, and turns FFmpeg's refusals into ``CorruptMedia``.
    ``resampler(frame)`` → converted frames; ``resampler(None)`` flushes."""

    def __init__(self, path: Path, layout: str, rate: int, format: str = "flt") -> None:
        self.path, self.layout, self.rate, self.format = Path(path), layout, rate, format
        self._resampler: "av.AudioResampler | None" = None
        self._key: tuple | None = None

    def __call__(self, frame: "av.AudioFrame | None") -> list:
        out: list = []
        try:
            if frame is None:
                return self._resampler.resample(None) if self._resampler is not None else []
            key = (frame.format.name, frame.layout.name, frame.sample_rate)
            if key != self._key:
                if not 0 < frame.layout.nb_channels <= MAX_CHANNELS or frame.sample_rate < MIN_SOURCE_RATE:
                    raise CorruptMedia(f"{self.path.name}: its audio claims {frame.layout.nb_channels} channel(s) "
                                       f"at {frame.sample_rate} Hz, which cannot be right; the file is damaged.")
                if self._resampler is not None:
                    out += self._resampler.resample(None)
                self._resampler = av.AudioResampler(format=self.format, layout=self.layout, rate=self.rate)
                self._key = key
            out += self._resampler.resample(frame)
        except (av.FFmpegError, ValueError) as exc:
            log.debug("resampling the audio of %s failed: %s", self.path, exc)
            raise CorruptMedia(f"{self.path.name}: its audio cannot be converted to {self.rate} Hz; the file may "
                               "be damaged.") from None
        return out


def iter_audio(path: str | Path, *, sample_rate: int = 16000, mono: bool = True, start_s: float = 0.0,
               duration_s: float | None = None, ctx: Context | None = None) -> Iterator[np.ndarray]:
    """Decoded, resampled audio in chunks (about one codec frame each), shaped as ``read_audio`` returns."""
    _check_times(start_s, None if duration_s is None else start_s + duration_s, None)
    ctx = ctx or NullContext()
    path = Path(path)
    container = open_container(path)
    with closing(container):
        stream = audio_stream(container)
        if stream is None:
            raise UnsupportedMedia(f"{path.name} has no audio track.")
        stream.thread_type = "AUTO"
        origin = stream_origin_s(container)
        declared = stream.codec_context.layout.nb_channels
        if declared > MAX_CHANNELS:
            raise UnsupportedMedia(f"{path.name}: its audio has {declared} channels; at most {MAX_CHANNELS} can be "
                                   "read (the header may be damaged).")
        if not mono and declared < 1:
            raise CorruptMedia(f"{path.name}: its audio track declares no channels; the file is damaged.")
        declared_rate = stream.codec_context.sample_rate or 0
        if 0 < declared_rate < MIN_SOURCE_RATE:
            raise CorruptMedia(f"{path.name}: its audio claims a sample rate of {declared_rate} Hz, which cannot be "
                               "right; the file is damaged.")
        # (checked after the file: callers often ask for the file's own rate, and then the file is what is wrong)
        if sample_rate < 1000 or sample_rate > 384000:
            raise InvalidInput(f"sample_rate must be between 1000 and 384000 Hz, not {sample_rate}.")
        layout = "mono" if mono else stream.codec_context.layout.name
        channels = 1 if mono else len(stream.codec_context.layout.channels)
        # Packed float, reshaped here: PyAV's planar to_ndarray reads past its 8 plane pointers on 8+ channels.
        resampler = Resampler(path, layout, sample_rate)
        if start_s > 0:
            _seek(container, stream, start_s, origin, path, fresh=True)
        skip: int | None = None
        remaining = None if duration_s is None else int(round(duration_s * sample_rate))

        def emit(chunk: np.ndarray) -> np.ndarray | None:
            nonlocal skip, remaining
            if skip:
                dropped = min(skip, chunk.shape[1])
                chunk, skip = chunk[:, dropped:], skip - dropped
            if remaining is not None:
                chunk = chunk[:, :remaining]
                remaining -= chunk.shape[1]
            if chunk.shape[1] == 0:
                return None
            np.clip(chunk, -1.0, 1.0, out=chunk)
            return chunk[0] if mono else chunk

        decoded_any = False
        for count, frame in enumerate(_decoded(container, stream, path)):
            if count % 16 == 0:
                ctx.check()
            decoded_any = True
            if skip is None:
                first = _frame_time(frame, origin, start_s)
                skip = max(0, int(round((start_s - first) * sample_rate)))
            for out in resampler(frame):
                chunk = emit(_planar(out, channels))
                if chunk is not None:
                    yield chunk
            if remaining is not None and remaining <= 0:
                return
        for out in resampler(None):
            chunk = emit(_planar(out, channels))
            if chunk is not None:
                yield chunk
        if not decoded_any and start_s == 0:
            raise CorruptMedia(f"{path.name}: its audio track has no sound that can be decoded.")


def read_audio(path: str | Path, *, sample_rate: int = 16000, mono: bool = True, start_s: float = 0.0,
               duration_s: float | None = None, ctx: Context | None = None) -> np.ndarray:
    """The audio track as float32 in [-1, 1]: shape (samples,) when ``mono`` else (channels, samples).

    Resampled with FFmpeg's resampler to ``sample_rate``. The result is the whole requested span in memory
    (16 kHz mono is about 230 MB per hour); use ``iter_audio`` to stream a long file.
    """
    chunks = list(iter_audio(path, sample_rate=sample_rate, mono=mono, start_s=start_s, duration_s=duration_s,
                             ctx=ctx))
    if chunks:
        return np.concatenate(chunks, axis=-1)
    if mono:
        return np.zeros(0, dtype=np.float32)
    container = open_container(path)
    with closing(container):
        channels = audio_stream(container).codec_context.layout.nb_channels
    return np.zeros((channels, 0), dtype=np.float32)
