"""What is in a media file: container, streams, duration, size; and whether it really is what it claims to be.

Everything goes through PyAV (the FFmpeg libraries linked into the ``av`` wheel) or Pillow; no ``ffmpeg`` or
``ffprobe`` binary is needed. Every failure is a ``ReelsmithError`` whose message names the file and says in
plain English what is wrong, so the UI can show it as it is.
"""
from __future__ import annotations

import logging
import math
import struct
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
from PIL import Image, UnidentifiedImageError

from ..errors import CorruptMedia, InvalidMedia, MediaTooLarge, UnsupportedMedia

log = logging.getLogger(__name__)

#: Allowed upload extensions and the content family (see ``sniff``) a file with that extension must have.
EXTENSIONS: dict[str, str] = {
    ".mp4": "mp4", ".mov": "mp4", ".m4v": "mp4", ".m4a": "mp4",
    ".mkv": "matroska", ".webm": "matroska",
    ".avi": "avi",
    ".wav": "wav",
    ".mp3": "mp3",
    ".ogg": "ogg", ".oga": "ogg", ".opus": "ogg",
    ".flac": "flac",
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp", ".gif": "gif", ".bmp": "bmp",
    ".tif": "tiff", ".tiff": "tiff",
}

IMAGE_FAMILIES = frozenset({"png", "jpeg", "webp", "gif", "bmp", "tiff"})

_FAMILY_LABELS = {
    "mp4": "an MP4/MOV file", "matroska": "a Matroska/WebM file", "avi": "an AVI file", "wav": "a WAV file",
    "mp3": "an MP3 file", "ogg": "an Ogg file", "flac": "a FLAC file", "png": "a PNG image",
    "jpeg": "a JPEG image", "webp": "a WebP image", "gif": "a GIF image", "bmp": "a BMP image",
    "tiff": "a TIFF image",
}

#: Demuxers FFmpeg will happily "open" although the file is no media we want (a text file opens as ``tty``).
_REJECTED_FORMATS = frozenset({"tty", "lavfi", "ffmetadata", "srt", "webvtt", "ass", "microdvd", "subviewer"})

#: How many packets ``probe`` demuxes at most while proving that the first frame of each stream decodes.
_PROBE_PACKETS = 2000


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoStreamInfo:
    """The first video stream (or the picture, for images).

    ``width``/``height`` are the coded size. ``rotation`` is how many degrees (0, 90, 180 or 270) the picture
    must be turned counter-clockwise to be shown upright (from the display matrix, the ``rotate`` tag or EXIF);
    ``display_width``/``display_height`` take it into account. ``frame_count`` is the count the container
    declares, ``None`` when it declares none (Matroska, WebM, many AVI files).
    """

    codec: str
    width: int
    height: int
    fps: float
    frame_count: int | None
    pix_fmt: str | None
    rotation: int = 0

    @property
    def display_width(self) -> int:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height


@dataclass(frozen=True)
class AudioStreamInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    path: str
    container: str
    kind: str  # "video" | "audio" | "image"
    size_bytes: int
    duration_s: float | None
    bit_rate: int | None
    video: VideoStreamInfo | None
    audio: AudioStreamInfo | None

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def width(self) -> int | None:
        return self.video.width if self.video else None

    @property
    def height(self) -> int | None:
        return self.video.height if self.video else None

    @property
    def fps(self) -> float | None:
        return self.video.fps if self.video and self.video.fps > 0 else None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict (nested dicts for the streams); ``from_dict`` turns it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MediaInfo":
        video = data.get("video")
        audio = data.get("audio")
        return cls(
            path=str(data["path"]),
            container=str(data["container"]),
            kind=str(data["kind"]),
            size_bytes=int(data["size_bytes"]),
            duration_s=None if data.get("duration_s") is None else float(data["duration_s"]),
            bit_rate=None if data.get("bit_rate") is None else int(data["bit_rate"]),
            video=VideoStreamInfo(**video) if video else None,
            audio=AudioStreamInfo(**audio) if audio else None,
        )


