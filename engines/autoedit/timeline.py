"""The rough cut as plain data: a ``Timeline`` of ``Clip`` ranges of source files, plus timecode helpers.

Times in a ``Clip`` are seconds of its source. The analyser puts every boundary on the frame grid of the
timeline's rate (``seconds_to_frames`` is exact for them), so every export is frame-accurate and consistent:
EDL timecodes, FCPXML rationals and OTIO ``RationalTime`` values all come from the same integer frame numbers.

Frame rates. ``frame_rate(fps)`` gives the exact rational rate: NTSC-family rates (23.976, 29.97, 59.94, ...)
become ``N*1000/1001`` (e.g. 30000/1001), other rates are taken as integers when they are within 0.01 of one.
Timecode is always NON-DROP: for 29.97 the frames are counted with a timebase of 30 (``timebase``), so
timecode drifts from the wall clock by 3.6 s per hour, exactly as NDF timecode does in every NLE; the FCPXML
export still states the true rate (``frameDuration="1001/30000s"``) and ``tcFormat="NDF"``. Drop-frame
timecode is not written.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

_NTSC_BASES = (24, 30, 48, 60, 120)


def frame_rate(fps: float) -> Fraction:
    """The exact rate of ``fps``: 29.97 → 30000/1001, 25.0 → 25, 12.5 → 25/2."""
    if fps <= 0:
        raise ValueError(f"frame rate must be positive, not {fps}")
    for base in _NTSC_BASES:
        if abs(fps - base * 1000 / 1001) < 0.005:
            return Fraction(base * 1000, 1001)
    if abs(fps - round(fps)) < 0.01:
        return Fraction(round(fps))
    return Fraction(fps).limit_denominator(1001)


def timebase(fps: float) -> int:
    """Frames per timecode second (non-drop): the rate rounded up to a whole number (29.97 → 30)."""
    return max(1, round(float(frame_rate(fps))))


def frame_duration(fps: float) -> Fraction:
    """Seconds per frame as a fraction (1001/30000 for 29.97, 1/25 for 25)."""
    return 1 / frame_rate(fps)


def seconds_to_frames(seconds: float, fps: float) -> int:
    return int(round(seconds * float(frame_rate(fps)) + 1e-9))


def frames_to_seconds(frames: int, fps: float) -> float:
    return float(frames / frame_rate(fps))


def frames_to_tc(frames: int, fps: float) -> str:
    """Non-drop SMPTE timecode ``HH:MM:SS:FF`` of a frame count."""
    if frames < 0:
        raise ValueError(f"timecode of a negative frame count ({frames})")
    tb = timebase(fps)
    ff = frames % tb
    total_s = frames // tb
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}:{ff:02d}"


def tc_to_frames(tc: str, fps: float) -> int:
    """Frame count of a non-drop ``HH:MM:SS:FF`` (``;`` or ``.`` separators accepted, read as non-drop)."""
    parts = tc.replace(";", ":").replace(".", ":").split(":")
    if len(parts) != 4:
        raise ValueError(f"not a timecode: {tc!r}")
    h, m, s, f = (int(p) for p in parts)
    return ((h * 60 + m) * 60 + s) * timebase(fps) + f


@dataclass
class Clip:
    """A range ``[src_in, src_out)`` (seconds) of ``source``; disabled clips stay in the list but not in the cut."""

    source: str
    src_in: float
    src_out: float
    enabled: bool = True
    label: str = ""
    reason: str = ""
    #: Highlight score 0..1 (loudness + motion), ``None`` when not computed.
    score: float | None = None

    def frames(self, fps: float) -> tuple[int, int]:
        """``(in, out)`` frame numbers of the source at ``fps`` (out exclusive)."""
        return seconds_to_frames(self.src_in, fps), seconds_to_frames(self.src_out, fps)

    @property
    def duration(self) -> float:
        return self.src_out - self.src_in


@dataclass
class Timeline:
    name: str
    fps: float
    width: int
    height: int
    clips: list[Clip] = field(default_factory=list)
    sample_rate: int = 48000

    @property
    def enabled_clips(self) -> list[Clip]:
        return [c for c in self.clips if c.enabled]

    def frame_ranges(self) -> list[tuple[int, int]]:
        """Source ``(in, out)`` frames of the enabled clips, in order."""
        return [c.frames(self.fps) for c in self.enabled_clips]

    def record_frames(self) -> list[tuple[int, int]]:
        """Where each enabled clip sits in the cut, ``(rec_in, rec_out)`` in frames from the start."""
        out, at = [], 0
        for a, b in self.frame_ranges():
            out.append((at, at + (b - a)))
            at += b - a
        return out

    def record_times(self) -> list[tuple[float, float]]:
        """Where each enabled clip sits in the cut, ``(rec_in, rec_out)`` in seconds."""
        return [(frames_to_seconds(a, self.fps), frames_to_seconds(b, self.fps)) for a, b in self.record_frames()]

    @property
    def duration_frames(self) -> int:
        return sum(b - a for a, b in self.frame_ranges())

    @property
    def duration(self) -> float:
        """Seconds of the cut: the enabled clips, each a whole number of frames."""
        return frames_to_seconds(self.duration_frames, self.fps)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timeline:
        return cls(name=str(data["name"]), fps=float(data["fps"]), width=int(data["width"]),
                   height=int(data["height"]), sample_rate=int(data.get("sample_rate", 48000)),
                   clips=[Clip(**c) for c in data.get("clips", [])])
