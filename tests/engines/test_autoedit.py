"""Auto rough cut: silences cut with margins, short pauses kept, exports parse back, render and cancel."""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from engines.autoedit import (
    REGISTRY,
    AutoEditRequest,
    Clip,
    Timeline,
    frames_to_tc,
    plan_cuts,
    read_edl,
    read_fcpxml,
    render_mp4,
    tc_to_frames,
    write_edl,
    write_fcpxml,
    write_otio,
)
from engines.autoedit.timeline import frame_rate, timebase
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia
from engines.media import probe, read_audio
from tests.media_factory import write_av_clip, write_clip

ROOT = Path(__file__).resolve().parents[2]
FPS = 25
RATE = 48000
#: "Speech" tone bursts (seconds) separated by silences of 1.0 (lead), 0.3, 1.5, 2.0 and 1.0 (tail).
BURSTS = [(1.0, 2.0), (2.3, 3.0), (4.5, 5.5), (7.5, 8.5)]
LENGTH = 9.5
MARGIN = 0.2
# Expected kept ranges: the 0.3 s pause stays, the others are cut leaving the margins.
EXPECTED = [(0.8, 3.2), (4.3, 5.7), (7.3, 8.7)]


def write_talk(path: Path) -> Path:
    t = np.arange(int(LENGTH * RATE)) / RATE
    samples = np.zeros_like(t, dtype=np.float32)
    for k, (a, b) in enumerate(BURSTS):
        sel = (t >= a) & (t < b)
        samples[sel] = 0.4 * np.sin(2 * np.pi * (300 + 100 * k) * t[sel])
    return write_av_clip(path, samples, rate=RATE, size=(96, 64), fps=FPS, preset="ultrafast")


@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> Path:
    return write_talk(tmp_path_factory.mktemp("autoedit") / "talk.mp4")


@pytest.fixture(scope="module")
def result(talk):
    return REGISTRY.create().run(AutoEditRequest(media=talk, margin_s=MARGIN))


# --------------------------------------------------------------------------------------------------------------
# Timecode and planning (pure)
# --------------------------------------------------------------------------------------------------------------
def test_timecode_round_trips_and_ntsc_is_non_drop_at_30():
    assert frames_to_tc(0, 25) == "00:00:00:00"
    assert frames_to_tc(25 * 3600 + 26, 25) == "01:00:01:01"
    assert frame_rate(29.97) == Fraction(30000, 1001) and timebase(29.97) == 30
    assert frames_to_tc(30 * 60, 29.97) == "00:01:00:00"
    for n in (0, 1, 29, 30, 107892, 3 * 3600 * 24 + 5):
        for fps in (23.976, 24, 25, 29.97, 50, 59.94):
            assert tc_to_frames(frames_to_tc(n, fps), fps) == n


def test_plan_cuts_rules():
    fps = 25
    sound = np.zeros(250, bool)
    sound[50:75] = sound[80:100] = True  # 0.2 s pause: kept
    sound[150:151] = True  # a click: 1 + 2 × 5 margin frames < min_clip: dropped
    sound[200:225] = True
    ranges = plan_cuts(sound, fps, margin_s=0.2, min_clip_s=0.5, min_silence_s=0.5)
    assert ranges == [(45, 105), (195, 230)]
    # snapping moves boundaries outwards only
    snapped = plan_cuts(sound, fps, margin_s=0.2, min_clip_s=0.5, min_silence_s=0.5, shots=(1.72, 4.32, 6.0, 9.4),
                        snap_s=0.3)
    assert snapped == [(43, 108), (195, 235)]  # 6.0 s is too far from any boundary
    assert plan_cuts(np.zeros(100, bool), fps) == []


def test_timeline_dict_round_trip():
    tl = Timeline("t", 25.0, 96, 64, [Clip("a.mp4", 0.4, 1.0), Clip("a.mp4", 2.0, 3.0, enabled=False)])
    assert Timeline.from_dict(json.loads(json.dumps(tl.as_dict()))) == tl
    assert tl.duration == pytest.approx(0.6) and tl.record_times() == [(0.0, 0.6)]


