"""WAV output written block by block: IEEE float or 16-bit PCM, WAVE_FORMAT_EXTENSIBLE with a channel mask for
more than two channels, to a temporary name renamed into place only when complete (shared by the audio engines)."""
from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from ..errors import MediaTooLarge

_MASKS = {1: 0x4, 2: 0x3, 3: 0x7, 4: 0x33, 6: 0x3F, 8: 0x63F}


class WavSink:
    """A WAV (IEEE float or 16-bit PCM) written in blocks to a temp name; renamed into place on a clean exit,
    deleted on an error or cancellation (use as a context manager)."""

    def __init__(self, path: Path, channels: int, rate: int, sample_format: str = "f32") -> None:
        self.path, self.channels, self.float = Path(path), channels, sample_format == "f32"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=".part")
        self.fh = os.fdopen(fd, "wb")
        self.frames = 0
        width = 4 if self.float else 2
        tag = 3 if self.float else 1
        block = channels * width
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, width * 8)
        if channels > 2:  # WAVE_FORMAT_EXTENSIBLE: layout mask and sub-format GUID
            guid = struct.pack("<IHH8s", tag, 0, 0x10, b"\x80\x00\x00\xaa\x00\x38\x9b\x71")
            fmt = struct.pack("<H", 0xFFFE) + fmt[2:] + struct.pack("<HHI", 22, width * 8,
                                                                      _MASKS.get(channels, 0)) + guid
        self.fh.write(b"RIFF\0\0\0\0WAVEfmt " + struct.pack("<I", len(fmt)) + fmt + b"data\0\0\0\0")
        self.header = self.fh.tell()

    def write(self, block: np.ndarray) -> None:
        block = np.asarray(block).reshape(self.channels, -1)
        if self.fh.tell() + block.size * (4 if self.float else 2) >= 1 << 32:
            raise MediaTooLarge(f"{self.path.name} would pass the 4 GB limit of a WAV file; ask for 16-bit "
                                "samples or mono, or clean a shorter part.")
        if self.float:
            data = np.ascontiguousarray(block.T, dtype="<f4")
        else:
            data = (np.clip(block.T, -1.0, 1.0) * 32767.0).round().astype("<i2")
        self.fh.write(data.tobytes())
        self.frames += block.shape[1]

    def __enter__(self) -> "WavSink":
        return self

    def __exit__(self, kind, value, tb) -> None:
        try:
            if kind is None:
                size = self.fh.tell()
                self.fh.seek(4), self.fh.write(struct.pack("<I", size - 8))
                self.fh.seek(self.header - 4), self.fh.write(struct.pack("<I", size - self.header))
            self.fh.close()
            if kind is None:
                os.chmod(self.tmp, 0o644)
                os.replace(self.tmp, self.path)
        finally:
            Path(self.tmp).unlink(missing_ok=True)

    def close(self, keep: bool = True) -> None:
        """Finish (``keep``) or discard the file, for callers that do not use ``with``."""
        self.__exit__(None if keep else RuntimeError, None, None)
