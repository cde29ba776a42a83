"""``lite`` shorts (CPU, no model): analyse → propose → per short: cut → reframe → word captions.

Per short three streamed encodes, each written to a temporary name: the frame-accurate cut of the segment
(``autoedit.render_mp4`` of a one-clip ``Timeline``, audio kept), the reframe (``LiteReframer.plan`` +
``render``), the word captions (``burn_word_captions``) into the final MP4. The temporary files live in a
hidden folder inside ``out_dir`` that is removed however the run ends (done, failed, cancelled).
"""
from __future__ import annotations

import math
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..autoedit.analyse import motion_curve
from ..autoedit.export import render_mp4
from ..autoedit.timeline import Clip, Timeline, frames_to_seconds, seconds_to_frames
from ..base import Engine
from ..context import Context, SubContext
from ..errors import InvalidInput, UnsupportedMedia
from ..media import MediaInfo
from ..reframe.types import ASPECTS, ReframeRequest, ReframeResult
from ..transcript.cuts import energy_curve
from ..video.io import open_video_info
from .captions import burn_word_captions
from .propose import check_lengths, propose_shorts
from .text import as_words, content_words, make_title
from .types import Short, ShortCandidate, ShortsRequest, ShortsResult

#: A segment given by hand must last at least this long.
MIN_SEGMENT_S = 1.0
#: Share of the progress bar the analysis takes (the rest is shared by the shorts).
ANALYSIS_SHARE = 0.15


def _check(request: ShortsRequest) -> MediaInfo:
    """Raise ``InvalidInput``/``InvalidMedia`` for anything unusable; return the media's probe."""
    if request.aspect not in ASPECTS:
        raise InvalidInput(f"aspect must be one of {', '.join(ASPECTS)}, not {request.aspect!r}.")
    check_lengths(request.n, request.min_s, request.max_s)
    if request.output_height is not None and not 64 <= int(request.output_height) <= 4320:
        raise InvalidInput(f"output_height must be 64..4320 pixels, not {request.output_height}.")
    info = open_video_info(Path(request.media))
    for a, b in request.segments or ():
        if not (math.isfinite(a) and math.isfinite(b) and 0 <= a < b):
            raise InvalidInput(f"A segment needs 0 ≤ start < end seconds, not {a}–{b}.")
        if b - a < MIN_SEGMENT_S:
            raise InvalidInput(f"The segment {a:.2f}–{b:.2f} s is too short for a short (at least "
                               f"{MIN_SEGMENT_S:g} s).")
        if info.duration_s and a >= info.duration_s:
            raise InvalidInput(f"The segment {a:.2f}–{b:.2f} s starts after the end of the media "
                               f"({info.duration_s:.2f} s).")
    return info


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "short"


def crop_summary(plan: ReframeResult) -> dict[str, Any]:
    """What the reframe did, in a few numbers (the whole per-frame path stays out of the result)."""
    path = np.array([e[1:] for e in plan.crop_path], float) if plan.crop_path else np.zeros((0, 4))
    moved = np.ptp(path[:, :2], axis=0) if len(path) else np.zeros(2)
    return {"output_size": list(plan.output_size), "crop_size": [round(v, 1) for v in plan.crop_size],
            "fills": plan.fill_used, "shots": len(plan.shots), "frames": plan.frames,
            "subject": sorted({s.kind for s in plan.shots}), "moved_px": [round(float(v), 1) for v in moved],
            "x_range": [round(float(path[:, 0].min()), 1), round(float(path[:, 0].max()), 1)] if len(path) else []}


