"""Request and result of the animatic engine: still pictures, voice-over and music → a storyboard video.

Times of a scene's captions are seconds from the start of that scene; the engine fits each scene's length to its
speech (see ``timing``) and places everything on the output timeline.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

MOTIONS: tuple[str, ...] = ("auto", "zoom_in", "zoom_out", "pan_left", "pan_right", "none")
MAX_SCENES = 200
SIZE_RANGE = (64, 3840)
FPS_RANGE = (1, 60)
#: Longest a scene's ``min_duration_s`` may be (10 minutes); longer stills are a mistake, not a storyboard.
MAX_SCENE_S = 600.0


@dataclass(frozen=True)
class Caption:
    """One subtitle: ``start_s``..``end_s`` seconds from the start of its scene (or of the film, once placed)."""

    start_s: float
    end_s: float
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"start_s": self.start_s, "end_s": self.end_s, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Caption":
        try:
            return cls(float(data["start_s"]), float(data["end_s"]), str(data["text"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"A caption needs start_s, end_s (numbers) and text; got {data!r}.") from exc


@dataclass(frozen=True)
class AnimaticScene:
    """One still: the picture, an optional title (drawn top left), an optional voice-over file, captions and
    the camera move (``"auto"`` picks a zoom or pan from the request's seed and the scene's index)."""

    image: Path
    title: str = ""
    speech: Path | None = None
    min_duration_s: float = 3.0
    captions: tuple[Caption, ...] = ()
    motion: str = "auto"

    def as_dict(self) -> dict[str, Any]:
        return {"image": str(self.image), "title": self.title,
                "speech": None if self.speech is None else str(self.speech),
                "min_duration_s": self.min_duration_s, "captions": [c.as_dict() for c in self.captions],
                "motion": self.motion}

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Path | None = None) -> "AnimaticScene":
        if not isinstance(data, dict) or "image" not in data:
            raise InvalidInput(f"Each scene needs an 'image'; got {data!r}.")
        captions = data.get("captions") or ()
        if not isinstance(captions, (list, tuple)):
            raise InvalidInput("A scene's 'captions' must be a list of {start_s, end_s, text}.")
        try:
            min_duration = float(data.get("min_duration_s", 3.0))
        except (TypeError, ValueError):
            raise InvalidInput(f"min_duration_s must be a number, not {data.get('min_duration_s')!r}.") from None
        return cls(image=_path(data["image"], base), title=str(data.get("title") or ""),
                   speech=_path(data["speech"], base) if data.get("speech") else None,
                   min_duration_s=min_duration, captions=tuple(Caption.from_dict(c) for c in captions),
                   motion=str(data.get("motion") or "auto"))


@dataclass(frozen=True)
class AnimaticRequest:
    """What to render. ``out`` is an ``.mp4`` path; levels are in dB (``music_db`` is the gain applied to the
    music file as it is, ``duck_db`` the further reduction under speech); ``crossfade_s`` overlaps consecutive
    scenes; ``speech_pad_s`` is the silence before and after each scene's speech."""

    scenes: tuple[AnimaticScene, ...]
    out: Path
    music: Path | None = None
    width: int = 1280
    height: int = 720
    fps: int = 24
    crossfade_s: float = 0.5
    speech_pad_s: float = 0.6
    duck_db: float = -12.0
    music_db: float = -6.0
    burn_subtitles: bool = True
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"scenes": [s.as_dict() for s in self.scenes], "out": str(self.out),
                "music": None if self.music is None else str(self.music), "width": self.width,
                "height": self.height, "fps": self.fps, "crossfade_s": self.crossfade_s,
                "speech_pad_s": self.speech_pad_s, "duck_db": self.duck_db, "music_db": self.music_db,
                "burn_subtitles": self.burn_subtitles, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, out: Path | None = None,
                  base: Path | None = None) -> "AnimaticRequest":
        """Build a request from JSON-like data; relative paths are taken from ``base`` (the spec's folder)."""
        if not isinstance(data, dict):
            raise InvalidInput("The animatic spec must be a JSON object with a 'scenes' list.")
        scenes = data.get("scenes")
        if not isinstance(scenes, (list, tuple)):
            raise InvalidInput("The animatic spec needs a 'scenes' list.")
        target = out if out is not None else data.get("out")
        if not target:
            raise InvalidInput("Say where to write the video ('out').")
        options: dict[str, Any] = {}
        casts = {"width": int, "height": int, "fps": int, "crossfade_s": float, "speech_pad_s": float,
                 "duck_db": float, "music_db": float, "burn_subtitles": bool, "seed": int}
        for key, cast in casts.items():
            if key in data and data[key] is not None:
                try:
                    options[key] = cast(data[key])
                except (TypeError, ValueError):
                    raise InvalidInput(f"{key} must be a number, not {data[key]!r}.") from None
        return cls(scenes=tuple(AnimaticScene.from_dict(s, base) for s in scenes),
                   out=Path(target) if out is not None else _path(target, base),
                   music=_path(data["music"], base) if data.get("music") else None, **options)

    def validate(self) -> None:
        """Check the parameters that need no file (``InvalidInput``). Files are checked by the engine."""
        n = len(self.scenes)
        if n == 0:
            raise InvalidInput("An animatic needs at least one scene.")
        if n > MAX_SCENES:
            raise InvalidInput(f"An animatic can have at most {MAX_SCENES} scenes; this one has {n}.")
        lo, hi = SIZE_RANGE
        for label, value in (("width", self.width), ("height", self.height)):
            if not isinstance(value, int) or not lo <= value <= hi or value % 2:
                raise InvalidInput(f"The {label} must be an even number of pixels from {lo} to {hi}, not {value}.")
        if not isinstance(self.fps, int) or not FPS_RANGE[0] <= self.fps <= FPS_RANGE[1]:
            raise InvalidInput(f"fps must be a whole number from {FPS_RANGE[0]} to {FPS_RANGE[1]}, not {self.fps}.")
        for label, value, low, high in (("crossfade_s", self.crossfade_s, 0.0, 10.0),
                                        ("speech_pad_s", self.speech_pad_s, 0.0, 10.0),
                                        ("duck_db", self.duck_db, -60.0, 0.0),
                                        ("music_db", self.music_db, -60.0, 12.0)):
            if not _finite(value) or not low <= value <= high:
                raise InvalidInput(f"{label} must be from {low:g} to {high:g}, not {value}.")
        if Path(self.out).suffix.lower() not in (".mp4", ".m4v"):
            raise InvalidInput(f"The output must be an .mp4 file, not '{Path(self.out).name}'.")
        for i, scene in enumerate(self.scenes, start=1):
            if scene.motion not in MOTIONS:
                raise InvalidInput(f"Scene {i}: motion must be one of {', '.join(MOTIONS)}, not '{scene.motion}'.")
            if not _finite(scene.min_duration_s) or not 0 < scene.min_duration_s <= MAX_SCENE_S:
                raise InvalidInput(f"Scene {i}: min_duration_s must be more than 0 and at most {MAX_SCENE_S:g} "
                                   f"seconds, not {scene.min_duration_s}.")
            for c in scene.captions:
                if not (_finite(c.start_s) and _finite(c.end_s)) or c.start_s < 0 or c.end_s <= c.start_s:
                    raise InvalidInput(f"Scene {i}: the caption '{_short(c.text)}' must end after it starts "
                                       f"(at 0 s or later); it runs {c.start_s} → {c.end_s} s.")
                if not c.text.strip():
                    raise InvalidInput(f"Scene {i}: a caption at {c.start_s:g} s has no text.")


@dataclass
class AnimaticResult:
    """The video written at ``path`` (``duration_s`` long), where each scene lies on its timeline (seconds,
    overlapping by the crossfade), the request's settings and the subtitle sidecar when there were captions."""

    path: Path
    duration_s: float
    scene_spans: list[tuple[float, float]]
    parameters: dict[str, Any]
    backend: str
    seconds: float
    srt: Path | None = None
    captions: list[Caption] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-safe description (for logs, job rows and the CLI)."""
        return {"path": str(self.path), "duration_s": round(self.duration_s, 3),
                "scene_spans": [[round(a, 3), round(b, 3)] for a, b in self.scene_spans],
                "srt": None if self.srt is None else str(self.srt), "captions": len(self.captions),
                "backend": self.backend, "seconds": round(self.seconds, 3), "parameters": self.parameters}


def _path(value: Any, base: Path | None) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _short(text: str, n: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
