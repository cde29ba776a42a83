"""The lite music engine: exact-length seamless loops, level, determinism, key, tempo, errors, CLI.

The measurements (pitch-class energy, onset-autocorrelation tempo) are written here from scratch with numpy and
scipy, independently of ``engines.music.analysis``.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from engines.audio_io import AudioClip, read_wav, write_wav
from engines.base import EngineConfig
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput
from engines.music import REGISTRY, AlgorithmicComposer, MusicRequest, MusicResult, parse_key
from engines.music.__main__ import main as cli
from engines.music.compose import SCALES, fit_bars, progression_slots

ROOT = Path(__file__).resolve().parents[2]


def compose(**kwargs) -> MusicResult:
    kwargs.setdefault("duration_s", 8.0)
    return AlgorithmicComposer().run(MusicRequest(**kwargs))


# --------------------------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------------------------
def pitch_class_energy(x: np.ndarray, sr: int) -> np.ndarray:
    """Energy per pitch class (C=0) from one long FFT, 60 Hz–2 kHz."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    keep = (freqs > 60) & (freqs < 2000)
    pcs = (np.round(12 * np.log2(freqs[keep] / 440.0)).astype(int) + 9) % 12
    energy = np.bincount(pcs, weights=spec[keep], minlength=12)
    return energy / energy.sum()


def scale_share(energy: np.ndarray, tonic: int, mode: str) -> float:
    return float(sum(energy[(tonic + i) % 12] for i in SCALES[mode]))


def onset_autocorrelation(x: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """Autocorrelation (normalised) of a log-spectral-flux onset envelope with 5 ms frames, and the frame rate."""
    hop = sr // 200
    _, _, spec = signal.stft(x, sr, nperseg=1024, noverlap=1024 - hop)
    flux = np.maximum(0.0, np.diff(np.log1p(100 * np.abs(spec)), axis=1)).sum(axis=0)
    flux -= flux.mean()
    ac = np.correlate(flux, flux, "full")[len(flux) - 1:]
    return ac / ac[0], sr / hop


def peak_tempo(ac: np.ndarray, frame_rate: float, lo: float, hi: float) -> float:
    """Tempo of the strongest autocorrelation peak between ``lo`` and ``hi`` BPM (parabolic interpolation)."""
    lags = np.arange(int(60 * frame_rate / hi), int(math.ceil(60 * frame_rate / lo)) + 1)
    k = int(lags[np.argmax(ac[lags])])
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    return 60 * frame_rate / (k + 0.5 * (a - c) / (a - 2 * b + c))


def dbfs(x: float) -> float:
    return 20 * math.log10(x)


# --------------------------------------------------------------------------------------------------------------
# Length, channels, level
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("duration, sr, loop", [(7.3, 32000, True), (1.0, 32000, True), (12.345, 32000, True),
                                                (5.5, 44100, False), (3.21, 22050, True)])
def test_exact_length_stereo_float32(duration, sr, loop):
    result = compose(prompt="hopeful", duration_s=duration, sample_rate=sr, loop=loop, seed=1)
    clip = result.clip
    assert isinstance(clip, AudioClip) and clip.sample_rate == sr
    assert clip.samples.shape == (2, round(duration * sr))
    assert clip.samples.dtype == np.float32 and np.all(np.isfinite(clip.samples))
    assert result.parameters["samples"] == round(duration * sr)
    assert not np.allclose(clip.samples[0], clip.samples[1])  # a real stereo image, not a copied channel


@pytest.mark.parametrize("prompt", ["upbeat pop", "tense strings", "calm ambient", "chill lofi", "epic action"])
def test_peak_is_minus_one_dbfs_and_loudness_sensible(prompt):
    samples = compose(prompt=prompt, duration_s=10, seed=2).clip.samples
    peak = float(np.abs(samples).max())
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    assert peak <= 1.0
    assert dbfs(peak) == pytest.approx(-1.0, abs=0.05)
    assert -18.0 <= dbfs(rms) <= -12.0


def test_deterministic_per_seed_and_different_across_seeds():
    a = compose(prompt="warm acoustic", seed=5, duration_s=6)
    b = compose(prompt="warm acoustic", seed=5, duration_s=6)
    c = compose(prompt="warm acoustic", seed=6, duration_s=6)
    assert np.array_equal(a.clip.samples, b.clip.samples) and a.parameters == b.parameters
    assert not np.allclose(a.clip.samples, c.clip.samples)
    # Even with key and tempo fixed, the seed changes the music (progression, melody, voicing).
    d = compose(prompt="x", key="D", tempo_bpm=100, seed=1, duration_s=6)
    e = compose(prompt="x", key="D", tempo_bpm=100, seed=2, duration_s=6)
    assert np.abs(d.clip.samples - e.clip.samples).mean() > 0.01


# --------------------------------------------------------------------------------------------------------------
# Key and tempo are audible
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prompt, seed", [("", 0), ("upbeat pop", 1), ("tense strings", 2), ("chill lofi", 3)])
def test_chroma_matches_the_chosen_key_minor_vs_major(prompt, seed):
    shares = {}
    for key in ("Am", "A"):
        result = compose(prompt=prompt, key=key, duration_s=10, seed=seed)
        tonic, mode = parse_key(result.parameters["key"])
        assert (tonic, mode) == parse_key(key) and result.parameters["mode"] == mode
        energy = pitch_class_energy(result.clip.mono(), result.clip.sample_rate)
        own, tritone = scale_share(energy, tonic, mode), scale_share(energy, (tonic + 6) % 12, mode)
        assert own > 0.7 and own > tritone + 0.2, (key, own, tritone)
        shares[key] = (scale_share(energy, 9, "minor"), scale_share(energy, 9, "major"))
    assert shares["Am"][0] > shares["Am"][1]  # the minor bed sounds more A minor than A major ...
    assert shares["A"][1] > shares["A"][0]  # ... and the major one the other way round


@pytest.mark.parametrize("kwargs", [dict(prompt="hopeful pop", tempo_bpm=96, seed=1),
                                    dict(prompt="funky groove", seed=3),
                                    dict(prompt="chill lofi beat", seed=4),
                                    dict(prompt="energetic rock", seed=2),
                                    dict(prompt="tense thriller", tempo_bpm=140, seed=5)])
def test_tempo_is_detectable_from_the_onset_envelope(kwargs):
    result = compose(duration_s=16, **kwargs)
    tempo = result.parameters["tempo_bpm"]
    assert result.parameters["instruments"]["drums"]
    ac, frame_rate = onset_autocorrelation(result.clip.mono(), result.clip.sample_rate)
    # Within the octave around the claimed tempo the onsets repeat exactly at it ...
    assert peak_tempo(ac, frame_rate, tempo / math.sqrt(2), tempo * math.sqrt(2)) == pytest.approx(tempo, abs=3)
    # ... and the strongest periodicity anywhere in 50-200 BPM is that tempo up to an octave (beat or bar half).
    found = peak_tempo(ac, frame_rate, 50, 200)
    assert min(abs(found * m - tempo) for m in (0.5, 1, 2)) <= 3
    if "tempo_bpm" in kwargs:  # a requested tempo is kept within a few per cent so the loop is whole bars
        assert abs(tempo / kwargs["tempo_bpm"] - 1) < 0.1


# --------------------------------------------------------------------------------------------------------------
# Loops and endings
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prompt, duration, seed", [("upbeat pop", 7.3, 0), ("calm ambient strings", 9.0, 1),
                                                    ("funky", 5.0, 2), ("sad piano", 11.0, 3)])
