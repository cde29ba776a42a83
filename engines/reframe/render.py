"""Pictures of the reframed clip: a moving crop, a letterbox, or the picture over a blurred copy of itself.

``render_frames`` streams: one decoded source frame in, one output picture out (``write_video`` encodes them
with the source's audio), so memory does not grow with the clip's length.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..context import Context
from ..media import iter_frames
from .types import CropEntry

#: Below this scale a crop is cut at whole pixels and area-resampled (sharper than bilinear when shrinking).
AREA_BELOW = 0.7
BLUR_DARKEN = 0.55


def crop_picture(image: np.ndarray, entry: CropEntry, size: tuple[int, int]) -> np.ndarray:
    """The crop ``(t, x, y, w, h)`` of ``image`` scaled to ``size`` (sub-pixel position, so slow pans glide)."""
    _, x, y, w, h = entry
    out_w, out_h = size
    sx, sy = out_w / w, out_h / h
    if min(sx, sy) < AREA_BELOW:
        x0, y0 = int(round(x)), int(round(y))
        x1 = min(image.shape[1], x0 + int(round(w)))
        y1 = min(image.shape[0], y0 + int(round(h)))
        return cv2.resize(image[y0:y1, x0:x1], (out_w, out_h), interpolation=cv2.INTER_AREA)
    m = np.array([[sx, 0.0, -x * sx + 0.5 * (sx - 1)], [0.0, sy, -y * sy + 0.5 * (sy - 1)]])
    return cv2.warpAffine(image, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _fit(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, int, int]:
    h, w = image.shape[:2]
    scale = min(size[0] / w, size[1] / h)
    fw, fh = max(2, int(round(w * scale))), max(2, int(round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    fitted = cv2.resize(image, (min(fw, size[0]), min(fh, size[1])), interpolation=interp)
    return fitted, (size[0] - fitted.shape[1]) // 2, (size[1] - fitted.shape[0]) // 2


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The whole picture fitted inside ``size`` on black."""
    canvas = np.zeros((size[1], size[0], 3), np.uint8)
    fitted, ox, oy = _fit(image, size)
    canvas[oy:oy + fitted.shape[0], ox:ox + fitted.shape[1]] = fitted
    return canvas


def blur_fill(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The whole picture fitted inside ``size`` over a blurred, darkened copy of it that covers ``size``."""
    h, w = image.shape[:2]
    scale = max(size[0] / w, size[1] / h)
    cw, ch = min(w, int(np.ceil(size[0] / scale))), min(h, int(np.ceil(size[1] / scale)))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    small = cv2.resize(image[y0:y0 + ch, x0:x0 + cw], (max(2, size[0] // 8), max(2, size[1] // 8)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 2.0)
    canvas = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)
    canvas = (canvas.astype(np.float32) * BLUR_DARKEN).astype(np.uint8)
    fitted, ox, oy = _fit(image, size)
    canvas[oy:oy + fitted.shape[0], ox:ox + fitted.shape[1]] = fitted
    return canvas


def compose(image: np.ndarray, entry: CropEntry, fill: str, size: tuple[int, int]) -> np.ndarray:
    """One output picture: ``fill`` is "crop", "letterbox" or "blur"."""
    if fill == "letterbox":
        return letterbox(image, size)
    if fill == "blur":
        return blur_fill(image, size)
    return crop_picture(image, entry, size)


def render_frames(media: Path, crop_path: list[CropEntry], fills: list[str], size: tuple[int, int],
                  ctx: Context) -> Iterator[np.ndarray]:
    """Output pictures for every decoded frame of ``media`` (frames past the plan reuse its last entry)."""
    n = len(crop_path)
    for frame in iter_frames(media, ctx=ctx):
        k = min(frame.index, n - 1)
        if frame.index % 8 == 0:
            ctx.check()
            ctx.report(min(1.0, (frame.index + 1) / max(1, n)), f"Rendering frame {frame.index + 1} of {n}")
        yield compose(frame.image, crop_path[k], fills[k], size)
