"""Speaker diarization: every backend on eSpeak conversations, the number of speakers, silence, CLI, bad input.

The conversations are made here from two clearly different eSpeak NG voices (a US male and a British female
variant), six alternating utterances with 0.25–0.4 s pauses, at 16 kHz with faint noise. DER is scored on
10 ms frames with a ±0.25 s collar around every reference boundary and the best speaker mapping (as NIST's
md-eval and pyannote.metrics do). Thresholds: both backends score ~0 % on such data in development; one
utterance given to the wrong speaker costs ~17 %, so ``neural`` < 15 % allows no swapped utterance, while
``lite`` < 25 % (MFCC statistics, no model) allows one at most, plus VAD edge differences.
"""
from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from engines.base import EngineConfig
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia, UnsupportedMedia
from engines.transcript.__main__ import main as cli
from engines.transcript.diarize import BACKENDS, REGISTRY, DiarizeRequest, DiarizeResult, Turn
from engines.transcript.diarize.cluster import assign, estimate_speakers, mode_filter

pytest.importorskip("espeakng_loader")
ROOT = Path(__file__).resolve().parents[2]
SR = 16_000
VOICES = ("en-us+m1", "en-gb+f4")
LINES = ["Good morning, and thank you for coming in today.", "Thanks for having me, it is a pleasure to be here.",
         "Tell me how the project started in the first place.", "It began with a small grant and a borrowed camera.",
         "And what was the hardest part of the shoot?", "Without a doubt, the weather on the northern coast."]
MAX_DER = {"lite": 0.25, "neural": 0.15}


def _synthesise(items: list[tuple[str, str]]) -> list[np.ndarray]:
    """eSpeak NG speech at 16 kHz, made in a fresh process (eSpeak keeps state between calls)."""
    code = ("import json, sys, numpy as np\n"
            "from engines.speech import REGISTRY, SpeechRequest\n"
            "e = REGISTRY.create()\n"
            "out = {}\n"
            "for i, (voice, text) in enumerate(json.loads(sys.argv[1])):\n"
            "    request = SpeechRequest(text=text, voice=voice, rate_wpm=160, sample_rate=16000)\n"
            "    out[str(i)] = e.run(request).clip.mono()\n"
            "np.savez(sys.argv[2], **out)\n")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "speech.npz"
        subprocess.run([sys.executable, "-c", code, json.dumps(items), str(target)], cwd=ROOT, check=True,
                       capture_output=True, timeout=120)
        data = np.load(target)
        return [data[str(i)].astype(np.float32) for i in range(len(items))]


