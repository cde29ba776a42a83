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
from scipy.ndimage import gaussian_filter1d

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput
from ..media import iter_frames
from .io import check_output, even_size, open_video_info, write_video
from .metrics import JITTER_SIGMA_S, JitterMeter, jitter_from_motions
from .motion import PairTracker, camera_path, params, similarity, to_gray
from .types import StabilizeRequest, StabilizeResult


# --------------------------------------------------------------------------------------------------------------
# Smoothing
# --------------------------------------------------------------------------------------------------------------
def _sparse_diff(n: int, order: int) -> sparse.csr_matrix:
    coeffs = {1: [-1.0, 1.0], 2: [1.0, -2.0, 1.0]}[order]
    return sparse.diags([np.full(n - order, c) for c in coeffs], list(range(order + 1)), shape=(n - order, n),
                        format="csr")


def smooth_path(path: np.ndarray, lam2: float, lam1: float = 0.0, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares smoothing of each column of ``path`` (n × k): argmin (x − c)ᵀW(x − c) + λ₂‖D₂x‖² + λ₁‖D₁x‖².

    ``weights`` is the diagonal of W (one positive weight per frame, default all ones), so the system
    ``(W + λ₂D₂ᵀD₂ + λ₁D₁ᵀD₁) x = W c`` stays symmetric positive definite and pentadiagonal (``solveh_banded``).
    """
    path = np.asarray(path, dtype=float)
    n = path.shape[0]
    if n < 3 or (lam2 <= 0 and lam1 <= 0):
        return path.copy()
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    system = sparse.diags(w, 0, format="csr")
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
    rhs = path * w[:, None] if path.ndim == 2 else path * w
    return solveh_banded(banded, rhs, lower=False, check_finite=False)


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


def correction_needs(path: np.ndarray, smooth: np.ndarray, width: float, height: float) -> np.ndarray:
    """Crop each frame's correction (smoothed path ∘ actual path⁻¹) needs, as ``needed_crop`` per frame."""
    return np.array([needed_crop(similarity(*target) @ np.linalg.inv(similarity(*actual)), width, height)
                     for actual, target in zip(path, smooth)])


def _fit_factor(full: np.ndarray, width: float, height: float, crop_max: float) -> float:
    """The largest factor in [0, 1] on a correction's parameters whose correction needs at most ``crop_max``
    (bisection; 0 = identity, which needs no crop)."""
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if needed_crop(similarity(*(mid * full)), width, height) <= crop_max:
            lo = mid
        else:
            hi = mid
    return lo


def _shrink(actual: np.ndarray, target: np.ndarray, width: float, height: float, crop_max: float) -> np.ndarray:
    """The point on the way from ``actual`` to ``target`` (path parameters) where the correction needs ``crop_max``.

    The correction's parameters are scaled by a factor in [0, 1] found by bisection (0 = no correction)."""
    full = params(similarity(*target) @ np.linalg.inv(similarity(*actual)))
    lo = _fit_factor(full, width, height, crop_max)
    point = params(similarity(*(lo * full)) @ similarity(*actual))
    point[2] = actual[2] + lo * full[2]  # keep the angle unwrapped like the path
    return point


def crop_aware_smooth(path: np.ndarray, lam2: float, lam1: float, width: float, height: float, crop_max: float,
                      iterations: int = 40, growth: float = 2.0, slack: float = 0.97) -> tuple[np.ndarray, int]:
    """Smooth ``path`` so that every frame's correction needs at most ``crop_max`` (iteratively reweighted LS).

    The crop limit is part of the smoothing, not a clip applied afterwards. Solve the weighted problem
    ``min Σ w_k‖x_k − t_k‖² + λ₂‖D₂x‖² + λ₁‖D₁x‖²`` — at first W = I and t = c, the actual path — then, for every
    frame whose correction needs more than the budget, add a penalty ρ_k‖x_k − p_k‖² where p_k is the point of the
    budget's boundary on the way from c_k to x_k (the feasible set's projection of x_k along the correction);
    raise ρ_k by ``growth`` while the frame stays over budget, and solve again. The data term stays diagonal, so
    every solve is one pentadiagonal ``solveh_banded`` (O(n)). This is the crop-as-constraint idea of Grundmann
    et al. (L1-optimal camera paths) approximated by weighted least squares: the path leans on the edge of the
    crop window where the budget binds and stays smooth around it, instead of snapping back on single frames
    (which re-introduces the shake). Returns the smoothed path and the number of frames that were constrained.
    """
    path = np.asarray(path, dtype=float)
    n = len(path)
    smooth = smooth_path(path, lam2, lam1)
    if n < 3 or (lam2 <= 0 and lam1 <= 0):
        return smooth, 0
    budget = slack * crop_max
    rho = np.zeros(n)
    strength = 1.0
    for _ in range(iterations):
        need = correction_needs(path, smooth, width, height)
        over = need > crop_max * (1.0 - 1e-6)
        if not over.any() and not (need[rho > 0] > budget * (1 + 1e-3)).any():
            break
        rho[over] = np.maximum(rho[over], strength)
        rho[rho > 0] = np.maximum(rho[rho > 0], strength)
        anchor = smooth.copy()  # majorizer of ρ·dist(x_k, feasible)²: project the current x_k on the budget
        for k in np.flatnonzero((rho > 0) & (need > budget)):
            anchor[k] = _shrink(path[k], smooth[k], width, height, budget)
        weights = 1.0 + rho
        target = (path + rho[:, None] * anchor) / weights[:, None]
        smooth = smooth_path(target, lam2, lam1, weights)
        strength *= growth
    return smooth, int(np.count_nonzero(rho))


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
            corr = similarity(*(_fit_factor(full, width, height, crop_max) * full))
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


def analyse_motion(media: str | Path, analysis_side: int, ctx: Context | None = None, progress: Context | None = None,
                   expected: int = 0) -> tuple[np.ndarray, int, int]:
    """Per-pair motions ``(dx, dy, da, ds)`` (n × 4, source pixels) of ``media``, and its width and height."""
    tracker, motions = PairTracker(), []
    width = height = 0
    for frame in iter_frames(media, ctx=ctx):
        height, width = frame.image.shape[:2]
        gray, back = to_gray(frame.image, analysis_side)
        motion = tracker.push(gray)
        motion[:2] *= back
        motions.append(motion)
        if progress is not None and frame.index % 16 == 0:
            progress.report(min(1.0, (frame.index + 1) / max(1, expected)), "Analysing camera motion")
    return np.array(motions).reshape(-1, 4), width, height


def plan(path: np.ndarray, width: int, height: int, fps: float, smoothness: float, first_order: float,
         crop_max: float) -> tuple[list[np.ndarray], float, int]:
    """Camera path → per-frame ``warpAffine`` matrices, the constant crop, and the frames the safety clip touched.

    λ is given at 30 fps and scaled with the frame rate; the crop limit is enforced inside the smoothing
    (``crop_aware_smooth``); ``limit_corrections`` is only a safety net for what the iteration could not fix. The
    plain smooth-then-clip plan is kept as a candidate too, and the plan whose output path has the lower
    predicted jitter (``predicted_jitter``, the bench's measure) is rendered: both respect the crop everywhere.
    """
    rate = (fps or 30.0) / 30.0
    lam2, lam1 = smoothness * rate ** 4, first_order * rate ** 2
    best = None
    for smooth in (crop_aware_smooth(path, lam2, lam1, width, height, crop_max)[0], smooth_path(path, lam2, lam1)):
        corrections, crop, clipped = limit_corrections(path, smooth, width, height, crop_max)
        score = predicted_jitter(path, corrections, crop, fps)
        if best is None or score < best[0] - 1e-9:
            best = (score, corrections, crop, clipped)
    _, corrections, crop, clipped = best
    return pixel_matrices(corrections, crop, width, height), crop, clipped


def predicted_jitter(path: np.ndarray, corrections: list[np.ndarray], crop: float, fps: float) -> float:
    """Residual translation jitter (output pixels) the rendered clip will have: ``metrics.jitter``'s measure on
    the output camera path (correction ∘ actual path, zoomed)."""
    n = len(path)
    if n < 3:
        return 0.0
    out = np.array([params(c @ similarity(*a))[:2] for c, a in zip(corrections, path)]) / max(1e-6, 1.0 - crop)
    sigma = max(1.0, JITTER_SIGMA_S * (fps or 30.0))
    pad = min(n - 1, int(math.ceil(4 * sigma)))
    padded = np.pad(out, ((pad, pad), (0, 0)), mode="reflect", reflect_type="odd")
    high = out - gaussian_filter1d(padded, sigma, axis=0, mode="nearest")[pad:pad + n]
    return float(np.mean(np.hypot(high[:, 0], high[:, 1])))


def border_exposure(matrices: list[np.ndarray], width: int, height: int) -> tuple[float, float]:
    """Share of output pixels whose source lies outside the frame (black borders): mean and worst frame.

    ``matrices`` are 2×3 ``warpAffine`` matrices (source → output pixels). Each is applied to an all-ones mask
    with a zero constant border; a pixel counts as exposed when less than half of it comes from the source.
    """
    mask = np.ones((height, width), np.float32)
    shares = []
    for m in matrices:
        warped = cv2.warpAffine(mask, np.asarray(m, np.float64), (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        shares.append(float(np.mean(warped < 0.5)))
    return (float(np.mean(shares)), float(np.max(shares))) if shares else (0.0, 0.0)


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
        expected = info.video.frame_count or max(1, round((info.duration_s or 1.0) * fps))
        motions_arr, width, height = analyse_motion(request.media, request.analysis_side, ctx, analyse, expected)
        n = len(motions_arr)
        before = jitter_from_motions(motions_arr, fps)

        # 3. Smooth the path and limit the correction to the crop budget
        ctx.check()
        ctx.report(0.45, "Smoothing the camera path")
        path = camera_path(motions_arr)
        matrices, crop, clipped = plan(path, width, height, fps, request.smoothness, request.first_order,
                                       request.crop_max)

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
