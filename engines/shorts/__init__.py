"""Shorts from a long clip: the best parts of a talk as vertical clips with word-by-word captions.

    from engines.shorts import REGISTRY, ShortsRequest
    engine = REGISTRY.create()
    found = engine.propose_only(ShortsRequest(media=Path("talk.mp4"), words=words), ctx)   # list quickly
    done = engine.run(ShortsRequest(media=Path("talk.mp4"), words=words, n=3, out_dir=Path("out")), ctx)
    done.shorts[0].video, done.shorts[0].timeline     # MP4 (9:16, captions) + the cut of the original media

Pieces usable alone: ``propose_shorts`` (sentence runs scored by the rough cut's loudness + motion highlight
and transcript cues) and ``burn_word_captions`` (2–5 words at a time, the current word highlighted, inside the
platform-UI safe area of a 9:16 frame).

Backends: ``lite`` (CPU, no model; registered by ``"module:Class"`` so importing this package imports neither
OpenCV nor the reframe engine). CLI: ``python -m engines.shorts FILE --words words.json [--n 3] [--out DIR]
[--json] [--propose-only]``.
"""
from __future__ import annotations

from ..registry import registry_for
from .captions import WordCaptionStyle, burn_word_captions
from .propose import propose_shorts
from .types import Short, ShortCandidate, ShortsRequest, ShortsResult

REGISTRY = registry_for("shorts")
REGISTRY.register("lite", "engines.shorts.lite:LiteShorts",
                  description="Runs of whole sentences scored by loudness + motion and transcript hooks, cut, "
                              "reframed to 9:16 and captioned word by word (CPU, no model).")

__all__ = ["REGISTRY", "Short", "ShortCandidate", "ShortsRequest", "ShortsResult", "WordCaptionStyle",
           "burn_word_captions", "propose_shorts"]
