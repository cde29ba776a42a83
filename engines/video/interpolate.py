"""Frame interpolation by dense optical flow with occlusion-aware blending (CPU, OpenCV).

For each pair of consecutive frames I0, I1 and each time t in (0, 1):

1. Flow both ways at analysis size (``cv2.DISOpticalFlow``, PRESET_MEDIUM, on grey): F01 (I0(p) ≈ I1(p + F01(p)))
   and F10.
2. Flow at t, backward: the pixel x of the middle frame came from p in I0 with p + t·F01(p) = x and from q in I1
   with q + (1 − t)·F10(q) = x. Both are solved by a few fixed-point steps (p ← x − t·F01(p)), starting from the
   linear guess p = x − t·F01(x); this follows moving objects instead of assuming the flow at x is the flow of
   whatever ends up at x.
3. Consistency: forward-backward error e0(p) = |F01(p) + F10(p + F01(p))| (and e1 for I1), plus the fixed-point
   residual, plus "p fell outside the picture". c = exp(−(err/τ)²) is near 1 where the flow is trustworthy and
   near 0 where the pixel is occluded in the other frame (or newly revealed, or entering at a border).
4. Blend: w0 = (1 − t)·(c0 + ε), w1 = t·(c1 + ε), lightly smoothed; the picture is (w0·I0(p) + w1·I1(q)) /
   (w0 + w1). Where one side is occluded the other one wins; where both are doubtful it falls back to the
   temporal 50/50-style blend. The sampling maps and weights are computed at analysis size and upsampled, so the
   full-size work is two ``cv2.remap`` calls and a weighted sum per synthesized frame.

``evaluate(frames)`` measures it honestly: every odd frame is held out and rebuilt from its two neighbours (t = ½)
by flow interpolation and by plain 50/50 blending; mean PSNR/SSIM of both are returned.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput, InvalidMedia
from ..media import iter_frames
from .io import check_output, open_video_info, write_video
from .metrics import QualityMeter
from .types import InterpolateRequest, InterpolateResult

#: Longest side at which the flow (and the occlusion weights) are computed.
ANALYSIS_SIDE = 640
#: Frames of the clip's start that ``run`` evaluates (held-out frames) for the "flow vs blend" numbers.
EVAL_FRAMES = 60
FACTORS = (2, 3, 4)
#: Fixed-point iterations that invert the flow at time t.
FIXED_POINT_STEPS = 3
#: Consistency scale in analysis pixels: an error of τ gives weight e⁻¹.
TAU_PX = 1.0
#: Floor of the consistency weight, so that where both sides are doubtful the temporal blend takes over.
EPS = 0.02


# --------------------------------------------------------------------------------------------------------------
# Flow and synthesis
# --------------------------------------------------------------------------------------------------------------
def analysis_gray(rgb: np.ndarray, max_side: int = ANALYSIS_SIDE) -> np.ndarray:
    """Grey picture scaled to fit ``max_side`` (never enlarged)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
    return gray


