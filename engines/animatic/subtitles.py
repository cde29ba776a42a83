"""Captions: wrapping to subtitle lines, burning them into frames, and SRT/WebVTT sidecar files.

* ``wrap_caption`` breaks text into lines of at most ``MAX_CHARS`` (42, the usual broadcast/Netflix limit) and
  groups them into blocks of at most ``MAX_LINES`` (2); ``split_captions`` turns a caption whose text needs more
  than one block into consecutive captions, sharing its time in proportion to their length.
* ``SubtitleBurner`` draws each distinct text once with Pillow (white text with a dark outline on a
  semi-transparent box, bottom centre, size relative to the frame height) into a small RGBA patch, and alpha-blends
  that patch onto each frame with integer numpy arithmetic on the patch's region only.
* ``TitleCard`` is the same for a scene's title (top left).
"""
from __future__ import annotations

import math
import os
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .types import Caption

MAX_CHARS = 42
MAX_LINES = 2


# --------------------------------------------------------------------------------------------------------------
# Wrapping
# --------------------------------------------------------------------------------------------------------------
def _lines(words: list[str], max_chars: int) -> list[str]:
    """Greedy fill: as many words per line as fit; a word longer than a line is cut into pieces that do."""
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > max_chars:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:max_chars])
            word = word[max_chars:]
        if not word:
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= max_chars:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _balance(lines: list[str], max_chars: int) -> list[str]:
    """Two lines re-split at the word boundary that makes them most even (a long line over a stub reads badly)."""
    if len(lines) != 2:
        return lines
    words = (lines[0] + " " + lines[1]).split(" ")
    best = lines
    best_score = max(len(lines[0]), len(lines[1]))
    for k in range(1, len(words)):
        a, b = " ".join(words[:k]), " ".join(words[k:])
        if len(a) <= max_chars and len(b) <= max_chars and max(len(a), len(b)) < best_score:
            best, best_score = [a, b], max(len(a), len(b))
    return best


def wrap_caption(text: str, max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> list[list[str]]:
    """``text`` as blocks of at most ``max_lines`` lines of at most ``max_chars`` characters (words kept whole
    unless longer than a line), in reading order."""
    lines = _lines(text.split(), max_chars)
    blocks = [lines[i:i + max_lines] for i in range(0, len(lines), max_lines)]
    return [_balance(block, max_chars) for block in blocks]


def split_captions(captions: list[Caption], max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> list[Caption]:
    """Each caption wrapped; one that needs several blocks becomes consecutive captions whose durations are in
    proportion to their number of characters. Texts are the lines joined with ``\\n``."""
    out: list[Caption] = []
    for c in captions:
        blocks = wrap_caption(c.text, max_chars, max_lines)
        if not blocks:
            continue
        weights = [sum(len(line) for line in block) + 1 for block in blocks]
        total = float(sum(weights))
        start = c.start_s
        for i, (block, weight) in enumerate(zip(blocks, weights)):
            end = c.end_s if i == len(blocks) - 1 else start + (c.end_s - c.start_s) * weight / total
            out.append(Caption(start, end, "\n".join(block)))
            start = end
    return out


# --------------------------------------------------------------------------------------------------------------
# Sidecar files
# --------------------------------------------------------------------------------------------------------------
def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _atomic_write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def srt_text(captions: list[Caption]) -> str:
    blocks = [f"{i}\n{_clock(c.start_s, ',')} --> {_clock(c.end_s, ',')}\n{c.text.strip()}\n"
              for i, c in enumerate(captions, start=1)]
    return "\n".join(blocks)


def vtt_text(captions: list[Caption]) -> str:
    blocks = [f"{_clock(c.start_s, '.')} --> {_clock(c.end_s, '.')}\n{c.text.strip()}\n" for c in captions]
    return "WEBVTT\n\n" + "\n".join(blocks)


def write_srt(captions: list[Caption], path: Path) -> Path:
    """SubRip file of captions whose times are on the film's timeline (UTF-8, written atomically)."""
    return _atomic_write(path, srt_text(captions))


def write_vtt(captions: list[Caption], path: Path) -> Path:
    """WebVTT file (what a browser's ``<track>`` reads) of the same captions."""
    return _atomic_write(path, vtt_text(captions))


# --------------------------------------------------------------------------------------------------------------
# Burning in
# --------------------------------------------------------------------------------------------------------------
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


def _draw_text_box(text: str, size: int, *, align: str, box_alpha: int, font_path: str | None = None) -> np.ndarray:
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
    draw.multiline_text((anchor_x, pad_y - top), text, font=f, fill=(255, 255, 255, 255), spacing=spacing,
                        align=align, anchor="la" if align != "center" else "ma", stroke_width=stroke,
                        stroke_fill=(0, 0, 0, 255))
    return np.asarray(patch)


class SubtitleBurner:
    """Caption overlays for frames of ``width`` × ``height``: bottom centre, text about 5 % of the height."""

    def __init__(self, width: int, height: int, *, font_path: str | None = None, cache_size: int = 64) -> None:
        self.width, self.height = width, height
        self.font_path = font_path
        self.size = max(10, int(round(height * 0.05)))
        self.margin = max(4, int(round(height * 0.06)))
        self._cache: dict[str, Overlay] = {}
        self._cache_size = cache_size

    def overlay(self, text: str) -> Overlay:
        found = self._cache.get(text)
        if found is None:
            rgba = _draw_text_box(text, self.size, align="center", box_alpha=150, font_path=self.font_path)
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

    def __init__(self, captions: list[Caption]) -> None:
        self.captions = sorted(captions, key=lambda c: (c.start_s, c.end_s))
        self._next = 0
        self._live: list[Caption] = []

    def at(self, time_s: float) -> Caption | None:
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
