"""``lite`` auto-reframe (CPU, no model): shots → subject per analysed frame → crop path per shot → render.

``run`` = ``plan`` + ``render``; the studio may call ``plan`` alone to preview the crop path and ``render`` later
with the same plan. Three decode passes: shots (128 px, only when no cut times are given), subjects
(``analysis_side`` px) and the render (full size, streamed).
"""
from __future__ import annotations

import math
import time
from bisect import bisect_left
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from ..base import Engine, EngineConfig
from ..context import Context, SubContext
from ..errors import InvalidInput, InvalidMedia
from ..media import MediaInfo, iter_frames
from ..video.io import check_output, open_video_info, write_video
from .path import FIT_MARGIN, crop_size, decide_fill, fitted_share, output_size, shot_centres
from .render import render_frames
from .subject import FACE_RATE, FaceFinder, SaliencyTracker, scaled, face_subjects
from .types import ASPECTS, FILLS, CropEntry, ReframeRequest, ReframeResult, ShotPlan, Subject

#: Default dead zone, as a share of the crop's width.
HOLD_SHARE = 0.06


def check_request(request: ReframeRequest) -> MediaInfo:
    """Raise ``InvalidInput``/``InvalidMedia`` for anything unusable; return the media's probe."""
    if request.aspect not in ASPECTS:
        raise InvalidInput(f"aspect must be one of {', '.join(ASPECTS)}, not {request.aspect!r}.")
    if request.fill not in FILLS:
        raise InvalidInput(f"fill must be one of {', '.join(FILLS)}, not {request.fill!r}.")
    if request.output_height is not None and not 64 <= int(request.output_height) <= 4320:
        raise InvalidInput(f"output_height must be 64..4320 pixels, not {request.output_height}.")
    if request.hold_px is not None and not (math.isfinite(request.hold_px) and request.hold_px >= 0):
        raise InvalidInput(f"hold_px must be 0 or more, not {request.hold_px}.")
    if not (math.isfinite(request.smoothness) and request.smoothness >= 0):
        raise InvalidInput(f"smoothness must be 0 or more, not {request.smoothness}.")
    if not (math.isfinite(request.max_speed) and request.max_speed > 0):
        raise InvalidInput(f"max_speed must be more than 0 crop widths a second, not {request.max_speed}.")
    if not 64 <= request.analysis_side <= 1920:
        raise InvalidInput(f"analysis_side must be 64..1920 pixels, not {request.analysis_side}.")
    if not (math.isfinite(request.analysis_fps) and request.analysis_fps > 0):
        raise InvalidInput(f"analysis_fps must be more than 0, not {request.analysis_fps}.")
    for t in request.shots or ():
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t >= 0):
            raise InvalidInput(f"Cut times must be seconds of 0 or more, not {t!r}.")
    if request.out is not None:
        check_output(request.out)
        if Path(request.out).resolve() == Path(request.media).resolve():
            raise InvalidInput("The output must not overwrite the input.")
    return open_video_info(Path(request.media))


