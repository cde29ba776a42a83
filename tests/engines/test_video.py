"""Video enhancement engines: stabilisation, colour, metrics, I/O and bad input (fast, generated media)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from engines.context import CallbackContext
from engines.errors import Cancelled, CorruptMedia, InvalidMedia, UnsupportedMedia
from engines.media import probe
from engines.video import COLOUR, STABILIZE, ColourRequest, StabilizeRequest
from engines.video.colour import (Lut3D, apply_gains, gray_world_gains, lab_stats, read_cube, reinhard,
                                  write_cube)
from engines.video.io import write_video
from engines.video.metrics import jitter, psnr, ssim
from engines.video.stabilize import limit_corrections, needed_crop, smooth_path
from engines.video.motion import camera_path

ROOT = Path(__file__).resolve().parents[2]
LUTS = ROOT / "assets" / "luts"
SIZE = (160, 120)
FPS = 24


# --------------------------------------------------------------------------------------------------------------
# Synthetic footage
# --------------------------------------------------------------------------------------------------------------
def scene(seed: int = 0, size: tuple[int, int] = (320, 260)) -> np.ndarray:
    """A large textured RGB picture: blurred colour noise plus a few sharp shapes (good corners to track)."""
    rng = np.random.default_rng(seed)
    w, h = size
    noise = rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8)
    image = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    image = cv2.GaussianBlur(image, (0, 0), 1.0)
    for _ in range(25):
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(image, (x, y), (x + int(rng.integers(6, 20)), y + int(rng.integers(6, 20))), colour, -1)
    return image


def shake_path(n: int, seed: int = 1) -> np.ndarray:
    """(n, 3) dx, dy (pixels), angle (degrees): a slow random walk (intended motion) + high-frequency shake."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.4, (n, 3)), axis=0) * np.array([1.0, 1.0, 0.1])
    shake = rng.normal(0, 1, (n, 3)) * np.array([3.0, 3.0, 0.6])
    return walk + shake


def shaky_frames(n: int = 48, seed: int = 0) -> list[np.ndarray]:
    big = scene(seed)
    bh, bw = big.shape[:2]
    w, h = SIZE
    frames = []
    for dx, dy, da in shake_path(n, seed + 1):
        m = cv2.getRotationMatrix2D((bw / 2, bh / 2), da, 1.0)
        m[:, 2] += (dx, dy)
        moved = cv2.warpAffine(big, m, (bw, bh), borderMode=cv2.BORDER_REFLECT)
        y0, x0 = (bh - h) // 2, (bw - w) // 2
        frames.append(moved[y0:y0 + h, x0:x0 + w].copy())
    return frames


