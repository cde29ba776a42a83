"""Request and result of the shot-boundary engine: hard cuts and gradual transitions (dissolves, fades)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ShotRequest:
    """What to analyse. ``min_shot_s`` (0..10) is the shortest shot kept; ``sensitivity`` (0.25..4) scales how
    readily a change counts as a transition (higher finds more)."""

    media: Path
    min_shot_s: float = 0.4
    sensitivity: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"media": str(self.media), "min_shot_s": self.min_shot_s, "sensitivity": self.sensitivity}


@dataclass
class Transition:
    """One boundary. ``frame`` is the 0-based decoded index of the first frame of the new shot (the middle frame
    for a gradual one); ``start``..``end`` is its span (equal to ``frame`` for a cut)."""

    frame: int
    time: float
    type: str  # "cut" | "dissolve" | "fade"
    start: int
    end: int
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "time": round(self.time, 3), "type": self.type,
                "start": self.start, "end": self.end, "score": round(self.score, 3)}


@dataclass
class ShotResult:
    frames: int
    fps: float
    transitions: list[Transition]
    #: Inclusive (first, last) frame index of each shot.
    shots: list[tuple[int, int]]
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "fps": round(self.fps, 3),
                "transitions": [t.as_dict() for t in self.transitions],
                "shots": [list(s) for s in self.shots], "seconds": round(self.seconds, 3),
                "parameters": self.parameters}
