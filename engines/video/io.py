"""Input checks and MP4 writing shared by the video enhancement engines.

    info = open_video_info(path)                 # MediaInfo with a video stream, else a ReelsmithError
    write_video(frames, out, fps, width, height, audio_from=source, ctx=ctx)

``write_video`` streams: it holds one picture and a few audio frames at a time, so memory does not grow with
the clip's length. It writes H.264 (libx264, yuv420p, CRF 18, preset veryfast) to a temporary name next to
``path`` and renames it into place only when everything was written; on any failure or cancellation the
temporary file is removed and ``path`` is left as it was.
"""
from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np

from ..context import Context, NullContext
from ..errors import InvalidInput, InvalidMedia, UnsupportedMedia
from ..media import MediaInfo, probe
from ..media.decode import Resampler
from ..media.mux import aac_rate
from ..media.probe import audio_stream

log = logging.getLogger(__name__)

CRF = 18
PRESET = "veryfast"
AUDIO_RATE_FALLBACK = 48000


def open_video_info(path: Path) -> MediaInfo:
    """Probe ``path`` and insist on a video stream (audio-only files and still images are refused)."""
    path = Path(path)
    info = probe(path)
    if info.kind != "video" or info.video is None:
        what = "an audio file" if info.kind == "audio" else f"a still {info.kind}"
        raise UnsupportedMedia(f"{path.name} is {what}; this needs a video.")
    return info


def check_output(path: Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in {".mp4", ".m4v", ".mov"}:
        raise InvalidInput(f"The output {path.name} must be an .mp4 (or .m4v/.mov) file.")
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder of {path} does not exist.")
    return path


def even_size(width: int, height: int) -> tuple[int, int]:
    """The largest even size inside ``width`` × ``height`` (yuv420p needs even sides)."""
    return max(2, width - width % 2), max(2, height - height % 2)


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def _audio_frames(source: Path) -> Iterator["av.AudioFrame"]:
    """Decoded audio frames of ``source``'s first audio stream (nothing when it has none or it fails)."""
    try:
        container = av.open(str(source), metadata_errors="ignore")
    except av.FFmpegError:
        return
    try:
        stream = audio_stream(container)  # the first one with a decoder
        if stream is None:
            return
        for packet in container.demux(stream):
            try:
                yield from packet.decode()
            except av.FFmpegError as exc:  # a damaged audio packet: skip it, keep the picture
                log.debug("skipping bad audio packet of %s: %s", source, exc)
    finally:
        container.close()


def _has_audio(source: Path | None) -> tuple[int, str] | None:
    if source is None:
        return None
    try:
        with av.open(str(source), metadata_errors="ignore") as container:
            stream = audio_stream(container)  # the first one with a decoder
            if stream is None:
                return None
            cc = stream.codec_context
            layout = "stereo" if (cc.layout.nb_channels or 1) >= 2 else "mono"
            return aac_rate(cc.sample_rate or AUDIO_RATE_FALLBACK), layout  # the encoder takes only AAC rates
    except av.FFmpegError:
        return None


def write_video(frames: Iterable[np.ndarray], path: Path, fps: float, width: int, height: int,
                audio_from: Path | None = None, ctx: Context | None = None) -> int:
    """Encode RGB ``uint8`` pictures of ``width`` × ``height`` to an MP4 at ``path``; returns the frame count.

    Odd sizes are cropped by one pixel to the even size H.264 needs. With ``audio_from``, that file's first audio
    stream is re-encoded to AAC alongside the picture (interleaved as the video advances) and cut at the video's
    end.
    """
    ctx = ctx or NullContext()
    path = Path(path)
    if not fps or fps <= 0:
        raise InvalidInput(f"The frame rate must be positive, not {fps}.")
    w, h = even_size(int(width), int(height))
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    audio = _has_audio(audio_from)
    count = 0
    source = None
    try:
        with av.open(str(tmp), "w", format="mp4") as out:
            rate = _rate(fps)
            video = out.add_stream("libx264", rate=rate)
            video.width, video.height, video.pix_fmt = w, h, "yuv420p"
            video.time_base = 1 / rate
            video.options = {"crf": str(CRF), "preset": PRESET}
            sound = resampler = source = None
            audio_pts = 0
            if audio is not None:
                sample_rate, layout = audio
                sound = out.add_stream("aac", rate=sample_rate, layout=layout)
                resampler = Resampler(audio_from, layout, sample_rate, format="fltp")  # follows format changes
                source = _audio_frames(audio_from)

            def mux_audio_until(t_end: float | None) -> None:
                """Encode source audio up to ``t_end`` seconds (all of it when ``None``)."""
                nonlocal audio_pts, source
                if source is None:
                    return
                while t_end is None or audio_pts / sound.rate < t_end:
                    try:
                        frame = next(source)
                    except StopIteration:
                        source = None
                        break
                    frame.pts = None
                    for chunk in resampler(frame):
                        # pts in samples at the output rate (a resampled frame keeps its source's time base)
                        chunk.pts, chunk.time_base = audio_pts, Fraction(1, sample_rate)
                        audio_pts += chunk.samples
                        for packet in sound.encode(chunk):
                            out.mux(packet)

            for image in frames:
                if count % 8 == 0:
                    ctx.check()
                image = np.asarray(image)
                if image.shape[0] < h or image.shape[1] < w or image.ndim != 3 or image.shape[2] != 3:
                    raise InvalidInput(f"Frame {count} is {image.shape}, expected at least ({h}, {w}, 3).")
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w], dtype=np.uint8),
                                                   format="rgb24")
                frame.pts = count
                for packet in video.encode(frame):
                    out.mux(packet)
                count += 1
                mux_audio_until(count / fps)
            if count == 0:
                raise InvalidMedia(f"No frames to write to {path.name}.")
            for packet in video.encode():
                out.mux(packet)
            if sound is not None:
                duration = count / fps
                # The rest of the audio up to the video's end, then flush the encoder.
                mux_audio_until(duration)
                for chunk in resampler(None) if source is None else []:
                    chunk.pts, chunk.time_base = audio_pts, Fraction(1, sample_rate)
                    audio_pts += chunk.samples
                    for packet in sound.encode(chunk):
                        out.mux(packet)
                for packet in sound.encode():
                    out.mux(packet)
        ctx.check()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if source is not None and hasattr(source, "close"):
            source.close()
    return count
