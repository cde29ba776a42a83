"""The real files the fuzz cases start from (tiny, made with ``tests.media_factory`` and PyAV) and the crafted
extremes (enormous resolution, hour-long).

    folder = build_seeds(tmp / "seeds")      # every seed file, written once
    data = load(folder)                      # {"clip.mp4": b"...", ...}
"""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from tests import media_factory as mf

from . import mutate

#: Seeds the mutation loop starts from: one per container family the upload accepts.
SEED_NAMES: tuple[str, ...] = ("clip.mp4", "talk.mp4", "clip.mkv", "clip.avi", "tone.wav", "tone.mp3", "tone.flac",
                               "tone.ogg", "still.png", "still.jpg")

#: Hand-made extreme inputs: pictures and video frames of 12000² to 100000² pixels, headers declaring an hour.
EXTREMES: tuple[str, ...] = ("huge.png", "huge.jpg", "huge.gif", "huge.bmp", "huge-header.mp4", "huge-frames.mov",
                             "hour-declared.wav", "hour-declared.mp4", "rate-2hz.wav")
#: Real hour-long files (a few MB): an hour of 8 kHz silence as MP3, an hour of 32×32 video at 1 frame/s.
HOUR_LONG: tuple[str, ...] = ("hour-silence.mp3", "hour-video.mp4")


def _audio(path: Path, codec: str, rate: int, seconds: float, *, bit_rate: int | None = None,
           silent: bool = False) -> Path:
    n = int(seconds * rate)
    samples = np.zeros(n, np.float32) if silent else (0.4 * np.sin(2 * np.pi * 330 * np.arange(n) / rate)
                                                      ).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        fmt = stream.codec_context.format.name
        block = stream.codec_context.frame_size or 1024
        for start in range(0, n, block):
            chunk = samples[start:start + block]
            if fmt.startswith("s16"):
                data = (chunk * 32767).astype(np.int16).reshape(1, -1)
            elif fmt.startswith("s32"):
                data = (chunk * 2147483647).astype(np.int32).reshape(1, -1)
            else:
                data = chunk.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _hour_video(path: Path, seconds: int = 3600, fps: int = 1, size: int = 32) -> Path:
    """An hour of a slowly changing 32×32 picture at 1 frame/s (H.264, long GOP): about 100 kB."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "keyint": "300"}
        mf.encode_video(out, video, (np.full((size, size, 3), (i * 7) % 256, np.uint8)
                                     for i in range(seconds * fps)))
    return path


def build_seeds(folder: Path, *, extremes: bool = True, hour_long: bool = True) -> Path:
    """Write every seed (and the extremes) into ``folder`` unless already there; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)

    def make(name: str, fn) -> None:
        path = folder / name
        if not path.is_file() or path.stat().st_size == 0:
            tmp = folder / f".{name}.part{path.suffix}"
            fn(tmp)
            tmp.replace(path)

    make("clip.mp4", lambda p: mf.write_clip(p, size=(96, 64), fps=12, seconds=1.0))
    make("talk.mp4", lambda p: mf.write_talk_clip(p, seconds=2.5, gaps=((0.8, 1.6),), size=(64, 48), fps=12))
    make("clip.mkv", lambda p: mf.write_clip(p, size=(64, 48), fps=12, seconds=1.0, codec="mpeg4",
                                             audio="pcm_s16le"))
    make("clip.avi", lambda p: mf.write_cv2_clip(p, size=(64, 48), fps=12, seconds=1.0))
    make("tone.wav", lambda p: mf.write_wav(p, freqs=(440.0, 660.0), seconds=0.6, rate=16000))
    make("tone.mp3", lambda p: _audio(p, "libmp3lame", 22050, 0.6))
    make("tone.flac", lambda p: _audio(p, "flac", 16000, 0.6))
    make("tone.ogg", lambda p: _audio(p, "libopus", 48000, 0.6))
    make("still.png", lambda p: mf.write_png(p, size=(96, 64)))
    make("still.jpg", lambda p: mf.write_rotated_jpeg(p, size=(96, 64)))
    if extremes:
        make("huge.png", lambda p: p.write_bytes(mutate.huge_png()))
        make("huge.jpg", lambda p: p.write_bytes(mutate.huge_jpeg((folder / "still.jpg").read_bytes())))
        make("huge.gif", lambda p: p.write_bytes(mutate.huge_gif()))
        make("huge.bmp", lambda p: p.write_bytes(mutate.huge_bmp()))
        make("huge-header.mp4", lambda p: p.write_bytes(
            mutate.mp4_declaring((folder / "clip.mp4").read_bytes(), size=(65535, 65535))))
        make("huge-frames.mov", mutate.huge_png_frames_mov)
        make("hour-declared.wav", lambda p: p.write_bytes(mutate.hour_wav()))
        make("rate-2hz.wav", lambda p: p.write_bytes(mutate.wav_with_rate((folder / "tone.wav").read_bytes(), 2)))
        make("hour-declared.mp4", lambda p: p.write_bytes(
            mutate.mp4_declaring((folder / "clip.mp4").read_bytes(), duration_s=3600.0)))
    if hour_long:
        make("hour-silence.mp3", lambda p: _audio(p, "libmp3lame", 8000, 3600.0, bit_rate=8000, silent=True))
        make("hour-video.mp4", _hour_video)
    return folder


def load(folder: Path, names: tuple[str, ...] = SEED_NAMES) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in names}
