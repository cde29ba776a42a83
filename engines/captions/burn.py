"""Burning captions into pictures: Pillow draws each distinct text once, NumPy blends it onto every frame.

* ``SubtitleBurner`` draws a caption (white text with a dark outline on a semi-transparent box, bottom centre,
  size relative to the frame height; ``CaptionStyle``) into a small RGBA patch once, and alpha-blends that
  patch onto each frame with integer arithmetic on the patch's region only.
* ``CaptionTrack`` says which caption is on screen at a time; ``title_overlay`` is a scene title (top left).
* ``burn_captions`` decodes a video, draws its cues and writes an H.264 MP4 keeping the audio (``engines.video.io``
  writes to a temporary name and renames it when done).

Fonts: the file in ``CaptionStyle.font_path`` (the studio passes its setting, as the animatic's ``font`` option
does), else Pillow's bundled DejaVu-derived font; characters a font lacks are replaced (``drawable``).
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..context import Context, NullContext
from ..errors import InvalidInput
from .craft import MAX_CHARS, MAX_LINES, _lines


@lru_cache(maxsize=16)
def font(size: int, path: str | None = None) -> ImageFont.ImageFont:
    """The TrueType font at ``path`` when given, else Pillow's bundled font at ``size`` px (it needs FreeType,
    which Pillow wheels include; the small bitmap font otherwise)."""
    if path:
        try:
            return ImageFont.truetype(path, size=size)
        except OSError:
            pass  # a missing or broken font file must not stop a render: fall back to the bundled one
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


#: Stand-ins for punctuation that small fonts (Pillow's bundled one among them) often lack.
_FALLBACKS = {"\u2014": "-", "\u2013": "-", "\u2212": "-", "\u2022": "*", "\u20ac": "EUR", "\u00a3": "GBP",
              "\u00a0": " "}


@lru_cache(maxsize=4096)
def _has_glyph(f: ImageFont.ImageFont, char: str) -> bool:
    if char.isspace():
        return True
    missing = f.getmask("\uffff")
    mask = f.getmask(char)
    return mask.size != missing.size or bytes(mask) != bytes(missing)


def drawable(text: str, f: ImageFont.ImageFont) -> str:
    """``text`` with each character the font cannot draw replaced by its nearest drawable form (accents
    dropped: "é" → "e"; dashes → "-"), so that no caption shows empty boxes."""
    out = []
    for char in text:
        if _has_glyph(f, char):
            out.append(char)
            continue
        replacement = _FALLBACKS.get(char)
        if replacement is None:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            replacement = base if base and all(_has_glyph(f, c) for c in base) else "?"
        out.append(replacement)
    return "".join(out)


class Overlay:
    """An RGBA patch placed at (x, y), blended with integer arithmetic: out = (rgb·a + frame·(255 − a)) / 255."""

    def __init__(self, rgba: np.ndarray, x: int, y: int) -> None:
        self.x, self.y = x, y
        self.h, self.w = rgba.shape[:2]
        alpha = rgba[..., 3:4].astype(np.uint16)
        self.inv_alpha = (255 - alpha).astype(np.uint16)
        self.premult = (rgba[..., :3].astype(np.uint16) * alpha + 127).astype(np.uint16)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Blend onto ``frame`` (uint8 RGB) in place (the part of the patch inside the frame) and return it."""
        fh, fw = frame.shape[:2]
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(fw, self.x + self.w), min(fh, self.y + self.h)
        if x1 <= x0 or y1 <= y0:
            return frame
        px, py = x0 - self.x, y0 - self.y
        region = frame[y0:y1, x0:x1]
        inv = self.inv_alpha[py:py + y1 - y0, px:px + x1 - x0]
        pre = self.premult[py:py + y1 - y0, px:px + x1 - x0]
        blended = (region.astype(np.uint16) * inv + pre) // 255
        region[...] = blended.astype(np.uint8)
        return frame


