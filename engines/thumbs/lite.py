"""Thumbnails, poster frame and contact sheet with PyAV + OpenCV + Pillow (CPU, no model).

The picking follows ffmpeg's ``thumbnail`` filter (the frame closest to its neighbourhood's mean colour
histogram) but looks at more than colour: the duration is split into ``count`` equal segments, a few candidate
frames per segment are decoded at a small size and scored on

* exposure: near-black, near-white and flat frames (fades, blank slates) lose to any well-exposed frame of
  the same segment, whatever their other scores;
* sharpness: variance of the Laplacian (blurred, mid-motion and heavily compressed frames score low);
* representativeness: closeness to the segment's mean colour histogram, as ffmpeg does (over the well-exposed
  candidates only, so a fade does not drag the mean towards black).

The chosen frames are then decoded again at tile size, and the best one at poster size. Decoding work is
proportional to ``count``: a short clip is decoded once at scoring size; a long one is sampled by seeking, one
keyframe per candidate (keyframes are the best-quality pictures of a stream and cost one frame to decode).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from ..base import Engine
from ..context import Context
from ..errors import CorruptMedia, InvalidInput, InvalidMedia
from ..media import MediaInfo, frames_at, iter_audio, iter_frames, keyframe_times, probe
from .types import Thumb, ThumbnailRequest, ThumbnailResult

#: Longest side of the frames decoded for scoring.
SCORE_SIDE = 160
#: Candidate frames looked at per segment.
CANDIDATES = 5
#: Clips with at most this many frames are decoded once at scoring size instead of sampled by seeking.
FULL_PASS_FRAMES = 1800
#: A candidate whose exposure score is below this is "badly exposed" (black, white or flat).
USABLE_EXPOSURE = 0.2
#: Audio is decoded at this rate for the waveform (enough for a min/max envelope).
WAVEFORM_RATE = 8000

BACKGROUND = (18, 18, 22)
FOREGROUND = (236, 236, 240)
MUTED = (150, 150, 160)
WAVE = (96, 170, 255)

_LIMITS = {"count": (1, 64), "columns": (1, 16), "tile_width": (32, 1920), "poster_width": (64, 3840)}


# --------------------------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------------------------
@dataclass
class _Candidate:
    time_s: float
    sharpness: float  # variance of the Laplacian of the luma at scoring size
    brightness: float  # mean luma, 0..255
    contrast: float  # luma standard deviation
    colorfulness: float  # Hasler & Süsstrunk
    hist: np.ndarray  # 3 × 32-bin colour histogram, each channel summing to 1
    image: np.ndarray | None = None  # the frame at tile size, kept when it came from a full decode pass

    @property
    def exposure(self) -> float:
        """0 for black, white or flat frames, 1 for a normally exposed frame with some contrast."""
        not_dark = np.clip((self.brightness - 16.0) / 40.0, 0.0, 1.0)
        not_bright = np.clip((240.0 - self.brightness) / 40.0, 0.0, 1.0)
        not_flat = np.clip((self.contrast - 4.0) / 28.0, 0.0, 1.0)
        return float(not_dark * not_bright * not_flat)

    @property
    def usable(self) -> bool:
        return self.exposure >= USABLE_EXPOSURE


def _features(time_s: float, rgb: np.ndarray, score_side: int | None = None) -> _Candidate:
    """Scores of one frame; with ``score_side`` the frame is kept and a copy scaled down is scored."""
    keep = None
    if score_side is not None and max(rgb.shape[:2]) > score_side:
        keep = rgb
        scale = score_side / max(rgb.shape[:2])
        rgb = cv2.resize(rgb, (max(2, round(rgb.shape[1] * scale)), max(2, round(rgb.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
    elif score_side is not None:
        keep = rgb
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    hist = np.concatenate([
        cv2.calcHist([rgb], [channel], None, [32], [0, 256]).ravel() for channel in range(3)])
    hist /= max(1.0, float(gray.size))
    r, g, b = (rgb[..., c].astype(np.float32) for c in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    colorfulness = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    return _Candidate(time_s, sharpness, float(gray.mean()), float(gray.std()), colorfulness, hist, keep)


def _pick(candidates: list[_Candidate]) -> tuple[_Candidate, float]:
    """The best candidate of one segment and its score in 0..1 (0.5 and above only for well-exposed frames)."""
    usable = [c for c in candidates if c.usable]
    pool = usable or candidates
    mean_hist = np.mean([c.hist for c in pool], axis=0)
    distance = np.array([float(np.sum((c.hist - mean_hist) ** 2)) for c in candidates])
    representative = 1.0 - distance / (distance.max() + 1e-12)
    sharp = np.log1p([c.sharpness for c in candidates])
    sharp = sharp / (sharp.max() + 1e-12)
    exposure = np.array([c.exposure for c in candidates])
    quality = 0.45 * sharp + 0.35 * representative + 0.20 * exposure
    # Exposure is a gate, not a weight: any well-exposed frame beats every badly exposed one.
    scores = np.where([c.usable for c in candidates], 0.5 + 0.5 * quality, 0.5 * quality)
    best = int(np.argmax(scores))
    return candidates[best], float(scores[best])


def _poster_index(chosen: list[_Candidate]) -> int:
    """Among the chosen frames, the one for the poster: well exposed, sharp and colourful."""
    sharp = np.log1p([c.sharpness for c in chosen])
    sharp = sharp / (sharp.max() + 1e-12)
    colour = np.array([c.colorfulness for c in chosen])
    colour = colour / (colour.max() + 1e-12)
    exposure = np.array([c.exposure for c in chosen])
    usable = np.array([c.usable for c in chosen], dtype=float)
    return int(np.argmax(usable + 0.5 * sharp + 0.3 * exposure + 0.2 * colour))


# --------------------------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------------------------
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow built without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def timestamp(seconds: float, duration_s: float | None = None) -> str:
    """``HH:MM:SS`` for an hour or more, else ``MM:SS``; tenths are added for clips under a minute."""
    seconds = max(0.0, seconds)
    span = max(duration_s or 0.0, seconds)
    if span < 60:
        return f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if span >= 3600 else f"{m:02d}:{s:02d}"


def _header_lines(info: MediaInfo) -> tuple[str, str]:
    parts: list[str] = []
    if info.duration_s:
        parts.append(timestamp(info.duration_s, info.duration_s))
    if info.video:
        v = info.video
        parts.append(f"{v.display_width}x{v.display_height}")
        if info.kind == "video" and v.fps:
            parts.append(f"{v.fps:.3g} fps")
        parts.append(v.codec)
    if info.audio:
        a = info.audio
        channels = {1: "mono", 2: "stereo"}.get(a.channels, f"{a.channels} ch")
        parts.append(f"{a.codec} {a.sample_rate / 1000:g} kHz {channels}")
    size = info.size_bytes
    parts.append(f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB")
    return info.name, "  ·  ".join(parts)


def _with_header(body: Image.Image, info: MediaInfo, gap: int, base: int) -> Image.Image:
    """``body`` under a two-line header: file name, then duration, resolution, fps, codecs and size."""
    title_font, detail_font = _font(max(12, base)), _font(max(10, int(base * 0.8)))
    title, details = _header_lines(info)
    line_h = int(base * 1.35)
    header_h = gap + line_h + int(line_h * 0.85) + gap
    sheet = Image.new("RGB", (body.width, header_h + body.height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    inner = body.width - 2 * gap
    draw.text((gap, gap), _fit(draw, title, title_font, inner), fill=FOREGROUND, font=title_font)
    draw.text((gap, gap + line_h), _fit(draw, details, detail_font, inner), fill=MUTED, font=detail_font)
    sheet.paste(body, (0, header_h))
    return sheet


def _gap(tile_width: int) -> int:
    return max(4, tile_width // 32)


def contact_sheet(tiles: list[Image.Image], labels: list[str | None], columns: int, info: MediaInfo) -> Image.Image:
    """A grid of equally sized tiles on a dark background, each labelled, under a header describing the file."""
    tile_w, tile_h = tiles[0].size
    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    gap = _gap(tile_w)
    grid = Image.new("RGB", (columns * tile_w + (columns + 1) * gap, rows * tile_h + rows * gap), BACKGROUND)
    draw = ImageDraw.Draw(grid)
    label_font = _font(max(10, tile_w // 18))
    pad = max(2, tile_w // 80)
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        x = gap + (i % columns) * (tile_w + gap)
        y = (i // columns) * (tile_h + gap)
        grid.paste(tile, (x, y))
        if label:
            left, top, right, bottom = draw.textbbox((0, 0), label, font=label_font)
            box_w, box_h = right - left + 2 * pad, bottom - top + 2 * pad
            x1, y1 = x + tile_w - box_w - pad, y + tile_h - box_h - pad
            draw.rectangle((x1, y1, x1 + box_w, y1 + box_h), fill=(0, 0, 0))
            draw.text((x1 + pad - left, y1 + pad - top), label, fill=FOREGROUND, font=label_font)
    return _with_header(grid, info, gap, base=max(12, min(28, grid.width // 40)))


def _fit_width(image: Image.Image | np.ndarray, width: int, height: int | None = None) -> Image.Image:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    if height is None:
        height = max(1, round(width * image.height / image.width))
    if image.size == (width, height):
        return image
    return image.resize((width, height), Image.Resampling.LANCZOS)


# --------------------------------------------------------------------------------------------------------------
# Waveforms (audio-only input)
# --------------------------------------------------------------------------------------------------------------
def _reduce(mins: np.ndarray, maxs: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of ``len(mins)`` bins regrouped into ``width`` columns."""
    starts = (np.arange(width) * len(mins)) // width
    return np.minimum.reduceat(mins, starts), np.maximum.reduceat(maxs, starts)


