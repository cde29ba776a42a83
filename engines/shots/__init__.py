"""Shot boundary detection: hard cuts, dissolves and fades, in one decode pass.

    result = REGISTRY.create().run(ShotRequest(media=Path("clip.mp4")), ctx)
    [(t.frame, t.type) for t in result.transitions]

Backends: ``lite`` (PyAV + OpenCV + NumPy, CPU). CLI: ``python -m engines.shots detect VIDEO --json``.
"""
from __future__ import annotations

from ..registry import registry_for
from .lite import ShotDetector
from .types import ShotRequest, ShotResult, Transition

REGISTRY = registry_for("shots")
REGISTRY.register(
    "lite", ShotDetector,
    description="Colour-histogram, thumbnail and edge signatures with adaptive cut thresholds, flash "
                "suppression and a linear-blend detector for dissolves and fades (CPU, no model).",
)

__all__ = ["REGISTRY", "ShotDetector", "ShotRequest", "ShotResult", "Transition"]
