"""Word-by-word burned-in captions for vertical shorts: a few words at a time, the word being said highlighted.

1. Groups: 2–``MAX_WORDS`` words (a phrase) — a group ends after a sentence; with 3 words, after a clause or
   before a conjunction or preposition; at a pause over ``BREAK_PAUSE_S``; or when the next word would not fit
   in ``MAX_LINES`` lines of the safe width (pixels, measured with the caption font; two lines are balanced). A
   lone last word of a sentence is not left behind.
2. Timing: a group shows from its first word's start to its last word's end, and stays until the next group
   starts when the gap is under ``HOLD_GAP_S`` (no flicker); a word is "current" from its start until the next
   word starts (the last one until the group goes).
3. Drawing: the group's text (white, dark outline) on a translucent box, the current word on a solid
   ``highlight`` box in ``highlight_text`` colour; Pillow draws each (group, current word) patch once, NumPy
   blends it (``captions.burn.Overlay``); fonts via ``captions.burn.font``/``drawable``.
4. Placement inside the platform-UI safe area of a 9:16 frame (TikTok, Reels and Shorts draw over the rest):
   nothing in the top ``SAFE_TOP`` (10 %: status bar, tabs, search), the bottom ``SAFE_BOTTOM`` (20 %: caption,
   account name, sound ticker, navigation) or ``SAFE_SIDE`` (6 %) at either side; the block is centred at
   ``position`` (65 %) of the height, moved up or down to stay inside.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..captions.burn import CaptionStyle, Overlay, drawable, font
from ..captions.craft import ends_clause, ends_sentence, starts_phrase
from ..context import Context, NullContext
from ..errors import InvalidInput
from .text import as_words

SAFE_TOP, SAFE_BOTTOM, SAFE_SIDE = 0.10, 0.20, 0.06
MIN_WORDS, MAX_WORDS, MAX_LINES = 2, 5, 2
HOLD_GAP_S = 0.3
BREAK_PAUSE_S = 0.6


@dataclass(frozen=True)
class WordCaptionStyle(CaptionStyle):
    """``CaptionStyle`` plus the highlight: ``highlight`` box colour and ``highlight_text`` colour of the current
    word, ``position`` (centre of the block, share of the height). ``size`` is a share of the height."""

    size: float = 0.042
    box_alpha: int = 110
    highlight: tuple[int, int, int] = (255, 200, 0)
    highlight_text: tuple[int, int, int] = (16, 16, 16)
    position: float = 0.65


def word_style(style: CaptionStyle | None) -> WordCaptionStyle:
    """``style`` as a ``WordCaptionStyle`` (a plain ``CaptionStyle`` keeps its font, size, box and colours)."""
    if style is None or isinstance(style, WordCaptionStyle):
        return style or WordCaptionStyle()
    return WordCaptionStyle(**{f.name: getattr(style, f.name) for f in fields(CaptionStyle)})


@dataclass
class Group:
    """Words on screen together: their texts and start times, lines (word indices), when the group shows."""

    texts: list[str]
    starts: list[float]
    lines: list[list[int]]
    start: float
    end: float

    def current(self, t: float) -> int:
        """Index of the word being said at ``t`` (the last one started)."""
        k = 0
        while k + 1 < len(self.starts) and self.starts[k + 1] <= t + 1e-9:
            k += 1
        return k


class Layout:
    """Font metrics and the safe area for frames of ``width`` × ``height``."""

    def __init__(self, width: int, height: int, style: WordCaptionStyle) -> None:
        self.width, self.height, self.style = width, height, style
        self.size = max(10, int(round(height * style.size)))
        self.font = font(self.size, style.font_path)
        self.stroke = max(1, self.size // 14)
        self.pad_x, self.pad_y = max(4, self.size // 2), max(3, self.size // 3)
        self.hpad, self.vpad = max(2, self.size // 6), max(1, self.size // 10)
        self.gap = self.font.getlength(" ") + self.hpad  # between words: a space, widened for the box
        ascent, descent = self.font.getmetrics()
        self.line_h, self.spacing = ascent + descent, max(2, self.size // 4)
        self.safe = (int(round(SAFE_SIDE * width)), int(round(SAFE_TOP * height)),
                     width - int(round(SAFE_SIDE * width)), height - int(round(SAFE_BOTTOM * height)))
        self.max_line = self.safe[2] - self.safe[0] - 2 * self.pad_x

    def word_width(self, text: str) -> float:
        """The drawn word (outline included); its highlight box reaches ``hpad`` further on each side."""
        return self.font.getlength(drawable(text, self.font)) + 2 * self.stroke

    def wrap(self, texts: Sequence[str]) -> list[list[int]]:
        """Word indices per line: greedy by pixel width; two lines are then split where they are most even."""
        lines: list[list[int]] = [[]]
        used = 0.0
        for k, text in enumerate(texts):
            w = self.word_width(text)
            if lines[-1] and used + self.gap + w > self.max_line:
                lines.append([])
                used = 2.0 * self.hpad
            used += (self.gap if lines[-1] else 2.0 * self.hpad) + w
            lines[-1].append(k)
        if len(lines) == 2:
            ix = lines[0] + lines[1]
            splits = [(max(self.line_width(texts, ix[:k]), self.line_width(texts, ix[k:])), k)
                      for k in range(1, len(ix))]
            _, k = min(s for s in splits if s[0] <= self.max_line or s[1] == len(lines[0]))
            lines = [ix[:k], ix[k:]]
        return lines

    def line_width(self, texts: Sequence[str], line: Sequence[int]) -> float:
        """Pixels of one line, the highlight boxes of its first and last words included."""
        return sum(self.word_width(texts[k]) for k in line) + self.gap * max(0, len(line) - 1) + 2 * self.hpad


def make_groups(words: Sequence[Any], layout: Layout) -> list[Group]:
    """Rules 1 and 2 of the module notes; ``words`` sorted ``TranscriptWord``s."""
    spans: list[list[int]] = []
    cur: list[int] = []
    fits: Callable[[list[int]], bool] = lambda ix: len(layout.wrap([words[i].text for i in ix])) <= MAX_LINES
    for i, word in enumerate(words):
        if cur:
            prev = words[cur[-1]].text
            full = len(cur) >= MAX_WORDS or not fits(cur + [i])
            phrase = len(cur) >= MIN_WORDS and (ends_sentence(prev) or (len(cur) >= 3 and (
                ends_clause(prev) or starts_phrase(word.text))))
            if full or phrase or word.start - words[cur[-1]].end > BREAK_PAUSE_S:
                if full and len(cur) >= 3 and ends_sentence(word.text) and not ends_sentence(prev):
                    spans.append(cur[:-1])  # take one word along rather than leave the sentence's last alone
                    cur = cur[-1:]
                else:
                    spans.append(cur)
                    cur = []
        cur.append(i)
    if cur:
        spans.append(cur)
    groups = []
    for ix in spans:
        texts = [words[i].text for i in ix]
        groups.append(Group(texts, [words[i].start for i in ix], layout.wrap(texts), words[ix[0]].start,
                            words[ix[-1]].end))
    for g, nxt in zip(groups, groups[1:]):
        g.end = nxt.start if nxt.start - g.end < HOLD_GAP_S else g.end
    return groups


def draw_group(group: Group, current: int, layout: Layout) -> Overlay:
    """The group's patch with word ``current`` highlighted, placed in the safe area (rules 3 and 4)."""
    s, f = layout.style, layout.font
    n = len(group.lines)
    widths = [layout.line_width(group.texts, line) for line in group.lines]
    w = int(np.ceil(max(widths))) + 2 * layout.pad_x
    h = n * layout.line_h + (n - 1) * layout.spacing + 2 * layout.pad_y
    patch = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(patch)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=max(2, layout.size // 4), fill=(0, 0, 0, s.box_alpha))
    for row, (line, lw) in enumerate(zip(group.lines, widths)):
        x, y = (w - lw) / 2.0 + layout.hpad, layout.pad_y + row * (layout.line_h + layout.spacing)
        for k in line:
            ww = layout.word_width(group.texts[k])
            text = drawable(group.texts[k], f)
            if k == current:
                draw.rounded_rectangle((x - layout.hpad, y - layout.vpad, x + ww + layout.hpad,
                                        y + layout.line_h + layout.vpad), radius=max(2, layout.size // 5),
                                       fill=(*s.highlight, 255))
                draw.text((x + layout.stroke, y), text, font=f, fill=(*s.highlight_text, 255))
            else:
                draw.text((x + layout.stroke, y), text, font=f, fill=(*s.colour, 255),
                          stroke_width=layout.stroke, stroke_fill=(*s.outline, 255))
            x += ww + layout.gap
    x0, y0, x1, y1 = layout.safe
    if w > x1 - x0 or h > y1 - y0:  # one word wider than the safe area (tiny frames): shrink to fit
        scale = min((x1 - x0) / w, (y1 - y0) / h)
        patch = patch.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.Resampling.LANCZOS)
    rgba = np.asarray(patch)
    ph, pw = rgba.shape[:2]
    top = int(round(s.position * layout.height - ph / 2.0))
    top = min(max(top, y0), y1 - ph)
    return Overlay(rgba, (layout.width - pw) // 2, top)


class WordTrack:
    """The overlay to show at each time, for times asked in increasing order (one group's patches cached)."""

    def __init__(self, groups: list[Group], layout: Layout) -> None:
        self.groups, self.layout = groups, layout
        self._at = 0
        self._cache: dict[tuple[int, int], Overlay] = {}

    def at(self, t: float) -> Overlay | None:
        while self._at < len(self.groups) and self.groups[self._at].end <= t + 1e-9:
            self._at += 1
        if self._at >= len(self.groups) or self.groups[self._at].start > t + 1e-9:
            return None
        group = self.groups[self._at]
        key = (self._at, group.current(t))
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] == self._at}
            self._cache[key] = draw_group(group, key[1], self.layout)
        return self._cache[key]