def _draw_text_box(text: str, size: int, *, align: str, box_alpha: int, font_path: str | None = None,
                   colour: tuple[int, int, int] = (255, 255, 255),
                   outline: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """White ``text`` (lines joined with newlines) with a dark outline on a rounded, semi-transparent box."""
    f = font(size, font_path)
    text = drawable(text, f)
    stroke = max(1, size // 14)
    spacing = max(2, size // 5)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.multiline_textbbox((0, 0), text, font=f, spacing=spacing, align=align,
                                                        stroke_width=stroke)
    left, top, right, bottom = math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)
    pad_x, pad_y = max(4, size // 2), max(3, size // 3)
    width, height = right - left + 2 * pad_x, bottom - top + 2 * pad_y
    patch = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(patch)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=max(2, size // 4), fill=(0, 0, 0, box_alpha))
    anchor_x = width / 2 if align == "center" else pad_x - left
    draw.multiline_text((anchor_x, pad_y - top), text, font=f, fill=(*colour, 255), spacing=spacing,
                        align=align, anchor="la" if align != "center" else "ma", stroke_width=stroke,
                        stroke_fill=(*outline, 255))
    return np.asarray(patch)


@dataclass(frozen=True)
class CaptionStyle:
    """How burned-in captions look: white text with a dark outline on a translucent box, bottom centre.

    ``size`` and ``margin`` are fractions of the frame height; ``box_alpha`` 0 (no box) to 255 (opaque);
    ``font_path`` a TrueType/OpenType file (Pillow's bundled font when ``None`` or unreadable)."""

    font_path: str | None = None
    size: float = 0.05
    margin: float = 0.06
    box_alpha: int = 150
    colour: tuple[int, int, int] = (255, 255, 255)
    outline: tuple[int, int, int] = (0, 0, 0)


class SubtitleBurner:
    """Caption overlays for frames of ``width`` × ``height``: bottom centre, text about 5 % of the height."""

    def __init__(self, width: int, height: int, *, font_path: str | None = None, cache_size: int = 64,
                 style: CaptionStyle | None = None) -> None:
        self.style = style or CaptionStyle(font_path=font_path)
        self.width, self.height = width, height
        self.font_path = self.style.font_path
        self.size = max(10, int(round(height * self.style.size)))
        self.margin = max(4, int(round(height * self.style.margin)))
        self._cache: dict[str, Overlay] = {}
        self._cache_size = cache_size

    def overlay(self, text: str) -> Overlay:
        found = self._cache.get(text)
        if found is None:
            rgba = _draw_text_box(text, self.size, align="center", box_alpha=self.style.box_alpha,
                                  font_path=self.font_path, colour=self.style.colour, outline=self.style.outline)
            if rgba.shape[1] > self.width:  # a line wider than the frame (tiny frames): shrink the patch to fit
                scale = self.width / rgba.shape[1]
                rgba = np.asarray(Image.fromarray(rgba).resize(
                    (self.width, max(1, int(rgba.shape[0] * scale))), Image.Resampling.LANCZOS))
            x = (self.width - rgba.shape[1]) // 2
            y = self.height - self.margin - rgba.shape[0]
            found = Overlay(rgba, x, max(0, y))
            if len(self._cache) >= self._cache_size:  # captions come in time order: the oldest is done with
                self._cache.pop(next(iter(self._cache)))
            self._cache[text] = found
        return found

    def apply(self, frame: np.ndarray, text: str) -> np.ndarray:
        return self.overlay(text).apply(frame)


class CaptionTrack:
    """The caption to show at each time, for frames asked in increasing time order."""

    def __init__(self, captions: Sequence[Any]) -> None:
        self.captions = sorted(captions, key=lambda c: (c.start_s, c.end_s))
        self._next = 0
        self._live: list[Any] = []

    def at(self, time_s: float) -> Any | None:
        while self._next < len(self.captions) and self.captions[self._next].start_s <= time_s + 1e-9:
            self._live.append(self.captions[self._next])
            self._next += 1
        self._live = [c for c in self._live if c.end_s > time_s + 1e-9]
        return self._live[-1] if self._live else None  # overlapping captions: the one that started last


def title_overlay(title: str, width: int, height: int, *, font_path: str | None = None) -> Overlay:
    """A scene's title, top left, smaller than the captions, on a lighter box."""
    size = max(9, int(round(height * 0.04)))
    lines = _lines(title.split(), MAX_CHARS)[:MAX_LINES]
    rgba = _draw_text_box("\n".join(lines), size, align="left", box_alpha=110, font_path=font_path)
    if rgba.shape[1] > width - 8:
        scale = (width - 8) / rgba.shape[1]
        rgba = np.asarray(Image.fromarray(rgba).resize(
            (width - 8, max(1, int(rgba.shape[0] * scale))), Image.Resampling.LANCZOS))
    margin = max(4, int(round(height * 0.04)))
    return Overlay(rgba, margin, margin)


def burn_captions(video: Path, cues: Sequence[Any], out: Path, style: CaptionStyle | None = None,
                  ctx: Context | None = None) -> Path:
    """``video`` with ``cues`` drawn onto its frames, as an H.264 MP4 at ``out`` with the source's audio.

    Frames are decoded upright at full size, one at a time; the output is written to a temporary name and
    renamed when complete (a cancelled or failed burn leaves ``out`` as it was). Progress: decoded time.
    """
    from ..media import iter_frames
    from ..video.io import check_output, open_video_info, write_video

    ctx = ctx or NullContext()
    video, out = Path(video), check_output(Path(out))
    # 1. Check inputs.
    if video.resolve() == out.resolve():
        raise InvalidInput(f"The output {out.name} must not overwrite the video it is made from.")
    for number, cue in enumerate(cues, start=1):
        if not cue.end_s > cue.start_s or not str(cue.text).strip():
            raise InvalidInput(f"Cue {number} needs an end after its start and some text.")
    info = open_video_info(video)
    duration = info.duration_s or 0.0
    fps = info.video.fps or 25.0
    # 2. Decode, draw, encode (one frame in memory at a time).
    frames = iter_frames(video, ctx=ctx)
    first = next(frames, None)
    if first is None:
        raise InvalidInput(f"{video.name} has no frames to draw on.")
    height, width = first.image.shape[:2]
    burner = SubtitleBurner(width, height, style=style)
    track = CaptionTrack(list(cues))

    def drawn():
        frame = first
        count = 0
        while frame is not None:
            cue = track.at(frame.time_s)
            image = frame.image if cue is None else burner.apply(frame.image, cue.text)
            count += 1
            if count % 12 == 0 and duration:
                ctx.report(min(0.99, frame.time_s / duration), f"Burning captions: frame {count}")
            yield image
            frame = next(frames, None)

    write_video(drawn(), out, fps, width, height, audio_from=video, ctx=ctx)
    ctx.report(1.0, "Captions burned in")
    return out
