"""engines.speech: sentence splitting, the eSpeak NG (lite) backend on real speech, casting, and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from engines.audio_io import write_wav
from engines.base import EngineConfig
from engines.context import BaseContext, CallbackContext
from engines.errors import Cancelled, InvalidInput
from engines.registry import registry_for
from engines.speech import REGISTRY, EspeakSpeaker, SpeechRequest, SpeechResult, list_variants, list_voices
from engines.speech.cast import LITE_VOICES, NEURAL_VOICES, assign_voices, lines_for_voice_over
from engines.speech.lite import resolve_voice
from engines.speech.types import MAX_TEXT_CHARS, split_sentences

ROOT = Path(__file__).resolve().parents[2]
TEXT = ("Welcome back to the channel. Today we build a tiny studio, one piece at a time! "
        "Are you ready? Let's begin.")
WORDS = len(TEXT.split())


def say(text: str = TEXT, options: dict | None = None, ctx=None, **settings) -> SpeechResult:
    engine = REGISTRY.create(EngineConfig(backend="lite", options=options or {}))
    return engine.run(SpeechRequest(text=text, **settings), ctx)


def frame_rms(samples: np.ndarray, rate: int, frame_s: float = 0.02) -> np.ndarray:
    n = int(rate * frame_s)
    x = samples.reshape(-1)[: samples.size // n * n].reshape(-1, n)
    return np.sqrt((x.astype(np.float64) ** 2).mean(axis=1))


def median_f0(samples: np.ndarray, rate: int) -> float:
    """Median fundamental frequency (Hz) over voiced frames, by normalised autocorrelation in 60-400 Hz."""
    x = samples.reshape(-1).astype(np.float64)
    n, hop = int(0.04 * rate), int(0.01 * rate)
    frames = [x[i:i + n] for i in range(0, x.size - n, hop)]
    rms = np.array([np.sqrt((f ** 2).mean()) for f in frames])
    lo, hi = int(rate / 400), int(rate / 60)
    found = []
    for frame, level in zip(frames, rms):
        if level < 0.3 * rms.max():
            continue
        f = frame - frame.mean()
        ac = np.correlate(f, f, "full")[n - 1:]
        ac /= ac[0]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5:  # clearly periodic: voiced
            found.append(rate / lag)
    assert len(found) >= 20, "too few voiced frames to estimate a pitch"
    return float(np.median(found))


# --------------------------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Hello there. How are you? Fine!", ["Hello there.", "How are you?", "Fine!"]),
    ("Dr. Smith met Mr. Jones and Mrs. Lee at St. Paul's. They talked.",
     ["Dr. Smith met Mr. Jones and Mrs. Lee at St. Paul's.", "They talked."]),
    ("Use a tripod, e.g. a small one. Or i.e. anything stable. Done.",
     ["Use a tripod, e.g. a small one.", "Or i.e. anything stable.", "Done."]),
    ("Pi is 3.14159 and e is 2.718. Version 1.2.3 ships today.",
     ["Pi is 3.14159 and e is 2.718.", "Version 1.2.3 ships today."]),
    ("It costs $4.50. Cheap.", ["It costs $4.50.", "Cheap."]),
    ("J. K. Rowling wrote it. The U.S. team won.", ["J. K. Rowling wrote it.", "The U.S. team won."]),
    ("We sell apples, pears, etc. But not plums.", ["We sell apples, pears, etc.", "But not plums."]),
    ("See No. 5 and Fig. 3 now. No. I won't.", ["See No. 5 and Fig. 3 now.", "No.", "I won't."]),
    ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
    ("Wait... what was that? Wait… What?", ["Wait... what was that?", "Wait…", "What?"]),
    ("Line one\ncontinues here.\n\nNew paragraph without a stop\n\nThird", [
        "Line one continues here.", "New paragraph without a stop", "Third"]),
    ("no punctuation at all", ["no punctuation at all"]),
    ("   \n\n  ", []),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_long_sentences_are_cut_at_clauses_then_words():
    sentence = ("When the light fades, the crew packs up the gear; the director, tired but happy, reviews the "
                "takes: every one of them, from the first wide shot to the last close-up, looks right. ") * 3
    for max_chars in (40, 80, 220):
        pieces = split_sentences(sentence, max_chars=max_chars)
        assert all(0 < len(p) <= max_chars for p in pieces)
        assert " ".join(pieces) == " ".join(sentence.split())  # nothing lost, order kept
    # Clause punctuation is preferred to arbitrary word boundaries.
    assert all(p[-1] in ",;:." for p in split_sentences(sentence, max_chars=120))
    # A single word longer than the limit is cut too.
    assert split_sentences("x" * 50, max_chars=20) == ["x" * 20, "x" * 20, "x" * 10]


# --------------------------------------------------------------------------------------------------------------
# The lite backend: real speech
# --------------------------------------------------------------------------------------------------------------
def test_registry_and_voices():
    assert registry_for("speech") is REGISTRY and isinstance(REGISTRY.create(), EspeakSpeaker)
    assert REGISTRY.available()[0] == "lite"
    voices = {v.id: v for v in list_voices()}
    for vid in ("en-us", "en-gb", "fr-fr", "de", "es"):
        assert vid in voices
    assert voices["en-us"].name == "English (America)" and voices["en-us"].language == "en-us"
    variants = {v.id: v for v in list_variants()}
    assert variants["+f3"].gender == "female" and variants["+m3"].gender == "male"
    # Ids people type resolve to eSpeak's voices, with variants and in any case.
    assert resolve_voice("en-us") == "gmw/en-US"
    assert resolve_voice("en-gb") == resolve_voice("en") == "gmw/en"
    assert resolve_voice("EN_us+F3") == "gmw/en-US+f3"
    assert resolve_voice("fr") == "roa/fr" and resolve_voice("de") == "gmw/de" and resolve_voice("es") == "roa/es"


def test_speech_is_real_plausible_and_timed():
    result = say(TEXT)
    clip, rate = result.clip, 24_000
    assert result.backend == "lite" and result.model_id is None and result.seconds > 0
    assert clip.sample_rate == rate and clip.channels == 1 and clip.samples.dtype == np.float32
    # 21 words at 165 words per minute is ~7.6 s of speech (plus pauses); eSpeak is a little quicker than that.
    assert 0.6 * WORDS / 165 * 60 < clip.duration_s < 1.4 * WORDS / 165 * 60
    peak = np.abs(clip.samples).max()
    assert 0.1 < peak <= 1.0

    # One segment per sentence, in order, covering the clip: start 0, end at the end, pauses in between.
    segments = result.segments
    assert [s.text for s in segments] == split_sentences(TEXT)
    assert segments[0].start_s == 0.0 and segments[-1].end_s == pytest.approx(clip.duration_s, abs=1e-3)
    for a, b in zip(segments, segments[1:]):
        assert a.start_s < a.end_s < b.start_s < b.end_s
        assert b.start_s - a.end_s == pytest.approx(0.3, abs=0.01)

    # A speech-like envelope: loud syllables, quieter stretches inside sentences, silence in the pauses.
    rms = frame_rms(clip.samples, rate)
    loud = rms > 0.1 * rms.max()
    assert 0.4 < loud.mean() < 0.95
    assert np.count_nonzero(np.diff(loud.astype(int)) == 1) >= WORDS // 2  # many separate bursts (syllables)
    for a, b in zip(segments, segments[1:]):
        gap = clip.samples[0, int((a.end_s + 0.03) * rate):int((b.start_s - 0.03) * rate)]
        assert gap.size and np.abs(gap).max() < 1e-6
        inside = clip.samples[0, int(b.start_s * rate):int(b.end_s * rate)]
        assert np.sqrt((inside ** 2).mean()) > 0.02


def test_pieces_of_a_long_sentence_get_a_shorter_pause():
    text = "When the light fades, the crew packs up the gear, and the director reviews the takes. Then home."
    result = say(text, options={"max_chars": 40, "pause_s": 0.4})
    assert [s.text for s in result.segments] == split_sentences(text, max_chars=40)
    gaps = [round(b.start_s - a.end_s, 2) for a, b in zip(result.segments, result.segments[1:])]
    assert gaps == [0.2] * (len(gaps) - 1) + [0.4]  # half inside the sentence, whole after its full stop
    assert all(len(s.text) <= 40 for s in result.segments)


def test_rate_changes_duration():
    slow, normal, fast = (say(TEXT, rate_wpm=r).clip.duration_s for r in (100, 165, 300))
    assert slow > normal > fast
    assert 1.3 < slow / normal < 2.0 and 1.4 < normal / fast < 2.2


def test_voices_and_pitch_change_the_sound():
    text = "Hello there. How are you today? I am fine, thank you."
    male = say(text, voice="en-us")
    female = say(text, voice="en-us+f3")
    f0_male, f0_female = median_f0(male.clip.samples, 24_000), median_f0(female.clip.samples, 24_000)
    assert 70 < f0_male < 140 and 160 < f0_female < 300 and f0_female > 1.5 * f0_male
    assert median_f0(say(text, pitch=85).clip.samples, 24_000) > 1.2 * f0_male
    # Another accent is other audio.
    british = say(text, voice="en-gb").clip.samples[0]
    american = male.clip.samples[0]
    n = min(british.size, american.size)
    assert british.size != american.size or not np.allclose(british[:n], american[:n], atol=1e-3)
    # Settings do not leak from one request to the next (eSpeak keeps them globally).
    assert median_f0(say(text).clip.samples, 24_000) == pytest.approx(f0_male, rel=0.05)


@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100, 48_000])
def test_output_rate_is_the_requested_one(rate):
    result = say("Testing the sample rate. Second sentence.", sample_rate=rate)
    assert result.clip.sample_rate == rate
    reference = say("Testing the sample rate. Second sentence.")
    assert result.clip.duration_s == pytest.approx(reference.clip.duration_s, abs=0.02)
    assert result.segments[-1].end_s == pytest.approx(result.clip.duration_s, abs=1e-3)


def test_other_languages_speak():
    for voice, text in (("fr", "Bonjour tout le monde."), ("de", "Guten Morgen, wie geht's?"),
                        ("es", "¡Hola! ¿Qué tal?")):
        result = say(text, voice=voice)
        assert 0.5 < result.clip.duration_s < 4 and np.abs(result.clip.samples).max() > 0.1
        assert result.parameters["voice"] == voice


def test_invalid_input():
    for bad in ({"text": ""}, {"text": "   \n "}, {"text": "x" * (MAX_TEXT_CHARS + 1)},
                {"rate_wpm": 79}, {"rate_wpm": 451}, {"rate_wpm": True}, {"pitch": -1}, {"pitch": 100},
                {"pitch": 50.5}, {"sample_rate": 1000}, {"voice": ""}):
        with pytest.raises(InvalidInput):
            say(**({"text": "Hello."} | bad))
    with pytest.raises(InvalidInput, match=r"Unknown voice 'xx-nope'.*en-us, en-gb"):
        say("Hello.", voice="xx-nope")
    with pytest.raises(InvalidInput, match=r"variant '\+nope'.*\+f3"):
        say("Hello.", voice="en-us+nope")
    # Punctuation only: nothing to say.
    with pytest.raises(InvalidInput):
        say("\n\n")


class _CancelAfter(BaseContext):
    """Cancelled from the ``after``-th question on (the engine asks between sentences and while one is spoken)."""

    def __init__(self, after: int) -> None:
        self.after, self.asked, self.reports = after, 0, []

    def cancelled(self) -> bool:
        self.asked += 1
        return self.asked >= self.after

    def report(self, fraction: float, message: str = "") -> None:
        self.reports.append(message)


def test_cancellation_between_and_within_sentences():
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        say(TEXT, ctx=ctx)

    # After the first sentence.
    seen = []
    ctx = CallbackContext(lambda f, m: (seen.append(m), ctx.cancel() if "sentence 1 " in m else None))
    with pytest.raises(Cancelled):
        say(TEXT, ctx=ctx)
    assert "Spoke sentence 1 of 4" in seen and "Spoke sentence 2 of 4" not in seen

    # In the middle of the first sentence: the synthesis callback stops eSpeak.
    ctx = _CancelAfter(after=4)
    with pytest.raises(Cancelled):
        say("This single sentence is long enough to be delivered in many chunks of audio by the synthesiser.",
            ctx=ctx)
    assert not any(m.startswith("Spoke") for m in ctx.reports)

    # eSpeak is left in a clean state: the next request is whole.
    after = say("Hello there.")
    assert 0.4 < after.clip.duration_s < 1.5


def test_two_threads_at_once_get_their_own_audio():
    texts = {"a": "The first voice says one short thing.",
             "b": "The second voice tells a longer story, with a pause in the middle. And then it ends."}
    alone = {k: say(t, voice="en-gb" if k == "b" else "en-us") for k, t in texts.items()}
    results: dict[str, SpeechResult] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(key: str) -> None:
        try:
            start.wait()
            for _ in range(3):
                results[key] = say(texts[key], voice="en-gb" if key == "b" else "en-us")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for key in texts:
        got, ref = results[key], alone[key]
        assert [s.text for s in got.segments] == [s.text for s in ref.segments]
        # Same length (eSpeak carries a little phase state between calls, so not bit-for-bit) and same sound.
        assert got.clip.duration_s == pytest.approx(ref.clip.duration_s, abs=0.03)
        n = min(got.clip.samples.shape[1], ref.clip.samples.shape[1])
        a, b = frame_rms(got.clip.samples[:, :n], 24_000), frame_rms(ref.clip.samples[:, :n], 24_000)
        assert np.corrcoef(a, b)[0, 1] > 0.9


def test_result_is_json_safe_and_writes_a_wav(tmp_path):
    result = say("Short and sweet.")
    summary = result.summary()
    json.dumps(summary)
    assert summary["parameters"]["espeak_voice"] == "gmw/en-US"
    path = write_wav(tmp_path / "vo.wav", result.clip)
    with wave.open(str(path)) as w:
        assert w.getframerate() == 24_000 and w.getnchannels() == 1
        assert w.getnframes() == result.clip.samples.shape[1]


def test_importing_loads_nothing_heavy_and_starts_no_synthesiser():
    code = ("import sys, engines.speech, engines.speech.lite as lite, engines.speech.cast\n"
            "print([m for m in ('torch', 'transformers', 'scipy') if m in sys.modules], lite._ESPEAK)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] None"


# --------------------------------------------------------------------------------------------------------------
# Casting
# --------------------------------------------------------------------------------------------------------------
def test_assign_voices_is_distinct_stable_and_order_free():
    cast = ["ANNA", "BEN", "Dr. Cole", "MARTA", "JO", "Sam"]
    voices = assign_voices(cast)
    assert list(voices) == cast and len(set(voices.values())) == len(cast)
    assert set(voices.values()) <= set(LITE_VOICES)
    assert assign_voices(list(reversed(cast))) == voices  # order does not matter
    assert assign_voices(cast) == voices  # and it is the same every time (not Python's salted hash)
    assert assign_voices(["anna "])["anna "] == assign_voices(["ANNA"])["ANNA"]  # same character

    with_narrator = assign_voices(cast, narrator="NARRATOR")
    assert with_narrator["NARRATOR"] == "en-us" and "en-us" not in [with_narrator[c] for c in cast]

    neural = assign_voices(cast, backend="neural", narrator="NARRATOR")
    assert neural["NARRATOR"] == "v2/en_speaker_6"
    assert len(set(neural.values())) == len(cast) + 1 and set(neural.values()) <= set(NEURAL_VOICES)
    # More characters than presets: voices are shared rather than refused.
    crowd = assign_voices([f"EXTRA {i}" for i in range(15)], backend="neural")
    assert len(set(crowd.values())) == 10
    for bad in (lambda: assign_voices(["ANNA", ""]), lambda: assign_voices(["A"], backend="opera")):
        with pytest.raises(InvalidInput):
            bad()


def test_every_cast_voice_speaks_and_lines_become_requests():
    for voice in LITE_VOICES[:4]:
        assert resolve_voice(voice)  # all valid eSpeak voices
    assert all(resolve_voice(v) for v in LITE_VOICES)
    dialogue = [("ANNA", "Where were you?"), ("BEN", "Out."), ("ANNA", "  "), ("anna", "Out where?")]
    voices = assign_voices(["ANNA", "BEN"])
    requests = lines_for_voice_over(dialogue, voices, rate_wpm=180)
    assert [r.text for r in requests] == ["Where were you?", "Out.", "Out where?"]
    assert [r.voice for r in requests] == [voices["ANNA"], voices["BEN"], voices["ANNA"]]
    assert all(r.rate_wpm == 180 and r.preset is None for r in requests)
    clips = [REGISTRY.create().run(r).clip for r in requests]
    assert all(c.duration_s > 0.2 for c in clips)

    neural = lines_for_voice_over(dialogue[:2], assign_voices(["ANNA", "BEN"], backend="neural"))
    assert all(r.preset.startswith("v2/en_speaker_") for r in neural)
    with pytest.raises(InvalidInput, match="No voice for 'CARL'"):
        lines_for_voice_over([("CARL", "Hi.")], voices)


# --------------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------------
def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engines.speech", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_say_voices_and_errors(tmp_path):
    out = tmp_path / "vo.wav"
    done = cli("say", "Hello from the command line. Goodbye!", "--out", str(out), "--voice", "en-gb",
               "--rate", "170", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["out"] == str(out) and len(summary["segments"]) == 2
    assert summary["parameters"]["voice"] == "en-gb" and summary["parameters"]["rate_wpm"] == 170
    with wave.open(str(out)) as w:
        assert w.getframerate() == 24_000 and w.getnframes() / 24_000 == pytest.approx(summary["duration_s"],
                                                                                        abs=1e-3)
    listed = cli("voices")
    assert listed.returncode == 0 and "en-us" in listed.stdout and "f3" in listed.stdout
    bad = cli("say", "Hello.", "--out", str(tmp_path / "x.wav"), "--voice", "xx-nope")
    assert bad.returncode == 2 and bad.stderr.startswith("error: Unknown voice 'xx-nope'")
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.wav").exists()
    bad = cli("say", "Hello.", "--out", str(tmp_path / "x.wav"), "--rate", "1000")
    assert bad.returncode == 2 and "rate_wpm" in bad.stderr
