"""Request, plan and result of the auto-reframe engine (landscape → 9:16, 1:1 or 4:5 following the subject)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

#: Output aspects offered, as (width, height) ratios.
ASPECTS: dict[str, tuple[int, int]] = {"9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5)}
#: ``fill``: "crop" always follows the subject; "letterbox"/"blur" are used for the shots whose subject cannot be
#: framed (too wide for the crop, or no confident subject); "auto" picks one of those two per output shape.
FILLS = ("auto", "crop", "letterbox", "blur")

Box = tuple[float, float, float, float]  # x, y, w, h in source pixels
CropEntry = tuple[float, float, float, float, float]  # t (s), x, y, w, h in source pixels


def _round(value: Any, digits: int = 3) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, (list, tuple)):
        return [_round(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass(frozen=True)
class ReframeRequest:
    """Reframe ``media`` to ``aspect`` by a moving crop that follows the subject of each shot.

    ``shots``: cut times in seconds (``None``: found by the ``shots`` engine's lite backend); the crop may jump
    only at a cut. ``output_height``: height of the output in pixels (``None``: the crop's own height, at most
    1920), rounded to even. ``hold_px``: dead zone in source pixels — while the subject stays within it the crop
    does not move (``None``: 6 % of the crop's width). ``smoothness``: λ of the second-difference penalty of the
    path smoother (at 30 fps, scaled with the frame rate like stabilisation's). ``max_speed``: fastest pan, in
    crop widths per second. ``out``: the MP4 to write; ``None`` plans only (the studio previews the path).
    """

    media: Path
    aspect: str = "9:16"
    shots: Sequence[float] | None = None
    output_height: int | None = None
    fill: str = "auto"
    hold_px: float | None = None
    smoothness: float = 3000.0
    out: Path | None = None
    max_speed: float = 1.0
    #: Longest side of the pictures the subject is looked for in.
    analysis_side: int = 320
    #: Analysed frames per second (every frame when the clip's rate is at most this).
    analysis_fps: float = 15.0
    #: Look for faces (Haar cascades) before falling back to saliency + motion.
    faces: bool = True

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["shots"] = None if self.shots is None else [float(t) for t in self.shots]
        return _round(data)


@dataclass
class Subject:
    """What should stay in view on one analysed frame: ``primary`` is the main subject, ``box`` it and the other
    subjects that fit in the crop with it (two people in a conversation); ``coverage`` is the share of all the
    subjects' weight (salient mass, face area) inside ``box`` (0.5: two equal subjects too far apart); ``score``
    0..1 is how sure the finder is; ``kind`` is "face" or "saliency"."""

    frame: int
    time: float
    box: Box
    primary: Box
    score: float
    kind: str
    coverage: float = 1.0

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2.0, y + h / 2.0

    def as_dict(self) -> dict[str, Any]:
        return _round(asdict(self), 2)


@dataclass
class ShotPlan:
    """One shot: inclusive frame range, how its subject was found and how it is rendered (``fill``: "crop",
    "letterbox" or "blur"); ``fits`` is the share of its analysed frames whose subjects fit in the crop."""

    start: int
    end: int
    start_s: float
    end_s: float
    kind: str
    confidence: float
    fits: float
    fill: str
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return _round(asdict(self))


@dataclass
class ReframeResult:
    """The plan (crop path per frame, shots, subjects) and, once rendered, ``output``.

    ``crop_path`` has one ``(t, x, y, w, h)`` per frame in source pixels: the part of the source shown (the whole
    frame for letterboxed or blur-filled shots). ``seconds`` is the wall time of everything done so far.
    """

    media: Path
    output: Path | None
    aspect: str
    fps: float
    frames: int
    source_size: tuple[int, int]
    crop_size: tuple[float, float]
    output_size: tuple[int, int]
    crop_path: list[CropEntry]
    shots: list[ShotPlan]
    subjects: list[Subject]
    seconds: float
    plan_seconds: float = 0.0
    render_seconds: float = 0.0
    max_step_px: float = 0.0  # the per-frame speed limit the path respects inside a shot (source pixels)
    backend: str = "lite"
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def fill_used(self) -> list[str]:
        """The fill of each shot, in order ("crop", "letterbox" or "blur")."""
        return [s.fill for s in self.shots]

    def as_dict(self) -> dict[str, Any]:
        return {
            "media": str(self.media), "output": None if self.output is None else str(self.output),
            "aspect": self.aspect, "fps": round(self.fps, 3), "frames": self.frames,
            "source_size": list(self.source_size), "crop_size": _round(list(self.crop_size), 2),
            "output_size": list(self.output_size), "fill_used": self.fill_used,
            "shots": [s.as_dict() for s in self.shots], "subjects": [s.as_dict() for s in self.subjects],
            "crop_path": [_round(list(e), 2) for e in self.crop_path], "seconds": round(self.seconds, 3),
            "plan_seconds": round(self.plan_seconds, 3), "render_seconds": round(self.render_seconds, 3),
            "max_step_px": round(self.max_step_px, 3), "backend": self.backend, "parameters": self.parameters,
        }