class LiteShorts(Engine[ShortsRequest, ShortsResult]):
    """Finds the best parts of a long talk and renders each as a captioned vertical short (CPU)."""

    kind = "shorts"
    name = "lite"

    # -- propose ---------------------------------------------------------------------------------------------
    def propose_only(self, request: ShortsRequest, ctx: Context | None = None) -> list[ShortCandidate]:
        """The candidates the request would render, best first; nothing is written (for the studio's list)."""
        ctx = self._ctx(ctx)
        info = _check(request)
        candidates = self._candidates(request, info, ctx)
        ctx.report(1.0, f"{len(candidates)} shorts proposed")
        return candidates

    def _candidates(self, request: ShortsRequest, info: MediaInfo, ctx: Context) -> list[ShortCandidate]:
        """Given segments, or the proposals from the loudness, the motion and the transcript."""
        fps = float(info.fps or 25.0)
        duration = float(info.duration_s or 0.0)
        if request.segments:
            items = as_words(request.words)
            whole = Counter(content_words(w.text for w in items))
            out = []
            for a, b in request.segments:
                fb = seconds_to_frames(b, fps)
                start = frames_to_seconds(seconds_to_frames(a, fps), fps)
                end = frames_to_seconds(min(fb, seconds_to_frames(duration, fps)) if duration else fb, fps)
                said = [w.text for w in items if start <= w.start < end]
                title = make_title(said, said, whole, 0.0) if said else "Short"
                out.append(ShortCandidate(start, end, 0.0, title, " ".join(said), ["chosen by hand"]))
            return out
        # 1. Loudness per frame (no audio track: silence) and motion
        ctx.report(0.0, "Measuring loudness")
        try:
            db = energy_curve(Path(request.media), fps, ctx=ctx)
        except UnsupportedMedia:
            db = None
        ctx.report(0.4, "Measuring motion")
        motion = motion_curve(Path(request.media), SubContext(ctx, 0.4, 0.95))
        ctx.report(0.95, "Scoring sentences")
        return propose_shorts(request.words, duration=duration, energy_db=db, fps=fps, motion=motion,
                              n=request.n, min_s=request.min_s, max_s=request.max_s)

    # -- run -------------------------------------------------------------------------------------------------
    def run(self, request: ShortsRequest, ctx: Context | None = None) -> ShortsResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        info = _check(request)
        media = Path(request.media).resolve()
        out_dir = Path(request.out_dir) if request.out_dir is not None else media.with_name(f"{media.stem}-shorts")
        out_dir.mkdir(parents=True, exist_ok=True)
        words = as_words(request.words)

        # 2. Candidates
        candidates = self._candidates(request, info, SubContext(ctx, 0.0, ANALYSIS_SHARE))

        # 3. Each short: cut → reframe → captions (temporary files in a hidden folder of out_dir)
        from ..reframe.lite import LiteReframer

        reframer = LiteReframer()
        reframer.load()
        shorts: list[Short] = []
        share = (1.0 - ANALYSIS_SHARE) / max(1, len(candidates))
        try:
            with tempfile.TemporaryDirectory(prefix=".shorts-", dir=out_dir) as tmp:
                for k, cand in enumerate(candidates):
                    sub = SubContext(ctx, ANALYSIS_SHARE + k * share, ANALYSIS_SHARE + (k + 1) * share)
                    final = out_dir / f"{media.stem}-short{k + 1}-{_slug(cand.title)}.mp4"
                    shorts.append(self._render_one(request, info, (media, final, Path(tmp)), cand, k, words,
                                                   reframer, sub))
        finally:
            reframer.unload()
        ctx.report(1.0, f"{len(shorts)} shorts rendered")
        return ShortsResult(shorts=shorts, candidates=candidates, seconds=time.perf_counter() - started,
                            parameters=request.as_dict(), backend=self.name)

    def _render_one(self, request: ShortsRequest, info: MediaInfo, paths: tuple[Path, Path, Path],
                    cand: ShortCandidate, k: int, words: list, reframer: Any, ctx: Context) -> Short:
        """One short; ``paths`` are the media, the final MP4 and the temporary folder."""
        started = time.perf_counter()
        media, final, tmp = paths
        fps = float(info.fps or 25.0)
        label = f"Short {k + 1}"
        # 1. Cut: a one-clip timeline of the ORIGINAL media (what EDL/FCPXML/OTIO export)
        clip = Clip(source=str(media), src_in=cand.start, src_out=cand.end, label=cand.title,
                    reason="; ".join(cand.reasons), score=cand.score)
        timeline = Timeline(name=f"{media.stem} {label.lower()}: {cand.title}", fps=fps,
                            width=info.video.display_width, height=info.video.display_height, clips=[clip])
        ctx.report(0.0, f"{label}: cutting")
        cut = tmp / f"cut{k + 1}.mp4"
        render_mp4(timeline, cut, SubContext(ctx, 0.0, 0.2))
        # 2. Reframe (plan + render)
        ctx.report(0.2, f"{label}: reframing")
        plan = reframer.plan(ReframeRequest(media=cut, aspect=request.aspect, output_height=request.output_height),
                             SubContext(ctx, 0.2, 0.45))
        shifted = [{"start": max(0.0, w.start - cand.start), "end": w.end - cand.start, "text": w.text}
                   for w in words if w.end > cand.start and w.start < cand.end]
        framed = tmp / f"framed{k + 1}.mp4" if request.captions and shifted else final
        reframer.render(plan, framed, SubContext(ctx, 0.45, 0.75 if framed != final else 1.0))
        # 3. Word captions (times relative to the short)
        if framed != final:
            ctx.report(0.75, f"{label}: captions")
            burn_word_captions(framed, shifted, final, ctx=SubContext(ctx, 0.75, 1.0))
        for path in (cut, framed):
            if path != final:
                path.unlink(missing_ok=True)  # keep the temporary space to one short's worth
        return Short(candidate=cand, video=final, timeline=timeline, crop_summary=crop_summary(plan),
                     seconds=time.perf_counter() - started)

