"""Request and result of the scene engine: storyboard frames and scene images from a line of a script."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from ..errors import InvalidInput

MAX_PROMPT_CHARS = 2000
MIN_SIDE, MAX_SIDE = 64, 2048
MAX_BATCH = 8
MAX_STEPS = 150
MAX_SEED = 2**32 - 1
TIMES_OF_DAY = ("dawn", "day", "dusk", "night")


@dataclass(frozen=True)
class SceneRequest:
    """One scene to draw.

    ``prompt`` may be a screenplay line with a slugline (``"EXT. HARBOUR - NIGHT — Mara waits by the water"``);
    ``characters``, ``mood``, ``interior`` and ``time_of_day`` override what the backends read from it.
    ``init_image`` turns the request into image-to-image; ``strength`` follows diffusers' meaning on every backend:
    how much the new render replaces the init image (0 keeps the init image, 1 ignores it).
    ``caption``: text for the lite backend's caption bar (``None``: the slugline if any; ``""``: no bar).
    """

    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    steps: int = 2
    guidance: float = 0.0
    width: int = 512
    height: int = 512
    batch: int = 1
    init_image: Path | None = None
    strength: float = 0.6
    caption: str | None = None
    characters: tuple[str, ...] = ()
    mood: str | None = None
    interior: bool | None = None
    time_of_day: str | None = None

    def __post_init__(self) -> None:
        # Accept the loose types a UI hands over (str paths, lists) without making the dataclass mutable.
        if isinstance(self.init_image, str):
            object.__setattr__(self, "init_image", Path(self.init_image) if self.init_image else None)
        if not isinstance(self.characters, tuple):
            object.__setattr__(self, "characters", tuple(self.characters or ()))

    def validate(self) -> None:
        """Raise ``InvalidInput`` with a message fit for a user when a field is out of range."""
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InvalidInput("The prompt is empty: describe the scene to draw.")
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise InvalidInput(f"The prompt is {len(self.prompt)} characters long; the limit is {MAX_PROMPT_CHARS}.")
        if len(self.negative_prompt or "") > MAX_PROMPT_CHARS:
            raise InvalidInput(f"The negative prompt is over {MAX_PROMPT_CHARS} characters.")
        for label, value in (("Width", self.width), ("Height", self.height)):
            if not _is_int(value) or not MIN_SIDE <= value <= MAX_SIDE or value % 8:
                raise InvalidInput(f"{label} must be a multiple of 8 between {MIN_SIDE} and {MAX_SIDE} pixels "
                                   f"(got {value}).")
        if not _is_int(self.batch) or not 1 <= self.batch <= MAX_BATCH:
            raise InvalidInput(f"Batch must be between 1 and {MAX_BATCH} images (got {self.batch}).")
        if not _is_int(self.steps) or not 1 <= self.steps <= MAX_STEPS:
            raise InvalidInput(f"Steps must be between 1 and {MAX_STEPS} (got {self.steps}).")
        if not _is_int(self.seed) or not 0 <= self.seed <= MAX_SEED:
            raise InvalidInput(f"Seed must be a whole number between 0 and {MAX_SEED} (got {self.seed}).")
        if not isinstance(self.guidance, (int, float)) or not 0.0 <= float(self.guidance) <= 30.0:
            raise InvalidInput(f"Guidance (CFG scale) must be between 0 and 30 (got {self.guidance}).")
        if not isinstance(self.strength, (int, float)) or not 0.0 <= float(self.strength) <= 1.0:
            raise InvalidInput(f"Strength must be between 0 and 1 (got {self.strength}).")
        if self.time_of_day is not None and self.time_of_day.strip().lower() not in TIMES_OF_DAY:
            raise InvalidInput(f"Time of day must be one of {', '.join(TIMES_OF_DAY)} (got {self.time_of_day!r}).")
        if len(self.characters) > 12:
            raise InvalidInput(f"At most 12 characters per frame (got {len(self.characters)}).")
        if self.init_image is not None:
            load_init_image(self.init_image)  # raises InvalidInput when missing or unreadable

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe copy of every field (paths as strings, tuples as lists)."""
        return {
            "prompt": self.prompt, "negative_prompt": self.negative_prompt, "seed": self.seed, "steps": self.steps,
            "guidance": float(self.guidance), "width": self.width, "height": self.height, "batch": self.batch,
            "init_image": str(self.init_image) if self.init_image is not None else None,
            "strength": float(self.strength), "caption": self.caption, "characters": list(self.characters),
            "mood": self.mood, "interior": self.interior, "time_of_day": self.time_of_day,
        }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load_init_image(path: Path, size: tuple[int, int] | None = None) -> Image.Image:
    """The init image as RGB, centre-cropped and resized to ``size`` (width, height) when given."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"Init image not found: {path.name or path}.")
    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"Init image {path.name} cannot be read as a picture ({exc}).") from exc
    if size is not None and rgb.size != size:
        from PIL import ImageOps

        rgb = ImageOps.fit(rgb, size, Image.Resampling.LANCZOS)
    return rgb


@dataclass
class SceneResult:
    """The pictures, the seed of each, and the parameters that made them (JSON-safe, for provenance/PNG info)."""

    images: list[Image.Image]
    seeds: list[int]
    parameters: dict[str, Any]
    backend: str
    model_id: str | None
    seconds: float
    #: Per-image extras (the lite backend's figure boxes); merged into ``image_parameters(i)``.
    extras: list[dict[str, Any]] = field(default_factory=list)

    def image_parameters(self, index: int) -> dict[str, Any]:
        """The parameters of image ``index`` alone: its own seed, batch of one (what goes into its PNG)."""
        params = dict(self.parameters)
        params.update(seed=self.seeds[index], batch_index=index)
        if index < len(self.extras):
            params.update(self.extras[index])
        return params

    def png(self, index: int = 0) -> bytes:
        """Image ``index`` as PNG bytes with its parameters (A1111 ``parameters`` text and ``reelsmith`` JSON)."""
        from .pnginfo import png_bytes

        return png_bytes(self.images[index], self.image_parameters(index))

    def summary(self) -> dict[str, Any]:
        return {"backend": self.backend, "model_id": self.model_id, "seconds": round(self.seconds, 3),
                "seeds": list(self.seeds), "sizes": [list(im.size) for im in self.images],
                "parameters": self.parameters}
