"""The animatic's captions: wrapping, SRT/WebVTT files and burning-in live in ``engines.captions`` (one
implementation for the studio); this module keeps the names the animatic and its tests import."""
from __future__ import annotations

from ..captions.burn import (
    CaptionStyle,
    CaptionTrack,
    Overlay,
    SubtitleBurner,
    drawable,
    font,
    title_overlay,
)
from ..captions.craft import MAX_CHARS, MAX_LINES, split_captions, wrap_caption
from ..captions.formats import srt_text, vtt_text, write_srt, write_vtt

__all__ = ["MAX_CHARS", "MAX_LINES", "CaptionStyle", "CaptionTrack", "Overlay", "SubtitleBurner", "drawable",
           "font", "split_captions", "srt_text", "title_overlay", "vtt_text", "wrap_caption", "write_srt",
           "write_vtt"]
