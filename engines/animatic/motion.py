"""Ken Burns moves over a still: a start and an end crop rectangle inside the picture, eased between.

The picture is scaled once to *cover* the output (no bars) with room for the largest zoom, so that every crop is
at least the output's size in source pixels; each frame is then one ``cv2.warpAffine`` of that pre-scaled
picture (a crop and a resize in one call, sub-pixel smooth), with no PIL round trip per frame.

Rectangles are ``(x, y, w, h)`` in pre-scaled pixels, always of the output's aspect and inside the picture.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from ..errors import InvalidMedia

#: How far a zoom goes (1.0 → ZOOM or back); pans are done at this zoom, so there is room to move.
ZOOM = 1.12
#: The longest a pan travels, as a share of the frame's width (or height): a gentle move even over a panorama.
MAX_PAN = 0.5
MOVES: tuple[str, ...] = ("zoom_in", "zoom_out", "pan_left", "pan_right")

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class MotionPlan:
    kind: str
    start: Rect
    end: Rect

    def rect_at(self, u: float) -> Rect:
        """The crop at ``u`` ∈ [0, 1] through the scene, eased with smoothstep (still at both ends)."""
        u = min(1.0, max(0.0, u))
        p = u * u * (3.0 - 2.0 * u)
        return tuple(a + (b - a) * p for a, b in zip(self.start, self.end))  # type: ignore[return-value]


def choose_moves(motions: list[str], seed: int) -> list[str]:
    """The move of each scene: the one asked for, or for ``"auto"`` one drawn from (seed, index) among the moves
    that differ from the previous scene's, so that consecutive scenes never repeat a move."""
    moves: list[str] = []
    for index, motion in enumerate(motions):
        if motion == "auto":
            options = [m for m in MOVES if not moves or m != moves[-1]]
            rng = np.random.default_rng([seed & 0xFFFFFFFF, index, 1])
            motion = options[int(rng.integers(len(options)))]
        moves.append(motion)
    return moves


def plan_motion(move: str, size: tuple[int, int], out_size: tuple[int, int], *, seed: int = 0,
                index: int = 0) -> MotionPlan:
    """Start and end crops for ``move`` over a pre-scaled picture of ``size`` (w, h) covering ``out_size``.

    Zooms keep a point of interest chosen from (seed, index) near the centre fixed in view; pans cross the room
    the picture has at ``ZOOM`` (horizontally, or vertically for a picture taller than the output's aspect)."""
    width, height = size
    out_w, out_h = out_size
    aspect = out_w / out_h
    # The largest crop of the output's aspect that fits (the "cover" framing at zoom 1.0).
    full_w = min(width, height * aspect)
    full_h = full_w / aspect
    rng = np.random.default_rng([seed & 0xFFFFFFFF, index, 7])

    def centred(zoom: float, fx: float, fy: float) -> Rect:
        w, h = full_w / zoom, full_h / zoom
        x = min(max(fx * width - w / 2, 0.0), width - w)
        y = min(max(fy * height - h / 2, 0.0), height - h)
        return (x, y, w, h)

    if move in ("zoom_in", "zoom_out"):
        fx, fy = 0.5 + rng.uniform(-0.08, 0.08), 0.5 + rng.uniform(-0.08, 0.08)
        wide, tight = centred(1.0, 0.5, 0.5), centred(ZOOM, fx, fy)
        return MotionPlan(move, wide, tight) if move == "zoom_in" else MotionPlan(move, tight, wide)
    if move in ("pan_left", "pan_right"):
        w, h = full_w / ZOOM, full_h / ZOOM
        horizontal = (width - w) >= (height - h)
        if horizontal:
            travel = min(width - w, MAX_PAN * w)  # a panorama is crossed in part, not whipped across
            x0, y = (width - w - travel) / 2, (height - h) / 2
            left, right = (x0, y, w, h), (x0 + travel, y, w, h)
        else:  # a portrait picture in a landscape frame: pan down/up instead
            travel = min(height - h, MAX_PAN * h)
            x, y0 = (width - w) / 2, (height - h - travel) / 2
            left, right = (x, y0, w, h), (x, y0 + travel, w, h)
        # "Pan right": the camera turns right, so the crop travels from the left side to the right side.
        return MotionPlan(move, left, right) if move == "pan_right" else MotionPlan(move, right, left)
    still = centred(1.0, 0.5, 0.5)
    return MotionPlan("none", still, still)


def load_picture(path: Path, out_size: tuple[int, int]) -> np.ndarray:
    """The picture as RGB uint8, upright (EXIF), flattened on black, scaled to cover ``out_size`` × ``ZOOM``."""
    out_w, out_h = out_size
    try:
        with Image.open(path) as img:
            img.draft("RGB", (out_w * 2, out_h * 2))  # JPEG: decode at a reduced size when it is much larger
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                base = Image.new("RGB", rgba.size, (0, 0, 0))
                base.paste(rgba, mask=rgba.getchannel("A"))
                img = base
            array = np.asarray(img.convert("RGB"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InvalidMedia(f"{Path(path).name} cannot be read as a picture ({exc}).") from None
    height, width = array.shape[:2]
    scale = max(out_w / width, out_h / height) * ZOOM
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(array, size, interpolation=interpolation))


def render(picture: np.ndarray, rect: Rect, out_size: tuple[int, int], dst: np.ndarray | None = None) -> np.ndarray:
    """The crop ``rect`` of ``picture`` resized to ``out_size``: uint8 RGB (h, w, 3)."""
    x, y, w, h = rect
    out_w, out_h = out_size
    sx, sy = out_w / w, out_h / h
    # dst = (src - origin) * scale, with pixel centres mapped onto pixel centres.
    matrix = np.array([[sx, 0.0, (0.5 - x) * sx - 0.5], [0.0, sy, (0.5 - y) * sy - 0.5]], dtype=np.float64)
    return cv2.warpAffine(picture, matrix, (out_w, out_h), dst=dst, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