# --------------------------------------------------------------------------------------------------------------
# Sniffing
# --------------------------------------------------------------------------------------------------------------
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}
_BMP_HEADERS = {12, 16, 40, 52, 56, 64, 108, 124}  # sizes of the DIB header variants


def _is_mp3_header(b: bytes) -> bool:
    """An MPEG audio (layer I-III) frame header: 11 sync bits, a valid version, layer, bitrate and rate."""
    if len(b) < 4 or b[0] != 0xFF or (b[1] & 0xE0) != 0xE0:
        return False
    version, layer = (b[1] >> 3) & 0x3, (b[1] >> 1) & 0x3
    bitrate_index, rate_index = (b[2] >> 4) & 0xF, (b[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate_index not in (0, 15) and rate_index != 3


def _sniff_bytes(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in _BMP_HEADERS:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and len(head) >= 12:
        return {b"WAVE": "wav", b"AVI ": "avi", b"WEBP": "webp"}.get(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if len(head) >= 8 and head[4:8] in _MP4_BOXES and struct.unpack(">I", head[:4])[0] not in range(2, 8):
        return "mp4"  # a box size of 0 (to the end), 1 (64-bit size follows) or at least the 8-byte header
    if _is_mp3_header(head[:4]):
        return "mp3"
    return None


def sniff(path: str | Path) -> str | None:
    """The content family from the file's first bytes ("mp4", "matroska", "avi", "wav", "mp3", "ogg", "flac",
    "png", "jpeg", "webp", "gif", "bmp", "tiff"), or ``None`` when it is none of those.

    An ID3v2 tag is skipped, so an MP3 or a FLAC file that starts with one is recognised by what follows it.
    """
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:3] == b"ID3" and len(head) >= 10:
            size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
            footer = 10 if head[5] & 0x10 else 0
            f.seek(10 + size + footer)
            after = f.read(64)
            return "flac" if after.startswith(b"fLaC") else "mp3"
    return _sniff_bytes(head)


def _active_content_of(path: Path) -> str | None:
    """``active_content`` of the file's start, and of what follows an ID3 tag (which ``sniff`` skips)."""
    with open(path, "rb") as f:
        head = f.read(512)
        found = active_content(head)
        if found or head[:3] != b"ID3" or len(head) < 10:
            return found
        size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
        f.seek(10 + size + (10 if head[5] & 0x10 else 0))
        return active_content(f.read(512))


def _find_mp3_frames(path: Path, limit: int = 64 * 1024) -> bool:
    """True when two consecutive valid MPEG audio frames appear in the first ``limit`` bytes (an MP3 file with
    no ID3 tag that starts with some padding or junk)."""
    with open(path, "rb") as f:
        data = f.read(limit)
    bitrates = {  # kbit/s for (MPEG-1, layer III) and (MPEG-2/2.5, layer III); enough to find a frame length
        3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
        2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    }
    rates = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
    pos = data.find(b"\xff")
    while 0 <= pos < len(data) - 4:
        h = data[pos:pos + 4]
        if _is_mp3_header(h) and ((h[1] >> 1) & 0x3) == 1:  # layer III
            version = (h[1] >> 3) & 0x3
            kbps = bitrates[3 if version == 3 else 2][(h[2] >> 4) & 0xF]
            rate = rates[version][(h[2] >> 2) & 0x3]
            padding = (h[2] >> 1) & 0x1
            length = (144 if version == 3 else 72) * kbps * 1000 // rate + padding
            if length > 4 and _is_mp3_header(data[pos + length:pos + length + 4]):
                return True
        pos = data.find(b"\xff", pos + 1)
    return False


#: Content that a browser or an OS would run or render as a page, whatever the file is called. Checked before the
#: media families, so a polyglot that starts like this is refused with a message that says what it is.
_ACTIVE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows program"), (b"\x7fELF", "a Linux program"), (b"\xca\xfe\xba\xbe", "a program or Java class"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"), (b"\xce\xfa\xed\xfe", "a macOS program"),
    (b"PK\x03\x04", "a ZIP archive"), (b"PK\x05\x06", "a ZIP archive"), (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"\x1f\x8b", "a gzip archive"), (b"%PDF", "a PDF document"),
    (b"#!", "a script"), (b"\x00asm", "a WebAssembly module"),
)
_ACTIVE_TEXT: tuple[tuple[bytes, str], ...] = (
    (b"<!doctype html", "an HTML page"), (b"<html", "an HTML page"), (b"<head", "an HTML page"),
    (b"<body", "an HTML page"), (b"<script", "an HTML page with a script"), (b"<iframe", "an HTML page"),
    (b"<svg", "an SVG image (which can hold scripts)"), (b"<?xml", "an XML document"),
    (b"<!--", "an HTML or XML document"), (b"<!doctype", "an HTML or XML document"),
    (b"<?php", "a PHP script"), (b"<%", "a server script"),
    (b"function", "a JavaScript file"), (b"(function", "a JavaScript file"), (b"var ", "a JavaScript file"),
    (b"let ", "a JavaScript file"), (b"const ", "a JavaScript file"), (b"import ", "a script"),
    (b"export ", "a JavaScript file"), (b"\"use strict\"", "a JavaScript file"), (b"'use strict'", "a JavaScript file"),
    (b"window.", "a JavaScript file"), (b"document.", "a JavaScript file"), (b"alert(", "a JavaScript file"),
)


def active_content(head: bytes) -> str | None:
    """What ``head`` (a file's first bytes) is if it is a program, an archive, a page or a script; else ``None``.

    Text is matched case-insensitively after a UTF-8/UTF-16 byte-order mark and leading white space.
    """
    for magic, label in _ACTIVE_MAGIC:
        if head.startswith(magic):
            return label
    text = head
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if text.startswith(bom):
            text = text[len(bom):]
            break
    if text[:1] == b"\x00" or text[1:2] == b"\x00":  # UTF-16 text: drop the zero bytes before matching
        text = text.replace(b"\x00", b"")
    text = text.lstrip(b" \t\r\n\x0b\x0c").lower()
    for start, label in _ACTIVE_TEXT:
        if text.startswith(start):
            return label
    return None


def check_type(path: str | Path, original_name: str) -> str:
    """Check an upload: its extension is allowed and its content is what the extension says. Returns the family.

    Steps: 1. the extension is in ``EXTENSIONS``; 2. the content is no program, archive, page or script
    (``active_content``); 3. the magic bytes are the family the extension names. ``probe`` (PyAV / Pillow) must then
    decode the file before anything is stored (the ingest task does both).

    ``original_name`` is the name the user gave the file (the upload's temporary path usually has another).
    Raises ``UnsupportedMedia`` (or ``InvalidMedia`` if the file is missing) with a message naming the file.
    """
    path = Path(path)
    ext = Path(original_name).suffix.lower()
    if ext not in EXTENSIONS:
        allowed = " ".join(sorted(EXTENSIONS))
        shown = f"'{ext}' files" if ext else "Files without an extension"
        raise UnsupportedMedia(f"{original_name}: {shown} are not supported; upload one of: {allowed}.")
    if not path.is_file():
        raise InvalidMedia(f"{original_name}: the file was not found.")
    if path.stat().st_size == 0:
        raise UnsupportedMedia(f"{original_name} is empty (0 bytes).")
    # Families that legitimately overlap are one family here: .mov/.m4v/.m4a are all "mp4" (ISO boxes, also
    # the old QuickTime files that start with 'moov'/'mdat'/'wide'), .ogg/.oga/.opus are "ogg", .mkv/.webm are
    # "matroska"; ``sniff`` looks past an ID3 tag, and an MP3 without one may start with padding (scanned below).
    expected = EXTENSIONS[ext]
    family = sniff(path)
    # Programs, archives, pages and scripts are named as such (and never reach the MP3 frame scan below). A file
    # whose first bytes are the expected media signature is not checked again (an MP4 box size can spell "MZ"),
    # except after an ID3 tag, which is all ``sniff`` looks at for MP3/FLAC.
    danger = _active_content_of(path) if family != expected or family in ("mp3", "flac") else None
    if danger:
        raise UnsupportedMedia(f"{original_name} is named {ext} but it is {danger}, not {_FAMILY_LABELS[expected]}; "
                               "such files are never accepted.")
    if family == expected:
        return expected
    if family is None and expected == "mp3" and _find_mp3_frames(path):
        return "mp3"
    what = f"it looks like {_FAMILY_LABELS[family]}" if family else "it is not a media file we recognise"
    raise UnsupportedMedia(
        f"{original_name} is named {ext} but its content is not {_FAMILY_LABELS[expected]} ({what}).")


# --------------------------------------------------------------------------------------------------------------
# Opening (shared with decode.py)
# --------------------------------------------------------------------------------------------------------------
def _require_file(path: Path) -> None:
    if not path.exists():
        raise InvalidMedia(f"{path.name}: the file was not found.")
    if not path.is_file():
        raise InvalidMedia(f"{path.name} is not a file.")
    if path.stat().st_size == 0:
        raise UnsupportedMedia(f"{path.name} is empty (0 bytes).")


def _mp4_truncation(path: Path) -> str | None:
    """Walk the top-level MP4 boxes; describe the problem if one claims to run past the end of the file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        while offset + 8 <= size:
            f.seek(offset)
            head = f.read(16)
            box_size, box_type = struct.unpack(">I4s", head[:8])
            if not all(32 <= c < 127 for c in box_type):
                return None  # not a box: trailing junk after the last one, which players ignore
            if box_size == 1:
                if len(head) < 16:
                    return f"the '{box_type.decode()}' box is cut off"
                box_size = struct.unpack(">Q", head[8:16])[0]
            elif box_size == 0:  # runs to the end of the file
                return None
            if box_size < 8:
                return None
            if offset + box_size > size:
                return (f"it ends after {_mb(size)} but its '{box_type.decode()}' box needs "
                        f"{_mb(offset + box_size)}")
            offset += box_size
    return None


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def open_container(path: str | Path) -> "av.container.InputContainer":
    """Open a file with PyAV, turning failures into ``InvalidMedia`` subclasses that name the file."""
    path = Path(path)
    _require_file(path)
    family = sniff(path)
    if family in IMAGE_FAMILIES:
        raise UnsupportedMedia(f"{path.name} is an image, not an audio or video file.")
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        log.debug("av.open(%s) failed: %s", path, exc)
        if family is not None:
            detail = _mp4_truncation(path) if family == "mp4" else None
            raise CorruptMedia(
                f"{path.name} looks like {_FAMILY_LABELS[family]} but is damaged or incomplete "
                f"({detail or 'its header or index cannot be read'}); try exporting or uploading it again."
            ) from None
        raise UnsupportedMedia(f"{path.name} is not an audio, video or image file we can read.") from None
    if container.format.name in _REJECTED_FORMATS:
        container.close()
        raise UnsupportedMedia(f"{path.name} is not an audio, video or image file we can read.")
    return container


def video_stream(container: "av.container.InputContainer") -> "av.VideoStream | None":
    """The first real video stream: cover art in MP3/M4A files (an attached picture) does not count, nor does a
    stream in a codec FFmpeg has no decoder for (PyAV gives it no codec context)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic and stream.codec_context is not None:
            return stream
    return None


def audio_stream(container: "av.container.InputContainer") -> "av.AudioStream | None":
    """The first audio stream that has a decoder."""
    return next((s for s in container.streams.audio if s.codec_context is not None), None)


def stream_origin_s(container: "av.container.InputContainer") -> float:
    """Time zero of the file in seconds: ``time_s`` values in this package are relative to it (as in ffmpeg)."""
    start = container.start_time
    return start / av.time_base if start is not None else 0.0


#: Frame rates outside this range are a damaged header (an edited stts or AVI rate), not a video.
_FPS_RANGE = (0.01, 1000.0)


def _fps(stream: "av.VideoStream") -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate.denominator and math.isfinite(float(rate)) \
                and _FPS_RANGE[0] <= float(rate) <= _FPS_RANGE[1]:
            return float(rate)
    return 0.0


def _rotation(stream: "av.VideoStream", first_frame: "av.VideoFrame | None") -> int:
    angle: float | None = None
    if first_frame is not None:
        try:
            angle = first_frame.rotation
        except (AttributeError, ValueError, TypeError):
            angle = None
    if not angle:
        tag = stream.metadata.get("rotate")
        if tag:
            try:
                angle = -float(tag)  # the legacy tag is clockwise; ours is counter-clockwise
            except ValueError:
                angle = None
    if not angle:
        return 0
    return int(round(float(angle) / 90.0)) * 90 % 360


# --------------------------------------------------------------------------------------------------------------
# Probing
# --------------------------------------------------------------------------------------------------------------
def probe(path: str | Path, *, max_pixels: int = 8192 * 8192, max_duration_s: float | None = None) -> MediaInfo:
    """Describe an image, audio or video file and prove that it decodes (its first frame of each stream).

    Raises ``InvalidMedia`` (missing file), ``UnsupportedMedia`` (not media, empty, no audio or video stream),
    ``CorruptMedia`` (damaged or truncated) or ``MediaTooLarge`` (over ``max_pixels`` or ``max_duration_s``).
    """
    path = Path(path)
    _require_file(path)
    family = sniff(path)
    if family in IMAGE_FAMILIES:
        return _probe_image(path, family, max_pixels=max_pixels)
    container = open_container(path)
    try:
        return _probe_av(path, container, family, max_pixels=max_pixels, max_duration_s=max_duration_s)
    finally:
        container.close()


def _probe_image(path: Path, family: str, *, max_pixels: int) -> MediaInfo:
    label = _FAMILY_LABELS[family]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                _check_pixels(path, width, height, max_pixels)
                fmt = (img.format or family).lower()
                mode = img.mode
                frames = int(getattr(img, "n_frames", 1) or 1)
                orientation = img.getexif().get(0x0112, 1)
            with Image.open(path) as img:
                img.verify()  # structure and checksums; must come straight after open
            # verify() does not decode the pixels; loading them (a JPEG at 1/8 scale) catches truncated data.
            with Image.open(path) as img:
                img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
                img.load()
    except MediaTooLarge:
        raise
    except Image.DecompressionBombError:
        raise MediaTooLarge(f"{path.name} has too many pixels to open safely.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        log.debug("image probe of %s failed: %s", path, exc)
        raise CorruptMedia(f"{path.name} looks like {label} but is damaged or incomplete.") from None
    rotation = {3: 180, 6: 270, 8: 90}.get(int(orientation), 0)
    return MediaInfo(
        path=str(path), container=fmt, kind="image", size_bytes=path.stat().st_size, duration_s=None,
        bit_rate=None,
        video=VideoStreamInfo(codec=fmt, width=width, height=height, fps=0.0, frame_count=frames, pix_fmt=mode,
                              rotation=rotation),
        audio=None,
    )


def _check_pixels(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        limit = f"{max_pixels / 1e6:.1f} megapixels" if max_pixels >= 100_000 else f"{max_pixels} pixels"
        raise MediaTooLarge(f"{path.name} is {width}×{height} pixels; the limit is {limit}.")


def _probe_av(path: Path, container: "av.container.InputContainer", family: str | None, *,
              max_pixels: int, max_duration_s: float | None) -> MediaInfo:
    vstream = video_stream(container)
    astream = audio_stream(container)
    if vstream is None and astream is None:
        if any(s.type in ("video", "audio") for s in container.streams):
            raise UnsupportedMedia(f"{path.name}: its audio and video are in a format that cannot be decoded "
                                   "(unknown codec, or a damaged header).")
        raise UnsupportedMedia(f"{path.name} has no audio or video stream.")

    # 1. Structure and limits that can be checked from the header, before decoding anything.
    if family == "mp4":
        problem = _mp4_truncation(path)
        if problem:
            raise CorruptMedia(f"{path.name} is incomplete ({problem}); try exporting or uploading it again.")
    width = height = 0
    if vstream is not None:
        width, height = vstream.codec_context.width, vstream.codec_context.height
        _check_pixels(path, width, height, max_pixels)

    # 2. Prove that each stream decodes: the first video frame and the first audio frame.
    first_video = _first_frames(path, container, vstream, astream, family)
    if first_video is not None and (width <= 0 or height <= 0):
        width, height = first_video.width, first_video.height
        _check_pixels(path, width, height, max_pixels)

    # 3. Duration: the container's, else the longest stream's, else measured by demuxing the packets.
    duration = _duration(container, [s for s in (vstream, astream) if s is not None])
    if max_duration_s is not None and duration is not None and duration > max_duration_s:
        raise MediaTooLarge(
            f"{path.name} is {_clock(duration)} long; the limit is {_clock(max_duration_s)}.")

    video = None
    if vstream is not None:
        cc = vstream.codec_context
        pix_fmt = cc.pix_fmt or (first_video.format.name if first_video is not None else None)
        video = VideoStreamInfo(
            codec=cc.name, width=int(width), height=int(height), fps=_fps(vstream),
            frame_count=int(vstream.frames) if vstream.frames else None, pix_fmt=pix_fmt,
            rotation=_rotation(vstream, first_video),
        )
    audio = None
    if astream is not None:
        cc = astream.codec_context
        audio = AudioStreamInfo(codec=cc.name, sample_rate=int(cc.sample_rate or astream.rate or 0),
                                channels=int(cc.layout.nb_channels))
    bit_rate = container.bit_rate or None
    if not bit_rate and duration:
        bit_rate = int(path.stat().st_size * 8 / duration)
    return MediaInfo(
        path=str(path), container=container.format.name, kind="video" if video else "audio",
        size_bytes=path.stat().st_size, duration_s=duration, bit_rate=bit_rate, video=video, audio=audio,
    )


def _first_frames(path: Path, container, vstream, astream, family: str | None) -> "av.VideoFrame | None":
    """Decode until each stream has produced a frame; return the first video frame (``None`` without video)."""
    wanted = [s for s in (vstream, astream) if s is not None]
    got: dict[int, Any] = {}
    try:
        for count, packet in enumerate(container.demux(*wanted)):
            for frame in packet.decode():
                got.setdefault(packet.stream.index, frame)
            if len(got) == len(wanted) or count >= _PROBE_PACKETS:
                break  # (at the end of the file demux() yields empty packets that flush the decoders)
    except av.FFmpegError as exc:
        log.debug("decoding the start of %s failed: %s", path, exc)
        raise _corrupt(path, family) from None
    for stream in wanted:
        if stream.index not in got:
            what = "video" if stream.type == "video" else "audio"
            if family is None and not got:
                raise UnsupportedMedia(f"{path.name} is not an audio, video or image file we can read.")
            raise CorruptMedia(f"{path.name}: its {what} stream has no frame that can be decoded; "
                               f"the file is damaged or incomplete.")
    return got.get(vstream.index) if vstream is not None else None


def _corrupt(path: Path, family: str | None) -> CorruptMedia:
    if family:
        return CorruptMedia(f"{path.name} looks like {_FAMILY_LABELS[family]} but is damaged: "
                            "its data cannot be decoded.")
    return CorruptMedia(f"{path.name} is damaged: its data cannot be decoded.")


def _duration(container, streams) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    best = 0.0
    for stream in streams:
        if stream.duration and stream.time_base:
            best = max(best, float(stream.duration * stream.time_base))
    if best > 0:
        return best
    # No header says: demux every packet (cheap, nothing is decoded) and take the end of the last one.
    try:
        container.seek(0)
        end = 0.0
        origin = stream_origin_s(container)
        for packet in container.demux(*streams):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = max(end, t - origin)
        return end or None
    except av.FFmpegError:
        return None


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
