"""Audio as plain data between engines: a float32 array with its sample rate, and WAV in/out.

Every audio engine (music, speech) returns an ``AudioClip``; the animatic and the audio tools consume them.
"""
from __future__ import annotations

import io
import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class AudioClip:
    """``samples`` is float32 in [-1, 1], shape (channels, n)."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        s = np.asarray(self.samples, dtype=np.float32)
        if s.ndim == 1:
            s = s[None, :]
        if s.ndim != 2:
            raise ValueError("samples must be (n,) or (channels, n)")
        self.samples = s

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / float(self.sample_rate)

    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    def wav_bytes(self) -> bytes:
        buf = io.BytesIO()
        _write(buf, self)
        return buf.getvalue()


def _write(fh, clip: AudioClip) -> None:
    pcm = (np.clip(clip.samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(fh, "wb") as out:
        out.setnchannels(clip.channels)
        out.setsampwidth(2)
        out.setframerate(int(clip.sample_rate))
        out.writeframes(pcm.T.tobytes())


def write_wav(path: Path, clip: AudioClip) -> Path:
    """16-bit PCM WAV, written to a temp file in the same folder and renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(fh, clip)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_wav(path: Path) -> AudioClip:
    """Read any audio file PyAV can decode (WAV included) at its own rate, all channels."""
    from .media import probe, read_audio

    info = probe(Path(path))
    if info.audio is None:
        from .errors import UnsupportedMedia

        raise UnsupportedMedia(f"{Path(path).name} has no audio.")
    samples = read_audio(Path(path), sample_rate=info.audio.sample_rate, mono=False)
    return AudioClip(samples, info.audio.sample_rate)
