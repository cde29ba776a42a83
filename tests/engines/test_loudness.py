"""engines.audio.loudness: BS.1770 measurement, normalisation with a true-peak limiter, ducking, the CLI.

Targets are checked with pyloudnorm and true peaks with a 4× ``resample_poly`` written here, independently of the
engine's own measurement code.
"""
from __future__ import annotations

import argparse
import json
import math
import wave
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from engines.audio import LOUDNESS
from engines.audio.loudness import (
    LoudnessRequest,
    add_cli,
    channel_weights,
    duck,
    integrated_loudness,
    loudness_range,
    normalise_video_audio,
)
from engines.audio_io import AudioClip, read_wav, write_wav
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia, ReelsmithError


def lufs(x: np.ndarray, rate: int) -> float:
    return pyloudnorm.Meter(rate).integrated_loudness(np.atleast_2d(x).T.astype(np.float64))


def dbtp(x: np.ndarray) -> float:
    return 20 * math.log10(np.abs(resample_poly(np.atleast_2d(x), 4, 1, axis=1)).max())


def music_like(rate: int, seconds: float, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Tones + noise with a slow level change: a stand-in for a mix."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    body = 0.1 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * 1250 * t)
    body = body * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))
    return np.stack([body + 0.02 * rng.standard_normal(t.size) for _ in range(channels)]).astype(np.float32)


def run(src: Path, out: Path | None, **fields):
    return LOUDNESS.create().run(LoudnessRequest(src, out, **fields))


@pytest.mark.parametrize("target", [-14.0, -23.0])
def test_stereo_normalised_to_target(tmp_path, target):
    src = write_wav(tmp_path / "mix.wav", AudioClip(music_like(48000, 6.0), 48000))
    result = run(src, tmp_path / "out.wav", target_lufs=target)
    original, out = read_wav(src), read_wav(tmp_path / "out.wav")
    assert result.integrated_lufs == pytest.approx(lufs(original.samples, 48000), abs=0.01)
    assert out.sample_rate == 48000 and out.samples.shape == original.samples.shape
    assert abs(lufs(out.samples, 48000) - target) <= 0.5
    assert dbtp(out.samples) <= -1.0 + 0.05
    assert result.out_integrated_lufs == pytest.approx(lufs(out.samples, 48000), abs=0.05)
    assert result.gain_db == pytest.approx(target - result.integrated_lufs, abs=0.5)
    assert json.loads(json.dumps(result.as_dict()))["out"].endswith("out.wav")


