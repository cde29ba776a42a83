"""Invisible watermark on generated pictures and video frames (see ``dwtdct`` for the method and its limits).

    embed_file(Path("gen.png"), Path("gen.marked.png"), bytes.fromhex("00c0ffee"))
    detect_file(Path("gen.marked.jpg")).payload      # b"\\x00\\xc0\\xff\\xee"
    detect_file(Path("reel.mp4")).found              # True when any sampled frame carries a valid mark

CLI: ``python -m engines.watermark detect FILE --json`` / ``embed SRC DST --payload HEX``.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import CorruptMedia, InvalidInput, InvalidMedia, MediaTooLarge, UnsupportedMedia
from .dwtdct import MIN_SIDE, Detection, detect, embed

__all__ = ["MIN_SIDE", "Detection", "detect", "detect_file", "embed", "embed_file"]

VIDEO_FRAMES = 6
#: Clips up to this many frames are decoded in order; longer ones are sampled by seeking.
SEQUENTIAL_LIMIT = 300
#: Largest picture or video frame looked at (as ``engines.media.probe``'s default limit).
MAX_PIXELS = 8192 * 8192


def embed_file(src: Path, dst: Path, payload: bytes) -> Path:
    """Mark the picture ``src`` and write it to ``dst`` (temp file, then rename); returns ``dst``.

    The format follows ``dst``'s extension (``src``'s format when it has none Pillow knows); PNG text chunks,
    ICC profile and EXIF are carried over; JPEG is written at quality 95 and WebP losslessly.
    """
    from PIL import Image, PngImagePlugin, UnidentifiedImageError

    # 1. Open
    src, dst = Path(src), Path(dst)
    try:
        with Image.open(src) as opened:
            opened.load()
            source = opened
    except FileNotFoundError as exc:
        raise InvalidMedia(f"{src.name}: file not found") from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia(f"{src.name}: not a picture Pillow can read") from exc
    except OSError as exc:
        raise CorruptMedia(f"{src.name}: cannot read the picture ({exc})") from exc
    if not dst.parent.is_dir():
        raise InvalidInput(f"{dst.parent}: folder not found")
    fmt = Image.registered_extensions().get(dst.suffix.lower()) or source.format or "PNG"
    # 2. Mark
    marked = embed(source, payload)
    if fmt == "JPEG" and marked.mode != "RGB":
        marked = marked.convert("RGB")
    # 3. Save with the metadata we can keep
    options: dict[str, Any] = {}
    for key in ("icc_profile", "exif"):
        if source.info.get(key):
            options[key] = source.info[key]
    if fmt == "PNG":
        chunks = PngImagePlugin.PngInfo()
        for key, value in getattr(source, "text", {}).items():
            chunks.add_text(key, value)
        options["pnginfo"] = chunks
    elif fmt == "JPEG":
        options.update(quality=95, subsampling=0)
    elif fmt == "WEBP":
        options.update(lossless=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            marked.save(out, format=fmt, **options)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return dst


def detect_file(path: Path, *, max_frames: int = VIDEO_FRAMES) -> Detection:
    """Detect the mark in a picture, or in up to ``max_frames`` frames spread over a video (found if any has)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InvalidMedia(f"{path.name}: file not found")
    try:
        with Image.open(path) as image:
            _check_pixels(path, *image.size)
            image.load()
            return detect(image)
    except Image.DecompressionBombError:
        raise MediaTooLarge(f"{path.name} has too many pixels to open safely.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        pass  # not a picture (or a damaged one, which Pillow reports in all these ways): try it as a video
    return _detect_video(path, max_frames)


def _check_pixels(path: Path, width: int, height: int) -> None:
    """Refuse a picture or video frame larger than ``MAX_PIXELS`` before it is decoded into memory."""
    if width * height > MAX_PIXELS:
        raise MediaTooLarge(f"{path.name} is {width}×{height} pixels; the limit is {MAX_PIXELS / 1e6:.1f} "
                            "megapixels.")


def _sample_frames(container: Any, stream: Any, max_frames: int) -> Iterator[Any]:
    """RGB frames spread over the video: decoded in order for short clips, by seeking for long ones."""
    total = stream.frames or 0
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
    if total and total <= SEQUENTIAL_LIMIT or not duration:
        wanted = ({round(i * (total - 1) / max(1, max_frames - 1)) for i in range(max_frames)} if total
                  else set(range(max_frames)))
        for index, frame in enumerate(container.decode(stream)):
            if index > max(wanted):
                return
            if index in wanted:
                yield frame
        return
    for i in range(max_frames):
        container.seek(int(duration * i / max_frames / stream.time_base), stream=stream)
        for frame in container.decode(stream):
            yield frame
            break


def _detect_video(path: Path, max_frames: int) -> Detection:
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")  # tags in any encoding
    except av.error.FFmpegError as exc:
        raise UnsupportedMedia(f"{path.name}: neither a picture nor a video we can read") from exc
    from ..media.probe import video_stream

    with container:
        stream = video_stream(container)  # the first with a decoder (PyAV gives the others no codec context)
        if stream is None:
            raise UnsupportedMedia(f"{path.name}: no video stream" + (
                " that can be decoded" if container.streams.video else ""))
        _check_pixels(path, stream.codec_context.width, stream.codec_context.height)
        last = Detection(found=False, reason="no frames could be decoded")
        checked = 0
        try:
            for frame in _sample_frames(container, stream, max_frames):
                checked += 1
                _check_pixels(path, frame.width, frame.height)
                result = detect(frame.to_ndarray(format="rgb24"))
                if result.found:
                    result.checked = checked
                    result.time_s = round(float(frame.time), 3) if frame.time is not None else None
                    return result
                last = result
        except av.error.FFmpegError as exc:
            if not checked:
                raise CorruptMedia(f"{path.name}: cannot decode the video ({exc})") from exc
        last.checked = checked
        if checked and last.reason and "smaller" not in last.reason:
            last.reason = f"no valid watermark in {checked} frame(s)"
        return last
