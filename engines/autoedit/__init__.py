"""Auto rough cut: remove the silences of a talking video, keep margins, export EDL / FCPXML / OTIO / MP4.

    result = REGISTRY.create().run(AutoEditRequest(media=Path("talk.mp4")), ctx)
    write_fcpxml(result.timeline, Path("cut.fcpxml")); render_mp4(result.timeline, Path("cut.mp4"), ctx)

Backends: ``lite`` (PyAV + NumPy loudness and frame differences, CPU). CLI:
``python -m engines.autoedit cut MEDIA --edl out.edl --fcpxml out.fcpxml --otio out.otio --mp4 out.mp4 --json``.

Not done yet: the loudness/motion analysis is not cached by content hash; only one audio+video track per
timeline; the EDL writes one ``AA/V`` event per clip (no separate audio-only events); drop-frame timecode.
"""
from __future__ import annotations

from ..registry import registry_for
from .analyse import AutoEditor, AutoEditRequest, AutoEditResult, plan_cuts
from .export import read_edl, read_fcpxml, render_mp4, write_edl, write_fcpxml, write_otio
from .timeline import Clip, Timeline, frames_to_tc, tc_to_frames

REGISTRY = registry_for("autoedit")
REGISTRY.register(
    "lite", AutoEditor,
    description="Cuts pauses longer than a minimum on a loudness threshold, keeping margins around speech "
                "(CPU, no model); optional snapping to shot cuts and loudness+motion highlight scores.",
)

__all__ = [
    "REGISTRY",
    "AutoEditRequest",
    "AutoEditResult",
    "AutoEditor",
    "Clip",
    "Timeline",
    "frames_to_tc",
    "plan_cuts",
    "read_edl",
    "read_fcpxml",
    "render_mp4",
    "tc_to_frames",
    "write_edl",
    "write_fcpxml",
    "write_otio",
]
