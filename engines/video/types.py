"""Requests and results of the video enhancement engines (stabilize, colour, interpolate)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class StabilizeRequest:
    """Stabilise ``media`` into ``out`` (MP4).

    ``smoothness`` is λ of the second-difference penalty (at 30 fps; scaled with the frame rate so it means the
    same cut-off in seconds): larger = steadier camera, more crop. ``crop_max`` (0..0.5) is the largest share of
    each side the zoom may remove; the correction is clipped so it never needs more.
    """

    media: Path
    out: Path
    smoothness: float = 100000.0
    crop_max: float = 0.2
    #: λ of the first-difference penalty (0: none). Favours a camera that stands still over one that glides.
    first_order: float = 0.0
    #: Longest side of the pictures the motion is analysed at.
    analysis_side: int = 480

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass
class StabilizeResult:
    out: Path
    frames: int
    fps: float
    jitter_before: float  # residual translation jitter, pixels of the source
    jitter_after: float  # same measure on the stabilised output (its pixels)
    rotation_before_deg: float
    rotation_after_deg: float
    crop: float  # share of each side removed by the constant zoom (0..crop_max)
    clipped_frames: int  # frames whose correction was reduced to respect crop_max
    seconds: float
    ms_per_frame: float
    backend: str = "lite"
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def jitter_reduction(self) -> float:
        return 1.0 - self.jitter_after / self.jitter_before if self.jitter_before > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        data = _plain({k: v for k, v in asdict(self).items()})
        data["jitter_reduction"] = round(self.jitter_reduction, 4)
        return data


@dataclass(frozen=True)
class ColourRequest:
    """Colour-correct ``media`` into ``out``: white balance, auto exposure, match a reference, apply a LUT.

    The steps run in that order with settings measured once over the clip (no flicker). ``reference`` is an
    image or a video (its middle frame); ``match`` is ``"reinhard"`` (Lab mean/std) or ``"histogram"``.
    """

    media: Path
    out: Path
    white_balance: bool = True
    auto_exposure: bool = True
    reference: Path | None = None
    match: str = "reinhard"
    lut: Path | None = None
    lut_strength: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass
class ColourResult:
    out: Path
    frames: int
    fps: float
    psnr_vs_source: float | None
    ssim_vs_source: float | None
    seconds: float
    ms_per_frame: float
    settings: dict[str, Any] = field(default_factory=dict)  # gains, stretch, transfer stats actually used
    backend: str = "lite"
    parameters: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class InterpolateRequest:
    """Insert ``factor - 1`` flow-interpolated frames between each pair of ``media``'s frames.

    By default the frame rate is multiplied by ``factor`` (same duration, smoother motion, audio kept); with
    ``slow_motion`` the frame rate is kept and the clip plays ``factor`` times longer (audio dropped).
    """

    media: Path
    out: Path
    factor: int = 2
    slow_motion: bool = False

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass
class InterpolateResult:
    out: Path
    frames_in: int
    frames_out: int
    fps_in: float
    fps_out: float
    seconds: float
    ms_per_frame: float  # wall time per output frame
    duration_in_s: float = 0.0
    duration_out_s: float = 0.0
    audio: bool = False  # whether the output carries the source's audio (never in slow motion)
    note: str = ""  # e.g. "slow motion: audio dropped"
    #: Held-out-frame check on the clip's first frames at analysis size (``interpolate.evaluate``): frames,
    #: flow_psnr, flow_ssim, blend_psnr, blend_ssim ("flow vs blend"); empty when the clip is too short.
    quality: dict[str, Any] = field(default_factory=dict)
    backend: str = "lite"
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return self.frames_out

    @property
    def fps(self) -> float:
        return self.fps_out

    def summary(self) -> dict[str, Any]:
        data = _plain(asdict(self))
        data["frames"], data["fps"] = self.frames, _plain(float(self.fps))
        return data
