"""Generators and processors. Importing this package imports no heavy library (torch, diffusers, ...).

Each kind lives in its own sub-package and registers its backends in ``engines.registry``; ``KINDS`` names the
sub-packages the studio loads to fill the Settings tab.
"""
from __future__ import annotations

import importlib

from .base import Engine, EngineConfig
from .context import CallbackContext, Context, NullContext
from .errors import ReelsmithError
from .registry import REGISTRIES, Registry

#: Kinds whose registry lives in a package of another name (the video enhancements share ``engines.video``).
PACKAGES = {"stabilize": "video", "colour": "video", "interpolate": "video", "denoise": "audio", "stems": "audio",
            "loudness": "audio", "diarize": "transcript.diarize"}
KINDS: tuple[str, ...] = ("thumbs", "script", "scene", "music", "speech", "animatic", "shots", "autoedit",
                          "stabilize", "colour", "interpolate", "captions", "denoise", "stems", "loudness",
                          "reframe", "shorts", "diarize")


def registries() -> dict[str, Registry]:
    """Import every engine kind (cheap: backends import their heavy parts in load()) and return the registries."""
    for kind in KINDS:
        importlib.import_module(f"engines.{PACKAGES.get(kind, kind)}")
    return {kind: REGISTRIES[kind] for kind in KINDS}


__all__ = ["Engine", "EngineConfig", "Context", "NullContext", "CallbackContext", "ReelsmithError",
           "Registry", "registries", "KINDS"]