def render_waveform(mins: np.ndarray, maxs: np.ndarray, width: int, height: int, *, gain: float = 1.0) -> Image.Image:
    """A min/max envelope drawn as a filled waveform, one pixel column per envelope column."""
    lo, hi = _reduce(mins, maxs, width)
    mid = (height - 1) / 2.0
    reach = mid * 0.95
    top = np.round(mid - np.clip(hi * gain, -1, 1) * reach).astype(int)
    bottom = np.round(mid - np.clip(lo * gain, -1, 1) * reach).astype(int)
    rows = np.arange(height)[:, None]
    mask = (rows >= np.minimum(top, bottom)[None, :]) & (rows <= np.maximum(top, bottom)[None, :])
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = BACKGROUND
    pixels[int(round(mid))] = (60, 60, 70)
    pixels[mask] = WAVE
    return Image.fromarray(pixels)


def _time_axis(width: int, duration_s: float, gap: int, font) -> Image.Image:
    """Ticks and labels under a waveform ``width`` pixels wide spanning ``duration_s``."""
    height = gap + int(font.size * 1.6) if hasattr(font, "size") else gap + 16
    axis = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(axis)
    target_ticks = max(2, width // 110)
    step = next((s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
                 if duration_s / s <= target_ticks), max(1.0, duration_s / target_ticks))
    t = 0.0
    while t <= duration_s + 1e-9:
        x = min(width - 1, int(round(t / duration_s * (width - 1)))) if duration_s > 0 else 0
        draw.line((x, 0, x, gap // 2 + 2), fill=MUTED)
        label = timestamp(t, duration_s)
        text_w = draw.textlength(label, font=font)
        draw.text((min(max(0, x - text_w / 2), width - text_w), gap // 2 + 4), label, fill=MUTED, font=font)
        t += step
    return axis


def waveform_sheet(mins: np.ndarray, maxs: np.ndarray, *, request: ThumbnailRequest,
                   info: MediaInfo) -> Image.Image:
    """One wide waveform of the whole file with a time axis, under the header (as wide as a video sheet)."""
    tile_w = request.tile_width
    gap = _gap(tile_w)
    width = request.columns * tile_w + (request.columns - 1) * gap
    height = max(2, round(tile_w * 9 / 16)) * 2
    peak = float(max(np.abs(mins).max(), np.abs(maxs).max()))
    wave = render_waveform(mins, maxs, width, height, gain=1.0 / max(peak, 0.05))
    axis = _time_axis(width, info.duration_s or 0.0, gap, _font(max(10, tile_w // 18)))
    body = Image.new("RGB", (width + 2 * gap, wave.height + axis.height + gap), BACKGROUND)
    body.paste(wave, (gap, 0))
    body.paste(axis, (gap, wave.height))
    return _with_header(body, info, gap, base=max(12, min(28, body.width // 40)))


# --------------------------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------------------------
class LiteThumbnailer(Engine[ThumbnailRequest, ThumbnailResult]):
    """Poster, thumbnails and contact sheet for a video, an audio file (waveforms) or an image.

    ``config.options`` may set ``score_side``, ``candidates``, ``full_pass_frames``, ``max_pixels`` and
    ``max_duration_s`` (defaults: the module constants, probe's defaults).
    """

    kind = "thumbs"
    name = "lite"

    def run(self, request: ThumbnailRequest, ctx: Context | None = None) -> ThumbnailResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        ctx.check()
        self._check(request)

        # 2. Probe (proves the file decodes; refuses oversized ones)
        ctx.report(0.0, "Reading the file")
        options = self.config.options
        info = probe(request.media, max_pixels=int(options.get("max_pixels", 8192 * 8192)),
                     max_duration_s=options.get("max_duration_s"))
        ctx.report(0.05, f"{info.kind.capitalize()} file, {info.name}")

        # 3. Pick and extract the thumbnails and the poster
        work = ctx.sub(0.05, 0.9)
        envelope: tuple[np.ndarray, np.ndarray] | None = None
        if info.kind == "video":
            thumbs, poster = self._video(request, info, work)
        elif info.kind == "audio":
            thumbs, poster, envelope = self._audio(request, info, work)
        else:
            thumbs, poster = self._image(request, info, work)

        # 4. Compose the contact sheet
        ctx.check()
        ctx.report(0.92, "Composing the contact sheet")
        if envelope is not None:
            sheet = waveform_sheet(*envelope, request=request, info=info)
        else:
            labels = [timestamp(t.time_s, info.duration_s) if info.kind == "video" else None for t in thumbs]
            sheet = contact_sheet([t.image for t in thumbs], labels, request.columns, info)

        ctx.report(1.0, f"{len(thumbs)} thumbnails")
        return ThumbnailResult(info=info, poster=poster, sheet=sheet, thumbs=thumbs, backend=self.name,
                               seconds=time.perf_counter() - started, parameters=request.as_dict())

    # -- 1. inputs ---------------------------------------------------------------------------------------------
    @staticmethod
    def _check(request: ThumbnailRequest) -> None:
        for field_name, (low, high) in _LIMITS.items():
            value = getattr(request, field_name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(f"{field_name} must be a whole number from {low} to {high}, not {value!r}.")
        media = Path(request.media)
        if not media.is_file():
            raise InvalidMedia(f"{media.name or media}: the file was not found.")

    # -- 3. video ----------------------------------------------------------------------------------------------
    def _video(self, request: ThumbnailRequest, info: MediaInfo, ctx: Context) -> tuple[list[Thumb], Image.Image]:
        options = self.config.options
        score_side = int(options.get("score_side", SCORE_SIDE))
        per_segment = int(options.get("candidates", CANDIDATES))
        full_pass = int(options.get("full_pass_frames", FULL_PASS_FRAMES))
        duration = info.duration_s or 0.0
        fps = info.fps or 25.0

        # 3a. Score candidate frames, segment by segment.
        scoring = ctx.sub(0.0, 0.7)
        # One pass costs every frame; seeking costs a keyframe per candidate, plus up to a GOP per segment when
        # the GOPs are long against the segments, and then one pass is as cheap and sees every frame.
        keys = keyframe_times(request.media) if duration * fps > full_pass else None
        long_gops = keys is not None and duration / len(keys) > duration / request.count / 2
        v = info.video
        aspect = v.display_height / v.display_width if v and v.display_width else 9 / 16
        tile_h = max(2, round(request.tile_width * aspect))
        if duration < 2.0 or duration * fps <= full_pass or long_gops:
            # Every frame is decoded anyway: look at twice as many candidates, and keep them at tile size so the
            # chosen ones need no second decode.
            candidates, duration = self._candidates_one_pass(
                request, duration, fps, score_side, 2 * per_segment, scoring,
                keep_side=_side_for_width(request.tile_width, aspect))
        else:
            candidates = self._candidates_by_seeking(request, duration, score_side, per_segment, scoring)
        segment = duration / request.count
        by_segment: dict[int, list[_Candidate]] = {}
        for c in candidates:
            by_segment.setdefault(min(request.count - 1, int(c.time_s / segment)), []).append(c)
        picked = [_pick(by_segment[i]) for i in sorted(by_segment)]
        if not picked:
            raise CorruptMedia(f"{info.name}: no video frame could be decoded.")
        chosen = [c for c, _ in picked]

        # 3b. The chosen frames at tile size (decoded again unless the pass kept them), the best at poster size.
        ctx.check()
        ctx.report(0.75, "Extracting thumbnails")
        if all(c.image is not None for c in chosen):
            images = [c.image for c in chosen]
        else:
            images = [f.image for f in frames_at(request.media, [c.time_s for c in chosen], ctx=ctx,
                                                 max_side=_side_for_width(request.tile_width, aspect))]
        thumbs = [Thumb(c.time_s, score, _fit_width(image, request.tile_width, tile_h))
                  for (c, score), image in zip(picked, images)]
        ctx.report(0.9, "Extracting the poster")
        best = chosen[_poster_index(chosen)]
        poster_frame = frames_at(request.media, [best.time_s], ctx=ctx,
                                 max_side=_side_for_width(request.poster_width, aspect))[0]
        poster = _fit_width(poster_frame.image, request.poster_width,
                            max(2, round(request.poster_width * aspect)))
        return thumbs, poster

    def _candidates_one_pass(self, request: ThumbnailRequest, duration: float, fps: float, score_side: int,
                             per_segment: int, ctx: Context,
                             keep_side: int | None = None) -> tuple[list[_Candidate], float]:
        """Short clip: decode it once, scoring every frame or ``per_segment`` per segment. With ``keep_side``
        frames are decoded at that size and kept with their candidate (scored on a copy at ``score_side``)."""
        few_frames = duration < 2.0 or duration * fps <= request.count * per_segment
        step = None if few_frames else duration / request.count / per_segment
        candidates: list[_Candidate] = []
        last = 0.0
        decode_side = max(keep_side or 0, score_side)
        for frame in iter_frames(request.media, max_side=decode_side, step_s=step, ctx=ctx):
            candidates.append(_features(frame.time_s, frame.image, score_side if keep_side else None))
            last = frame.time_s
            if duration > 0 and len(candidates) % 4 == 0:
                ctx.report(frame.time_s / duration, "Scoring frames")
        # The container's duration may be missing or short of the last frame's end.
        return candidates, max(duration, last + 1.0 / fps)

    def _candidates_by_seeking(self, request: ThumbnailRequest, duration: float, score_side: int,
                               per_segment: int, ctx: Context) -> list[_Candidate]:
        """Long video: the keyframe at or before ``per_segment`` evenly spaced times per segment. A segment left
        with fewer than two candidates (GOPs longer than the segment) or with no well-exposed one also gets the
        frames at its thirds, decoded exactly (up to one GOP of decoding each)."""
        segment = duration / request.count
        seen: dict[float, _Candidate] = {}
        for i in range(request.count):
            ctx.check()
            times = [segment * (i + (j + 0.5) / per_segment) for j in range(per_segment)]
            for frame in frames_at(request.media, times, max_side=score_side, exact=False, ctx=ctx):
                if frame.time_s not in seen:
                    seen[frame.time_s] = _features(frame.time_s, frame.image)
            ctx.report((i + 1) / request.count * 0.8, "Scoring keyframes")
        owned: dict[int, list[_Candidate]] = {}
        for c in seen.values():
            owned.setdefault(min(request.count - 1, int(c.time_s / segment)), []).append(c)
        thin = [i for i in range(request.count)
                if len(owned.get(i, ())) < 2 or not any(c.usable for c in owned[i])]
        if thin:
            ctx.report(0.8, "Decoding extra candidates")
            times = [segment * (i + f) for i in thin for f in (1 / 3, 2 / 3)]
            for frame in frames_at(request.media, times, max_side=score_side, ctx=ctx):
                seen.setdefault(frame.time_s, _features(frame.time_s, frame.image))
        ctx.report(1.0, "Scored")
        return sorted(seen.values(), key=lambda c: c.time_s)

    # -- 3. audio ----------------------------------------------------------------------------------------------
    def _envelope(self, request: ThumbnailRequest, info: MediaInfo, bins: int,
                  ctx: Context) -> tuple[np.ndarray, np.ndarray]:
        """Min/max of the mono signal in ``bins`` equal slices of the duration, streamed (constant memory)."""
        total = max(1, int(round((info.duration_s or 0.0) * WAVEFORM_RATE)))
        mins = np.full(bins, np.inf, dtype=np.float32)
        maxs = np.full(bins, -np.inf, dtype=np.float32)
        position = 0
        for count, chunk in enumerate(iter_audio(request.media, sample_rate=WAVEFORM_RATE, ctx=ctx)):
            index = np.minimum(bins - 1, (position + np.arange(chunk.size, dtype=np.int64)) * bins // total)
            starts = np.flatnonzero(np.r_[True, np.diff(index) != 0])
            slots = index[starts]
            mins[slots] = np.minimum(mins[slots], np.minimum.reduceat(chunk, starts))
            maxs[slots] = np.maximum(maxs[slots], np.maximum.reduceat(chunk, starts))
            position += chunk.size
            if count % 64 == 0:
                ctx.report(min(1.0, position / total), "Reading the audio")
        empty = ~np.isfinite(mins)
        mins[empty] = 0.0
        maxs[empty] = 0.0
        return mins, maxs

    def _audio(self, request: ThumbnailRequest, info: MediaInfo,
               ctx: Context) -> tuple[list[Thumb], Image.Image, tuple[np.ndarray, np.ndarray]]:
        """Waveform pictures: one per segment, the whole file for the poster; also returns the envelope."""
        tile_h = max(2, round(request.tile_width * 9 / 16))
        sheet_w = request.columns * request.tile_width
        bins = min(32768, max(request.count * request.tile_width, request.poster_width, sheet_w))
        bins = max(request.count, min(bins, int((info.duration_s or 0.0) * WAVEFORM_RATE)))  # no empty bins
        bins -= bins % request.count  # equal bins per segment
        mins, maxs = self._envelope(request, info, bins, ctx.sub(0.0, 0.85))
        peak = float(max(np.abs(mins).max(), np.abs(maxs).max()))
        gain = 1.0 / max(peak, 0.05)  # normalise the drawing, not the scores
        duration = info.duration_s or 0.0
        per = bins // request.count
        thumbs = []
        for i in range(request.count):
            ctx.check()
            lo, hi = mins[i * per:(i + 1) * per], maxs[i * per:(i + 1) * per]
            level = float(max(np.abs(lo).max(), np.abs(hi).max()))
            thumbs.append(Thumb(duration * i / request.count, level,
                                render_waveform(lo, hi, request.tile_width, tile_h, gain=gain)))
        poster_h = max(2, round(request.poster_width * 9 / 16))
        poster = render_waveform(mins, maxs, request.poster_width, poster_h, gain=gain)
        return thumbs, poster, (mins, maxs)

    # -- 3. image ----------------------------------------------------------------------------------------------
    def _image(self, request: ThumbnailRequest, info: MediaInfo, ctx: Context) -> tuple[list[Thumb], Image.Image]:
        largest = max(request.poster_width, request.tile_width)
        with Image.open(request.media) as opened:
            opened.draft("RGB", (largest, largest))  # JPEG: decode at a reduced scale when that is enough
            image = ImageOps.exif_transpose(opened)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, BACKGROUND)
                image.paste(rgba, mask=rgba.getchannel("A"))
            else:
                image = image.convert("RGB")
        ctx.report(0.5, "Resizing")
        poster = _fit_width(image, request.poster_width)
        tile = _fit_width(image, request.tile_width)
        return [Thumb(0.0, 1.0, tile)], poster


def _side_for_width(width: int, aspect: float) -> int:
    """The ``max_side`` that gives a frame ``width`` pixels wide for a height/width ``aspect``."""
    return max(2, math.ceil(width * max(1.0, aspect)))
