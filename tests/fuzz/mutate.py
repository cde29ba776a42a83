"""Damaged copies of real media files, deterministic by seed: bit flips, zeroed ranges, truncations, empty files,
header swaps, random bytes, spliced chunks, wrong extensions and structure-aware field edits (MP4 boxes, WAV
``fmt``/``data``, PNG ``IHDR`` with a fixed CRC, JPEG ``SOF``) that set sizes, rates, durations and dimensions
to extreme values.

    data, name = mutate(seed_bytes, "clip.mp4", "field", 1234, others={"tone.wav": wav_bytes})

``crafted`` holds the hand-made extremes: pictures declaring 100000×100000 pixels, a WAV header declaring an
hour over a second of data, an MP4 whose header says it is 65535×65535 or an hour long.
"""
from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

#: Every mutation operator, in the order the bench reports them.
OPS: tuple[str, ...] = ("bitflip", "byteset", "zero_range", "truncate", "empty", "header_swap", "random_bytes",
                        "splice", "field", "box_size", "wrong_ext", "repeat")

#: Values a structure-aware edit writes into a 32-bit field (sizes, rates, counts, durations).
EXTREMES_32 = (0, 1, 2, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
EXTREMES_16 = (0, 1, 2, 3, 7, 8, 255, 0x7FFF, 0x8000, 0xFFFF)

_CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"mvex", b"moof",
                    b"traf"}


@dataclass(frozen=True)
class Case:
    """One fuzz case: which seed file, which operator, which random seed. ``label`` reproduces it."""

    seed_name: str
    op: str
    rng_seed: int

    @property
    def label(self) -> str:
        return f"{self.seed_name}:{self.op}:{self.rng_seed}"

    @classmethod
    def parse(cls, label: str) -> Case:
        seed_name, op, rng_seed = label.rsplit(":", 2)
        return cls(seed_name, op, int(rng_seed))


def apply(case: Case, seeds: dict[str, bytes]) -> tuple[bytes, str]:
    """The bytes and file name of ``case`` (``seeds`` maps seed file names to their bytes)."""
    others = {k: v for k, v in seeds.items() if k != case.seed_name}
    return mutate(seeds[case.seed_name], case.seed_name, case.op, case.rng_seed, others=others)


