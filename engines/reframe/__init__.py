"""Auto-reframe: landscape video to 9:16, 1:1 or 4:5 by a crop that follows the subject of each shot.

    from engines.reframe import REGISTRY, ReframeRequest
    engine = REGISTRY.create()
    plan = engine.plan(ReframeRequest(media=Path("talk.mp4"), aspect="9:16"), ctx)   # preview the crop path
    done = engine.render(plan, Path("talk-9x16.mp4"), ctx)                            # or run() for both
    done.crop_path[0], done.fill_used, done.output

Backends: ``lite`` (faces by Haar cascades, else spectral-residual saliency + motion; least-squares crop path;
PyAV render; CPU). Registered by ``"module:Class"`` so importing this package imports neither OpenCV nor SciPy.
CLI: ``python -m engines.reframe FILE --aspect 9:16 [--out OUT] [--plan-only] [--json]``.
"""
from __future__ import annotations

from ..registry import registry_for
from .types import ASPECTS, FILLS, ReframeRequest, ReframeResult, ShotPlan, Subject

REGISTRY = registry_for("reframe")
REGISTRY.register("lite", "engines.reframe.lite:LiteReframer",
                  description="Faces (Haar) or spectral-residual saliency + motion per shot, dead-zone + "
                              "least-squares crop path, letterbox/blur fill when the subject cannot fit (CPU).")

__all__ = ["REGISTRY", "ASPECTS", "FILLS", "ReframeRequest", "ReframeResult", "ShotPlan", "Subject"]
