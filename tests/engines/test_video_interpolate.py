"""Frame interpolation (``interpolate`` kind, ``lite``): quality vs blending, frame counts, audio, bad input."""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from engines.context import CallbackContext
from engines.errors import Cancelled, CorruptMedia, InvalidInput, UnsupportedMedia
from engines.media import probe
from engines.video import INTERPOLATE, InterpolateRequest
from engines.video.interpolate import blend_pair, evaluate, interpolate_pair
from engines.video.io import write_video

SIZE = (160, 120)
FPS = 24


def _texture(seed: int, size: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w, h = size
    noise = rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8)
    image = cv2.GaussianBlur(cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), 1.0)
    for _ in range(max(3, w * h // 4000)):
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(image, (x, y), (x + int(rng.integers(6, 20)), y + int(rng.integers(6, 20))), colour, -1)
    return image


def moving_texture(n: int = 16) -> list[np.ndarray]:
    """A large textured picture panned by (4, 2) px/frame, with a textured block moving (6, −2) px/frame."""
    big, block = _texture(0, (480, 300)), _texture(5, (40, 30))
    w, h = SIZE
    frames = []
    for i in range(n):
        x0, y0 = 10 + 4 * i, 20 + 2 * i
        frame = big[y0:y0 + h, x0:x0 + w].copy()
        ox, oy = 5 + (6 * i) % 115, 60 - 2 * (i % 20)  # wraps after 19 frames
        frame[oy:oy + 30, ox:ox + 40] = block
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def moving_mp4(tmp_path_factory):
    path = tmp_path_factory.mktemp("interp") / "moving.mp4"
    write_video(iter(moving_texture(24)), path, FPS, *SIZE)
    return path


def _frame_count(path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_flow_beats_blending_on_held_out_frames():
    report = evaluate(moving_texture(16))
    assert report["frames"] == 7
    assert report["flow_psnr"] > report["blend_psnr"] + 5.0, report
    assert report["flow_ssim"] > report["blend_ssim"] + 0.3, report


def test_identical_frames_interpolate_to_themselves_and_t_weights_the_ends():
    frames = moving_texture(3)
    same = interpolate_pair(frames[0], frames[0], 0.5)
    assert np.abs(same.astype(int) - frames[0]).max() <= 1
    near0 = interpolate_pair(frames[0], frames[1], 0.05)
    near1 = interpolate_pair(frames[0], frames[1], 0.95)
    assert np.abs(near0.astype(int) - frames[0]).mean() < np.abs(near0.astype(int) - frames[1]).mean()
    assert np.abs(near1.astype(int) - frames[1]).mean() < np.abs(near1.astype(int) - frames[0]).mean()
    assert blend_pair(frames[0], frames[1]).shape == frames[0].shape


def test_factor_2_doubles_frames_and_fps_keeps_duration_and_audio(clip_mp4, tmp_path):
    out = tmp_path / "smooth.mp4"
    seen = []
    ctx = CallbackContext(lambda f, m: seen.append(f))
    result = INTERPOLATE.create().run(InterpolateRequest(media=clip_mp4, out=out, factor=2), ctx)
    info_in, info_out = probe(clip_mp4), probe(out)
    assert result.frames == 2 * result.frames_in == _frame_count(out)
    assert result.fps == pytest.approx(2 * info_in.fps) and info_out.fps == pytest.approx(2 * info_in.fps)
    assert result.duration_out_s == pytest.approx(result.duration_in_s)
    assert info_out.duration_s == pytest.approx(info_in.duration_s, abs=0.1)
    assert result.audio and info_out.audio is not None
    assert set(result.quality) >= {"flow_psnr", "flow_ssim", "blend_psnr", "blend_ssim"}
    assert len(seen) > 3 and seen[-1] == 1.0 and seen == sorted(seen)
    summary = result.summary()
    assert summary["frames"] == result.frames and summary["ms_per_frame"] > 0


def test_factor_3_and_slow_motion(moving_mp4, tmp_path):
    out = tmp_path / "slow.mp4"
    result = INTERPOLATE.create().run(InterpolateRequest(media=moving_mp4, out=out, factor=2, slow_motion=True))
    assert result.frames == 48 == _frame_count(out)
    assert result.fps == pytest.approx(FPS) and result.duration_out_s == pytest.approx(2 * result.duration_in_s)
    assert probe(out).duration_s == pytest.approx(2 * probe(moving_mp4).duration_s, abs=0.1)
    assert not result.audio and "slow motion" in result.note
    assert result.quality["flow_psnr"] > result.quality["blend_psnr"]
    out3 = tmp_path / "x3.mp4"
    r3 = INTERPOLATE.create().run(InterpolateRequest(media=moving_mp4, out=out3, factor=3))
    assert r3.frames == 72 == _frame_count(out3) and r3.fps == pytest.approx(3 * FPS)


@pytest.mark.parametrize("bad", ["tone_wav", "png_file"])
def test_non_video_input_is_refused_with_nothing_written(bad, request, tmp_path):
    media = request.getfixturevalue(bad)
    out = tmp_path / "out.mp4"
    with pytest.raises(UnsupportedMedia) as exc:
        INTERPOLATE.create().run(InterpolateRequest(media=media, out=out))
    assert media.name in str(exc.value)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_input_and_bad_factor(clip_mp4, tmp_path):
    bad = tmp_path / "in" / "truncated.mp4"
    bad.parent.mkdir()
    data = clip_mp4.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises((CorruptMedia, UnsupportedMedia)) as exc:
        INTERPOLATE.create().run(InterpolateRequest(media=bad, out=out_dir / "o.mp4"))
    assert "truncated.mp4" in str(exc.value)
    with pytest.raises(InvalidInput):
        INTERPOLATE.create().run(InterpolateRequest(media=clip_mp4, out=out_dir / "o.mp4", factor=5))
    assert list(out_dir.iterdir()) == []


def test_cancel_leaves_no_output(moving_mp4, tmp_path):
    out = tmp_path / "c.mp4"
    ctx = CallbackContext(lambda f, m: ctx.cancel() if f > 0.2 else None)
    with pytest.raises(Cancelled):
        INTERPOLATE.create().run(InterpolateRequest(media=moving_mp4, out=out), ctx)
    assert list(tmp_path.iterdir()) == []