# --------------------------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------------------------
def test_silences_are_cut_with_margins_and_short_pause_kept(result):
    tl = result.timeline
    got = [(c.src_in, c.src_out) for c in tl.clips]
    assert len(got) == len(EXPECTED), got
    tol = 1.0 / FPS + 0.03  # one frame plus AAC priming
    for (a, b), (ea, eb) in zip(got, EXPECTED):
        assert abs(a - ea) <= tol and abs(b - eb) <= tol, (got, EXPECTED)
    # no boundary inside a burst, and every burst has its margin kept
    for a, b in got:
        for s, e in BURSTS:
            assert not (s < a < e) and not (s < b < e)
    for s, e in BURSTS:
        assert any(a <= s - MARGIN + tol and b >= e + MARGIN - tol for a, b in got)
    assert result.kept_s == pytest.approx(sum(eb - ea for ea, eb in EXPECTED), abs=3 * tol)
    assert result.kept_s + result.removed_s == pytest.approx(LENGTH, abs=0.1)
    assert all(0 <= c.score <= 1 for c in tl.clips) and max(c.score for c in tl.clips) > 0.5
    assert -60 <= result.parameters["threshold_db"] <= -20


def test_fixed_threshold_and_shot_snapping(talk):
    res = REGISTRY.create().run(AutoEditRequest(media=talk, silence_db=-40, shots=(4.2, 8.88), highlights=False))
    got = [(round(c.src_in, 2), round(c.src_out, 2)) for c in res.timeline.clips]
    assert got[1][0] == pytest.approx(4.2, abs=0.01) and got[2][1] == pytest.approx(8.88, abs=0.01)
    assert res.timeline.clips[0].score is None


def test_bad_inputs_give_clear_errors(tmp_path, talk):
    silent_video = write_clip(tmp_path / "mute.mp4", audio=None, seconds=1.0)
    with pytest.raises(InvalidMedia, match="has no audio: nothing to cut on silence"):
        REGISTRY.create().run(AutoEditRequest(media=silent_video))
    with pytest.raises(InvalidInput):
        REGISTRY.create().run(AutoEditRequest(media=talk, margin_s=-1))


# --------------------------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------------------------
def test_edl_parses_back(result, tmp_path):
    path = tmp_path / "cut.edl"
    write_edl(result.timeline, path)
    text = path.read_text()
    assert text.startswith("TITLE: ") and "FCM: NON-DROP FRAME" in text and "* FROM CLIP NAME: talk.mp4" in text
    assert read_edl(path, fps=FPS) == result.timeline.frame_ranges()
    import opentimelineio as otio  # with the otio-cmx3600-adapter plugin (requirements-dev.txt)

    tl = otio.adapters.read_from_file(str(path), rate=FPS)
    clips = list(tl.video_tracks()[0].find_clips())
    assert len(clips) == len(result.timeline.clips)
    assert [(c.source_range.start_time.to_frames(), c.source_range.end_time_exclusive().to_frames())
            for c in clips] == result.timeline.frame_ranges()


def test_fcpxml_is_frame_aligned_and_parses_back(result, tmp_path):
    path = tmp_path / "cut.fcpxml"
    write_fcpxml(result.timeline, path)
    doc = read_fcpxml(path)
    assert doc["version"] == "1.9" and doc["frame_duration"] == Fraction(1, FPS)
    assert list(doc["assets"].values()) == [Path(result.timeline.clips[0].source).as_uri()]
    fd = doc["frame_duration"]
    for clip in doc["clips"]:
        for key in ("offset", "start", "duration"):
            assert (clip[key] / fd).denominator == 1, (key, clip[key])
    assert [(int(c["start"] / fd), int((c["start"] + c["duration"]) / fd)) for c in doc["clips"]] == \
        result.timeline.frame_ranges()
    assert [int(c["offset"] / fd) for c in doc["clips"]] == [a for a, _ in result.timeline.record_frames()]
    assert doc["sequence_duration"] == result.timeline.duration_frames * fd
    import opentimelineio as otio  # OTIO's own FCPX XML reader (otio-fcpx-xml-adapter) must accept it too

    tl = otio.adapters.read_from_file(str(path), adapter_name="fcpx_xml")
    clips = list(tl.find_clips())
    assert len(clips) == len(result.timeline.clips)
    assert [round(c.source_range.duration.to_seconds() * FPS) for c in clips] == \
        [b - a for a, b in result.timeline.frame_ranges()]


