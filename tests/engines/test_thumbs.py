"""engines.thumbs: the lite thumbnailer on generated video, audio and images, and its CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engines.base import EngineConfig
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia
from engines.registry import registry_for
from engines.thumbs import REGISTRY, LiteThumbnailer, ThumbnailRequest, ThumbnailResult

ROOT = Path(__file__).resolve().parents[2]


def luma(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L"), dtype=np.float32).mean())


def run(media: Path, options: dict | None = None, ctx=None, **settings) -> ThumbnailResult:
    engine = REGISTRY.create(EngineConfig(backend="lite", options=options or {}))
    return engine.run(ThumbnailRequest(media=media, **settings), ctx)


def assert_in_segments(result: ThumbnailResult, count: int) -> None:
    """Times strictly increase, lie in the clip and each falls in its own equal segment of the duration."""
    times = [t.time_s for t in result.thumbs]
    duration = result.info.duration_s
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(0.0 <= t < duration for t in times)
    assert [int(t / (duration / count)) for t in times] == list(range(count))


def test_registry_has_lite():
    assert "lite" in registry_for("thumbs").names()
    assert isinstance(REGISTRY.create(), LiteThumbnailer)


def test_video_result_shapes(clip_mp4):
    result = run(clip_mp4, count=8, columns=4, tile_width=96, poster_width=200)
    assert result.backend == "lite" and result.info.kind == "video" and result.seconds > 0
    assert len(result.thumbs) == 8
    assert all(t.image.size == (96, 72) and t.image.mode == "RGB" for t in result.thumbs)
    assert all(0.0 <= t.score <= 1.0 for t in result.thumbs)
    assert result.poster.size == (200, 150)
    assert 4 * 96 <= result.sheet.width <= 4 * 96 * 1.25
    assert result.sheet.height >= 2 * 72  # two rows of tiles under a header
    assert result.parameters == {"media": str(clip_mp4), "count": 8, "columns": 4, "tile_width": 96,
                                 "poster_width": 200}
    json.dumps(result.summary())
    assert_in_segments(result, 8)


def test_sheet_tiles_are_the_thumbnails(clip_mp4):
    result = run(clip_mp4, count=4, columns=2, tile_width=80, poster_width=160)
    sheet = np.asarray(result.sheet, dtype=np.int16)
    gap = (result.sheet.width - 2 * 80) // 3
    header = result.sheet.height - 2 * 60 - 2 * gap
    tile = sheet[header:header + 30, gap:gap + 80]  # top half of the first tile (the label sits at the bottom)
    expected = np.asarray(result.thumbs[0].image, dtype=np.int16)[:30]
    assert np.abs(tile - expected).mean() < 2


def test_black_leader_never_gives_a_black_poster(black_then_content_mp4):
    result = run(black_then_content_mp4, count=6)
    assert luma(result.poster) > 40
    assert result.thumbs[-1].score >= 0.5 and luma(result.thumbs[-1].image) > 40
    assert_in_segments(result, 6)


def test_black_frames_lose_to_any_normal_frame_in_their_segment(mostly_black_mp4):
    result = run(mostly_black_mp4, count=6, tile_width=64)
    assert all(luma(t.image) > 40 for t in result.thumbs)
    assert all(t.score >= 0.5 for t in result.thumbs)
    assert all(round(t.time_s * 24) % 4 == 2 for t in result.thumbs)  # the one textured frame in four


def test_sharp_frames_beat_blurred_ones(blur_odd_mp4):
    result = run(blur_odd_mp4, count=6, tile_width=64)
    assert all(round(t.time_s * 24) % 2 == 0 for t in result.thumbs)  # odd frames are blurred


def test_long_video_is_sampled_by_seeking(long_mp4, monkeypatch):
    import engines.thumbs.lite as lite

    calls: list[tuple[bool, int]] = []
    original = lite.frames_at

    def spy(path, times, **kwargs):
        calls.append((kwargs.get("exact", True), len(times)))
        return original(path, times, **kwargs)

    monkeypatch.setattr(lite, "frames_at", spy)
    one_pass = run(long_mp4, count=6, tile_width=64)
    assert calls == [(True, 1)]  # one decode pass scores and keeps the tiles; only the poster is decoded again
    calls.clear()
    seeking = run(long_mp4, options={"full_pass_frames": 0}, count=6, tile_width=64)
    keyframe_calls = [n for exact, n in calls if not exact]
    assert keyframe_calls == [5] * 6  # five keyframe candidates per segment
    # the first half of long.mp4 is black: its three segments get two exactly decoded candidates more each
    assert calls[6] == (True, 6)
    for result in (one_pass, seeking):
        assert len(result.thumbs) == 6
        assert_in_segments(result, 6)
        assert luma(result.poster) > 40
    # keyframes every second: the well-exposed picks are keyframes, at whole seconds
    assert all(abs(t.time_s - round(t.time_s)) < 1e-3 for t in seeking.thumbs if t.score >= 0.5)


def test_long_gops_against_short_segments_use_one_pass(long_mp4, monkeypatch):
    import engines.thumbs.lite as lite

    passes = []
    original = lite.iter_frames
    monkeypatch.setattr(lite, "iter_frames", lambda *a, **k: passes.append(k) or original(*a, **k))
    result = run(long_mp4, options={"full_pass_frames": 0}, count=24, tile_width=32)  # 0.5 s segments, 1 s GOPs
    assert len(passes) == 1 and passes[0]["max_side"] == 160
    assert len(result.thumbs) == 24
    assert_in_segments(result, 24)


def test_portrait_phone_video(make_clip, tmp_path):
    clip = make_clip(tmp_path / "phone.mp4", seconds=1.0, audio=None, rotation=270)
    result = run(clip, count=3, tile_width=60, poster_width=150)
    assert result.poster.size == (150, 200)
    assert all(t.image.size == (60, 80) for t in result.thumbs)
    assert (result.info.video.display_width, result.info.video.display_height) == (120, 160)


def test_very_short_clip_gives_one_thumb_per_frame(make_clip, tmp_path):
    clip = make_clip(tmp_path / "five frames.mp4", seconds=5 / 24, audio=None)
    result = run(clip, count=12, tile_width=64)
    assert len(result.thumbs) == 5
    assert [round(t.time_s * 24) for t in result.thumbs] == [0, 1, 2, 3, 4]


def test_audio_only_gives_waveforms(tone_wav):
    result = run(tone_wav, count=4, columns=4, tile_width=120, poster_width=320)
    assert result.info.kind == "audio"
    assert [t.time_s for t in result.thumbs] == pytest.approx([0.0, 0.375, 0.75, 1.125])
    assert all(t.image.size == (120, 68) for t in result.thumbs)
    assert all(t.score == pytest.approx(0.5, abs=0.02) for t in result.thumbs)  # the tone's peak level
    assert result.poster.size == (320, 180)
    poster = np.asarray(result.poster)
    blue = (poster[..., 2] > 200) & (poster[..., 0] < 150)
    assert blue.mean() > 0.5  # a loud steady tone fills most of the height
    assert 4 * 120 <= result.sheet.width <= 4 * 120 * 1.25


def test_silence_draws_a_flat_line(make_wav, tmp_path):
    quiet = make_wav(tmp_path / "quiet.wav", freqs=(440.0,), seconds=1.0)
    samples = np.frombuffer(quiet.read_bytes()[44:], dtype="<i2").copy()
    samples[: samples.size // 2] = 0  # first half silent
    quiet.write_bytes(quiet.read_bytes()[:44] + samples.tobytes())
    result = run(quiet, count=2, tile_width=100)
    silent, loud = result.thumbs
    assert silent.score < 0.01 < 0.4 < loud.score
    assert luma(silent.image) < luma(loud.image)


def test_image_input(png_file, rotated_jpeg):
    result = run(png_file, tile_width=100, poster_width=300)
    assert result.info.kind == "image" and len(result.thumbs) == 1
    assert result.poster.size == (300, 180) and result.thumbs[0].image.size == (100, 60)
    assert result.sheet.width >= 100 and result.sheet.height > 60
    turned = run(rotated_jpeg, tile_width=100, poster_width=300)
    assert turned.poster.size == (300, 450)  # EXIF orientation applied: portrait


def test_invalid_requests(clip_mp4, tmp_path):
    for settings in ({"count": 0}, {"count": 65}, {"columns": 0}, {"tile_width": 10}, {"poster_width": 10**5},
                     {"count": 2.5}):
        with pytest.raises(InvalidInput):
            run(clip_mp4, **settings)
    with pytest.raises(InvalidMedia, match="missing.mp4"):
        run(tmp_path / "missing.mp4")


def test_cancelled_before_run(clip_mp4):
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        run(clip_mp4, ctx=ctx)


def test_cancelled_while_running_and_progress(clip_mp4):
    seen: list[float] = []
    ctx = CallbackContext(lambda fraction, message: seen.append(fraction))
    run(clip_mp4, ctx=ctx, count=4)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 4

    def cancel_once_scoring(fraction: float, message: str) -> None:
        if fraction > 0.1:
            ctx2.cancel()

    ctx2 = CallbackContext(cancel_once_scoring)
    with pytest.raises(Cancelled):
        run(clip_mp4, ctx=ctx2, count=4)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engines.thumbs", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_cli_json(clip_mp4, tmp_path):
    sheet, poster = tmp_path / "sheet.png", tmp_path / "poster.jpg"
    done = _cli("sheet", str(clip_mp4), "--count", "4", "--json", "--out", str(sheet), "--poster", str(poster))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["info"]["kind"] == "video" and summary["info"]["video"]["width"] == 160
    times = [t["time_s"] for t in summary["thumbs"]]
    assert len(times) == 4 and times == sorted(times)
    assert Image.open(sheet).size == tuple(summary["sheet_size"])
    assert Image.open(poster).size == (640, 480)


def test_cli_corrupt_file_exits_2_with_one_line(clip_mp4, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip_mp4.read_bytes()[: clip_mp4.stat().st_size // 2])
    done = _cli("sheet", str(broken), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.mp4" in lines[0] and "Traceback" not in done.stderr
