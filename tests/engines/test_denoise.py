"""Speech clean-up (``denoise``): both backends on synthetic speech in noise, formats, errors, cancellation."""
from __future__ import annotations

import argparse
import json
import wave
from pathlib import Path

import numpy as np
import pytest

from engines.audio import DENOISE
from engines.audio.deepfilter import Resampler
from engines.audio.denoise import Blocks, DenoiseRequest, add_cli
from engines.audio_io import AudioClip, read_wav, write_wav
from engines.base import EngineConfig
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia

BACKENDS = ("lite", "neural")


# --------------------------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------------------------
def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    estimate, reference = estimate - estimate.mean(), reference - reference.mean()
    target = np.dot(estimate, reference) / np.dot(reference, reference) * reference
    return float(10 * np.log10(np.sum(target ** 2) / max(np.sum((estimate - target) ** 2), 1e-20)))


def vowels(rate: int, seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Speech-like fallback: gliding-pitch harmonic 'syllables' with formant peaks and short pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 130 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    out = np.zeros_like(t)
    for k in range(1, int(3800 / 160)):
        formants = sum(np.exp(-0.5 * ((k * f0 - f) / 120) ** 2) for f in (700, 1200, 2600))
        out += (0.2 + formants) / k * np.sin(k * phase + rng.uniform(0, 6))
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t) * 1.5, 0, 1) ** 0.5
    return 0.2 * out * envelope / np.abs(out).max()


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    """A spoken sentence (eSpeak NG, offline) at 22.05 kHz, else synthetic vowels."""
    try:
        from engines.speech import REGISTRY, SpeechRequest

        result = REGISTRY.create().run(SpeechRequest(text="Please remember to bring the blue folder to the "
                                                          "meeting tomorrow morning.", sample_rate=22050))
        x = result.clip.samples[0].astype(np.float64)
    except Exception:  # pragma: no cover - eSpeak missing
        x = vowels(22050)
    return 0.3 * x / np.abs(x).max(), 22050


def coloured(n: int, rate: int, beta: float, seed: int) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    y = np.fft.irfft(spectrum / np.maximum(np.fft.rfftfreq(n, 1 / rate), 50.0) ** (beta / 2), n)
    return y / y.std()


