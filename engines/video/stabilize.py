"""Video stabilisation, the classic two-pass pipeline with a least-squares smoother and a crop limit.

1. Analyse (decode at ``analysis_side``): track corners between consecutive frames (``goodFeaturesToTrack`` +
   ``calcOpticalFlowPyrLK``), fit a similarity per pair with RANSAC (``estimateAffinePartial2D``) and compose the
   pairs into the camera path (x, y, angle, log-scale) of every frame relative to the first.
2. Smooth each component c by regularised least squares, ``min_x ‖x − c‖² + λ₂‖D₂x‖² + λ₁‖D₁x‖²`` (D₁, D₂ first and
   second differences): ``(I + λ₂D₂ᵀD₂ + λ₁D₁ᵀD₁) x = c`` is symmetric, positive definite and pentadiagonal, solved
   in O(n) with ``scipy.linalg.solveh_banded``. λ is given at 30 fps and scaled by (fps/30)⁴ (resp. ²) so that it
   means the same cut-off in seconds at any frame rate (Hodrick–Prescott: cut-off ≈ λ^(-1/4) rad/frame).
3. Crop limit: each frame's correction (smoothed path ∘ actual path⁻¹) is shrunk towards identity, where needed,
   until the centred window of (1 − crop_max) of each side stays inside the warped picture (closed form per
   corner, bisection on the shrink factor). The zoom is then the largest crop any frame needs — constant over the
   clip, so the picture does not breathe.
4. Render (full-size decode, one pass, streamed): warp each frame by zoom ∘ correction, encode, and measure the
   output's jitter on the way.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import cv2
import numpy as np
from scipy import sparse
from scipy.linalg import solveh_banded

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput
from ..media import iter_frames
from .io import check_output, even_size, open_video_info, write_video
from .metrics import JitterMeter, jitter_from_motions
from .motion import PairTracker, camera_path, params, similarity, to_gray
from .types import StabilizeRequest, StabilizeResult


# --------------------------------------------------------------------------------------------------------------
# Smoothing
# --------------------------------------------------------------------------------------------------------------
def _sparse_diff(n: int, order: int) -> sparse.csr_matrix:
    coeffs = {1: [-1.0, 1.0], 2: [1.0, -2.0, 1.0]}[order]
    return sparse.diags([np.full(n - order, c) for c in coeffs], list(range(order + 1)), shape=(n - order, n),
                        format="csr")


def smooth_path(path: np.ndarray, lam2: float, lam1: float = 0.0) -> np.ndarray:
    """Least-squares smoothing of each column of ``path`` (n × k): argmin ‖x − c‖² + λ₂‖D₂x‖² + λ₁‖D₁x‖²."""
    path = np.asarray(path, dtype=float)
    n = path.shape[0]
    if n < 3 or (lam2 <= 0 and lam1 <= 0):
        return path.copy()
    system = sparse.identity(n, format="csr")
    if lam2 > 0:
        d2 = _sparse_diff(n, 2)
        system = system + lam2 * (d2.T @ d2)
    if lam1 > 0:
        d1 = _sparse_diff(n, 1)
        system = system + lam1 * (d1.T @ d1)
    banded = np.zeros((3, n))  # upper form: row 2 main diagonal, row 1 first super-, row 0 second super-diagonal
    banded[2] = system.diagonal(0)
    banded[1, 1:] = system.diagonal(1)
    banded[0, 2:] = system.diagonal(2)
    return solveh_banded(banded, path, lower=False, check_finite=False)


# --------------------------------------------------------------------------------------------------------------
# Crop limit
# --------------------------------------------------------------------------------------------------------------
def needed_crop(correction: np.ndarray, width: float, height: float) -> float:
    """Share of each side to crop so that the centred window lies inside a picture warped by ``correction``.

    ``correction`` (3×3, centred coordinates) maps source points to output points. The window of half-size
    u·(W/2, H/2) is inside iff each of its corners maps back (by the inverse) within ±(W/2, H/2); each corner and
    axis gives a linear bound on u. Returns 1 − the largest feasible u (0 when no crop is needed, 1 if none fits).
    """
    inv = np.linalg.inv(correction)
    half = np.array([width / 2.0, height / 2.0])
    corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], float) * half
    g = corners @ inv[:2, :2].T  # (4, 2): direction of each corner's pre-image as u grows
    b = inv[:2, 2]
    if np.any(np.abs(b) >= half):
        return 1.0
    u = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(g > 0, (half - b) / g, np.where(g < 0, (half + b) / -g, np.inf))
    u = min(u, float(np.min(bound)))
    return float(min(1.0, max(0.0, 1.0 - u)))


def limit_corrections(path: np.ndarray, smooth: np.ndarray, width: float, height: float,
                      crop_max: float) -> tuple[list[np.ndarray], float, int]:
    """Per-frame corrections (3×3, centred) shrunk to need at most ``crop_max``; the crop; frames clipped."""
    corrections, crop, clipped = [], 0.0, 0
    for actual, target in zip(path, smooth):
        full = params(similarity(*target) @ np.linalg.inv(similarity(*actual)))
        corr = similarity(*full)
        need = needed_crop(corr, width, height)
        if need > crop_max:
            clipped += 1
            lo, hi = 0.0, 1.0  # shrink factor on the correction's parameters; 0 = identity (needs no crop)
            for _ in range(30):
                mid = 0.5 * (lo + hi)
                if needed_crop(similarity(*(mid * full)), width, height) <= crop_max:
                    lo = mid
                else:
                    hi = mid
            corr = similarity(*(lo * full))
            need = needed_crop(corr, width, height)
        corrections.append(corr)
        crop = max(crop, need)
    return corrections, crop, clipped


def pixel_matrices(corrections: list[np.ndarray], crop: float, width: int, height: int) -> list[np.ndarray]:
    """2×3 ``warpAffine`` matrices (pixel coordinates): zoom by 1/(1 − crop) ∘ correction, about the centre."""
    zoom = 1.0 / max(1e-6, 1.0 - crop)
    centre = np.array([[1, 0, (width - 1) / 2.0], [0, 1, (height - 1) / 2.0], [0, 0, 1]])
    uncentre = np.linalg.inv(centre)
    scale = np.diag([zoom, zoom, 1.0])
    return [(centre @ scale @ c @ uncentre)[:2] for c in corrections]


# --------------------------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------------------------
class LiteStabilizer(Engine[StabilizeRequest, StabilizeResult]):
    """Feature tracking + least-squares path smoothing + constant crop (CPU, OpenCV/SciPy)."""

    kind = "stabilize"
    name = "lite"

    def run(self, request: StabilizeRequest, ctx: Context | None = None) -> StabilizeResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        if not (math.isfinite(request.smoothness) and request.smoothness >= 0):
            raise InvalidInput(f"smoothness must be 0 or more, not {request.smoothness}.")
        if not (math.isfinite(request.first_order) and request.first_order >= 0):
            raise InvalidInput(f"first_order must be 0 or more, not {request.first_order}.")
        if not (0.0 <= request.crop_max <= 0.5):
            raise InvalidInput(f"crop_max must be between 0 and 0.5, not {request.crop_max}.")
        if not 64 <= request.analysis_side <= 4096:
            raise InvalidInput(f"analysis_side must be 64..4096 pixels, not {request.analysis_side}.")
        out = check_output(request.out)
        info = open_video_info(request.media)
        if out.resolve() == Path(request.media).resolve():
            raise InvalidInput("The output must not overwrite the input.")
        fps = info.fps or 30.0

        # 2. Analyse: motion between consecutive frames, at a small size
        ctx.report(0.0, "Analysing camera motion")
        analyse = ctx.sub(0.0, 0.45)
        tracker, motions = PairTracker(), []
        expected = info.video.frame_count or max(1, round((info.duration_s or 1.0) * fps))
        width = height = 0
        for frame in iter_frames(request.media, ctx=ctx):
            height, width = frame.image.shape[:2]
            gray, back = to_gray(frame.image, request.analysis_side)
            motion = tracker.push(gray)
            motion[:2] *= back
            motions.append(motion)
            if frame.index % 16 == 0:
                analyse.report(min(1.0, (frame.index + 1) / expected), "Analysing camera motion")
        motions_arr = np.array(motions).reshape(-1, 4)
        n = len(motions_arr)
        before = jitter_from_motions(motions_arr, fps)

        # 3. Smooth the path and limit the correction to the crop budget
        ctx.check()
        ctx.report(0.45, "Smoothing the camera path")
        path = camera_path(motions_arr)
        rate = fps / 30.0
        smooth = smooth_path(path, request.smoothness * rate ** 4, request.first_order * rate ** 2)
        corrections, crop, clipped = limit_corrections(path, smooth, width, height, request.crop_max)
        matrices = pixel_matrices(corrections, crop, width, height)

        # 4. Render: warp, encode and measure the result in one streamed pass
        render = ctx.sub(0.5, 1.0)
        after_meter = JitterMeter()
        out_w, out_h = even_size(width, height)

        def warped():
            for frame in iter_frames(request.media, ctx=ctx):
                m = matrices[min(frame.index, n - 1)]
                image = cv2.warpAffine(frame.image, m, (width, height), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REPLICATE)
                after_meter.add(image[:out_h, :out_w])
                if frame.index % 8 == 0:
                    render.report((frame.index + 1) / max(1, n), "Rendering the steady clip")
                yield image

        written = write_video(warped(), out, fps, width, height, audio_from=Path(request.media), ctx=ctx)
        after = after_meter.result(fps)
        seconds = time.perf_counter() - started
        ctx.report(1.0, "Done")

        # 5. Result
        return StabilizeResult(
            out=out, frames=written, fps=fps, jitter_before=before.translation_px,
            jitter_after=after.translation_px, rotation_before_deg=before.rotation_deg,
            rotation_after_deg=after.rotation_deg, crop=crop, clipped_frames=clipped, seconds=seconds,
            ms_per_frame=1000.0 * seconds / max(1, written), backend=self.name, parameters=request.as_dict())