def _sample(field_: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    return cv2.remap(field_, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class FlowSynth:
    """Both flows of one pair of frames, and the middle frames at any t from them.

    ``FlowSynth(dis, gray0, gray1)`` computes the flows once; ``frame(i0, i1, t)`` renders RGB pictures of any
    size (the maps are upsampled to it).
    """

    def __init__(self, dis: "cv2.DISOpticalFlow", gray0: np.ndarray, gray1: np.ndarray) -> None:
        self.f01 = dis.calc(gray0, gray1, None)
        self.f10 = dis.calc(gray1, gray0, None)
        h, w = gray0.shape[:2]
        self.size = (w, h)
        self.gx, self.gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        # forward-backward error of every pixel of each frame
        self.e0 = self._fb_error(self.f01, self.f10)
        self.e1 = self._fb_error(self.f10, self.f01)

    def _fb_error(self, fwd: np.ndarray, bwd: np.ndarray) -> np.ndarray:
        back = _sample(bwd, self.gx + fwd[..., 0], self.gy + fwd[..., 1])
        return np.hypot(fwd[..., 0] + back[..., 0], fwd[..., 1] + back[..., 1]).astype(np.float32)

    def _source(self, flow: np.ndarray, err: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each pixel of the frame at fraction ``s`` of ``flow`` came from, and its consistency (0..1)."""
        gx, gy = self.gx, self.gy
        px, py = gx - s * flow[..., 0], gy - s * flow[..., 1]
        for _ in range(FIXED_POINT_STEPS):
            f = _sample(flow, px, py)
            px, py = gx - s * f[..., 0], gy - s * f[..., 1]
        f = _sample(flow, px, py)
        residual = np.hypot(px + s * f[..., 0] - gx, py + s * f[..., 1] - gy)
        total = _sample(err, px, py) + residual
        consistency = np.exp(-np.square(total / TAU_PX))
        w, h = self.size
        outside = (px < -0.5) | (px > w - 0.5) | (py < -0.5) | (py > h - 0.5)
        consistency[outside] = 0.0
        return px - gx, py - gy, consistency.astype(np.float32)

    def maps(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Displacements (analysis pixels) into I0 and I1 and the normalised weight of I0, at time ``t``."""
        d0x, d0y, c0 = self._source(self.f01, self.e0, t)
        d1x, d1y, c1 = self._source(self.f10, self.e1, 1.0 - t)
        w0 = cv2.GaussianBlur((1.0 - t) * (c0 + EPS), (0, 0), 1.0)
        w1 = cv2.GaussianBlur(t * (c1 + EPS), (0, 0), 1.0)
        return d0x, d0y, d1x, d1y, w0 / (w0 + w1), c0 * c1

    def frame(self, i0: np.ndarray, i1: np.ndarray, t: float) -> np.ndarray:
        """The RGB picture at time ``t`` in (0, 1) between ``i0`` and ``i1`` (same size as them)."""
        h, w = i0.shape[:2]
        d0x, d0y, d1x, d1y, a, _ = self.maps(t)
        aw, ah = self.size
        if (w, h) != (aw, ah):
            sx, sy = w / aw, h / ah
            up = lambda m: cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)  # noqa: E731
            d0x, d1x = up(d0x) * sx, up(d1x) * sx
            d0y, d1y = up(d0y) * sy, up(d1y) * sy
            a = up(a)
            gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        else:
            gx, gy = self.gx, self.gy
        warped0 = cv2.remap(i0, gx + d0x, gy + d0y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        warped1 = cv2.remap(i1, gx + d1x, gy + d1y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        a3 = a[..., None]
        out = a3 * warped0.astype(np.float32) + (1.0 - a3) * warped1.astype(np.float32)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def new_flow() -> "cv2.DISOpticalFlow":
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


def interpolate_pair(i0: np.ndarray, i1: np.ndarray, t: float = 0.5, dis: "cv2.DISOpticalFlow | None" = None,
                     max_side: int = ANALYSIS_SIDE) -> np.ndarray:
    """One picture at time ``t`` between two RGB pictures (a convenience around ``FlowSynth``)."""
    synth = FlowSynth(dis or new_flow(), analysis_gray(i0, max_side), analysis_gray(i1, max_side))
    return synth.frame(i0, i1, t)


def blend_pair(i0: np.ndarray, i1: np.ndarray, t: float = 0.5) -> np.ndarray:
    """The peer: plain cross-fade ``(1 − t)·I0 + t·I1``."""
    return cv2.addWeighted(i0, 1.0 - t, i1, t, 0.0)


def evaluate(frames: list[np.ndarray], max_side: int = ANALYSIS_SIDE, ctx: Context | None = None) -> dict:
    """Hold out every odd frame, rebuild it from its neighbours by flow and by 50/50 blend; mean PSNR/SSIM.

    Returns ``{"frames": held-out count, "flow_psnr", "flow_ssim", "blend_psnr", "blend_ssim", "flow_ms"}``
    (``flow_ms``: mean milliseconds per synthesized frame, flows included); ``{}`` for fewer than 3 frames.
    PSNR of identical pictures is capped at 100 dB (``QualityMeter``).
    """
    if len(frames) < 3:
        return {}
    dis = new_flow()
    flow_q, blend_q = QualityMeter(), QualityMeter()
    spent = 0.0
    for i in range(1, len(frames) - 1, 2):
        if ctx is not None and i % 8 == 1:
            ctx.check()
        a, truth, b = frames[i - 1], frames[i], frames[i + 1]
        start = time.perf_counter()
        flow = interpolate_pair(a, b, 0.5, dis, max_side)
        spent += time.perf_counter() - start
        flow_q.add(truth, flow)
        blend_q.add(truth, blend_pair(a, b, 0.5))
    n = len(flow_q.psnr_values)
    return {"frames": n, "flow_psnr": flow_q.psnr, "flow_ssim": flow_q.ssim, "blend_psnr": blend_q.psnr,
            "blend_ssim": blend_q.ssim, "flow_ms": 1000.0 * spent / max(1, n)}


def _fit(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return image.copy()
    return cv2.resize(image, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------------------------
class FlowInterpolator(Engine[InterpolateRequest, InterpolateResult]):
    """DIS optical flow both ways + fixed-point flow inversion + forward-backward occlusion weights (CPU)."""

    kind = "interpolate"
    name = "lite"

    def run(self, request: InterpolateRequest, ctx: Context | None = None) -> InterpolateResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        if request.factor not in FACTORS:
            raise InvalidInput(f"factor must be one of {', '.join(map(str, FACTORS))}, not {request.factor}.")
        out = check_output(request.out)
        info = open_video_info(request.media)
        if out.resolve() == Path(request.media).resolve():
            raise InvalidInput("The output must not overwrite the input.")
        fps_in = info.fps or 30.0
        factor = request.factor
        fps_out = fps_in if request.slow_motion else fps_in * factor
        expected = info.video.frame_count or max(1, round((info.duration_s or 1.0) * fps_in))
        times = [k / factor for k in range(1, factor)]

        # 2. Decode, interpolate and encode in one streamed pass (holds two frames and one pair's flows)
        ctx.report(0.0, "Interpolating frames")
        render = ctx.sub(0.0, 0.9)
        dis = new_flow()
        sample: list[np.ndarray] = []  # the first EVAL_FRAMES frames at analysis size, for the quality check
        state = {"in": 0, "size": None}

        def frames():
            prev = prev_gray = None
            for frame in iter_frames(request.media, ctx=ctx):
                image = frame.image
                if state["size"] is None:
                    state["size"] = (image.shape[1], image.shape[0])
                elif (image.shape[1], image.shape[0]) != state["size"]:
                    image = cv2.resize(image, state["size"], interpolation=cv2.INTER_AREA)
                state["in"] += 1
                if len(sample) < EVAL_FRAMES:
                    sample.append(_fit(image, ANALYSIS_SIDE))
                gray = analysis_gray(image)
                if prev is not None:
                    ctx.check()
                    yield prev
                    synth = FlowSynth(dis, prev_gray, gray)
                    for t in times:
                        yield synth.frame(prev, image, t)
                    render.report(min(1.0, state["in"] / expected), f"Interpolating frame {state['in']}")
                prev, prev_gray = image, gray
            if prev is None:
                raise InvalidMedia(f"{Path(request.media).name}: no video frames could be decoded.")
            # The last frame has no successor: hold it for the remaining slots so the duration is kept exactly.
            for _ in range(factor):
                yield prev

        gen = frames()
        try:
            first = next(gen)
        except StopIteration:  # pragma: no cover - frames() always yields or raises
            raise InvalidMedia(f"{Path(request.media).name}: no video frames could be decoded.") from None
        width, height = state["size"]

        def chained():
            yield first
            yield from gen

        keep_audio = not request.slow_motion
        written = write_video(chained(), out, fps_out, width, height,
                              audio_from=Path(request.media) if keep_audio else None, ctx=ctx)
        render_s = time.perf_counter() - started

        # 3. Quality check on the first frames (held-out frames: flow vs blend)
        ctx.report(0.9, "Checking quality (flow vs blend)")
        quality = evaluate(sample, ctx=ctx) if len(sample) >= 3 else {}
        seconds = time.perf_counter() - started
        ctx.report(1.0, "Done")

        # 4. Result
        frames_in = state["in"]
        has_audio = info.audio is not None
        note = ""
        if request.slow_motion:
            note = f"slow motion ×{factor}: " + ("audio dropped" if has_audio else "no audio")
        return InterpolateResult(
            out=out, frames_in=frames_in, frames_out=written, fps_in=fps_in, fps_out=fps_out, seconds=seconds,
            ms_per_frame=1000.0 * render_s / max(1, written), duration_in_s=frames_in / fps_in,
            duration_out_s=written / fps_out, audio=has_audio and keep_audio, note=note, quality=quality,
            backend=self.name, parameters=request.as_dict())

