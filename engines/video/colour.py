"""Colour correction: white balance, auto exposure, match to a reference, and ``.cube`` 3D LUTs.

Two passes. The analysis pass decodes up to ``SAMPLES`` frames spread over the clip at a small size and fixes
every setting once — channel gains, stretch, Lab transfer or histogram curves — so the grade does not flicker.
The render pass applies them to each full-size frame, in this order:

1. White balance, gray world with clipping: channel means over pixels that are neither near-black nor clipped
   (5 < v < 250 in every channel), gains = grey mean / channel mean, limited to 0.5..2.
2. Auto exposure/contrast: luma 0.5 % and 99.5 % percentiles stretched to 0..255 (gain ≤ 3, so a flat clip is
   not blown up), the same linear map on R, G and B.
3. Reference match: Reinhard et al. 2001 (per-channel mean/std transfer in CIE Lab, OpenCV's float Lab), or
   per-channel histogram matching (CDF mapping as in ``skimage.exposure.match_histograms``, but computed once over
   the sampled frames and applied as a 256-entry curve).
4. LUT: Adobe/Resolve ``.cube`` 3D LUT (``LUT_3D_SIZE``, ``DOMAIN_MIN``/``MAX``; red varies fastest), trilinear
   interpolation vectorised in NumPy, blended with the input by ``lut_strength``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput, InvalidMedia, UnsupportedMedia
from ..media import frames_at, iter_frames, probe
from .io import check_output, open_video_info, write_video
from .metrics import Latency, QualityMeter
from .types import ColourRequest, ColourResult

SAMPLES = 48
ANALYSIS_SIDE = 320
GAIN_LIMITS = (0.5, 2.0)
STRETCH_PERCENTILES = (0.5, 99.5)
MAX_STRETCH_GAIN = 3.0
#: At most this many frames are compared with the source for PSNR/SSIM.
QUALITY_SAMPLES = 60


# --------------------------------------------------------------------------------------------------------------
# White balance and exposure
# --------------------------------------------------------------------------------------------------------------
def gray_world_gains(images: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Gray-world gains (R, G, B) over unclipped pixels of one or more RGB uint8 pictures."""
    if isinstance(images, np.ndarray):
        images = [images]
    pixels = np.concatenate([im.reshape(-1, 3) for im in images]).astype(np.float64)
    usable = np.all((pixels > 5) & (pixels < 250), axis=1)
    if usable.sum() < 64:
        return np.ones(3)
    means = pixels[usable].mean(axis=0)
    gains = means.mean() / np.maximum(means, 1e-6)
    return np.clip(gains, *GAIN_LIMITS)


def stretch_params(images: list[np.ndarray] | np.ndarray) -> tuple[float, float]:
    """Luma percentiles (lo, hi) to stretch to 0..255, gain limited to ``MAX_STRETCH_GAIN``."""
    if isinstance(images, np.ndarray):
        images = [images]
    luma = np.concatenate([cv2.cvtColor(im, cv2.COLOR_RGB2GRAY).ravel() for im in images]).astype(np.float64)
    lo, hi = np.percentile(luma, STRETCH_PERCENTILES)
    if hi - lo < 255.0 / MAX_STRETCH_GAIN:  # flat picture: stretch only up to the gain limit, around its middle
        mid, half = (lo + hi) / 2, 255.0 / MAX_STRETCH_GAIN / 2
        lo, hi = mid - half, mid + half
    return float(lo), float(hi)


def apply_gains(image: np.ndarray, gains: np.ndarray, lo: float = 0.0, hi: float = 255.0) -> np.ndarray:
    """White-balance gains then a linear stretch of [lo, hi] to [0, 255], as one 256-entry curve per channel."""
    x = np.arange(256, dtype=np.float64)
    curves = [np.clip((x * g - lo) * 255.0 / max(1e-6, hi - lo), 0, 255) for g in gains]
    table = np.stack(curves, axis=1).round().astype(np.uint8)  # (256, 3)
    return cv2.LUT(image, table.reshape(256, 1, 3))