def mutate(data: bytes, name: str, op: str, rng_seed: int, *, others: dict[str, bytes] | None = None
           ) -> tuple[bytes, str]:
    """A damaged copy of ``data`` (a file called ``name``) and the name to give it."""
    rng = random.Random(f"{op}:{rng_seed}")
    buf = bytearray(data)
    others = others or {}
    n = len(buf)
    if op == "empty" or n == 0:
        return b"", name
    if op == "bitflip":
        for _ in range(rng.choice((1, 1, 2, 4, 16, 64))):
            i = _position(rng, n)
            buf[i] ^= 1 << rng.randrange(8)
    elif op == "byteset":
        for _ in range(rng.choice((1, 2, 8, 32))):
            buf[_position(rng, n)] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    elif op == "zero_range":
        start = _position(rng, n)
        length = min(n - start, rng.choice((4, 16, 256, 4096, n // 4 or 1)))
        buf[start:start + length] = bytes(length) if rng.random() < 0.8 else b"\xff" * length
    elif op == "truncate":
        cut = rng.choice((0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, rng.random()))
        buf = buf[:max(1, min(n - 1, int(n * cut)))]
    elif op == "header_swap":
        buf, name = _header_swap(rng, buf, name, others)
    elif op == "random_bytes":
        size = rng.choice((1, 3, 8, 64, 1024, 65536, n))
        buf = bytearray(rng.randbytes(size))
        if rng.random() < 0.3 and others:  # random bytes behind a real header
            other = others[rng.choice(sorted(others))]
            buf[:0] = other[:rng.choice((4, 12, 44, 64))]
    elif op == "splice":  # a piece of another file (or of this one) pasted over a range
        source = others[rng.choice(sorted(others))] if others and rng.random() < 0.6 else bytes(buf)
        length = min(len(source), rng.choice((16, 256, 4096)))
        src_at = rng.randrange(max(1, len(source) - length + 1))
        dst_at = _position(rng, n)
        buf[dst_at:dst_at + length] = source[src_at:src_at + length]
    elif op == "field":
        buf = _field(rng, buf, name)
    elif op == "box_size":
        buf = _box_size(rng, buf, name)
    elif op == "wrong_ext":
        exts = [".mp4", ".mov", ".mkv", ".webm", ".avi", ".wav", ".mp3", ".ogg", ".flac", ".png", ".jpg", ".gif",
                ".webp", ".bmp", ".tiff", ".m4a", ".txt", ".srt", ""]
        name = Path(name).stem + rng.choice(exts)
    elif op == "repeat":  # a chunk repeated many times (endless-looking streams, duplicated headers)
        start = _position(rng, n)
        chunk = bytes(buf[start:start + rng.choice((8, 188, 1024))])
        buf[start:start] = chunk * rng.choice((2, 16, 256))
    else:
        raise ValueError(f"unknown mutation {op!r}")
    return bytes(buf), name


def _position(rng: random.Random, n: int) -> int:
    """Mostly near the start (headers live there), sometimes anywhere."""
    if rng.random() < 0.5:
        return rng.randrange(min(n, 512))
    return rng.randrange(n)


def _header_swap(rng: random.Random, buf: bytearray, name: str, others: dict[str, bytes]) -> tuple[bytearray, str]:
    if not others:
        return buf, name
    other_name = rng.choice(sorted(others))
    header = others[other_name][:rng.choice((4, 8, 12, 16, 32, 44, 64, 512))]
    if rng.random() < 0.5:
        buf[:len(header)] = header  # e.g. a PNG header on an MP4 body
    else:
        buf[:0] = header  # or put in front
    if rng.random() < 0.5:
        name = Path(name).stem + Path(other_name).suffix  # ... named as what the header says
    return buf, name


# --------------------------------------------------------------------------------------------------------------
# Structure-aware edits
# --------------------------------------------------------------------------------------------------------------
def mp4_boxes(data: bytes | bytearray, start: int = 0, end: int | None = None, depth: int = 0
              ) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of every box, recursing into the container boxes and ``stsd``."""
    end = len(data) if end is None else end
    found = []
    at = start
    while at + 8 <= end and depth < 8:
        size, kind = struct.unpack(">I4s", bytes(data[at:at + 8]))
        header = 8
        if size == 1 and at + 16 <= end:
            size, header = struct.unpack(">Q", bytes(data[at + 8:at + 16]))[0], 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end or not kind.isascii():
            break
        found.append((kind, at, size))
        if kind in _CONTAINER_BOXES:
            found += mp4_boxes(data, at + header, at + size, depth + 1)
        elif kind == b"stsd" and at + 16 <= at + size:
            found += mp4_boxes(data, at + 16, at + size, depth + 1)
        at += size
    return found


#: Fields worth breaking, per MP4 box: (offset from the box start, width in bytes).
_MP4_FIELDS = {
    b"mvhd": [(20, 4), (24, 4)],  # timescale, duration (version 0)
    b"mdhd": [(20, 4), (24, 4)],
    b"tkhd": [(28, 4), (84, 4), (88, 4)],  # duration, width, height (16.16)
    b"avc1": [(32, 2), (34, 2), (106, 2)],  # width, height, avcC length
    b"mp4v": [(32, 2), (34, 2)],
    b"mp4a": [(24, 2), (26, 2), (32, 4)],  # channels, sample size, sample rate (16.16)
    b"stts": [(12, 4), (16, 4), (20, 4)],  # entry count, first count, first delta
    b"stsz": [(12, 4), (16, 4), (20, 4)],  # sample size, count, first size
    b"stsc": [(12, 4), (16, 4), (20, 4)],
    b"stco": [(12, 4), (16, 4)],
    b"stss": [(12, 4), (16, 4)],
    b"ctts": [(12, 4), (20, 4)],
    b"elst": [(12, 4), (16, 4), (20, 4)],
    b"avcC": [(12, 2), (13, 2)],
    b"esds": [(12, 4), (24, 4)],
}


def _field(rng: random.Random, buf: bytearray, name: str) -> bytearray:
    head = bytes(buf[:16])
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        targets = [(off + o, w) for kind, off, size in mp4_boxes(buf) for o, w in _MP4_FIELDS.get(kind, [])
                   if off + o + w <= off + size]
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        targets = _wav_fields(buf)
    elif head[:8] == b"\x89PNG\r\n\x1a\n":
        return _png_field(rng, buf)
    elif head[:2] == b"\xff\xd8":
        targets = _jpeg_fields(buf)
    else:
        targets = []
    if not targets:  # any format: a 16- or 32-bit number somewhere in the first 256 bytes
        width = rng.choice((2, 4))
        targets = [(rng.randrange(max(1, min(len(buf), 256) - width)), width)]
    offset, width = rng.choice(targets)
    _put(rng, buf, offset, width)
    return buf


def _put(rng: random.Random, buf: bytearray, offset: int, width: int, big_endian: bool = True) -> None:
    value = rng.choice(EXTREMES_32 if width == 4 else EXTREMES_16)
    if rng.random() < 0.2:
        value = rng.randrange(1 << (8 * width))
    fmt = (">" if big_endian else "<") + ("I" if width == 4 else "H")
    if offset + width <= len(buf):
        buf[offset:offset + width] = struct.pack(fmt, value)


def _wav_fields(buf: bytearray) -> list[tuple[int, int]]:
    """Little-endian fields of a WAV: RIFF size, fmt channels/rate/byte rate/align/bits, data size.

    Returned as (offset, width); ``_field`` writes them big-endian, which is as extreme either way."""
    targets = [(4, 4)]
    at = 12
    while at + 8 <= len(buf):
        kind, size = buf[at:at + 4], struct.unpack("<I", bytes(buf[at + 4:at + 8]))[0]
        if kind == b"fmt ":
            targets += [(at + 8, 2), (at + 10, 2), (at + 12, 4), (at + 16, 4), (at + 20, 2), (at + 22, 2)]
        elif kind == b"data":
            targets.append((at + 4, 4))
            break
        at += 8 + size + (size & 1)
    return targets


def _jpeg_fields(buf: bytearray) -> list[tuple[int, int]]:
    """Height, width and component count of the SOF markers; lengths of the first segments."""
    targets = []
    at = 2
    while at + 4 <= len(buf) and len(targets) < 24:
        if buf[at] != 0xFF:
            break
        marker = buf[at + 1]
        length = struct.unpack(">H", bytes(buf[at + 2:at + 4]))[0]
        targets.append((at + 2, 2))
        if marker in (0xC0, 0xC1, 0xC2):
            targets += [(at + 5, 2), (at + 7, 2), (at + 9, 2)]  # height, width, components+1
        if marker == 0xDA:
            break
        at += 2 + length
    return targets


def _png_field(rng: random.Random, buf: bytearray) -> bytearray:
    """Edit a field of IHDR (width, height, depth, colour type, interlace) or a chunk length, fixing the CRC."""
    chunks = []
    at = 8
    while at + 12 <= len(buf):
        length, kind = struct.unpack(">I4s", bytes(buf[at:at + 8]))
        chunks.append((kind, at, length))
        if at + 12 + length > len(buf):
            break
        at += 12 + length
    if not chunks:
        return buf
    kind, at, length = rng.choice(chunks) if rng.random() < 0.3 else chunks[0]
    if kind == b"IHDR" and length >= 13:
        which = rng.choice(("width", "height", "both", "depth", "colour", "interlace"))
        if which in ("width", "height", "both"):
            big = rng.choice((0, 1, 65535, 100_000, 1 << 20, 0x7FFFFFFF, 0xFFFFFFFF))
            if which in ("width", "both"):
                buf[at + 8:at + 12] = struct.pack(">I", big)
            if which in ("height", "both"):
                buf[at + 12:at + 16] = struct.pack(">I", big)
        elif which == "depth":
            buf[at + 16] = rng.choice((0, 3, 7, 16, 255))
        elif which == "colour":
            buf[at + 17] = rng.choice((1, 5, 7, 255))
        else:
            buf[at + 20] = rng.choice((1, 2, 255))
        buf[at + 8 + length:at + 12 + length] = struct.pack(">I", zlib.crc32(bytes(buf[at + 4:at + 8 + length])))
    else:
        buf[at:at + 4] = struct.pack(">I", rng.choice(EXTREMES_32))
    return buf


def _box_size(rng: random.Random, buf: bytearray, name: str) -> bytearray:
    """Break the size of one MP4 box (or of a RIFF chunk, or any 32-bit word near the start)."""
    boxes = mp4_boxes(buf) if bytes(buf[4:8]) in (b"ftyp", b"moov", b"mdat", b"free", b"wide") else []
    if boxes:
        _, at, size = rng.choice(boxes)
        value = rng.choice((0, 1, 7, 8, size - 1, size + 1, size * 2, 0x7FFFFFFF, 0xFFFFFFFF))
        buf[at:at + 4] = struct.pack(">I", value & 0xFFFFFFFF)
        return buf
    if bytes(buf[:4]) == b"RIFF":
        at = rng.choice([4] + [o for o, w in _wav_fields(buf) if w == 4])
        buf[at:at + 4] = struct.pack("<I", rng.choice(EXTREMES_32))
        return buf
    return _field(rng, buf, name)


# --------------------------------------------------------------------------------------------------------------
# Hand-made extremes
# --------------------------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header declares ``width``×``height`` RGB pixels, with a few rows of real (zero) data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * min(4 * (1 + 3 * width), 1 << 22))
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


def huge_jpeg(small_jpeg: bytes, width: int = 65_000, height: int = 65_000) -> bytes:
    """A real JPEG with its SOF marker edited to declare ``width``×``height``."""
    buf = bytearray(small_jpeg)
    at = 2
    while at + 9 <= len(buf) and buf[at] == 0xFF:
        marker, length = buf[at + 1], struct.unpack(">H", bytes(buf[at + 2:at + 4]))[0]
        if marker in (0xC0, 0xC1, 0xC2):
            buf[at + 5:at + 9] = struct.pack(">HH", height, width)
            break
        at += 2 + length
    return bytes(buf)


def huge_gif(width: int = 65_535, height: int = 65_535) -> bytes:
    """A GIF whose screen and only frame declare ``width``×``height`` with a one-byte image."""
    screen = b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00" + b"\x02\x02\x44\x01\x00"
    return screen + image + b"\x3b"


def huge_bmp(width: int = 100_000, height: int = 100_000) -> bytes:
    """A 24-bit BMP header declaring ``width``×``height``, followed by 64 bytes of pixels."""
    pixels = b"\x00" * 64
    row = (width * 3 + 3) & ~3
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height & 0xFFFFFFFF, 2835, 2835, 0, 0)
    header = b"BM" + struct.pack("<IHHI", 14 + 40 + len(pixels), 0, 0, 14 + 40)
    return header + info + pixels


def hour_wav(seconds_declared: float = 3600.0, seconds_present: float = 1.0, rate: int = 48_000,
             channels: int = 2) -> bytes:
    """A 16-bit WAV whose header declares ``seconds_declared`` but which holds ``seconds_present`` of a tone."""
    import math

    n = int(seconds_present * rate)
    frames = bytearray()
    for i in range(n):
        v = int(12000 * math.sin(2 * math.pi * 440 * i / rate))
        frames += struct.pack("<h", v) * channels
    data_size = int(seconds_declared * rate) * 2 * channels
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (b"RIFF" + struct.pack("<I", (36 + data_size) & 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
            + fmt + b"data" + struct.pack("<I", data_size & 0xFFFFFFFF) + bytes(frames))


def mp4_declaring(mp4: bytes, *, size: tuple[int, int] | None = None, duration_s: float | None = None) -> bytes:
    """A real MP4 with its headers edited: track and sample-entry size ``size``, movie/track/media duration."""
    buf = bytearray(mp4)
    for kind, at, _ in mp4_boxes(buf):
        if size is not None and kind in (b"avc1", b"mp4v"):
            buf[at + 32:at + 36] = struct.pack(">HH", *size)
        if size is not None and kind == b"tkhd" and buf[at + 8] == 0 and struct.unpack(">I", bytes(buf[at + 84:at + 88]))[0]:
            buf[at + 84:at + 92] = struct.pack(">II", size[0] << 16, size[1] << 16)
        if duration_s is not None and kind in (b"mvhd", b"mdhd") and buf[at + 8] == 0:
            timescale = struct.unpack(">I", bytes(buf[at + 20:at + 24]))[0]
            buf[at + 24:at + 28] = struct.pack(">I", min(0xFFFFFFFF, int(duration_s * timescale)))
        if duration_s is not None and kind == b"tkhd" and buf[at + 8] == 0:
            # tkhd duration is in the movie timescale: take it from mvhd (edited above, same file)
            mvhd = next(a for k, a, _ in mp4_boxes(buf) if k == b"mvhd")
            timescale = struct.unpack(">I", bytes(buf[mvhd + 20:mvhd + 24]))[0]
            buf[at + 28:at + 32] = struct.pack(">I", min(0xFFFFFFFF, int(duration_s * timescale)))
    return bytes(buf)


def huge_png_frames_mov(path: Path, side: int = 12_000, frames: int = 3) -> Path:
    """A QuickTime file of PNG frames that each decode to ``side``×``side`` grey pixels (about 200 kB each: rows
    of zeros compress well), in a track whose header says 64×64: a decoder allocates the real size."""
    import av

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + side)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_stream("png", rate=1)
        stream.width = stream.height = 64
        stream.pix_fmt = "gray"
        for i in range(frames):
            packet = av.Packet(png)
            packet.stream, packet.pts, packet.dts = stream, i, i
            out.mux(packet)
    return path


def wav_with_rate(wav: bytes, rate: int) -> bytes:
    """A real 16-bit WAV with its ``fmt`` sample rate (and byte rate) set to ``rate``: 2 Hz makes 0.6 s of data
    claim more than an hour."""
    buf = bytearray(wav)
    at = 12
    while at + 8 <= len(buf):
        kind, size = bytes(buf[at:at + 4]), struct.unpack("<I", bytes(buf[at + 4:at + 8]))[0]
        if kind == b"fmt ":
            channels, bits = struct.unpack("<H", bytes(buf[at + 10:at + 12]))[0], 16
            buf[at + 12:at + 20] = struct.pack("<II", rate, rate * channels * bits // 8)
            break
        at += 8 + size + (size & 1)
    return bytes(buf)
