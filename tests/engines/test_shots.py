"""Shot boundary detection (``engines.shots``): cuts, a dissolve, a fade out/in, a flash and a fast pan, on a clip
made here with PyAV from textured, moving, noisy pictures of different colour families."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia
from engines.shots import REGISTRY, ShotRequest, ShotResult
from tests.media_factory import encode_video, write_wav

ROOT = Path(__file__).resolve().parents[2]
W, H, FPS = 192, 108, 24
# Layout (frame indices): A 0-35 | cut | B 36-71 (white flash at 50) | cut | C 72-107 (fast pan) |
# 12-frame dissolve 108-119 | D 120-155 | fade out 156-167 | black 168-179 | fade in 180-191 | E -227 | cut | F 228-263
CUTS = [36, 72, 228]
DISSOLVE = (108, 119)
FADE_OUT = (156, 168)
FADE_IN = (179, 191)
FLASH = 50
N = 264


def _scene(seed: int, tint: tuple[float, float, float], width: int = W, height: int = H):
    """A textured colour-family picture maker: smooth noise tinted, plus moving discs and per-frame grain."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((height // 12 + 1, width // 12 + 1, 3)).astype(np.float32), (width, height),
                      interpolation=cv2.INTER_CUBIC)
    fine = rng.random((height, width, 1)).astype(np.float32)
    picture = np.clip((0.55 * base + 0.45 * fine) * np.array(tint, np.float32) * 255, 0, 255)
    discs = [(rng.uniform(0, W), rng.uniform(0, H), rng.uniform(-3, 3), rng.uniform(-2, 2), rng.integers(6, 16),
              tuple(int(c) for c in rng.integers(0, 256, 3))) for _ in range(4)]

    def frame(i: int, pan: int = 0) -> np.ndarray:
        image = picture[:, pan:pan + W] if pan else picture[:, :W]
        image = np.ascontiguousarray(image).astype(np.uint8)
        for x, y, vx, vy, r, colour in discs:
            cv2.circle(image, (int(x + vx * i) % W, int(y + vy * i) % H), int(r), colour, -1)
        grain = rng.integers(-6, 7, image.shape)
        return np.clip(image.astype(np.int16) + grain, 0, 255).astype(np.uint8)

    return frame


def _frames() -> list[np.ndarray]:
    shot_a = _scene(1, (1.0, 0.55, 0.3))   # warm
    shot_b = _scene(2, (0.3, 0.9, 0.4))    # greens
    pan_w = W + 36 * 14
    shot_c = _scene(3, (0.35, 0.45, 1.0), width=pan_w)  # blues, panned 14 px a frame
    shot_d = _scene(4, (0.9, 0.85, 0.8))   # pale
    shot_e = _scene(5, (0.8, 0.3, 0.9))    # purples
    shot_f = _scene(6, (0.6, 0.6, 0.15))   # olive
    out: list[np.ndarray] = []
    for i in range(N):
        if i < 36:
            image = shot_a(i)
        elif i < 72:
            image = np.full((H, W, 3), 250, np.uint8) if i == FLASH else shot_b(i)
        elif i < 108:
            image = shot_c(i, pan=(i - 72) * 14)
        elif i < 120:  # dissolve C -> D
            alpha = (i - 107) / 13.0
            image = ((1 - alpha) * shot_c(i, pan=35 * 14) + alpha * shot_d(i)).astype(np.uint8)
        elif i < 156:
            image = shot_d(i)
        elif i < 168:  # fade out
            image = (shot_d(i) * (1 - (i - 155) / 12.0)).astype(np.uint8)
        elif i < 180:
            image = np.zeros((H, W, 3), np.uint8)
        elif i < 192:  # fade in
            image = (shot_e(i) * ((i - 179) / 12.0)).astype(np.uint8)
        elif i < 228:
            image = shot_e(i)
        else:
            image = shot_f(i)
        out.append(image)
    return out


@pytest.fixture(scope="module")
def edited_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shots") / "edited.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        encode_video(out, stream, _frames())
    return path


@pytest.fixture(scope="module")
def result(edited_clip) -> ShotResult:
    return REGISTRY.create().run(ShotRequest(media=edited_clip))


def _inside(frame: int, span: tuple[int, int]) -> bool:
    return span[0] <= frame <= span[1]


def test_cuts_are_found_within_one_frame(result):
    cuts = [t.frame for t in result.transitions if t.type == "cut"]
    assert len(cuts) == len(CUTS), result.as_dict()
    for want, got in zip(CUTS, cuts):
        assert abs(want - got) <= 1


def test_dissolve_and_fades_are_found_inside_their_spans(result):
    dissolves = [t for t in result.transitions if t.type == "dissolve"]
    fades = [t for t in result.transitions if t.type == "fade"]
    assert len(dissolves) == 1 and _inside(dissolves[0].frame, DISSOLVE), result.as_dict()
    assert dissolves[0].start <= dissolves[0].frame <= dissolves[0].end
    assert len(fades) == 2, result.as_dict()
    assert _inside(fades[0].frame, FADE_OUT) and _inside(fades[1].frame, FADE_IN)


def test_flash_and_fast_pan_are_not_transitions(result):
    assert len(result.transitions) == 6, result.as_dict()
    for t in result.transitions:
        assert not 45 <= t.frame <= 55  # the flash
        assert not 74 <= t.frame <= 105  # the pan


def test_result_shape_and_shots(result):
    assert result.frames == N and result.fps == pytest.approx(FPS, abs=0.01)
    assert result.shots[0][0] == 0 and result.shots[-1][1] == N - 1
    assert len(result.shots) == len(result.transitions) + 1
    assert all(a <= b for a, b in result.shots)
    data = result.as_dict()
    assert {"frames", "fps", "transitions"} <= set(data)
    assert set(data["transitions"][0]) >= {"frame", "time", "type"}
    assert data["transitions"][0]["time"] == pytest.approx(data["transitions"][0]["frame"] / FPS, abs=0.05)


def test_progress_and_cancel(edited_clip):
    seen: list[float] = []
    REGISTRY.create().run(ShotRequest(media=edited_clip), CallbackContext(lambda f, m: seen.append(f)))
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 10
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        REGISTRY.create().run(ShotRequest(media=edited_clip), ctx)


def test_bad_inputs(tmp_path, edited_clip):
    with pytest.raises(InvalidMedia, match="has no video"):
        REGISTRY.create().run(ShotRequest(media=write_wav(tmp_path / "tone.wav")))
    with pytest.raises(InvalidInput):
        REGISTRY.create().run(ShotRequest(media=edited_clip, sensitivity=0))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 50)
    with pytest.raises(InvalidMedia):
        REGISTRY.create().run(ShotRequest(media=junk))


def test_cli_json_and_error(edited_clip, tmp_path):
    done = subprocess.run([sys.executable, "-m", "engines.shots", "detect", str(edited_clip), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["frames"] == N and data["fps"] == pytest.approx(FPS)
    assert [t["type"] for t in data["transitions"]] == ["cut", "cut", "dissolve", "fade", "fade", "cut"]
    assert all(isinstance(t["frame"], int) and isinstance(t["time"], float) for t in data["transitions"])
    wav = write_wav(tmp_path / "tone.wav")
    done = subprocess.run([sys.executable, "-m", "engines.shots", "detect", str(wav), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error:") and "no video" in done.stderr and done.stderr.count("\n") == 1