def test_loop_seam_is_click_free(prompt, duration, seed):
    result = compose(prompt=prompt, duration_s=duration, seed=seed, loop=True)
    x = result.clip.samples.astype(np.float64)
    sr = result.clip.sample_rate
    body = np.abs(np.diff(x, axis=1)).max(axis=0)
    seam = float(np.abs(x[:, 0] - x[:, -1]).max())
    assert seam <= np.percentile(body, 99.5), (seam, np.percentile(body, 99.5))
    # No fade-out/fade-in dip either: the level just before the end matches the level just after the start.
    win = int(0.1 * sr)
    before, after = np.sqrt(np.mean(x[:, -win:] ** 2)), np.sqrt(np.mean(x[:, :win] ** 2))
    overall = np.sqrt(np.mean(x ** 2))
    assert before > 0.2 * overall and after > 0.2 * overall
    # Played twice in a row it is one continuous piece: the spliced pair has no jump larger than its body.
    twice = np.concatenate([x, x], axis=1)
    assert np.abs(np.diff(twice, axis=1)).max() == pytest.approx(np.abs(np.diff(x, axis=1)).max(), rel=0.05)


def test_loop_is_a_whole_number_of_bars_of_the_reported_tempo():
    for duration in (7.3, 20.0, 33.3):
        p = compose(prompt="upbeat", duration_s=duration, seed=1).parameters
        bars = p["bars"]
        assert bars == int(bars) and bars >= 1
        assert bars * 4 * 60.0 / p["tempo_bpm"] == pytest.approx(duration, abs=1e-3)


