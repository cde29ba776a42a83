"""Request and result of speaker diarization ("who spoke when"): plain, typed, JSON-friendly."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import InvalidInput

#: Most speakers a request may ask for (the clustering is meant for conversations, not crowds).
MAX_SPEAKERS = 16


@dataclass(frozen=True)
class Turn:
    """One stretch of speech by one speaker, in seconds from the start of the file; ``speaker`` is "S1", "S2" ...
    numbered in order of first appearance."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "speaker": self.speaker}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Turn":
        try:
            return cls(float(data["start"]), float(data["end"]), str(data["speaker"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"A turn needs start, end (numbers) and speaker; got {data!r}.") from exc


@dataclass(frozen=True)
class DiarizeRequest:
    """What to diarize. ``speakers`` fixes the number of speakers; ``None`` estimates it between
    ``min_speakers`` and ``max_speakers``."""

    media: Path
    speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", Path(self.media))
        for name in ("speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is None and name == "speakers":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SPEAKERS:
                raise InvalidInput(f"{name} must be a whole number from 1 to {MAX_SPEAKERS}, not {value!r}.")
        if self.min_speakers > self.max_speakers:
            raise InvalidInput(f"min_speakers ({self.min_speakers}) must not be more than max_speakers "
                               f"({self.max_speakers}).")

    def as_dict(self) -> dict[str, Any]:
        return {"media": str(self.media), "speakers": self.speakers, "min_speakers": self.min_speakers,
                "max_speakers": self.max_speakers}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DiarizeRequest":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class DiarizeResult:
    """The turns in time order (no overlaps), how many speakers were found, the backend, wall ``seconds`` and
    ``rtf`` (wall time / audio duration). ``vad`` names the voice activity detector that found the speech."""

    segments: list[Turn]
    speakers: int
    backend: str
    seconds: float
    rtf: float
    duration_s: float = 0.0
    vad: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"segments": [t.as_dict() for t in self.segments], "speakers": self.speakers,
                "backend": self.backend, "seconds": round(self.seconds, 3), "rtf": round(self.rtf, 4),
                "duration_s": round(self.duration_s, 3), "vad": self.vad}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DiarizeResult":
        return cls([Turn.from_dict(t) for t in data.get("segments", [])], int(data.get("speakers", 0)),
                   str(data.get("backend", "")), float(data.get("seconds", 0.0)), float(data.get("rtf", 0.0)),
                   float(data.get("duration_s", 0.0)), str(data.get("vad", "")))
