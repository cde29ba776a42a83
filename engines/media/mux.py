"""Put a new sound track under an existing video without re-encoding the picture (stream copy + AAC)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..context import Context, NullContext
from ..errors import InvalidMedia
from .decode import open_container


def replace_audio(video: Path, samples: np.ndarray, sample_rate: int, out: Path, *, bitrate: int = 192_000,
                  ctx: Context | None = None) -> Path:
    """Copy ``video``'s picture stream as it is and encode ``samples`` (float32, (channels, n) or (n,)) as AAC
    beside it into ``out`` (an MP4 written under a temporary name, then renamed)."""
    import av

    ctx = ctx or NullContext()
    audio = np.asarray(samples, dtype=np.float32)
    audio = audio[None, :] if audio.ndim == 1 else audio
    if audio.shape[0] > 2:
        audio = audio[:2]  # AAC in MP4 here is mono or stereo; callers downmix wider layouts first
    layout = "mono" if audio.shape[0] == 1 else "stereo"
    out = Path(out)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.partial.mp4")
    src = open_container(Path(video))
    try:
        vstreams = [s for s in src.streams if s.type == "video"]
        if not vstreams:
            raise InvalidMedia(f"{Path(video).name} has no video stream to keep.")
        vin = vstreams[0]
        with av.open(str(tmp), "w", format="mp4") as dst:
            vout = dst.add_stream_from_template(vin)
            aout = dst.add_stream("aac", rate=sample_rate, layout=layout, bit_rate=bitrate)
            for packet in src.demux(vin):
                if packet.dts is None:
                    continue
                packet.stream = vout
                dst.mux(packet)
            ctx.report(0.5, "Picture copied")
            block = 1024 * 16
            for start in range(0, audio.shape[1], block):
                ctx.check()
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, start:start + block]),
                                                   format="fltp", layout=layout)
                frame.sample_rate, frame.pts = sample_rate, start
                for packet in aout.encode(frame):
                    dst.mux(packet)
            for packet in aout.encode():
                dst.mux(packet)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    ctx.report(1.0, "Sound replaced")
    return out