def test_a_bed_that_does_not_loop_ends_on_the_tonic_and_fades_out():
    result = compose(prompt="hopeful", duration_s=9.0, seed=3, loop=False, key="G", tempo_bpm=100)
    x = result.clip.samples.astype(np.float64)
    sr = result.clip.sample_rate
    assert result.parameters["tempo_bpm"] == 100  # no nudging without a loop
    tail = np.sqrt(np.mean(x[:, -int(0.02 * sr):] ** 2))
    assert tail < 0.05 * np.sqrt(np.mean(x ** 2))
    # The last bar holds a G chord: its pitch-class energy is mostly G, B and D.
    last_bar = x.mean(axis=0)[-int(2.4 * 60 / 100 * sr):]
    energy = pitch_class_energy(last_bar, sr)
    assert energy[[7, 11, 2]].sum() > 0.6


# --------------------------------------------------------------------------------------------------------------
# Words → parameters
# --------------------------------------------------------------------------------------------------------------
def test_parameters_report_everything_chosen():
    p = compose(prompt="tense strings", duration_s=12, seed=3).parameters
    assert p["style"] == "tense" and p["mode"] in ("minor", "dorian")
    assert p["instruments"]["pad"] == "strings"
    assert 40 <= p["tempo_bpm"] <= 220 and p["bars"] >= 1
    assert len(p["progression_chords"]) == 4 and "–" in p["progression"]
    assert p["progression"].split("–")[0].lower().startswith(("i", "v"))
    assert set(p["instruments"]) == {"pad", "lead", "bass", "drums"}
    json.dumps(p)  # JSON-safe for job rows


@pytest.mark.parametrize("mood, modes", [("hopeful", {"major", "mixolydian"}), ("happy", {"major", "mixolydian"}),
                                         ("warm", {"major", "mixolydian"}), ("sad", {"minor", "dorian"}),
                                         ("dark", {"minor", "dorian"}), ("tense", {"minor", "dorian"})])
def test_mood_words_choose_major_or_minor(mood, modes):
    for seed in range(3):
        assert compose(mood=mood, duration_s=2, seed=seed).parameters["mode"] in modes


def test_instrument_words_and_explicit_settings_win():
    p = compose(prompt="upbeat pop with bells, no drums", duration_s=3, seed=1).parameters
    assert p["instruments"]["lead"] == "bell" and p["instruments"]["drums"] is None
    p = compose(prompt="sad piano in E minor", duration_s=3, seed=1).parameters
    assert p["key"] == "Em" and p["instruments"]["lead"] == "keys"
    p = compose(prompt="happy", key="F#m", tempo_bpm=90, duration_s=4, seed=1, loop=False).parameters
    assert p["key"] == "F#m" and p["mode"] == "minor" and p["tempo_bpm"] == 90
    assert compose(prompt="jazz 130 bpm", duration_s=3, seed=1, loop=False).parameters["tempo_bpm"] == 130


def test_reference_melody_gives_key_and_tempo(tmp_path):
    sr, bpm = 16000, 100
    beat = 60.0 / bpm
    notes = [57, 60, 64, 60, 62, 65, 69, 65, 64, 67, 71, 67, 57, 60, 64, 69] * 2  # A minor arpeggios
    x = np.zeros(int(len(notes) * beat * sr) + sr)
    t = np.arange(int(beat * sr)) / sr
    for i, m in enumerate(notes):
        f = 440 * 2 ** ((m - 69) / 12)
        tone = (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) * np.exp(-t / 0.25)
        tone[:16] *= np.linspace(0, 1, 16)
        start = int(i * beat * sr)
        x[start:start + len(tone)] += tone
    path = write_wav(tmp_path / "melody.wav", AudioClip(0.5 * x / np.abs(x).max(), sr))
    p = compose(prompt="", melody=path, duration_s=9.6, seed=1).parameters
    assert p["reference"]["key"] == "Am" and p["key"] == "Am"
    assert p["reference"]["tempo_bpm"] == pytest.approx(bpm, abs=3)
    assert p["requested_tempo_bpm"] == pytest.approx(bpm, abs=3)