# --------------------------------------------------------------------------------------------------------------
# Reference match
# --------------------------------------------------------------------------------------------------------------
def to_lab(image: np.ndarray) -> np.ndarray:
    """CIE Lab (L 0..100, a/b about −128..127) of an RGB uint8 picture, float32."""
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def from_lab(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def lab_stats(images: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation in Lab over one or more pictures."""
    if isinstance(images, np.ndarray):
        images = [images]
    lab = np.concatenate([to_lab(im).reshape(-1, 3) for im in images]).astype(np.float64)
    return lab.mean(axis=0), lab.std(axis=0)


def reinhard(image: np.ndarray, source_stats: tuple[np.ndarray, np.ndarray],
             target_stats: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Reinhard transfer: (lab − μ_src) · σ_ref/σ_src + μ_ref per Lab channel (scale limited to 0.25..4)."""
    (mu_s, sd_s), (mu_t, sd_t) = source_stats, target_stats
    scale = np.clip(sd_t / np.maximum(sd_s, 1e-6), 0.25, 4.0)
    lab = to_lab(image)
    lab = (lab - mu_s.astype(np.float32)) * scale.astype(np.float32) + mu_t.astype(np.float32)
    return from_lab(lab)


def histogram_curves(images: list[np.ndarray], reference: np.ndarray) -> np.ndarray:
    """(256, 3) uint8 curves mapping each channel's CDF over ``images`` onto the reference's CDF."""
    table = np.zeros((256, 3), np.uint8)
    for c in range(3):
        src = np.bincount(np.concatenate([im[..., c].ravel() for im in images]), minlength=256).astype(float)
        ref = np.bincount(reference[..., c].ravel(), minlength=256).astype(float)
        src_cdf, ref_cdf = np.cumsum(src) / src.sum(), np.cumsum(ref) / ref.sum()
        table[:, c] = np.clip(np.interp(src_cdf, ref_cdf, np.arange(256)).round(), 0, 255)
    return table


def load_reference(path: Path) -> np.ndarray:
    """An RGB picture from an image file, or the middle frame of a video."""
    path = Path(path)
    info = probe(path)
    if info.kind == "image":
        from PIL import Image, ImageOps

        with Image.open(path) as img:
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    if info.kind != "video":
        raise UnsupportedMedia(f"The reference {path.name} is an audio file; give a picture or a video.")
    middle = (info.duration_s or 0.0) / 2
    return frames_at(path, [middle])[0].image


def _small(image: np.ndarray, side: int = ANALYSIS_SIDE) -> np.ndarray:
    h, w = image.shape[:2]
    if max(h, w) <= side:
        return image
    s = side / max(h, w)
    return cv2.resize(image, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------------------------------------------
# LUT
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lut3D:
    """A 3D LUT: ``table[b, g, r]`` → RGB (floats), over ``domain_min``..``domain_max`` per channel."""

    table: np.ndarray  # (N, N, N, 3), indexed [b][g][r] as the file stores red fastest
    domain_min: np.ndarray
    domain_max: np.ndarray
    title: str = ""

    @property
    def size(self) -> int:
        return self.table.shape[0]

    @classmethod
    def identity(cls, size: int = 17) -> "Lut3D":
        axis = np.linspace(0.0, 1.0, size)
        b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
        return cls(np.stack([r, g, b], axis=-1), np.zeros(3), np.ones(3))

    def apply(self, image: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """Trilinear lookup of an RGB uint8 picture, blended with it by ``strength``."""
        n = self.size
        x = image.astype(np.float32) / 255.0
        x = (x - self.domain_min.astype(np.float32)) / (self.domain_max - self.domain_min).astype(np.float32)
        x = np.clip(x, 0.0, 1.0) * (n - 1)
        i0 = np.minimum(x.astype(np.int32), n - 2)
        f = x - i0
        r0, g0, b0 = i0[..., 0], i0[..., 1], i0[..., 2]
        fr, fg, fb = f[..., 0:1], f[..., 1:2], f[..., 2:3]
        t = self.table.astype(np.float32)
        out = np.zeros(image.shape, np.float32)
        for db, wb in ((0, 1 - fb), (1, fb)):
            for dg, wg in ((0, 1 - fg), (1, fg)):
                for dr, wr in ((0, 1 - fr), (1, fr)):
                    out += (wb * wg * wr) * t[b0 + db, g0 + dg, r0 + dr]
        out *= 255.0
        if strength != 1.0:
            out = (1.0 - strength) * image.astype(np.float32) + strength * out
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def read_cube(path: Path) -> Lut3D:
    """Parse an Adobe/Resolve ``.cube`` 3D LUT (``InvalidMedia`` with the line number when malformed)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidMedia(f"The LUT {path.name} does not exist.")
    size, title = None, ""
    dmin, dmax = np.zeros(3), np.ones(3)
    rows: list[list[float]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InvalidMedia(f"The LUT {path.name} cannot be read: {exc.strerror}.") from None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, rest = line.partition(" ")
        key = key.upper()
        try:
            if key == "TITLE":
                title = rest.strip().strip('"')
            elif key == "LUT_3D_SIZE":
                size = int(rest)
                if not 2 <= size <= 256:
                    raise ValueError
            elif key == "LUT_1D_SIZE":
                raise UnsupportedMedia(f"{path.name} is a 1D LUT; only 3D .cube LUTs are supported.")
            elif key == "DOMAIN_MIN":
                dmin = np.array([float(v) for v in rest.split()], float)
            elif key == "DOMAIN_MAX":
                dmax = np.array([float(v) for v in rest.split()], float)
            elif key in {"LUT_3D_INPUT_RANGE", "LUT_1D_INPUT_RANGE"}:
                lo, hi = (float(v) for v in rest.split())
                dmin, dmax = np.full(3, lo), np.full(3, hi)
            elif key[0].isdigit() or key[0] in "-+.":
                rows.append([float(v) for v in line.split()])
                if len(rows[-1]) != 3:
                    raise ValueError
            # other keywords (e.g. vendor metadata) are ignored
        except ValueError:
            raise InvalidMedia(f"The LUT {path.name} is malformed at line {number}: {raw.strip()[:60]!r}.") from None
    if size is None:
        raise InvalidMedia(f"The LUT {path.name} has no LUT_3D_SIZE line.")
    if len(rows) != size ** 3:
        raise InvalidMedia(f"The LUT {path.name} has {len(rows)} entries; LUT_3D_SIZE {size} needs {size ** 3}.")
    if dmin.shape != (3,) or dmax.shape != (3,) or np.any(dmax <= dmin):
        raise InvalidMedia(f"The LUT {path.name} has an invalid DOMAIN_MIN/DOMAIN_MAX.")
    table = np.array(rows, float).reshape(size, size, size, 3)
    return Lut3D(table, dmin, dmax, title)


def write_cube(lut: Lut3D, path: Path, comment: str = "") -> None:
    lines = [f"# {c}" for c in comment.splitlines()] + [f'TITLE "{lut.title}"', f"LUT_3D_SIZE {lut.size}",
                                                         "DOMAIN_MIN 0.0 0.0 0.0", "DOMAIN_MAX 1.0 1.0 1.0"]
    lines += [f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in lut.table.reshape(-1, 3)]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Grade:
    """Everything fixed by the analysis pass; ``apply`` grades one frame."""

    gains: np.ndarray
    lo: float = 0.0
    hi: float = 255.0
    transfer: tuple | None = None  # (source_stats, target_stats) for Reinhard
    curves: np.ndarray | None = None  # (256, 3) histogram-match curves
    lut: Lut3D | None = None
    lut_strength: float = 1.0

    def apply(self, image: np.ndarray) -> np.ndarray:
        out = image
        if np.any(self.gains != 1.0) or self.lo != 0.0 or self.hi != 255.0:
            out = apply_gains(out, self.gains, self.lo, self.hi)
        if self.transfer is not None:
            out = reinhard(out, *self.transfer)
        if self.curves is not None:
            out = cv2.LUT(out, self.curves.reshape(256, 1, 3))
        if self.lut is not None and self.lut_strength > 0:
            out = self.lut.apply(out, self.lut_strength)
        return out

    def as_dict(self) -> dict:
        data: dict = {"gains": [round(float(g), 4) for g in self.gains], "stretch": [round(self.lo, 2),
                                                                                    round(self.hi, 2)]}
        if self.transfer is not None:
            (mu_s, sd_s), (mu_t, sd_t) = self.transfer
            data["lab_source"] = {"mean": np.round(mu_s, 3).tolist(), "std": np.round(sd_s, 3).tolist()}
            data["lab_reference"] = {"mean": np.round(mu_t, 3).tolist(), "std": np.round(sd_t, 3).tolist()}
        if self.curves is not None:
            data["histogram_match"] = True
        if self.lut is not None:
            data["lut"] = {"title": self.lut.title, "size": self.lut.size, "strength": self.lut_strength}
        return data


class LiteColourCorrector(Engine[ColourRequest, ColourResult]):
    """Clip-wide white balance, exposure, reference match and LUT (CPU, NumPy/OpenCV)."""

    kind = "colour"
    name = "lite"

    def run(self, request: ColourRequest, ctx: Context | None = None) -> ColourResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        if request.match not in {"reinhard", "histogram"}:
            raise InvalidInput(f"match must be 'reinhard' or 'histogram', not {request.match!r}.")
        if not (math.isfinite(request.lut_strength) and 0.0 <= request.lut_strength <= 1.0):
            raise InvalidInput(f"lut_strength must be between 0 and 1, not {request.lut_strength}.")
        out = check_output(request.out)
        lut = read_cube(request.lut) if request.lut is not None else None
        reference = load_reference(request.reference) if request.reference is not None else None
        info = open_video_info(request.media)
        if out.resolve() == Path(request.media).resolve():
            raise InvalidInput("The output must not overwrite the input.")
        fps = info.fps or 30.0
        expected = info.video.frame_count or max(1, round((info.duration_s or 1.0) * fps))

        # 2. Analyse: a few frames over the clip, at a small size
        ctx.report(0.0, "Measuring colour")
        duration = info.duration_s or expected / fps
        count = min(SAMPLES, expected)
        times = [duration * (i + 0.5) / count for i in range(count)]
        samples = [_small(f.image) for f in frames_at(request.media, times, max_side=ANALYSIS_SIDE, ctx=ctx)]
        grade = Grade(gains=np.ones(3), lut=lut, lut_strength=request.lut_strength)
        if request.white_balance:
            grade.gains = gray_world_gains(samples)
        if request.auto_exposure:
            balanced = [apply_gains(s, grade.gains) for s in samples]
            grade.lo, grade.hi = stretch_params(balanced)
        if reference is not None:
            corrected = [apply_gains(s, grade.gains, grade.lo, grade.hi) for s in samples]
            ref_small = _small(reference)
            if request.match == "reinhard":
                grade.transfer = (lab_stats(corrected), lab_stats(ref_small))
            else:
                grade.curves = histogram_curves(corrected, ref_small)
        del samples

        # 3. Render, measuring the change against the source on the way
        ctx.check()
        render = ctx.sub(0.1, 1.0)
        quality = QualityMeter(every=max(1, expected // QUALITY_SAMPLES))
        latency = Latency()
        width, height = info.video.display_width, info.video.display_height

        def graded():
            nonlocal width, height
            for frame in iter_frames(request.media, ctx=ctx):
                height, width = frame.image.shape[:2]
                image = grade.apply(frame.image)
                quality.add(frame.image, image)
                latency.tick()
                if frame.index % 8 == 0:
                    render.report((frame.index + 1) / expected, "Grading")
                yield image

        frames = graded()
        first = next(frames, None)
        if first is None:
            raise InvalidMedia(f"{Path(request.media).name} has no decodable video frames.")  # the decoded size (display size after rotation / aspect) before the writer opens

        def chained():
            yield first
            yield from frames

        written = write_video(chained(), out, fps, first.shape[1], first.shape[0], audio_from=Path(request.media),
                              ctx=ctx)
        seconds = time.perf_counter() - started
        ctx.report(1.0, "Done")

        # 4. Result
        return ColourResult(out=out, frames=written, fps=fps, psnr_vs_source=quality.psnr,
                            ssim_vs_source=quality.ssim, seconds=seconds,
                            ms_per_frame=1000.0 * seconds / max(1, written), settings=grade.as_dict(),
                            backend=self.name, parameters=request.as_dict())