def babble(clean: np.ndarray, seed: int, talkers: int = 20) -> np.ndarray:
    """Many-talker babble: the sentence summed with itself at random shifts."""
    rng = np.random.default_rng(seed)
    y = sum(np.roll(clean, int(rng.integers(len(clean) // 8, len(clean)))) for _ in range(talkers))
    return y / y.std()


def mixture(clean: np.ndarray, rate: int, kind: str, snr_db: float, seed: int = 1) -> np.ndarray:
    noise = {"white": lambda: np.random.default_rng(seed).standard_normal(len(clean)),
             "pink": lambda: coloured(len(clean), rate, 1.0, seed), "babble": lambda: babble(clean, seed)}[kind]()
    return clean + noise * np.sqrt(np.mean(clean ** 2) / 10 ** (snr_db / 10))


def save(path: Path, samples: np.ndarray, rate: int) -> Path:
    return write_wav(path, AudioClip(np.atleast_2d(samples).astype(np.float32), rate))


@pytest.fixture(scope="module")
def engines():
    made = {}
    for name in BACKENDS:
        made[name] = DENOISE.create(EngineConfig(backend=name))
        made[name].load()
    yield made
    for engine in made.values():
        engine.unload()


def clean_file(engine, src: Path, out: Path, **kw):
    result = engine.run(DenoiseRequest(src, out, **kw))
    return result, read_wav(out)


# --------------------------------------------------------------------------------------------------------------
# Quality
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind,snr_db,gain_db", [("white", 0, 6.0), ("white", 10, 3.0), ("pink", 0, 4.0),
                                                 ("pink", 10, 1.5), ("babble", 0, 0.5), ("babble", 10, 0.0)])
def test_si_sdr_improves(engines, speech, tmp_path, backend, kind, snr_db, gain_db):
    x, rate = speech
    noisy = mixture(x, rate, kind, snr_db)
    result, out = clean_file(engines[backend], save(tmp_path / "noisy.wav", noisy, rate), tmp_path / "out.wav")
    assert out.sample_rate == result.sample_rate == rate and out.channels == result.channels == 1
    assert out.samples.shape[1] == len(x)
    before, after = si_sdr(noisy, x), si_sdr(out.samples[0].astype(np.float64), x)
    assert after - before >= gain_db, f"{backend} {kind} {snr_db} dB: {before:.2f} → {after:.2f}"
    assert result.rtf > 0 and np.isfinite(result.noise_floor_db) and result.as_dict()["backend"] == backend


def test_lite_leaves_clean_speech_alone(engines, speech, tmp_path):
    x, rate = speech
    src = save(tmp_path / "clean.wav", x, rate)
    decoded = read_wav(src).samples[0].astype(np.float64)
    result, out = clean_file(engines["lite"], src, tmp_path / "out.wav")
    assert si_sdr(out.samples[0].astype(np.float64), x) - si_sdr(decoded, x) >= 0.0
    assert result.applied == 0.0 and any("clean" in note for note in result.notes)


def test_strength_zero_is_a_copy(engines, speech, tmp_path):
    x, rate = speech
    src = save(tmp_path / "noisy.wav", mixture(x, rate, "white", 0), rate)
    for name, engine in engines.items():
        _, out = clean_file(engine, src, tmp_path / f"{name}.wav", strength=0.0)
        assert np.array_equal(out.samples, read_wav(src).samples), name


def test_neural_delay_is_compensated(engines, speech, tmp_path):
    from scipy.signal import correlate

    x, rate = speech
    for r in (48000, rate):
        y = np.interp(np.arange(int(len(x) * r / rate)) * rate / r, np.arange(len(x)), x) if r != rate else x
        noisy = mixture(y, r, "white", 20)
        _, out = clean_file(engines["neural"], save(tmp_path / f"in{r}.wav", noisy, r), tmp_path / "out.wav")
        lag = int(np.argmax(correlate(out.samples[0], noisy, mode="full", method="fft"))) - (len(noisy) - 1)
        assert abs(lag) <= r // 1000, f"{lag} samples at {r} Hz"
    assert engines["neural"].delay == 1440


# --------------------------------------------------------------------------------------------------------------
# Formats and channels
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_stereo_and_8khz(engines, speech, tmp_path, backend):
    x, rate = speech
    stereo = np.stack([mixture(x, rate, "white", 0, seed=2), mixture(0.7 * x, rate, "pink", 0, seed=3)])
    result, out = clean_file(engines[backend], save(tmp_path / "st.wav", stereo, rate), tmp_path / "st_out.wav",
                             sample_format="s16")
    assert out.channels == result.channels == 2 and out.samples.shape[1] == len(x)
    for c in range(2):
        assert si_sdr(out.samples[c].astype(np.float64), x) - si_sdr(stereo[c], x) > 3.0
    low = np.interp(np.arange(int(len(x) * 8000 / rate)) * rate / 8000, np.arange(len(x)), x)
    noisy = mixture(low, 8000, "white", 0)
    result, out = clean_file(engines[backend], save(tmp_path / "8k.wav", noisy, 8000), tmp_path / "8k_out.wav")
    assert out.sample_rate == 8000 and out.samples.shape == (1, len(low))
    assert si_sdr(out.samples[0].astype(np.float64), low) - si_sdr(noisy, low) > 3.0


def test_many_channels_and_downmix(engines, tmp_path):
    x = np.random.default_rng(0).standard_normal((8, 8000 * 2)) * 0.05
    path = tmp_path / "71.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(8), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes((x.T * 32767).astype("<i2").tobytes())
    result, out = clean_file(engines["lite"], path, tmp_path / "o.wav")
    assert out.channels == 8 and not result.downmixed
    result, out = clean_file(engines["lite"], path, tmp_path / "o.wav", mono=True)
    assert out.channels == 1 and result.downmixed and "downmixed" in result.notes[0]


def test_video_with_audio(engines, make_clip, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=1.0)
    result, out = clean_file(engines["lite"], clip, tmp_path / "clip.wav")
    assert out.channels == 1 and out.sample_rate == result.sample_rate and abs(result.duration_s - 1.0) < 0.1


# --------------------------------------------------------------------------------------------------------------
# Errors and cancellation
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_inputs(engines, make_clip, speech, tmp_path, backend):
    engine = engines[backend]
    silent = make_clip(tmp_path / "silent.mp4", seconds=0.5, audio=None)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(np.random.default_rng(0).bytes(4000))
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"")
    for bad in (silent, junk, empty, tmp_path / "missing.wav"):
        with pytest.raises(InvalidMedia):
            engine.run(DenoiseRequest(bad, tmp_path / "out.wav"))
    good = save(tmp_path / "good.wav", speech[0], speech[1])
    for request in (DenoiseRequest(good, tmp_path / "o.mp3"), DenoiseRequest(good, good),
                    DenoiseRequest(good, tmp_path / "o.wav", strength=1.5),
                    DenoiseRequest(good, tmp_path / "o.wav", sample_format="f64")):
        with pytest.raises(InvalidInput):
            engine.run(request)
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancel_mid_file_leaves_nothing(engines, tmp_path, backend):
    rate = 8000
    src = save(tmp_path / "long.wav", mixture(vowels(rate, 24.0), rate, "white", 5), rate)
    seen: list[float] = []
    ctx = CallbackContext(lambda f, msg: (seen.append(f), f > 0.2 and ctx.cancel()))
    with pytest.raises(Cancelled):
        engines[backend].run(DenoiseRequest(src, tmp_path / "out.wav"), ctx)
    assert 0.2 < max(seen) < 1.0
    assert not (tmp_path / "out.wav").exists() and not list(tmp_path.glob(".*.part"))


# --------------------------------------------------------------------------------------------------------------
# Pieces and command line
# --------------------------------------------------------------------------------------------------------------
def test_blocks_and_resampler_are_seamless():
    from scipy.signal import resample_poly

    x = np.random.default_rng(0).standard_normal((2, 8000 * 25)).astype(np.float32)
    blocks, out = Blocks(lambda seg: seg, 8000), []
    for i in range(0, x.shape[1], 999):
        out += blocks.push(x[:, i:i + 999])
    assert np.array_equal(np.concatenate(out + blocks.finish(), axis=1), x)
    for src, dst in ((22050, 48000), (48000, 8000)):
        r = Resampler(src, dst, 2)
        y = np.concatenate([r.push(x[:, i:min(i + 777, 30000)]) for i in range(0, 30000, 777)] + [r.flush()],
                           axis=1)
        assert np.allclose(y, resample_poly(x[:, :30000], r.up, r.down, axis=1), atol=1e-5)


def test_cli(speech, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers(dest="command"))
    src = save(tmp_path / "in.wav", mixture(*speech, "white", 5), speech[1])
    args = parser.parse_args(["denoise", str(src), str(tmp_path / "out.wav"), "--strength", "0.8", "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["parameters"]["strength"] == 0.8
    args = parser.parse_args(["denoise", str(tmp_path / "nope.wav"), str(tmp_path / "out2.wav")])
    assert args.func(args) == 2 and "not found" in capsys.readouterr().err
