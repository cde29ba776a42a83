"""Tiny media made for tests (PyAV, OpenCV, wave, Pillow): no network, nothing kept in the repo."""
from __future__ import annotations

import wave
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw

FPS = 24


# --------------------------------------------------------------------------------------------------------------
# Picture content
# --------------------------------------------------------------------------------------------------------------
def textured(i: int, width: int, height: int) -> np.ndarray:
    """A sharp, colourful, moving RGB picture: gradient, a sliding checkerboard and a moving bright box."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[..., 0] = (x * 255 // max(1, width - 1)).astype(np.uint8)
    image[..., 1] = (y * 255 // max(1, height - 1)).astype(np.uint8)
    image[..., 2] = 128
    checker = (((x + 2 * i) // 8 + y // 8) % 2).astype(bool)
    image[checker] = image[checker] // 3
    bx = (i * 3) % max(1, width - 16)
    image[height // 3:height // 3 + 12, bx:bx + 16] = (250, 240, 60)
    return image


def frame_for(pattern: str, i: int, n: int, width: int, height: int) -> np.ndarray:
    if pattern == "moving":
        return textured(i, width, height)
    if pattern == "black_then_content":  # first half black (a fade-in / black leader), then content
        return np.zeros((height, width, 3), np.uint8) if i < n // 2 else textured(i, width, height)
    if pattern == "mostly_black":  # three black frames out of four
        return textured(i, width, height) if i % 4 == 2 else np.zeros((height, width, 3), np.uint8)
    if pattern == "blur_odd":  # every odd frame heavily blurred
        image = textured(i, width, height)
        return cv2.GaussianBlur(image, (0, 0), 4) if i % 2 else image
    raise ValueError(pattern)


def encode_video(out, stream, frames) -> None:
    """Encode RGB frames (an iterable of HxWx3 uint8) into ``stream`` and flush it."""
    for i, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def _encode_audio(out, stream, samples: np.ndarray, rate: int, fmt: str = "fltp", block: int = 1024) -> None:
    """Encode mono float samples in [-1, 1] into ``stream`` (as planar float, or s16) and flush it."""
    for start in range(0, samples.size, block):
        chunk = samples[start:start + block]
        data = (chunk * 32767).astype(np.int16).reshape(1, -1) if fmt == "s16" else chunk.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


# --------------------------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------------------------
def write_clip(path: Path, *, size: tuple[int, int] = (160, 120), fps: int = FPS, seconds: float = 2.0,
               codec: str = "libx264", audio: str | None = "aac", pattern: str = "moving", gop: int | None = None,
               tone_hz: float = 440.0, faststart: bool = False, rotation: int = 0) -> Path:
    """Write a clip with PyAV: ``codec`` video (yuv420p), optional ``audio`` ("aac", "pcm_s16le") mono tone.

    ``rotation`` sets the display matrix (degrees counter-clockwise), as phones do for portrait video."""
    width, height = size
    n = int(round(seconds * fps))
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if gop:
            video.codec_context.gop_size = gop
        if rotation:
            video.set_display_rotation(rotation)
        if codec == "libx264":
            video.options = {"preset": "veryfast", **({"keyint": str(gop)} if gop else {})}
        sound = None
        if audio:
            sound = out.add_stream(audio, rate=22050, layout="mono")
        encode_video(out, video, (frame_for(pattern, i, n, width, height) for i in range(n)))
        if sound is not None:
            rate = 22050
            samples = (0.5 * np.sin(2 * np.pi * tone_hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
            _encode_audio(out, sound, samples, rate, "fltp" if audio == "aac" else "s16")
    return path


def write_cv2_clip(path: Path, *, fourcc: str = "mp4v", size: tuple[int, int] = (160, 120), fps: int = FPS,
                   seconds: float = 2.0) -> Path:
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc}"
    n = int(round(seconds * fps))
    for i in range(n):
        writer.write(cv2.cvtColor(textured(i, width, height), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_wav(path: Path, *, freqs: tuple[float, ...] = (440.0,), seconds: float = 1.5, rate: int = 22050) -> Path:
    """16-bit PCM WAV, one channel per frequency (a pure tone at amplitude 0.5)."""
    t = np.arange(int(seconds * rate)) / rate
    channels = np.stack([0.5 * np.sin(2 * np.pi * f * t) for f in freqs], axis=1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(freqs))
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((channels * 32767).astype("<i2").tobytes())
    return path


def write_png(path: Path, size: tuple[int, int] = (200, 120)) -> Path:
    image = Image.fromarray(textured(3, *size))
    ImageDraw.Draw(image).ellipse((20, 20, 80, 80), fill=(255, 0, 0))
    image.save(path)
    return path


def write_rotated_jpeg(path: Path, size: tuple[int, int] = (120, 80)) -> Path:
    """A landscape JPEG whose EXIF orientation (6) says "turn 90° clockwise to show"."""
    image = Image.fromarray(textured(1, *size))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, exif=exif)
    return path


def write_av_clip(path: Path, sound: np.ndarray, *, rate: int = 48000, size: tuple[int, int] = (160, 120),
                  fps: int = FPS, preset: str = "veryfast") -> Path:
    """A moving-pattern H.264 clip as long as ``sound`` (mono float samples at ``rate``), which becomes its AAC."""
    width, height = size
    n = int(round(sound.size / rate * fps))
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": preset}
        audio = out.add_stream("aac", rate=rate, layout="mono")
        encode_video(out, video, (textured(i, width, height) for i in range(n)))
        _encode_audio(out, audio, sound.astype(np.float32), rate)
    return path


def write_talk_clip(path: Path, *, seconds: float = 6.0, gaps: tuple[tuple[float, float], ...] = ((2.0, 4.0),),
                    size: tuple[int, int] = (160, 120), fps: int = FPS) -> Path:
    """A moving-pattern H.264 clip whose AAC sound is a 220 Hz tone, silent during each (start, end) gap."""
    rate = 48000
    t = np.arange(int(seconds * rate)) / rate
    on = np.ones_like(t, dtype=bool)
    for start, end in gaps:
        on &= ~((t >= start) & (t < end))
    return write_av_clip(path, 0.4 * np.sin(2 * np.pi * 220 * t) * on, rate=rate, size=size, fps=fps)
