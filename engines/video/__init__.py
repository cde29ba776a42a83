"""Video enhancement: stabilisation, colour correction and frame interpolation, each writing an MP4.

    from engines.video import STABILIZE, StabilizeRequest
    result = STABILIZE.create().run(StabilizeRequest(media=Path("shaky.mp4"), out=Path("steady.mp4")), ctx)
    result.jitter_before, result.jitter_after, result.crop, result.ms_per_frame

Three kinds, each with a ``lite`` backend (CPU: PyAV, OpenCV, NumPy/SciPy, scikit-image):
``registry_for("stabilize")``, ``registry_for("colour")``, ``registry_for("interpolate")``.
CLI: ``python -m engines.video stabilize|colour|interpolate IN --out OUT [--json]``.
Backends are registered by ``"module:Class"`` so importing this package imports neither OpenCV nor SciPy.
"""
from __future__ import annotations

from ..registry import registry_for
from .types import (ColourRequest, ColourResult, InterpolateRequest, InterpolateResult, StabilizeRequest,
                    StabilizeResult)

STABILIZE = registry_for("stabilize")
STABILIZE.register("lite", "engines.video.stabilize:LiteStabilizer",
                   description="Feature tracking + least-squares camera-path smoothing with a crop limit (CPU).")
COLOUR = registry_for("colour")
COLOUR.register("lite", "engines.video.colour:LiteColourCorrector",
                description="White balance, auto exposure, Reinhard/histogram match to a reference, .cube LUTs "
                            "(CPU).")
INTERPOLATE = registry_for("interpolate")
INTERPOLATE.register("lite", "engines.video.interpolate:FlowInterpolator",
                     description="DIS optical flow both ways, occlusion-aware (forward-backward consistency) "
                                 "blending; ×2/3/4 frame rate or slow motion (CPU).")

__all__ = ["STABILIZE", "COLOUR", "INTERPOLATE", "StabilizeRequest", "StabilizeResult", "ColourRequest",
           "ColourResult", "InterpolateRequest", "InterpolateResult"]
