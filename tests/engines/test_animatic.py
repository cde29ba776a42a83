"""engines.animatic: timing, Ken Burns, captions, ducking and limiting, and the lite renderer's MP4 end to end.

Inputs are made here (pictures with numpy/Pillow, tones as speech and music with engines.audio_io); the checks
decode the rendered file with engines.media. Films are 320×180 at 12 fps to stay fast.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engines.audio_io import AudioClip, write_wav
from engines.animatic import REGISTRY, AnimaticRequest, AnimaticScene, Caption
from engines.animatic import audio as mixing
from engines.animatic.__main__ import main as cli
from engines.animatic.motion import MOVES, ZOOM, choose_moves, plan_motion
from engines.animatic.subtitles import split_captions, srt_text, vtt_text, wrap_caption, write_vtt
from engines.animatic.timing import fit_duration, plan
from engines.base import EngineConfig
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia
from engines.media import iter_frames, probe, read_audio
from engines.registry import registry_for

W, H, FPS = 320, 180, 12
RATE = 48000
SPEECH_HZ, MUSIC_HZ = 1000.0, 200.0
CEILING = 10 ** (-1 / 20)


# --------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------
def picture(path: Path, colour: tuple[int, int, int], size: tuple[int, int], seed: int) -> Path:
    """A colour with a soft gradient and random darker blocks (not periodic, so any move changes the framing)."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    shade = 0.75 + 0.25 * (x / width)
    image = (np.array(colour, np.float32) * shade[..., None]).astype(np.uint8)
    rng = np.random.default_rng(seed)
    for _ in range(40):
        x0, y0 = rng.integers(0, width - 20), rng.integers(0, height - 20)
        bw, bh = rng.integers(6, 40), rng.integers(6, 40)
        image[y0:y0 + bh, x0:x0 + bw] //= 2
    Image.fromarray(image).save(path)
    return path


def tone(path: Path, seconds: float, hz: float, amplitude: float, rate: int = 22050, channels: int = 1) -> Path:
    t = np.arange(int(round(seconds * rate))) / rate
    samples = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return write_wav(path, AudioClip(np.tile(samples, (channels, 1)), rate))


def amplitude_at(samples: np.ndarray, hz: float, start_s: float, end_s: float) -> float:
    """Amplitude of the ``hz`` component of mono ``samples`` over a window (a whole number of periods)."""
    n = int(round((end_s - start_s) * hz)) * RATE // int(hz)
    seg = samples[int(start_s * RATE): int(start_s * RATE) + n]
    t = np.arange(seg.size) / RATE
    return float(2 * abs(np.sum(seg * np.exp(-2j * np.pi * hz * t))) / seg.size)


def db(x: float) -> float:
    return 20 * math.log10(max(x, 1e-9))


LONG = ("The quick brown fox jumps over the lazy dog while the narrator explains, at some length, why a "
        "storyboard matters")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("animatic-in")
    return {
        "a": picture(d / "a.png", (230, 40, 40), (400, 300), 1),  # 4:3 into 16:9: covered, top/bottom cropped
        "b": picture(d / "b.png", (40, 60, 230), (480, 270), 2),
        "c": picture(d / "c.png", (40, 210, 60), (300, 360), 3),  # portrait
        "speech_a": tone(d / "speech a.wav", 1.0, SPEECH_HZ, 0.5),  # quiet: no limiting
        "speech_c": tone(d / "speech c.wav", 1.5, SPEECH_HZ, 0.95, channels=2),  # loud: the limiter works
        "music": tone(d / "music.wav", 2.0, MUSIC_HZ, 0.5, rate=44100, channels=2),  # looped to the length
    }


def request_for(inputs, out: Path, **overrides) -> AnimaticRequest:
    scenes = (
        AnimaticScene(inputs["a"], speech=inputs["speech_a"], min_duration_s=1.5, motion="zoom_in",
                      captions=(Caption(0.2, 2.0, LONG),)),
        AnimaticScene(inputs["b"], min_duration_s=2.5, motion="pan_right"),
        AnimaticScene(inputs["c"], speech=inputs["speech_c"], min_duration_s=3.5, title="The end",
                      captions=(Caption(0.5, 1.5, "Last words"),)),
    )
    settings = dict(scenes=scenes, out=out, music=inputs["music"], width=W, height=H, fps=FPS)
    settings.update(overrides)
    return AnimaticRequest(**settings)


def render(request: AnimaticRequest, ctx=None):
    return REGISTRY.create(EngineConfig(backend="lite")).run(request, ctx)


