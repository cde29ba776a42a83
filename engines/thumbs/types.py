"""Request and result of the thumbnail engine: a poster frame, a few thumbnails and a contact sheet."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ..media import MediaInfo


@dataclass(frozen=True)
class ThumbnailRequest:
    """What to make. The engine checks the ranges (``InvalidInput``): ``count`` 1..64, ``columns`` 1..16,
    ``tile_width`` 32..1920 and ``poster_width`` 64..3840 pixels."""

    media: Path
    count: int = 12
    columns: int = 4
    tile_width: int = 320
    poster_width: int = 640

    def as_dict(self) -> dict[str, Any]:
        return {"media": str(self.media), "count": self.count, "columns": self.columns,
                "tile_width": self.tile_width, "poster_width": self.poster_width}


@dataclass
class Thumb:
    """One thumbnail: where it was taken, how good it looked (0..1, higher is better) and the picture."""

    time_s: float
    score: float
    image: Image.Image


@dataclass
class ThumbnailResult:
    info: MediaInfo
    poster: Image.Image
    sheet: Image.Image
    thumbs: list[Thumb]
    backend: str
    seconds: float
    #: The request's settings (JSON-safe) for provenance.
    parameters: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-safe description without the pictures (for logs, job rows and the CLI)."""
        return {
            "info": self.info.as_dict(),
            "backend": self.backend,
            "seconds": round(self.seconds, 3),
            "parameters": self.parameters,
            "poster_size": list(self.poster.size),
            "sheet_size": list(self.sheet.size),
            "thumbs": [{"time_s": round(t.time_s, 3), "score": round(t.score, 3), "size": list(t.image.size)}
                       for t in self.thumbs],
        }
