"""Auto-reframe: the subject stays in the crop, the path is smooth inside a shot and jumps only at cuts, holds still
subjects, falls back to letterbox/blur when the subjects cannot fit; rendering, cancellation and bad input.

Clips are drawn here (320×180 or 480×270, 30 fps): a white disc on a dark blotchy background. The face path is
tested on a real photo (scikit-image's ``astronaut``; OpenCV ships only the cascades, no picture).
"""
from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import engines
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia, UnsupportedMedia
from engines.media import iter_frames, probe
from engines.reframe import REGISTRY, ReframeRequest
from engines.reframe.__main__ import main as cli
from engines.reframe.path import crop_size, deadband, limit_speed, output_size
from engines.reframe.subject import spectral_residual
from tests.media_factory import encode_video

W, H, FPS, R = 320, 180, 30, 14


# --------------------------------------------------------------------------------------------------------------
# Synthetic footage
# --------------------------------------------------------------------------------------------------------------
def background(seed: int, tint=(1.0, 1.0, 1.0), size=(W, H)) -> np.ndarray:
    """Dark blotchy texture (blurred colour noise, 15..66 grey levels)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (size[1] // 6, size[0] // 6, 3)).astype(np.uint8)
    image = cv2.resize(noise, size, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    return np.clip(15 + image * 0.2 * np.array(tint, np.float32), 0, 255).astype(np.uint8)


def disc(image: np.ndarray, x: float, y: float, r: int = R) -> np.ndarray:
    out = image.copy()
    cv2.circle(out, (int(round(x)), int(round(y))), r, (255, 255, 255), -1, lineType=cv2.LINE_AA)
    return out


def write(path: Path, frames: list[np.ndarray], audio: bool = False) -> Path:
    """H.264 at FPS; with ``audio`` a 440 Hz AAC mono tone as long as the picture."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast"}
        sound = out.add_stream("aac", rate=22050, layout="mono") if audio else None
        encode_video(out, video, frames)
        if sound is not None:
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(len(frames) * 22050 // FPS) / 22050)).astype(np.float32)
            for start in range(0, tone.size, 1024):
                frame = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 22050, start
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


MOVING_X = np.linspace(40, 280, 105)  # 3.5 s left → right


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reframe")
    bg, bg2 = background(1), background(7, (0.6, 1.0, 1.4))
    wobble = np.random.default_rng(3).uniform(-2, 2, (90, 2))
    return {
        "moving": write(root / "moving.mp4", [disc(bg, x, 90) for x in MOVING_X], audio=True),
        "cut": write(root / "cut.mp4", [disc(bg, 60, 90) if i < 60 else disc(bg2, 260, 80) for i in range(120)]),
        "still": write(root / "still.mp4", [disc(bg, 200 + dx, 100 + dy) for dx, dy in wobble]),
        "two": write(root / "two.mp4", [disc(disc(bg, 40, 90), 280, 90) for _ in range(75)]),
    }


@pytest.fixture(scope="module")
def engine():
    eng = REGISTRY.create()
    eng.load()
    yield eng
    eng.unload()


def xs(result) -> np.ndarray:
    return np.array([e[1] for e in result.crop_path])


# --------------------------------------------------------------------------------------------------------------
# Crop path
# --------------------------------------------------------------------------------------------------------------
def test_moving_subject_stays_inside_the_crop_with_no_jumps_and_renders(engine, clips, tmp_path):
    out = tmp_path / "moving-9x16.mp4"
    reports: list[float] = []
    result = engine.run(ReframeRequest(media=clips["moving"], out=out), CallbackContext(lambda f, m: reports.append(f)))
    assert [(s.start, s.end, s.fill, s.kind) for s in result.shots] == [(0, 104, "crop", "saliency")]
    assert len(result.crop_path) == result.frames == 105
    for (t, x, y, w, h), cx in zip(result.crop_path, MOVING_X):
        assert x <= cx - R - 1 and cx + R + 1 <= x + w, (t, x, cx)  # the whole disc, every frame
        assert 0 <= x and x + w <= W + 1e-6 and (y, h) == (0.0, H)
    step = np.abs(np.diff(xs(result)))
    assert step.max() <= result.max_step_px + 1e-9 and result.max_step_px < 0.015 * W
    assert xs(result)[-1] - xs(result)[0] > 150  # it really pans
    # the rendered clip: even 9:16 size, same fps/frames/duration, the audio kept, the disc in the picture
    info = probe(out)
    assert (info.width, info.height) == result.output_size == (102, 180)
    assert info.fps == pytest.approx(FPS) and info.video.frame_count == 105
    assert info.duration_s == pytest.approx(3.5, abs=0.1) and info.audio is not None
    middle = next(f.image for f in iter_frames(out) if f.index == 52)
    assert int((middle.min(axis=2) > 200).sum()) > 0.8 * np.pi * R * R
    assert result.output == out and reports[-1] == 1.0 and reports == sorted(reports)
    assert json.loads(json.dumps(result.as_dict()))["fill_used"] == ["crop"]


def test_hard_cut_the_crop_jumps_at_the_cut_only(engine, clips):
    found = engine.plan(ReframeRequest(media=clips["cut"], faces=False))  # cuts by the shots engine
    given = engine.plan(ReframeRequest(media=clips["cut"], shots=[2.0], faces=False))
    for result in (found, given):
        assert [(s.start, s.end) for s in result.shots] == [(0, 59), (60, 119)]
        step = np.abs(np.diff(xs(result)))
        assert step[59] > 150  # the subject changed sides at frame 60
        assert np.delete(step, 59).max() <= result.max_step_px + 1e-9
        x0, x1 = xs(result)[0], xs(result)[-1]
        assert x0 <= 60 - R and 60 + R <= x0 + result.crop_size[0]
        assert x1 <= 260 - R and 260 + R <= x1 + result.crop_size[0]


def test_still_subject_the_crop_holds(engine, clips):
    result = engine.plan(ReframeRequest(media=clips["still"]))  # the disc wobbles ±2 px: inside the dead zone
    assert result.fill_used == ["crop"]
    x = xs(result)
    assert np.abs(np.diff(x[15:])).max() < 1e-6  # not a fraction of a pixel of motion after half a second
    assert x[0] <= 200 - R - 2 and 200 + R + 2 <= x[0] + result.crop_size[0]


def test_portrait_source_to_square_pans_vertically(engine, tmp_path):
    bg = background(5, size=(H, W))  # 180 × 320 portrait
    ys = np.linspace(40, 280, 60)
    result = engine.plan(ReframeRequest(media=write(tmp_path / "portrait.mp4", [disc(bg, 90, y) for y in ys]),
                                        aspect="1:1", shots=[], faces=False))
    assert result.crop_size == (180.0, 180.0) and result.output_size == (180, 180)
    for (_, x, y, w, h), cy in zip(result.crop_path, ys):
        assert x == 0.0 and y <= cy - R and cy + R <= y + h
    assert np.abs(np.diff([e[2] for e in result.crop_path])).max() <= result.max_step_px + 1e-9


def test_faces_on_a_real_photo_are_followed(engine, tmp_path):
    data = pytest.importorskip("skimage.data")
    photo = cv2.resize(data.astronaut(), (270, 270), interpolation=cv2.INTER_AREA)  # face ≈ (177, 67, 93, 93)/512
    offsets = np.linspace(0, 210, 75).astype(int)
    frames = []
    for x in offsets:
        image = np.full((270, 480, 3), 30, np.uint8)
        image[:, x:x + 270] = photo
        frames.append(image)
    result = engine.plan(ReframeRequest(media=write(tmp_path / "astronaut.mp4", frames), shots=[]))
    assert result.shots[0].kind == "face" and result.fill_used == ["crop"]
    scale = 270 / 512
    for (_, x, _, w, _), dx in zip(result.crop_path, offsets):
        assert x <= dx + 177 * scale and dx + (177 + 93) * scale <= x + w  # the whole face in view


def test_two_subjects_far_apart_get_blur_or_letterbox(engine, clips, tmp_path):
    auto = engine.plan(ReframeRequest(media=clips["two"], shots=[], faces=False))
    assert auto.fill_used == ["blur"] and auto.shots[0].fits < 0.5
    assert auto.crop_path[0][1:] == (0.0, 0.0, W, H)  # the whole picture is shown
    boxed = engine.run(ReframeRequest(media=clips["two"], shots=[], faces=False, fill="letterbox", aspect="1:1",
                                      output_height=120, out=tmp_path / "boxed.mp4"))
    assert boxed.fill_used == ["letterbox"] and probe(boxed.output).width == 120
    picture = next(iter_frames(boxed.output)).image.astype(int)
    bar = (120 - 68) // 2  # 320×180 fitted in 120×120 is 120×68 (rounded)
    assert picture[:bar - 2].max() < 20 and picture[-(bar - 2):].max() < 20
    assert picture[60].max() > 200  # both discs on the middle row
    blurred = next(iter_frames(engine.render(auto, tmp_path / "blur.mp4").output)).image
    assert 5 < blurred[:20].mean() < 60  # a dim, blurred copy instead of black bars
    forced = engine.plan(ReframeRequest(media=clips["two"], shots=[], faces=False, fill="crop"))
    assert forced.fill_used == ["crop"] and "forced" in forced.shots[0].reason


# --------------------------------------------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("aspect, source, height, expected", [
    ("9:16", (1280, 720), None, (404, 720)), ("1:1", (1280, 720), None, (720, 720)),
    ("4:5", (1280, 720), None, (576, 720)), ("4:5", (320, 180), 301, (240, 300)),
    ("1:1", (720, 1280), None, (720, 720)), ("9:16", (1080, 1920), 1280, (720, 1280)),
])
def test_output_sizes_are_even_and_of_the_aspect(aspect, source, height, expected):
    ratio = {"9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5)}[aspect]
    crop = crop_size(*source, ratio)
    assert crop[0] <= source[0] and crop[1] <= source[1] and max(crop[0] - source[0], crop[1] - source[1]) == 0
    assert crop[0] / crop[1] == pytest.approx(ratio[0] / ratio[1])
    size = output_size(crop, ratio, height)
    assert size == expected and size[0] % 2 == 0 and size[1] % 2 == 0


def test_dead_zone_speed_limit_and_saliency():
    rng = np.random.default_rng(0)
    wobble = 100 + rng.uniform(-1.7, 1.7, 200)  # spans less than the dead zone
    assert np.ptp(deadband(wobble, 3.5)) == 0.0
    ramp = np.concatenate([np.zeros(20), np.linspace(0, 100, 40), np.full(20, 100.0)])
    held = deadband(ramp, 5.0)
    assert np.abs(held - ramp).max() <= 5.0 + 1e-9 and held[0] == held[10]
    limited = limit_speed(np.concatenate([np.zeros(10), np.full(10, 50.0)]), 2.0)
    assert np.abs(np.diff(limited)).max() <= 2.0 + 1e-9
    texture = np.tile(np.array([[0, 80], [80, 0]], np.float32), (30, 48)) + 40  # periodic: no surprise
    cv2.circle(texture, (70, 20), 5, 255, -1)
    y, x = np.unravel_index(np.argmax(spectral_residual(texture)), texture.shape)
    assert abs(x - 70) <= 6 and abs(y - 20) <= 6


# --------------------------------------------------------------------------------------------------------------
# Contract, CLI, cancellation, bad input
# --------------------------------------------------------------------------------------------------------------
def test_registered_as_a_kind():
    assert "reframe" in engines.KINDS and engines.registries()["reframe"].names() == ["lite"]


def test_cli_plan_only_prints_the_path(clips, capsys):
    assert cli([str(clips["still"]), "--aspect", "4:5", "--plan-only", "--json", "--shots", "", "--no-faces"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["output"] is None and data["output_size"] == [144, 180] and len(data["crop_path"]) == 90
    with pytest.raises(SystemExit):
        cli([str(clips["still"]), "--aspect", "3:2"])


def test_cancelled_render_leaves_nothing(engine, clips, tmp_path):
    ctx = CallbackContext(lambda f, m: ctx.cancel() if f > 0.7 else None)
    out = tmp_path / "never.mp4"
    with pytest.raises(Cancelled):
        engine.run(ReframeRequest(media=clips["moving"], shots=[], faces=False, out=out), ctx)
    assert list(tmp_path.iterdir()) == []
    early = CallbackContext()
    early.cancel()
    with pytest.raises(Cancelled):
        engine.plan(ReframeRequest(media=clips["moving"], shots=[]), early)


def test_bad_input_is_refused_before_any_work(engine, clips, tmp_path, tone_wav, png_file, capsys):
    media = clips["still"]
    for bad, error in [
        (dict(aspect="16:10"), InvalidInput), (dict(fill="stretch"), InvalidInput),
        (dict(hold_px=-1.0), InvalidInput), (dict(smoothness=float("nan")), InvalidInput),
        (dict(output_height=10), InvalidInput), (dict(shots=[1.0, -2.0]), InvalidInput),
        (dict(max_speed=0.0), InvalidInput), (dict(out=tmp_path / "out.txt"), InvalidInput),
        (dict(out=media), InvalidInput), (dict(media=tone_wav), UnsupportedMedia),
        (dict(media=png_file), UnsupportedMedia), (dict(media=tmp_path / "missing.mp4"), InvalidMedia),
    ]:
        with pytest.raises(error):
            engine.run(ReframeRequest(**{"media": media, **bad}))
    assert cli([str(tone_wav), "--plan-only"]) == 2 and "error:" in capsys.readouterr().err