def burn_word_captions(video: Path, words: Sequence[Any], out: Path, *, style: CaptionStyle | None = None,
                       ctx: Context | None = None) -> Path:
    """``video`` with ``words`` (times in seconds of ``video``) captioned word by word, as an H.264 MP4 at ``out``
    with the video's audio. Streamed one frame at a time; written to a temporary name and renamed (a cancelled or
    failed burn leaves ``out`` as it was)."""
    from ..media import iter_frames
    from ..video.io import check_output, open_video_info, write_video

    ctx = ctx or NullContext()
    video, out = Path(video), check_output(Path(out))
    # 1. Check inputs
    if video.resolve() == out.resolve():
        raise InvalidInput(f"The output {out.name} must not overwrite the video it is made from.")
    info = open_video_info(video)
    duration = info.duration_s or float("inf")
    items = [w for w in as_words(words) if w.end > 0 and w.start < duration]
    if not items:
        raise InvalidInput(f"No words fall inside {video.name} (0–{duration:.1f} s): nothing to caption.")
    fps = info.video.fps or 25.0
    frames = iter_frames(video, ctx=ctx)
    first = next(frames, None)
    if first is None:
        raise InvalidInput(f"{video.name} has no frames to draw on.")
    height, width = first.image.shape[:2]
    # 2. Groups and layout
    layout = Layout(width, height, word_style(style))
    track = WordTrack(make_groups(items, layout), layout)
    expected = max(1, int(round(duration * fps))) if duration != float("inf") else 0

    # 3. Decode, draw, encode (one frame in memory at a time)
    def drawn() -> Iterator[np.ndarray]:
        frame, count = first, 0
        while frame is not None:
            if count % 8 == 0:
                ctx.check()
            if count % 12 == 0 and expected:
                ctx.report(min(0.99, count / expected), f"Captions: frame {count + 1} of {expected}")
            overlay = track.at(frame.time_s)
            yield frame.image if overlay is None else overlay.apply(frame.image)
            count += 1
            frame = next(frames, None)

    write_video(drawn(), out, fps, width, height, audio_from=video, ctx=ctx)
    ctx.report(1.0, "Captions burned in")
    return out