class LiteReframer(Engine[ReframeRequest, ReframeResult]):
    """Reframes a clip to 9:16, 1:1 or 4:5 around faces or salient, moving things (CPU).

    ``config.options``: ``face_rate`` (face checks a second, default 2)."""

    kind = "reframe"
    name = "lite"

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        self._faces: FaceFinder | None = None

    def load(self) -> None:
        if self._faces is None:
            self._faces = FaceFinder()

    def unload(self) -> None:
        self._faces = None

    def run(self, request: ReframeRequest, ctx: Context | None = None) -> ReframeResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        info = check_request(request)

        # 2. Plan: shots, subjects, crop path
        planned = self._plan(request, info, SubContext(ctx, 0.0, 0.5 if request.out is not None else 1.0))

        # 3. Render
        if request.out is not None:
            planned = self.render(planned, Path(request.out), SubContext(ctx, 0.5, 1.0))

        # 4. Result
        planned.seconds = time.perf_counter() - started
        ctx.report(1.0, "Done")
        return planned

    # -- plan ------------------------------------------------------------------------------------------------
    def plan(self, request: ReframeRequest, ctx: Context | None = None) -> ReframeResult:
        """Shots, subjects and the crop path of every frame; nothing is written."""
        return self._plan(request, check_request(request), self._ctx(ctx))

    def _plan(self, request: ReframeRequest, info: MediaInfo, ctx: Context) -> ReframeResult:
        started = time.perf_counter()
        fps = float(info.fps or 30.0)
        width, height = info.video.display_width, info.video.display_height
        aspect = ASPECTS[request.aspect]
        crop = crop_size(width, height, aspect)
        size = output_size(crop, aspect, request.output_height)

        # 1. Shot boundaries (first frames of the shots after the first)
        ctx.report(0.0, "Finding shots")
        if request.shots is None:
            from ..shots import REGISTRY as SHOTS, ShotRequest

            found = SHOTS.create(EngineConfig(backend="lite")).run(ShotRequest(media=Path(request.media)),
                                                                   SubContext(ctx, 0.0, 0.3))
            starts = [first for first, _ in found.shots[1:]]
        else:
            starts = sorted({int(round(t * fps)) for t in request.shots} - {0})

        # 2. Subjects per analysed frame, one shot at a time
        expected = info.video.frame_count or max(1, int(round((info.duration_s or 1.0) * fps)))
        subjects, frames = self._analyse(request, starts, fps, (width, crop), expected, SubContext(ctx, 0.3, 0.9))
        if frames == 0:
            raise InvalidMedia(f"{Path(request.media).name} has no decodable video frames.")

        # 3. Crop path per shot (may jump only between shots)
        ctx.report(0.9, "Planning the crop path")
        bounds = [0] + [s for s in starts if 0 < s < frames] + [frames]
        hold = request.hold_px if request.hold_px is not None else HOLD_SHARE * crop[0]
        lam2 = request.smoothness * (fps / 30.0) ** 4
        max_step = (request.max_speed * crop[0] / fps, request.max_speed * crop[1] / fps)
        fitted = fitted_share(width, height, size)
        shots: list[ShotPlan] = []
        crop_path: list[CropEntry] = []
        analysed = [s.frame for s in subjects]  # in frame order
        for first, stop in zip(bounds[:-1], bounds[1:]):
            mine = subjects[bisect_left(analysed, first):bisect_left(analysed, stop)]
            fill, fits, confidence, reason = decide_fill(mine, request.fill, fitted)
            kind = mine[0].kind if mine else "none"
            shots.append(ShotPlan(first, stop - 1, first / fps, stop / fps, kind, confidence, fits, fill, reason))
            if fill == "crop":
                centres = shot_centres(mine, first, stop - 1, (width, height), crop, hold=hold, lam2=lam2,
                                       max_step=max_step)
                crop_path += [(k / fps, cx - crop[0] / 2, cy - crop[1] / 2, crop[0], crop[1])
                              for k, (cx, cy) in enumerate(centres, start=first)]
            else:
                crop_path += [(k / fps, 0.0, 0.0, float(width), float(height)) for k in range(first, stop)]
        seconds = time.perf_counter() - started
        ctx.report(1.0, f"{len(shots)} shots planned")
        return ReframeResult(media=Path(request.media), output=None, aspect=request.aspect, fps=fps, frames=frames,
                             source_size=(width, height), crop_size=crop, output_size=size, crop_path=crop_path,
                             shots=shots, subjects=subjects, seconds=seconds, plan_seconds=seconds,
                             max_step_px=max_step[0] if crop[0] < width else max_step[1], backend=self.name,
                             parameters=request.as_dict())

    def _analyse(self, request: ReframeRequest, starts: list[int], fps: float,
                 geometry: tuple[int, tuple[float, float]], expected: int, ctx: Context) -> tuple[list[Subject], int]:
        """Decode once at ``analysis_side``; per shot, faces when persistent, else saliency + motion.
        ``geometry`` is the source's width and the crop's size (source pixels)."""
        width, crop = geometry
        use_faces = request.faces
        if use_faces:
            self.load()
        step = max(1, int(round(fps / request.analysis_fps)))
        face_rate = float(self.config.options.get("face_rate", FACE_RATE))
        face_step = step * max(1, int(round(fps / face_rate / step)))
        tracker = SaliencyTracker()
        subjects: list[Subject] = []
        pending: list[Subject] = []  # saliency subjects of the current shot
        checks: list[tuple[int, list[np.ndarray]]] = []
        shot_start, count, scale = 0, 0, 1.0
        fit = (FIT_MARGIN * crop[0], FIT_MARGIN * crop[1])
        upcoming = list(starts)

        def close_shot() -> None:
            framed = None
            if checks:
                framed = face_subjects(checks, [(s.frame, s.time) for s in pending], 2 * face_step, scale,
                                       (fit[0] / scale, fit[1] / scale))
            subjects.extend(framed or pending)
            pending.clear()
            checks.clear()

        for frame in iter_frames(request.media, max_side=request.analysis_side, ctx=ctx):
            count = frame.index + 1
            if upcoming and frame.index >= upcoming[0]:
                while upcoming and frame.index >= upcoming[0]:
                    shot_start = upcoming.pop(0)
                close_shot()
                tracker.reset()
            offset = frame.index - shot_start
            if offset % step:
                continue
            gray = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
            scale = width / gray.shape[1]
            primary, box, score, coverage = tracker.push(gray, (fit[0] / scale, fit[1] / scale))
            pending.append(Subject(frame.index, frame.time_s, scaled(box, scale), scaled(primary, scale), score,
                                   "saliency", coverage))
            if use_faces and self._faces is not None and offset % face_step == 0:
                checks.append((frame.index, self._faces.detect(gray)))
            if len(pending) % 4 == 0:
                ctx.check()
                ctx.report(min(1.0, count / expected), "Finding the subject")
        close_shot()
        return subjects, count

    # -- render ----------------------------------------------------------------------------------------------
    def render(self, planned: ReframeResult, out: Path, ctx: Context | None = None) -> ReframeResult:
        """Write the reframed MP4 (H.264 yuv420p, the source's audio as AAC) for ``planned``; returns a copy of it
        with ``output`` set. Temp file renamed into place; cancellable; streamed."""
        ctx = self._ctx(ctx)
        started = time.perf_counter()
        out = check_output(Path(out))
        if out.resolve() == planned.media.resolve():
            raise InvalidInput("The output must not overwrite the input.")
        if not planned.crop_path:
            raise InvalidInput("The plan has no frames to render.")
        fills: list[str] = []
        for shot in planned.shots:
            fills += [shot.fill] * (shot.end - shot.start + 1)
        frames = render_frames(planned.media, planned.crop_path, fills, planned.output_size, ctx)
        write_video(frames, out, planned.fps, *planned.output_size, audio_from=planned.media, ctx=ctx)
        render_s = time.perf_counter() - started
        ctx.report(1.0, "Rendered")
        return replace(planned, output=out, render_seconds=render_s, seconds=planned.seconds + render_s)