# Scene A: speech 1.0 s + 2 × 0.6 s pad = 2.2 s (over its 1.5 s minimum); B: 2.5 s (no speech); C: 1.5 + 1.2 =
# 2.7 s, under its 3.5 s minimum. With 0.5 s crossfades: A 0-2.2, B 1.7-4.2, C 3.7-7.2.
SPANS = [(0.0, 2.2), (1.7, 4.2), (3.7, 7.2)]
TOTAL = 7.2


@pytest.fixture(scope="module")
def film(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("animatic-out") / "film.mp4"
    result = render(request_for(inputs, out))
    frames = [f.image for f in iter_frames(out)]
    sound = read_audio(out, sample_rate=RATE, mono=False)
    return result, frames, sound


@pytest.fixture(scope="module")
def film_without_subtitles(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("animatic-plain") / "plain.mp4"
    render(request_for(inputs, out, burn_subtitles=False))
    return [f.image for f in iter_frames(out)]


# --------------------------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------------------------
def test_registry_has_lite_and_requests_round_trip(inputs, tmp_path):
    assert "lite" in registry_for("animatic").names()
    engine = REGISTRY.create()
    assert engine.kind == "animatic" and engine.name == "lite"
    request = request_for(inputs, tmp_path / "x.mp4", seed=3)
    assert AnimaticRequest.from_dict(json.loads(json.dumps(request.as_dict()))) == request


def test_timing_fits_speech_and_overlaps_crossfades():
    assert fit_duration(3.0, None, 0.6) == 3.0
    assert fit_duration(3.0, 2.5, 0.6) == pytest.approx(3.7)
    assert fit_duration(3.0, 1.0, 0.6) == 3.0
    timeline = plan([2.2, 2.5, 3.5], 0.5, speech_s=[1.0, None, 1.5], pad_s=0.6)
    assert np.allclose(timeline.spans, SPANS)
    assert timeline.total_s == pytest.approx(2.2 + 2.5 + 3.5 - 0.5 * 2)
    assert timeline.speech_starts[0] == pytest.approx(0.6) and timeline.speech_starts[1] is None
    assert timeline.speech_starts[2] == pytest.approx(3.7 + 0.6)
    assert timeline.active(1.0) == [0] and timeline.active(2.0) == [0, 1] and timeline.active(7.19) == [2]
    with pytest.raises(InvalidInput, match="half the shortest scene: scene 2"):
        plan([3.0, 1.0, 3.0], 0.5)


def test_wrapper_keeps_42_characters_and_2_lines():
    text = LONG + " and a word far too long to fit: " + "x" * 100
    blocks = wrap_caption(text)
    assert len(blocks) > 2
    assert all(1 <= len(block) <= 2 and all(len(line) <= 42 for line in block) for block in blocks)
    assert "".join("".join(b) for b in blocks).replace(" ", "") == text.replace(" ", "")
    assert wrap_caption("Short one") == [["Short one"]]
    # Two lines are balanced instead of a full line over a stub.
    two = wrap_caption("one two three four five six seven eight nine ten eleven")
    assert len(two) == 1 and abs(len(two[0][0]) - len(two[0][1])) < 12

    parts = split_captions([Caption(1.0, 9.0, text)])
    assert len(parts) == len(blocks)
    assert parts[0].start_s == 1.0 and parts[-1].end_s == 9.0
    assert all(a.end_s == pytest.approx(b.start_s) and a.end_s > a.start_s for a, b in zip(parts, parts[1:]))
    assert all(len(p.text.split("\n")) <= 2 and max(map(len, p.text.split("\n"))) <= 42 for p in parts)


def test_srt_and_vtt_format(tmp_path):
    captions = [Caption(0.2, 1.5, "Hello"), Caption(3661.25, 3662.0, "two\nlines")]
    assert srt_text(captions) == ("1\n00:00:00,200 --> 00:00:01,500\nHello\n\n"
                                  "2\n01:01:01,250 --> 01:01:02,000\ntwo\nlines\n")
    path = write_vtt(captions, tmp_path / "subs.vtt")
    assert path.read_text() == vtt_text(captions)
    assert vtt_text(captions).startswith("WEBVTT\n\n00:00:00.200 --> 00:00:01.500\nHello\n")


@pytest.mark.parametrize("size", [(1434, 806), (400, 300), (300, 360), (2000, 400)])
def test_motion_stays_inside_the_picture(size):
    out = (1280, 720)
    for seed in range(3):
        for move in MOVES + ("none",):
            motion_plan = plan_motion(move, size, out, seed=seed, index=seed)
            for u in np.linspace(0, 1, 11):
                x, y, w, h = motion_plan.rect_at(float(u))
                assert x >= -1e-6 and y >= -1e-6 and x + w <= size[0] + 1e-6 and y + h <= size[1] + 1e-6
                assert w / h == pytest.approx(16 / 9)
            if move != "none":
                assert motion_plan.start != motion_plan.end
            if move.startswith("zoom"):
                widths = sorted([motion_plan.start[2], motion_plan.end[2]])
                assert widths[1] / widths[0] == pytest.approx(ZOOM)


def test_auto_motion_is_deterministic_and_varied():
    moves = choose_moves(["auto"] * 12, seed=5)
    assert moves == choose_moves(["auto"] * 12, seed=5)
    assert moves != choose_moves(["auto"] * 12, seed=6)
    assert all(m in MOVES for m in moves) and all(a != b for a, b in zip(moves, moves[1:]))
    assert choose_moves(["none", "pan_left", "auto"], seed=1)[:2] == ["none", "pan_left"]


def test_mix_ducks_music_under_speech_and_limits():
    n = 6 * RATE
    music = (0.5 * np.sin(2 * np.pi * MUSIC_HZ * np.arange(RATE) / RATE)).astype(np.float32)  # 1 s, looped
    speech = (1.2 * np.sin(2 * np.pi * SPEECH_HZ * np.arange(RATE) / RATE)).astype(np.float32)  # over full scale
    mixed = mixing.mix(n, speech=[(speech, 1.0)], music=music, duck_db=-12.0, music_db=-6.0)
    assert mixed.shape == (2, n) and mixed.dtype == np.float32
    assert np.abs(mixed).max() <= CEILING + 1e-6
    left = mixed[0]
    gap, ducked = amplitude_at(left, MUSIC_HZ, 3.0, 3.8), amplitude_at(left, MUSIC_HZ, 1.2, 1.8)
    assert db(gap) == pytest.approx(db(0.5) - 6.0, abs=0.5)  # the music's own level, at music_db
    assert db(gap) - db(ducked) >= 11.0  # -12 dB ducking (less the limiter's own share there)
    assert np.abs(left[-int(0.01 * RATE):]).max() < 0.01  # faded out at the end
    looped = mixing.loop_to_length(np.ones((2, 1000), np.float32), 3500)  # seams crossfade: no dip, no bump
    assert looped.shape == (2, 3500) and np.allclose(looped, 1.0)
    # The ducking gain moves smoothly: no step larger than a fraction of a dB between samples.
    gain = mixing.duck_gain(mixing.place([(speech, 1.0)], n), -12.0)
    assert np.abs(np.diff(20 * np.log10(gain))).max() < 0.05
    assert db(float(gain[int(0.5 * RATE)])) > -0.01 and db(float(gain[int(1.5 * RATE)])) == pytest.approx(-12, 0.1)


# --------------------------------------------------------------------------------------------------------------
# The rendered film
# --------------------------------------------------------------------------------------------------------------
def test_output_streams_and_duration(film):
    result, frames, sound = film
    info = probe(result.path)
    assert info.video.codec == "h264" and info.video.pix_fmt == "yuv420p"
    assert info.audio.codec == "aac" and info.audio.sample_rate == RATE and info.audio.channels == 2
    assert (info.video.width, info.video.height) == (W, H) and info.video.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(TOTAL, abs=1 / FPS)
    assert len(frames) == pytest.approx(TOTAL * FPS, abs=1)
    assert sound.shape[1] / RATE == pytest.approx(TOTAL, abs=1 / FPS)
    assert result.duration_s == pytest.approx(TOTAL, abs=1 / FPS) and result.backend == "lite"
    assert np.allclose(result.scene_spans, SPANS)
    assert result.parameters["fps"] == FPS and json.dumps(result.summary())
    with open(result.path, "rb") as fh:  # +faststart: the index (moov) comes before the media data (mdat)
        head = fh.read(64 * 1024)
    assert 0 <= head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head


def band(image: np.ndarray) -> np.ndarray:
    """Mean colour of the middle band (clear of the title at the top and the captions at the bottom)."""
    return image[int(H * 0.25):int(H * 0.65)].reshape(-1, 3).mean(axis=0)


def test_crossfade_frames_blend_the_two_scenes(film):
    _, frames, _ = film
    last_a, first_b = band(frames[20]), band(frames[27])  # 1.67 s (A alone), 2.25 s (B alone)
    assert last_a[0] > 150 and first_b[2] > 150
    for k in (21, 23, 24, 26):  # inside the crossfade 1.7-2.2 s
        weight = (k / FPS - 1.7) / 0.5
        expected = (1 - weight) * last_a + weight * first_b
        assert np.abs(band(frames[k]) - expected).max() < 12, k
    middle = band(frames[24])
    assert middle[0] > 60 and middle[2] > 60  # both scenes visible, not a cut


def test_ken_burns_moves_the_framing(film):
    _, frames, _ = film
    for first, last in ((27, 44), (0, 19)):  # scene B alone (pan right), scene A alone (zoom in)
        a, b = frames[first].astype(np.float32), frames[last].astype(np.float32)
        region = slice(int(H * 0.25), int(H * 0.65))
        assert np.abs(a[region] - b[region]).mean() > 8  # the framing changed
        assert np.abs(band(frames[first]) - band(frames[last])).max() < 10  # the same picture
    # Consecutive frames change little (a smooth move, not a jump).
    steps = [np.abs(frames[k].astype(np.int16) - frames[k + 1]).mean() for k in range(27, 44)]
    assert max(steps) < 12


def test_speech_placed_after_the_pad_and_music_ducked(film):
    result, _, sound = film
    mono = sound.mean(axis=0)
    # Speech (1 kHz) starts at scene start + 0.6 s pad: A at 0.6 s, C at 3.7 + 0.6 = 4.3 s.
    for start, seconds in ((0.6, 1.0), (4.3, 1.5)):
        assert amplitude_at(mono, SPEECH_HZ, start - 0.15, start - 0.03) < 0.02
        assert amplitude_at(mono, SPEECH_HZ, start + 0.03, start + 0.15) > 0.3
        assert amplitude_at(mono, SPEECH_HZ, start + seconds + 0.03, start + seconds + 0.15) < 0.02
    # Music (200 Hz) under speech A vs in scene B's gap, well after A's speech (release) and before C's.
    during, gap = amplitude_at(mono, MUSIC_HZ, 0.8, 1.4), amplitude_at(mono, MUSIC_HZ, 2.8, 3.6)
    assert db(gap) - db(during) >= 9.0
    assert db(gap) == pytest.approx(db(0.5) - 6.0, abs=1.0)


def test_no_sample_over_minus_1_dbfs(film):
    _, _, sound = film
    peak = float(np.abs(sound).max())
    assert peak <= CEILING
    assert peak > CEILING * 0.9  # the loud speech (0.95 + music) was limited, not just quiet


def test_subtitles_are_burnt_in_at_the_bottom(film, film_without_subtitles):
    _, frames, _ = film
    plain = film_without_subtitles
    assert len(plain) == len(frames)
    for k in (6, 12):  # 0.5 s and 1.0 s: scene A's first caption
        with_text, without = frames[k].astype(np.int16), plain[k].astype(np.int16)
        bottom = slice(int(H * 0.7), H)
        top = slice(0, int(H * 0.5))
        assert np.abs(with_text[bottom] - without[bottom]).mean() > 10
        assert np.abs(with_text[top] - without[top]).mean() < 3
    # No caption at 2.5 s (between A's captions and C's).
    assert np.abs(frames[30].astype(np.int16)[int(H * 0.7):] - plain[30][int(H * 0.7):]).mean() < 3


def test_srt_sidecar_has_the_timed_captions(film):
    result, _, _ = film
    assert result.srt == result.path.with_suffix(".srt") and result.srt.exists()
    text = result.srt.read_text()
    entries = [block.split("\n") for block in text.strip().split("\n\n")]
    times = []
    for number, (index, timing, *lines) in enumerate(entries, start=1):
        assert index == str(number)
        a, b = re.fullmatch(r"(\S+) --> (\S+)", timing).groups()
        to_s = [sum(float(p) * m for p, m in zip(t.replace(",", ".").split(":"), (3600, 60, 1))) for t in (a, b)]
        times.append(to_s)
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines)
    assert len(entries) == 3  # the long caption split in two, and C's
    assert times[0][0] == pytest.approx(0.2, abs=1e-3) and times[1][1] == pytest.approx(2.0, abs=1e-3)
    assert times[0][1] == pytest.approx(times[1][0], abs=1e-3)
    assert times[2] == pytest.approx([3.7 + 0.5, 3.7 + 1.5], abs=1e-3)
    assert entries[2][2] == "Last words"


# --------------------------------------------------------------------------------------------------------------
# Errors and cancellation
# --------------------------------------------------------------------------------------------------------------
def test_invalid_requests_are_explained(inputs, tmp_path):
    out = tmp_path / "x.mp4"
    base = request_for(inputs, out)
    scene = base.scenes[1]
    cases = [
        (dict(scenes=()), InvalidInput, "at least one scene"),
        (dict(scenes=(scene,) * 201), InvalidInput, "at most 200 scenes"),
        (dict(width=321), InvalidInput, "width must be an even number"),
        (dict(height=32), InvalidInput, "height must be an even number of pixels from 64 to 3840"),
        (dict(fps=0), InvalidInput, "fps must be"),
        (dict(fps=61), InvalidInput, "fps must be"),
        (dict(crossfade_s=1.3), InvalidInput, "half the shortest scene"),
        (dict(out=tmp_path / "x.avi"), InvalidInput, "x.avi"),
        (dict(scenes=(AnimaticScene(tmp_path / "nowhere.png"),)), InvalidMedia, "Scene 1: nowhere.png"),
        (dict(scenes=(scene, AnimaticScene(inputs["a"], speech=tmp_path / "gone.wav"))), InvalidMedia,
         "Scene 2: gone.wav"),
        (dict(scenes=(AnimaticScene(inputs["speech_a"]),)), InvalidMedia, "speech a.wav"),
        (dict(scenes=(AnimaticScene(inputs["a"], speech=inputs["b"]),)), InvalidMedia, "b.png"),
        (dict(music=tmp_path / "no music.mp3"), InvalidMedia, "Music: no music.mp3"),
        (dict(scenes=(AnimaticScene(inputs["a"], motion="spin"),)), InvalidInput, "motion must be one of"),
        (dict(scenes=(AnimaticScene(inputs["a"], captions=(Caption(2.0, 1.0, "x"),)),)), InvalidInput,
         "must end after it starts"),
    ]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    cases.append((dict(scenes=(AnimaticScene(broken),)), InvalidMedia, "broken.png"))
    for overrides, error, message in cases:
        settings = {**base.__dict__, **overrides}
        with pytest.raises(error, match=re.escape(message)):
            render(AnimaticRequest(**settings))
    with pytest.raises(InvalidInput, match="crf"):
        REGISTRY.create(EngineConfig(backend="lite", options={"crf": 99})).run(base)
    assert list(tmp_path.iterdir()) == [broken]


def test_cancel_mid_render_leaves_nothing(inputs, tmp_path):
    folder = tmp_path / "renders"
    out = folder / "film.mp4"
    seen = []

    def on_report(fraction, message):
        seen.append(fraction)
        if fraction > 0.4:
            ctx.cancel()

    ctx = CallbackContext(on_report)
    with pytest.raises(Cancelled):
        render(request_for(inputs, out), ctx)
    assert max(seen) < 0.7  # it stopped soon after being asked
    assert not out.exists() and list(folder.iterdir()) == []


def test_failure_mid_render_leaves_nothing(inputs, tmp_path, monkeypatch):
    from engines.animatic import motion

    real = motion.load_picture

    def flaky(path, size):
        if Path(path) == inputs["b"]:
            raise InvalidMedia(f"{Path(path).name} cannot be read as a picture (test).")
        return real(path, size)

    monkeypatch.setattr(motion, "load_picture", flaky)
    folder = tmp_path / "renders"
    with pytest.raises(InvalidMedia, match="Scene 2: b.png"):
        render(request_for(inputs, folder / "film.mp4"))
    assert list(folder.iterdir()) == []


def test_cli_renders_a_spec_and_reports_errors(inputs, tmp_path, capsys):
    spec = {"width": 160, "height": 90, "fps": 8, "music": str(inputs["music"]),
            "scenes": [{"image": str(inputs["a"]), "title": "One", "speech": str(inputs["speech_a"]),
                        "captions": [{"start_s": 0.2, "end_s": 1.0, "text": "Hello"}]},
                       {"image": "b copy.png", "min_duration_s": 1.5, "motion": "zoom_out"}]}
    (tmp_path / "b copy.png").write_bytes(inputs["b"].read_bytes())  # relative to the spec's folder
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "cli" / "film.mp4"
    assert cli(["render", str(tmp_path / "spec.json"), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["duration_s"] == pytest.approx(3.0 + 1.5 - 0.5, abs=1 / 8)
    assert probe(out).video.width == 160 and out.with_suffix(".srt").exists()

    spec["scenes"][1]["image"] = "missing.png"
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    assert cli(["render", str(tmp_path / "spec.json"), "--out", str(tmp_path / "bad.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.png" in err and err.startswith("error: Scene 2")
    (tmp_path / "spec.json").write_text("{not json")
    assert cli(["render", str(tmp_path / "spec.json"), "--out", str(tmp_path / "bad.mp4")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