def test_fcpxml_ntsc_uses_1001_rationals(tmp_path):
    tl = Timeline("ntsc", 29.97, 1920, 1080, [Clip("/x/a.mov", 1.0010, 2.5025), Clip("/x/a.mov", 4.0, 5.0)])
    path = tmp_path / "ntsc.fcpxml"
    write_fcpxml(tl, path)
    doc = read_fcpxml(path)
    assert doc["frame_duration"] == Fraction(1001, 30000)
    for clip in doc["clips"]:
        for key in ("offset", "start", "duration"):
            assert (clip[key] / doc["frame_duration"]).denominator == 1
    assert 'frameDuration="1001/30000s"' in path.read_text()


def test_otio_loads_with_same_ranges(result, tmp_path):
    import opentimelineio as otio
    path = tmp_path / "cut.otio"
    write_otio(result.timeline, path)
    tl = otio.adapters.read_from_file(str(path))
    clips = list(tl.video_tracks()[0])
    assert len(clips) == len(result.timeline.clips) == len(list(tl.audio_tracks()[0]))
    got = [(round(c.source_range.start_time.value), round(c.source_range.end_time_exclusive().value)) for c in clips]
    assert got == result.timeline.frame_ranges()
    assert clips[0].media_reference.target_url.startswith("file://")


def test_render_mp4_duration_and_codecs(result, tmp_path):
    path = tmp_path / "cut.mp4"
    reports = []
    render_mp4(result.timeline, path, CallbackContext(lambda f, m: reports.append(f)))
    info = probe(path)
    assert info.video.codec == "h264" and info.audio.codec == "aac"
    assert abs(info.duration_s - result.timeline.duration) <= 1.0 / FPS + 0.03
    assert reports and reports[-1] == 1.0
    # the sound is where the bursts were moved to, and the margins around them are quiet
    audio = read_audio(path, sample_rate=8000)
    rms = lambda a, b: float(np.sqrt(np.mean(audio[int(a * 8000):int(b * 8000)] ** 2)))
    for (s, e), (rec_in, _), clip in zip([BURSTS[0], BURSTS[2], BURSTS[3]], result.timeline.record_times(),
                                         [result.timeline.clips[0], *result.timeline.clips[1:]]):
        at = rec_in + (s - clip.src_in)
        assert rms(at + 0.05, at + 0.3) > 0.1
        assert rms(at - 0.15, at - 0.05) < 0.01
    assert [p.name for p in tmp_path.iterdir()] == ["cut.mp4"]


def test_cancel_mid_render_leaves_nothing(result, tmp_path):
    path = tmp_path / "cancelled.mp4"
    ctx = CallbackContext(lambda f, m: ctx.cancel() if f > 0.2 else None)
    with pytest.raises(Cancelled):
        render_mp4(result.timeline, path, ctx)
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_exports_and_fails_in_one_line(talk, tmp_path):
    edl, otio_path = tmp_path / "c.edl", tmp_path / "c.otio"
    run = subprocess.run([sys.executable, "-m", "engines.autoedit", "cut", str(talk), "--edl", str(edl),
                          "--otio", str(otio_path), "--no-highlights", "--json"],
                         check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert len(summary["clips"]) == len(EXPECTED) and edl.exists() and otio_path.exists()
    bad = subprocess.run([sys.executable, "-m", "engines.autoedit", "cut", str(tmp_path / "missing.mp4")],
                         check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1


def test_window_energy_is_the_same_streamed_in_any_chunking():
    from engines.autoedit.analyse import window_energy
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16000 * 2 + 123).astype(np.float32)
    whole = window_energy([x], 29.97)
    chunked = window_energy(np.split(x, [1, 500, 777, 9000, 20001]), 29.97)
    assert np.allclose(whole, chunked) and whole.size == int(np.ceil(x.size * 30000 / 1001 / 16000))
    assert np.isclose(whole[0], np.mean(x[:534].astype(np.float64) ** 2))
