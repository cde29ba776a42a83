"""Request and result of the captions (speech → text) engine, and the subtitle cue they become."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput


@dataclass(frozen=True)
class Word:
    """One recognised word and where it is heard, in seconds from the start of the file."""

    start: float
    end: float
    word: str
    probability: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "word": self.word,
                "probability": round(self.probability, 4)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Word":
        return cls(float(data["start"]), float(data["end"]), str(data["word"]),
                   float(data.get("probability", 1.0)))


@dataclass(frozen=True)
class Segment:
    """A stretch of speech (about a sentence) with its words."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                "words": [w.as_dict() for w in self.words]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Segment":
        return cls(float(data["start"]), float(data["end"]), str(data["text"]),
                   [Word.from_dict(w) for w in data.get("words", [])])


@dataclass(frozen=True)
class Cue:
    """One subtitle on screen from ``start_s`` to ``end_s``; ``text`` holds its lines joined by ``\\n``.

    Same shape as ``engines.animatic.types.Caption``, so the subtitle functions take either."""

    start_s: float
    end_s: float
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cue":
        try:
            return cls(float(data["start_s"]), float(data["end_s"]), str(data["text"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"A cue needs start_s, end_s (numbers) and text; got {data!r}.") from exc


@dataclass(frozen=True)
class CaptionRequest:
    """What to transcribe. ``language`` is an ISO code ("en", "fr" ...) or ``None`` to detect it (multilingual
    models only); ``beam_size``/``vad`` override the backend's defaults when given; ``initial_prompt`` steers the
    Whisper backends' wording (e.g. ``engines.transcript.fillers.VERBATIM_PROMPT`` keeps "um"/"uh")."""

    media: Path
    language: str | None = "en"
    word_timestamps: bool = True
    beam_size: int | None = None
    vad: bool = True
    initial_prompt: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", Path(self.media))
        if self.language is not None and not (isinstance(self.language, str) and 2 <= len(self.language) <= 8):
            raise InvalidInput(f"language must be a code such as 'en', or None to detect it; not {self.language!r}.")
        if self.beam_size is not None and not 1 <= int(self.beam_size) <= 20:
            raise InvalidInput(f"beam_size must be between 1 and 20, not {self.beam_size}.")

    def as_dict(self) -> dict[str, Any]:
        return {"media": str(self.media), "language": self.language, "word_timestamps": self.word_timestamps,
                "beam_size": self.beam_size, "vad": self.vad, "initial_prompt": self.initial_prompt}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CaptionRequest":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class CaptionResult:
    """The transcript: ``segments`` with word timings, the model that made it, wall ``seconds`` and ``rtf``
    (wall time / audio duration)."""

    language: str
    text: str
    segments: list[Segment]
    model: str
    seconds: float
    rtf: float
    duration_s: float = 0.0
    backend: str = ""

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def as_dict(self) -> dict[str, Any]:
        return {"language": self.language, "text": self.text, "segments": [s.as_dict() for s in self.segments],
                "model": self.model, "backend": self.backend, "seconds": round(self.seconds, 3),
                "rtf": round(self.rtf, 4), "duration_s": round(self.duration_s, 3)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CaptionResult":
        return cls(str(data["language"]), str(data["text"]), [Segment.from_dict(s) for s in data["segments"]],
                   str(data.get("model", "")), float(data.get("seconds", 0.0)), float(data.get("rtf", 0.0)),
                   float(data.get("duration_s", 0.0)), str(data.get("backend", "")))
