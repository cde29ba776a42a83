"""Put a new sound track under an existing video without re-encoding the picture (stream copy + AAC)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..context import Context, NullContext
from ..errors import InvalidMedia
from .probe import video_stream


#: Sample rates FFmpeg's AAC encoder accepts.
AAC_RATES = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)


def aac_rate(rate: int) -> int:
    """The AAC rate nearest ``rate`` (a damaged or unusual file may say 22014 Hz, which the encoder refuses)."""
    return min(AAC_RATES, key=lambda r: (abs(r - int(rate or 0)), -r))


def _resample_linear(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """(channels, n) at ``rate`` → at ``target`` by linear interpolation (only for the odd rate, a few % off)."""
    n = audio.shape[1]
    m = max(1, int(round(n * target / rate)))
    x = np.arange(m, dtype=np.float64) * (rate / target)
    return np.stack([np.interp(x, np.arange(n), ch) for ch in audio]).astype(np.float32) if n else \
        np.zeros((audio.shape[0], 0), np.float32)


def replace_audio(video: Path, samples: np.ndarray, sample_rate: int, out: Path, *, layout: str | None = None,
                  ctx: Context | None = None) -> Path:
    """Copy ``video``'s picture stream packet for packet into ``out`` with ``samples`` (float32, (channels, n) or
    (n,)) encoded as AAC beside it, interleaved as the picture advances. Written to a temporary name and renamed;
    ``layout`` defaults to mono/stereo by channel count."""
    import av

    ctx = ctx or NullContext()
    audio = np.asarray(samples, dtype=np.float32)
    audio = audio[None, :] if audio.ndim == 1 else audio
    layout = layout or {1: "mono", 2: "stereo"}.get(audio.shape[0])
    if layout is None:
        raise InvalidMedia(f"Give a channel layout for {audio.shape[0]}-channel sound.")
    if aac_rate(sample_rate) != sample_rate:
        audio, sample_rate = _resample_linear(audio, int(sample_rate), aac_rate(sample_rate)), aac_rate(sample_rate)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".part" + out.suffix)
    os.close(fd)
    try:
        with av.open(str(video), metadata_errors="ignore") as inp, av.open(tmp, "w") as dst:
            vin = video_stream(inp)  # the first real one, with a codec FFmpeg knows
            if vin is None:
                raise InvalidMedia(f"{Path(video).name} has no video stream to keep.")
            vout = dst.add_stream_from_template(vin)
            aout = dst.add_stream("aac", rate=sample_rate, layout=layout)
            pos, n, origin = 0, audio.shape[1], None

            def mux_audio(until: int) -> None:
                nonlocal pos
                while pos < min(until, n):
                    packed = np.ascontiguousarray(audio[:, pos:pos + 1024].T).reshape(1, -1)
                    frame = av.AudioFrame.from_ndarray(packed, format="flt", layout=layout)  # packed: any count
                    frame.sample_rate, frame.pts = sample_rate, pos
                    dst.mux(aout.encode(frame))
                    pos += 1024

            for count, packet in enumerate(inp.demux(vin)):
                if packet.dts is None:
                    continue
                if count % 64 == 0:
                    ctx.check()
                t = float(packet.pts * packet.time_base) if packet.pts is not None else 0.0
                origin = t if origin is None else min(origin, t)
                mux_audio(int((t - origin) * sample_rate) + 1024)
                packet.stream = vout
                dst.mux(packet)
            mux_audio(n)
            dst.mux(aout.encode(None))
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    ctx.report(1.0, "Sound replaced")
    return out