# --------------------------------------------------------------------------------------------------------------
# Errors, progress, cancellation, files
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(duration_s=0.5), "Duration"), (dict(duration_s=601), "Duration"), (dict(duration_s=float("nan")), "Duration"),
    (dict(tempo_bpm=30), "Tempo"), (dict(tempo_bpm=300), "Tempo"), (dict(key="H"), "Key"), (dict(key="C minorish"), "Key"),
    (dict(key="C##"), "Key"), (dict(prompt="x" * 1001), "prompt"), (dict(seed=-1), "Seed"),
    (dict(sample_rate=1000), "Sample rate"), (dict(melody=Path("/nonexistent/tune.wav")), "does not exist"),
])
def test_invalid_requests_raise_invalid_input(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        AlgorithmicComposer().run(MusicRequest(**kwargs))


def test_unusable_melody_files_raise_invalid_input(tmp_path):
    with pytest.raises(InvalidInput, match="not a file"):
        compose(melody=tmp_path)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        compose(melody=empty)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 100)
    with pytest.raises(InvalidInput, match="junk.wav"):
        compose(melody=junk)


def test_keys_parse():
    assert parse_key("C") == (0, "major") and parse_key("F#m") == (6, "minor") and parse_key("Bb") == (10, "major")
    assert parse_key("ebm") == (3, "minor") and parse_key("D dorian") == (2, "dorian")
    assert parse_key("G mixolydian") == (7, "mixolydian") and parse_key("Ab major") == (8, "major")


def test_progress_per_bar_and_cancellation():
    seen: list[tuple[float, str]] = []
    result = AlgorithmicComposer().run(MusicRequest(prompt="pop", duration_s=8, seed=1),
                                       CallbackContext(lambda f, m: seen.append((f, m))))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    bars = result.parameters["bars"]
    assert sum(m.startswith("bar ") for _, m in seen) == bars and ("bar %d/%d" % (bars, bars)) in [m for _, m in seen]

    ctx = CallbackContext()
    reports = []

    def on_report(f, m):
        reports.append(m)
        if m.startswith("bar 2/"):
            ctx.cancel()

    ctx._on_report = on_report
    with pytest.raises(Cancelled):
        AlgorithmicComposer().run(MusicRequest(prompt="pop", duration_s=30, seed=1), ctx)
    assert not any(m.startswith("bar 4/") for m in reports)  # stopped at the next check, not at the end


def test_wav_round_trip(tmp_path):
    result = compose(prompt="chill", duration_s=7.3, seed=4)
    path = write_wav(tmp_path / "bed.wav", result.clip)
    back = read_wav(path)
    assert back.sample_rate == 32000 and back.samples.shape == result.clip.samples.shape
    assert np.abs(back.samples - result.clip.samples).max() < 2e-4


def test_fit_bars_and_progression_slots():
    for duration in (1.0, 7.3, 13.0, 30.0, 61.7, 600.0):
        for tempo in (40, 72, 120, 180, 220):
            bars, played = fit_bars(duration, tempo, loop=True)
            assert bars * 240.0 / played == pytest.approx(duration)
            assert 34 <= played <= 242
            if duration >= 13.0:
                assert abs(played / tempo - 1) <= 0.16
    for n in range(1, 14):
        slots = progression_slots(n)
        assert len(slots) == n and slots[0] == 0 and (n == 1 or slots[-1] == 3)
        assert all(b >= a or (a == 3 and b == 0) for a, b in zip(slots, slots[1:]))


# --------------------------------------------------------------------------------------------------------------
# Registry and CLI
# --------------------------------------------------------------------------------------------------------------
def test_registry_has_lite_and_neural():
    assert REGISTRY.names() == ["lite", "neural"]
    assert isinstance(REGISTRY.create(), AlgorithmicComposer)
    assert REGISTRY.info("neural").requires == ("transformers", "torch")
    if not REGISTRY.info("neural").missing():
        engine = REGISTRY.create(EngineConfig(backend="neural"))
        assert type(engine).heavy is True and type(engine).name == "neural"


def test_importing_the_engine_imports_no_torch():
    code = ("import sys, engines.music, engines.music.neural; "
            "print([m for m in ('torch', 'transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cli_writes_a_bed(tmp_path, capsys):
    out = tmp_path / "bed.wav"
    assert cli(["compose", "--prompt", "tense strings", "--duration", "6", "--seed", "3", "--out", str(out),
                "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["parameters"]["instruments"]["pad"] == "strings" and summary["out"] == str(out)
    assert read_wav(out).samples.shape == (2, 6 * 32000)
    assert cli(["compose", "--prompt", "calm", "--duration", "3", "--key", "D", "--no-loop"]) == 0
    text = capsys.readouterr().out
    assert "D" in text and "progression:" in text


def test_cli_reports_errors_in_one_line(capsys):
    assert cli(["compose", "--duration", "0.2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Duration") and "\n" not in err
    assert cli(["compose", "--key", "Z#"]) == 2