def _write(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SR)
        fh.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _join(pieces: list[np.ndarray], who: list[str], seed: int) -> tuple[np.ndarray, list[Turn]]:
    rng = np.random.default_rng(seed)
    parts, ref, t = [np.zeros(SR // 2, np.float32)], [], 0.5
    for piece, name in zip(pieces, who):
        piece = piece / max(1e-6, float(np.abs(piece).max())) * 0.6
        ref.append(Turn(t, t + piece.size / SR, name))
        gap = np.zeros(int(rng.uniform(0.25, 0.4) * SR), np.float32)
        parts += [piece, gap]
        t += (piece.size + gap.size) / SR
    parts.append(np.zeros(SR // 2, np.float32))
    audio = np.concatenate(parts)
    return audio + rng.normal(0, 0.002, audio.size).astype(np.float32), ref


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, tuple[Path, list[Turn]]]:
    folder = tmp_path_factory.mktemp("diarize")
    voices = [VOICES[i % 2] for i in range(len(LINES))]
    speech = _synthesise([(v, line) for v, line in zip(voices, LINES)]
                         + [(VOICES[0], line) for line in LINES[1::2]])
    two, ref2 = _join(speech[:6], ["A" if v == VOICES[0] else "B" for v in voices], seed=1)
    one, ref1 = _join(speech[:6:2] + speech[6:], ["A"] * 6, seed=2)
    silence = np.random.default_rng(3).normal(0, 0.001, 3 * SR).astype(np.float32)
    return {"two": (_write(folder / "two voices.wav", two), ref2),
            "one": (_write(folder / "one voice.wav", one), ref1),
            "silence": (_write(folder / "silence.wav", silence), [])}


@pytest.fixture(scope="module")
def engines():
    loaded = {}
    for name in REGISTRY.available():
        engine = REGISTRY.create(EngineConfig(backend=name))
        engine.load()
        loaded[name] = engine
    yield loaded
    for engine in loaded.values():
        engine.unload()


def der(reference: list[Turn], hypothesis: list[Turn], collar: float = 0.25, step: float = 0.01) -> float:
    """Frame-based diarization error rate (missed + false alarm + confusion) / reference speech."""
    end = max([t.end for t in reference + hypothesis] + [0.0])
    n = int(np.ceil(end / step)) + 1
    times = (np.arange(n) + 0.5) * step
    scored = np.ones(n, bool)
    for t in reference:
        for b in (t.start, t.end):
            scored &= np.abs(times - b) > collar

    def labels(turns: list[Turn]) -> tuple[np.ndarray, list[str]]:
        names = sorted({t.speaker for t in turns})
        out = np.full(n, -1)
        for t in turns:
            out[(times >= t.start) & (times < t.end)] = names.index(t.speaker)
        return out[scored], names

    ref, ref_names = labels(reference)
    hyp, hyp_names = labels(hypothesis)
    total = np.count_nonzero(ref >= 0)
    overlap = np.zeros((len(ref_names), len(hyp_names)))
    for r, h in zip(ref, hyp):
        if r >= 0 and h >= 0:
            overlap[r, h] += 1
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
    correct = overlap[rows, cols].sum() if overlap.size else 0.0
    missed = np.count_nonzero((ref >= 0) & (hyp < 0))
    false_alarm = np.count_nonzero((ref < 0) & (hyp >= 0))
    confusion = np.count_nonzero((ref >= 0) & (hyp >= 0)) - correct
    return float((missed + false_alarm + confusion) / max(total, 1))


def _check_turns(result: DiarizeResult) -> None:
    turns = result.segments
    assert all(0 <= t.start < t.end <= result.duration_s + 1e-6 for t in turns)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(turns, turns[1:]))
    first_seen: list[str] = []
    for t in turns:
        if t.speaker not in first_seen:
            first_seen.append(t.speaker)
    assert first_seen == [f"S{i + 1}" for i in range(len(first_seen))]
    assert result.speakers == len(first_seen)
    assert json.loads(json.dumps(result.as_dict()))["segments"] == [t.as_dict() for t in turns]


# ------------------------------------------------------------------------------------------------------------
# Contract, requests, registry
# ------------------------------------------------------------------------------------------------------------
def test_registry_and_imports_are_cheap():
    assert REGISTRY.default == "lite" and set(BACKENDS) == {"lite", "neural"} <= set(REGISTRY.names())
    code = ("import sys, engines.transcript.diarize; "
            "print([m for m in ('torch', 'sklearn', 'resemblyzer', 'librosa') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_requests_are_checked_and_results_round_trip(tmp_path):
    for bad in ({"speakers": 0}, {"speakers": 2.5}, {"min_speakers": 4, "max_speakers": 2}, {"max_speakers": 99}):
        with pytest.raises(InvalidInput):
            DiarizeRequest(media=tmp_path / "x.wav", **bad)
    result = DiarizeResult([Turn(0.5, 1.25, "S1"), Turn(1.5, 2.0, "S2")], 2, "lite", 0.1, 0.05, 2.0, "silero")
    data = result.as_dict()
    assert data["segments"] == [{"start": 0.5, "end": 1.25, "speaker": "S1"},
                                {"start": 1.5, "end": 2.0, "speaker": "S2"}]
    assert DiarizeResult.from_dict(data).segments == result.segments
    assert list(mode_filter(np.array([0, 0, 1, 0, 0, 1, 1, 1]), 3)) == [0, 0, 0, 0, 0, 1, 1, 1]


def test_clustering_finds_blobs_and_subsamples_large_inputs():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 3
    x = np.concatenate([c + rng.normal(size=(100, 16)) for c in centres])
    truth = np.repeat(np.arange(3), 100)
    k, labels = estimate_speakers(x, max_k=6)
    assert k == 3 and len({(t, label) for t, label in zip(truth, labels)}) == 3
    sub = assign(x, 3, max_ahc=40)  # the tree of 40 windows, then every window to its nearest centroid
    assert len({(t, label) for t, label in zip(truth, sub)}) == 3
    assert estimate_speakers(rng.normal(size=(60, 16)) + 5.0, max_k=4)[0] == 1  # one blob: one speaker


# ------------------------------------------------------------------------------------------------------------
# Every backend on the same conversations
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["lite", "neural"])
def test_backend_tells_two_voices_apart(media, engines, backend):
    if backend not in engines:
        pytest.skip(f"{backend} backend not installed")
    path, ref = media["two"]
    result = engines[backend].run(DiarizeRequest(media=path))
    _check_turns(result)
    assert result.speakers == 2, result.as_dict()  # estimated
    assert der(ref, result.segments) < MAX_DER[backend], result.as_dict()
    assert result.backend == backend and result.rtf > 0 and result.vad
    given = engines[backend].run(DiarizeRequest(media=path, speakers=2))
    assert given.speakers == 2 and der(ref, given.segments) < MAX_DER[backend]
    assert engines[backend].run(DiarizeRequest(media=path, speakers=1)).speakers == 1


@pytest.mark.parametrize("backend", ["lite", "neural"])
def test_one_voice_is_one_speaker_and_silence_is_nobody(media, engines, backend):
    if backend not in engines:
        pytest.skip(f"{backend} backend not installed")
    path, ref = media["one"]
    result = engines[backend].run(DiarizeRequest(media=path))
    _check_turns(result)
    assert result.speakers == 1 and der(ref, result.segments) < 0.1, result.as_dict()
    quiet = engines[backend].run(DiarizeRequest(media=media["silence"][0]))
    assert quiet.segments == [] and quiet.speakers == 0 and quiet.duration_s == pytest.approx(3.0)


def test_cancel_stops_the_work(media, engines):
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        engines["lite"].run(DiarizeRequest(media=media["two"][0]), ctx)


# ------------------------------------------------------------------------------------------------------------
# Bad input and the command line
# ------------------------------------------------------------------------------------------------------------
def test_bad_media_raises_clear_errors(tmp_path, engines):
    from tests.media_factory import write_clip

    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(200)))
    with pytest.raises(InvalidMedia, match="junk.wav"):
        engines["lite"].run(DiarizeRequest(media=junk))
    with pytest.raises(InvalidMedia, match="not found"):
        engines["lite"].run(DiarizeRequest(media=tmp_path / "missing.wav"))
    silent_video = write_clip(tmp_path / "mute.mp4", audio=None, seconds=1.0)
    with pytest.raises(UnsupportedMedia, match="no audio track"):
        engines["lite"].run(DiarizeRequest(media=silent_video))


def test_cli_prints_segments_json_and_exits_2_on_bad_input(media, tmp_path, capsys):
    path, _ = media["two"]
    assert cli(["diarize", str(path), "--speakers", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["segments"] and data["segments"]
    assert all(list(s) == ["start", "end", "speaker"] for s in data["segments"])
    assert {s["speaker"] for s in data["segments"]} == {"S1", "S2"}
    assert cli(["diarize", str(path), "--speakers", "2", "--json", "--verbose"]) == 0
    assert json.loads(capsys.readouterr().out)["speakers"] == 2
    assert cli(["diarize", str(media["silence"][0]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"segments": []}
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"\xff\xfb\x90\x00" + b"\x00garbage" * 50)
    for argv in (["diarize", str(tmp_path / "missing.wav"), "--json"], ["diarize", str(corrupt), "--json"],
                 ["diarize", str(path), "--speakers", "0"], ["diarize", str(path), "--backend", "quantum"]):
        assert cli(argv) == 2, argv
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith("error: "), captured
    out = subprocess.run([sys.executable, "-m", "engines.transcript", "diarize", str(tmp_path / "nope.wav")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "not found" in out.stderr and "Traceback" not in out.stderr
