"""Thumbnails, poster frame and contact sheet for an uploaded video, audio file or image.

    result = REGISTRY.create().run(ThumbnailRequest(media=Path("clip.mp4"), count=12), ctx)
    result.poster.save("poster.png"); result.sheet.save("sheet.png")

Backends: ``lite`` (PyAV + OpenCV + Pillow, CPU). CLI: ``python -m engines.thumbs sheet MEDIA --json``.
"""
from __future__ import annotations

from ..registry import registry_for
from .lite import LiteThumbnailer
from .types import Thumb, ThumbnailRequest, ThumbnailResult

REGISTRY = registry_for("thumbs")
REGISTRY.register(
    "lite", LiteThumbnailer,
    description="Picks well-exposed, sharp, representative frames per segment (CPU, no model); waveforms for "
                "audio files.",
)

__all__ = ["REGISTRY", "LiteThumbnailer", "Thumb", "ThumbnailRequest", "ThumbnailResult"]