def test_hot_peaks_are_limited_under_the_ceiling(tmp_path):
    rate = 44100
    x = music_like(rate, 5.0) * 0.3
    x[:, ::rate // 4] = 0.98  # full-scale spikes on a quiet body: plain gain would clip them by ~20 dB
    x[:, 1::rate // 4] = -0.98
    src = write_wav(tmp_path / "hot.wav", AudioClip(x, rate))
    result = run(src, tmp_path / "hot-out.wav")
    out = read_wav(tmp_path / "hot-out.wav").samples
    assert result.limited and result.true_peak_db > -1.0
    assert dbtp(out) <= -1.0 + 0.02 and result.out_true_peak_db <= -1.0
    assert abs(lufs(out, rate) - (-14.0)) <= 0.5
    # plain pyloudnorm normalisation of the same input overshoots the ceiling
    with pytest.warns(UserWarning, match="clipped"):
        plain = pyloudnorm.normalize.loudness(x.T.astype(np.float64), lufs(x, rate), -14.0).T
    assert dbtp(plain) > 5.0


def test_mono_8khz(tmp_path):
    x = music_like(8000, 3.0, channels=1)
    src = write_wav(tmp_path / "phone.wav", AudioClip(x, 8000))
    result = run(src, tmp_path / "phone-out.wav", target_lufs=-23.0, true_peak_db=-2.0)
    out = read_wav(tmp_path / "phone-out.wav")
    assert out.sample_rate == 8000 and out.channels == 1
    assert abs(lufs(out.samples, 8000) + 23.0) <= 0.5 and dbtp(out.samples) <= -2.0 + 0.05
    assert result.channel_weights == (1.0,) and result.loudness_range is not None


def test_surround_weights_and_own_gating_match_pyloudnorm():
    rate = 48000
    x = music_like(rate, 3.0, channels=2)
    w71 = channel_weights(8)
    assert w71 == (1.0, 1.0, 1.0, 0.0, 1.41, 1.41, 1.41, 1.41)  # FL FR FC LFE BL BR SL SR (FFmpeg ebur128)
    six = np.zeros((6, x.shape[1]), np.float32)  # 5.1 with only FL/FR: the vectorised gating = pyloudnorm stereo
    six[:2] = x
    assert integrated_loudness(six, rate) == pytest.approx(lufs(x, rate), abs=0.01)
    long = music_like(rate, 8.0, channels=2) * np.linspace(0.2, 1.0, 8 * rate, dtype=np.float32)
    meter = pyloudnorm.Meter(rate)
    assert loudness_range(long, rate) == pytest.approx(meter.loudness_range(long.T.astype(np.float64)), abs=0.01)
    eight = np.zeros((8, x.shape[1]), np.float32)
    eight[0] = x[0]
    front = integrated_loudness(eight, rate)
    eight[3] = x[1] * 3  # LFE does not count
    assert integrated_loudness(eight, rate) == pytest.approx(front, abs=0.01)
    eight[0], eight[6] = 0, x[0]  # the same signal in a side channel: +1.5 dB
    assert integrated_loudness(eight, rate) - front == pytest.approx(10 * math.log10(1.41), abs=0.01)


def write_71(path: Path, x: np.ndarray, rate: int) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="7.1")
        for i in range(0, x.shape[1], 1024):
            block = np.ascontiguousarray(x[:, i:i + 1024].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout="7.1")
            frame.sample_rate, frame.pts = rate, i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_71_file_is_measured_and_normalised(tmp_path):
    rate = 48000
    x = np.concatenate([music_like(rate, 2.0, channels=2, seed=s) for s in range(4)]) * 0.5
    result = run(write_71(tmp_path / "71.wav", x, rate), tmp_path / "71-out.wav", target_lufs=-20.0)
    with wave.open(str(tmp_path / "71-out.wav")) as w:  # not read_wav: PyAV's planar frames stop at 8 channels
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
    out = pcm.T.astype(np.float32) / 32767
    assert out.shape == x.shape and result.channel_weights[3] == 0.0
    assert abs(integrated_loudness(out, rate, result.channel_weights) + 20.0) <= 0.5
    assert any("ebur128" in w for w in result.warnings)


def test_bad_inputs_give_clear_errors(tmp_path):
    short = write_wav(tmp_path / "short.wav", AudioClip(music_like(16000, 0.2), 16000))
    with pytest.raises(InvalidMedia, match="0.4 s"):
        run(short, None)
    silent = write_wav(tmp_path / "silent.wav", AudioClip(np.zeros((2, 16000)), 16000))
    with pytest.raises(InvalidMedia, match="silent"):
        run(silent, tmp_path / "x.wav")
    measured = run(silent, None)
    assert measured.as_dict()["integrated_lufs"] is None and "silent" in measured.warnings[-1]
    ok = write_wav(tmp_path / "ok.wav", AudioClip(music_like(16000, 1.0), 16000))
    with pytest.raises(InvalidInput, match="target_lufs"):
        run(ok, tmp_path / "x.wav", target_lufs=5.0)
    with pytest.raises(InvalidInput, match="new file"):
        run(ok, ok)
    with pytest.raises(InvalidInput, match="no video"):
        run(ok, tmp_path / "x.mp4")
    (tmp_path / "notes.wav").write_text("not audio at all")
    with pytest.raises(ReelsmithError):
        run(tmp_path / "notes.wav", None)
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        LOUDNESS.create().run(LoudnessRequest(ok, tmp_path / "x.wav"), ctx)
    assert not (tmp_path / "x.wav").exists()


def test_video_audio_normalised_video_stream_copied(tmp_path, clip_mp4):
    result = normalise_video_audio(clip_mp4, tmp_path / "loud.mp4", target_lufs=-16.0)
    assert abs(result.out_integrated_lufs + 16.0) <= 0.5

    def video_packets(path):
        with av.open(str(path)) as c:
            return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]

    assert video_packets(clip_mp4) == video_packets(tmp_path / "loud.mp4")


def test_duck_lowers_music_under_speech():
    rate = 16000
    t = np.arange(rate * 3) / rate
    music = np.stack([0.3 * np.sin(2 * np.pi * 200 * t)] * 2).astype(np.float32)
    speech = np.zeros(t.size, np.float32)
    speech[rate:2 * rate] = 0.3 * np.sin(2 * np.pi * 500 * t[:rate])
    ducked = duck(music, speech, rate=rate, amount_db=-12.0)
    assert ducked.shape == music.shape

    def level(a, b):
        return 20 * np.log10(np.sqrt(np.mean(ducked[:, int(a * rate):int(b * rate)] ** 2)) / (0.3 / np.sqrt(2)))

    assert level(0.2, 0.8) > -0.5 and level(1.3, 1.9) == pytest.approx(-12.0, abs=1.0)


def test_cli(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers(dest="command"))
    src = write_wav(tmp_path / "a.wav", AudioClip(music_like(22050, 2.0), 22050))
    args = parser.parse_args(["loudness", str(src), "--out", str(tmp_path / "b.wav"), "--target", "-18", "--json"])
    assert args.func(args) == 0
    assert abs(json.loads(capsys.readouterr().out)["out_integrated_lufs"] + 18.0) <= 0.5
    args = parser.parse_args(["loudness", str(tmp_path / "missing.wav")])
    assert args.func(args) == 2 and "error:" in capsys.readouterr().err