@pytest.fixture(scope="module")
def shaky_mp4(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("video") / "shaky.mp4"
    write_video(iter(shaky_frames()), path, FPS, *SIZE)
    return path


@pytest.fixture(scope="module")
def truncated_mp4(tmp_path_factory, clip_mp4) -> Path:
    path = tmp_path_factory.mktemp("bad") / "truncated.mp4"
    data = clip_mp4.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def cast(image: np.ndarray, gains=(1.35, 1.0, 0.7)) -> np.ndarray:
    return np.clip(image.astype(np.float64) * np.array(gains), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------------------
# Stabilisation
# --------------------------------------------------------------------------------------------------------------
def test_stabilize_halves_jitter_and_keeps_frames_and_fps(shaky_mp4, tmp_path):
    out = tmp_path / "steady.mp4"
    reports = []
    result = STABILIZE.create().run(StabilizeRequest(media=shaky_mp4, out=out, crop_max=0.15),
                                    CallbackContext(lambda f, m: reports.append(f)))
    info, src = probe(out), probe(shaky_mp4)
    assert info.video.frame_count == src.video.frame_count == result.frames == 48
    assert info.fps == pytest.approx(src.fps)
    assert (info.width, info.height) == SIZE
    assert result.jitter_before > 1.0
    assert result.jitter_after < 0.5 * result.jitter_before, result.summary()
    assert jitter(out).translation_px < 0.5 * jitter(shaky_mp4).translation_px
    assert 0 < result.crop <= 0.15 + 1e-6
    assert result.ms_per_frame > 0 and reports[-1] == 1.0 and reports == sorted(reports)


def test_smoother_solves_the_regularised_least_squares_problem():
    rng = np.random.default_rng(3)
    c = np.cumsum(rng.normal(size=(50, 2)), axis=0)
    lam2, lam1 = 300.0, 5.0
    x = smooth_path(c, lam2, lam1)
    d2, d1 = np.diff(np.eye(50), 2, axis=0), np.diff(np.eye(50), 1, axis=0)
    dense = np.linalg.solve(np.eye(50) + lam2 * d2.T @ d2 + lam1 * d1.T @ d1, c)
    np.testing.assert_allclose(x, dense, atol=1e-8)
    assert np.abs(np.diff(x, 2, axis=0)).mean() < np.abs(np.diff(c, 2, axis=0)).mean() / 5
    np.testing.assert_allclose(smooth_path(c, 0.0), c)


def test_crop_limit_bounds_every_correction():
    rng = np.random.default_rng(4)
    motions = np.zeros((60, 4))
    motions[1:, :2] = rng.normal(0, 8, (59, 2))  # violent shake: would need far more than 5 % crop
    motions[1:, 2] = rng.normal(0, 0.02, 59)
    path = camera_path(motions)
    corrections, crop, clipped = limit_corrections(path, smooth_path(path, 5000.0), 160, 120, 0.05)
    assert clipped > 0 and crop <= 0.05 + 1e-6
    assert all(needed_crop(c, 160, 120) <= 0.05 + 1e-6 for c in corrections)
    assert needed_crop(np.eye(3), 160, 120) == 0.0


# --------------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------------
def test_metrics_equal_skimage():
    rng = np.random.default_rng(5)
    a = scene(2)[:120, :160]
    b = np.clip(a.astype(int) + rng.integers(-12, 13, a.shape), 0, 255).astype(np.uint8)
    assert psnr(a, b) == peak_signal_noise_ratio(a, b, data_range=255)
    assert ssim(a, b) == structural_similarity(a, b, data_range=255, channel_axis=-1)
    g = a[..., 1]
    assert ssim(g, b[..., 1]) == structural_similarity(g, b[..., 1], data_range=255)


def test_jitter_is_small_for_a_steady_pan_and_large_for_shake():
    big = scene(6)
    steady = [big[40:160, 10 + i:170 + i].copy() for i in range(40)]  # a smooth 1 px/frame pan
    assert jitter(steady, fps=FPS).translation_px < 0.2
    assert jitter(shaky_frames(40), fps=FPS).translation_px > 1.0


# --------------------------------------------------------------------------------------------------------------
# Colour
# --------------------------------------------------------------------------------------------------------------
def test_white_balance_moves_a_cast_towards_neutral():
    neutral = cv2.cvtColor(cv2.cvtColor(scene(7), cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    tinted = cast(neutral)
    fixed = apply_gains(tinted, gray_world_gains(tinted))

    def spread(im):  # how far apart the channel means are
        m = im.reshape(-1, 3).mean(axis=0)
        return float(m.max() - m.min())

    assert spread(fixed) < 0.25 * spread(tinted)
    assert np.abs(lab_stats(fixed)[0][1:]).max() < np.abs(lab_stats(tinted)[0][1:]).max() / 3


def test_reinhard_moves_lab_means_to_the_reference():
    source, reference = scene(8), cast(scene(9), (0.7, 0.9, 1.3))
    out = reinhard(source, lab_stats(source), lab_stats(reference))
    got, want, before = lab_stats(out)[0], lab_stats(reference)[0], lab_stats(source)[0]
    assert np.abs(got - want).max() < 2.0
    assert np.abs(before - want).max() > 5.0


def test_identity_lut_is_a_no_op_and_shipped_luts_change_colours(tmp_path):
    image = scene(10)
    path = tmp_path / "identity.cube"
    write_cube(Lut3D.identity(17), path, "identity")
    lut = read_cube(path)
    assert lut.size == 17
    assert np.abs(lut.apply(image).astype(int) - image).max() <= 1
    shipped = sorted(LUTS.glob("*.cube"))
    assert len(shipped) >= 2
    for cube in shipped:
        assert "Generated by Reelsmith" in cube.read_text().splitlines()[0]
        changed = read_cube(cube).apply(image)
        assert np.abs(changed.astype(int) - image).mean() > 3
        half = read_cube(cube).apply(image, 0.5).astype(int)
        assert np.abs(half - (image.astype(int) + changed) / 2).max() <= 1.5


def test_malformed_luts_are_refused(tmp_path):
    bad = tmp_path / "bad.cube"
    bad.write_text("LUT_3D_SIZE 2\n0 0 0\n1 1 1\n")
    with pytest.raises(InvalidMedia, match="2 entries"):
        read_cube(bad)
    bad.write_text("LUT_1D_SIZE 4\n")
    with pytest.raises(UnsupportedMedia, match="1D"):
        read_cube(bad)


def test_colour_engine_grades_a_clip_and_keeps_audio(clip_mp4, tmp_path):
    out = tmp_path / "graded.mp4"
    ref = tmp_path / "ref.png"
    cv2.imwrite(str(ref), cv2.cvtColor(cast(scene(11), (0.8, 0.9, 1.2)), cv2.COLOR_RGB2BGR))
    result = COLOUR.create().run(ColourRequest(media=clip_mp4, out=out, reference=ref,
                                               lut=LUTS / "warm_film.cube", lut_strength=0.5))
    info = probe(out)
    assert info.video.frame_count == probe(clip_mp4).video.frame_count == result.frames
    assert info.audio is not None and info.audio.codec == "aac"
    assert abs(info.duration_s - probe(clip_mp4).duration_s) < 0.15
    assert 5 < result.psnr_vs_source < 60 and 0 < result.ssim_vs_source < 1
    assert result.ms_per_frame > 0 and "lab_reference" in result.settings


# --------------------------------------------------------------------------------------------------------------
# Bad input, cancellation, CLI
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["stabilize", "colour"])
@pytest.mark.parametrize("bad", ["tone_wav", "truncated_mp4"])
def test_bad_input_gives_a_clear_error_and_no_output(kind, bad, request, tmp_path):
    media = request.getfixturevalue(bad)
    out = tmp_path / "out.mp4"
    req = StabilizeRequest(media=media, out=out) if kind == "stabilize" else ColourRequest(media=media, out=out)
    engine = STABILIZE.create() if kind == "stabilize" else COLOUR.create()
    with pytest.raises((UnsupportedMedia, CorruptMedia)) as exc:
        engine.run(req)
    assert media.name in str(exc.value)
    assert list(tmp_path.iterdir()) == []


def test_cancel_while_writing_leaves_nothing(tmp_path):
    ctx = CallbackContext()
    out = tmp_path / "x.mp4"

    def frames():
        for i, f in enumerate(shaky_frames(20)):
            if i == 10:
                ctx.cancel()
            yield f

    with pytest.raises(Cancelled):
        write_video(frames(), out, FPS, *SIZE, ctx=ctx)
    assert list(tmp_path.iterdir()) == []


def test_cli_errors_are_one_line_with_exit_2(tone_wav, tmp_path):
    out = tmp_path / "o.mp4"
    proc = subprocess.run([sys.executable, "-m", "engines.video", "stabilize", str(tone_wav), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: ") and "tone.wav" in proc.stderr
    assert not out.exists()


def test_importing_the_package_is_cheap():
    code = "import sys, engines.video; print('cv2' in sys.modules, 'scipy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["False", "False"]
