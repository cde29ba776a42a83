"""Request, candidates and result of the shorts engine (a long talk → a few captioned vertical clips)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..autoedit.timeline import Timeline


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


@dataclass(frozen=True)
class ShortCandidate:
    """A proposed short: ``[start, end)`` seconds of the source (on its frame grid), whole sentences only.

    ``score`` 0..1 (higher is better; candidates sort by it), ``title`` a few words for the upload,
    ``text`` the words said, ``reasons`` why it scored as it did (and any exception to the rules)."""

    start: float
    end: float
    score: float
    title: str
    text: str
    reasons: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _r(self.end), "duration": _r(self.duration),
                "score": _r(self.score), "title": self.title, "text": self.text, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShortCandidate:
        return cls(float(data["start"]), float(data["end"]), float(data.get("score", 0.0)),
                   str(data.get("title", "")), str(data.get("text", "")), [str(r) for r in data.get("reasons", [])])


@dataclass(frozen=True)
class ShortsRequest:
    """Cut ``n`` shorts of ``min_s``..``max_s`` seconds out of ``media``.

    ``words``: the transcript, times in seconds of ``media`` (``TranscriptWord`` or dicts with start/end/text).
    ``aspect``: "9:16", "1:1" or "4:5" (the reframe engine's). ``out_dir``: where the MP4s go (``None``: a folder
    ``<stem>-shorts`` beside the media; created when missing). ``captions``: burn word-by-word captions.
    ``segments``: ``(start, end)`` seconds to render instead of proposing (the studio lists candidates with
    ``propose_only`` and renders the ones picked; each is snapped to the frame grid, not to sentences).
    ``output_height``: height of the shorts (``None``: the reframe engine's default, the crop's own height).
    """

    media: Path
    words: Sequence[Any]
    n: int = 3
    aspect: str = "9:16"
    min_s: float = 15.0
    max_s: float = 60.0
    out_dir: Path | None = None
    captions: bool = True
    segments: Sequence[tuple[float, float]] | None = None
    output_height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"media": str(self.media), "words": len(self.words), "n": self.n, "aspect": self.aspect,
                "min_s": self.min_s, "max_s": self.max_s,
                "out_dir": None if self.out_dir is None else str(self.out_dir), "captions": self.captions,
                "segments": None if self.segments is None else [[_r(a), _r(b)] for a, b in self.segments],
                "output_height": self.output_height}


@dataclass
class Short:
    """One rendered short: what it is (``candidate``), the MP4 (``video``), the cut as a ``Timeline`` of the
    ORIGINAL media (one clip ``src_in``/``src_out`` = the candidate's times: EDL/FCPXML/OTIO export it), and a
    summary of the reframe crop path (``crop_summary``: output/crop size, fills, the range the crop moved over)."""

    candidate: ShortCandidate
    video: Path
    timeline: Timeline
    crop_summary: dict[str, Any]
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate.as_dict(), "video": str(self.video), "timeline": self.timeline.as_dict(),
                "crop_summary": self.crop_summary, "seconds": _r(self.seconds)}


@dataclass
class ShortsResult:
    """The rendered ``shorts`` (empty for ``propose_only``), every ``candidates`` proposed, the wall time."""

    shorts: list[Short]
    candidates: list[ShortCandidate]
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)
    backend: str = "lite"

    def as_dict(self) -> dict[str, Any]:
        return {"shorts": [s.as_dict() for s in self.shorts], "candidates": [c.as_dict() for c in self.candidates],
                "seconds": _r(self.seconds), "parameters": self.parameters, "backend": self.backend}
