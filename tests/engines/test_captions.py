"""Captions: recognisers on synthesised speech, subtitle rules, SRT/VTT, edited tables, burn-in, CLI, bad input."""
from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from engines.base import EngineConfig
from engines.captions import REGISTRY, CaptionRequest, Cue, Word
from engines.captions.burn import burn_captions
from engines.captions.cues import cues_from_words
from engines.captions.formats import (
    cues_from_table,
    parse_srt,
    parse_vtt,
    read_subtitles,
    srt_text,
    vtt_text,
    write_srt,
    write_vtt,
)
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, InvalidMedia
from engines.media import iter_frames, probe

pytest.importorskip("faster_whisper")
ROOT = Path(__file__).resolve().parents[2]
TEXT = ("Captions help people follow a video without sound. "
        "Please speak slowly and clearly, so that every word is heard.")
SHORT = "Please speak slowly and clearly."


def _wer(reference: str, hypothesis: str) -> float:
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    return jiwer.wer(norm(reference), norm(hypothesis))


def _speech(text: str) -> np.ndarray:
    """eSpeak NG speech at 16 kHz, synthesised in a fresh process: eSpeak keeps a little state between calls, so
    in-process audio would depend on which tests ran before (and the recognisers' output with it)."""
    pytest.importorskip("espeakng_loader")
    import subprocess
    import sys

    code = ("import sys, numpy as np; from engines.speech import REGISTRY, SpeechRequest; "
            "c = REGISTRY.create().run(SpeechRequest(text=sys.argv[1], voice='en-us', rate_wpm=150, "
            "sample_rate=16000)).clip; "
            "sys.stdout.buffer.write(np.asarray(c.samples, np.float32).mean(axis=0).tobytes())")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code, text], cwd=root, capture_output=True, check=True,
                         timeout=120).stdout
    samples = np.frombuffer(out, dtype=np.float32)
    pad = np.zeros(8000, np.float32)
    return np.concatenate([pad, samples, pad])


def _write_pcm(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    data = np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples[:, None]
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(channels)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes((np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> tuple[Path, np.ndarray]:
    samples = _speech(TEXT)
    return _write_pcm(tmp_path_factory.mktemp("speech") / "speech.wav", samples, 16000), samples


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def tiny(cache):
    engine = REGISTRY.create(EngineConfig(backend="whisper", model_id="tiny.en", options={"cache_dir": str(cache)}))
    engine.load()
    yield engine
    engine.unload()


# ------------------------------------------------------------------------------------------------------------
# Recognisers
# ------------------------------------------------------------------------------------------------------------
def test_registry_has_an_offline_default_and_imports_nothing_heavy():
    assert REGISTRY.default == "lite"
    assert {"lite", "whisper", "sphinx", "neural"} <= set(REGISTRY.names())
    code = "import sys, engines.captions; print('faster_whisper' in sys.modules, 'pocketsphinx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def _check_words(result, duration: float) -> None:
    words = result.words
    assert words and result.language == "en" and result.rtf > 0 and result.seconds > 0
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    for a, b in zip(words, words[1:]):
        assert a.end <= b.start + 1e-6
    assert all(0.0 <= w.start <= w.end <= duration + 1e-6 for w in words)
    json.dumps(result.as_dict())


@pytest.mark.parametrize("model", ["tiny.en", None], ids=["tiny.en", "default"])
def test_whisper_transcribes_synthesised_speech(speech, cache, tiny, model):
    path, samples = speech
    engine = tiny if model == "tiny.en" else REGISTRY.create(EngineConfig(options={"cache_dir": str(cache)}))
    seen = []
    result = engine.run(CaptionRequest(media=path), CallbackContext(lambda f, m: seen.append(f)))
    assert _wer(TEXT, result.text) <= 0.2, result.text
    _check_words(result, samples.size / 16000)
    assert result.words[0].start >= 0.3  # the leading half second of silence is not speech
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert ("tiny" in result.model) == (model == "tiny.en")


def test_sphinx_backend_recognises_some_words(tmp_path):
    path = _write_pcm(tmp_path / "short.wav", _speech(SHORT), 16000)
    result = REGISTRY.create(EngineConfig(backend="sphinx")).run(CaptionRequest(media=path))
    _check_words(result, 10.0)
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    assert len(set(norm(SHORT).split()) & set(norm(result.text).split())) >= 2, result.text


def test_8khz_mono_and_8_channel_inputs_work(tmp_path, speech, tiny):
    _, samples = speech
    from scipy.signal import resample_poly

    low = _write_pcm(tmp_path / "phone.wav", resample_poly(samples, 1, 2).astype(np.float32), 8000)
    many = _write_pcm(tmp_path / "surround.wav", samples * 0.5, 16000, channels=8)
    for path in (low, many):
        result = tiny.run(CaptionRequest(media=path))
        assert _wer(TEXT, result.text) <= 0.45, (path.name, result.text)  # robotic speech at 4 kHz bandwidth
        assert result.duration_s == pytest.approx(samples.size / 16000, abs=0.01)


def test_cancelling_stops_the_transcription_between_windows(tmp_path, speech, tiny):
    _, samples = speech
    path = _write_pcm(tmp_path / "two.wav", np.concatenate([samples, np.zeros(48000, np.float32), samples]), 16000)
    seen = []

    def report(fraction: float, message: str) -> None:
        seen.append(message)
        if message.startswith("Transcribed"):
            ctx.cancel()  # after the first window of speech

    ctx = CallbackContext(report)
    with pytest.raises(Cancelled):
        tiny.run(CaptionRequest(media=path), ctx)
    assert sum(m.startswith("Transcribed") for m in seen) == 1


def test_bad_inputs_give_clear_errors(tmp_path, make_clip, tiny):
    silent_video = make_clip(tmp_path / "silent.mp4", audio=None, seconds=1.0)
    noise = tmp_path / "noise.wav"
    noise.write_bytes(np.random.default_rng(0).bytes(4000))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    zero = _write_pcm(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    for path, words in ((silent_video, "no audio"), (noise, "noise.wav"), (empty, "empty"), (zero, "zero.wav"),
                        (tmp_path / "missing.wav", "not found")):
        with pytest.raises(InvalidMedia, match=words):
            tiny.run(CaptionRequest(media=path))
    with pytest.raises(InvalidInput, match="English"):
        tiny.run(CaptionRequest(media=noise, language="fr"))


# ------------------------------------------------------------------------------------------------------------
# Subtitle craft
# ------------------------------------------------------------------------------------------------------------
def _word_list(n: int, seed: int) -> list[Word]:
    rng = np.random.default_rng(seed)
    letters = "etaoinshrdlucmfwypvbgk"
    words, t = [], 0.0
    for i in range(n):
        text = "".join(rng.choice(list(letters), size=int(rng.integers(1, 11))))
        if rng.random() < 0.08:
            text += rng.choice([".", ",", "?", "!"])
        fast = (i // 40) % 3 == 2  # every third stretch is spoken very fast
        duration = len(text) * (0.03 if fast else rng.uniform(0.05, 0.09))
        words.append(Word(t, t + duration, text))
        t += duration + (rng.uniform(0.3, 2.5) if rng.random() < 0.06 else rng.uniform(0.0, 0.08))
    return words


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cues_follow_the_subtitle_rules(seed):
    words = _word_list(1500, seed)
    cues = cues_from_words(words, duration_s=words[-1].end + 1.0)
    tokens = [t.lower().strip(".,?!") for c in cues for t in c.text.split()]
    assert tokens == [w.word.lower().strip(".,?!") for w in words]  # every word once, in order
    singles = 0
    for k, cue in enumerate(cues):
        lines = cue.text.split("\n")
        assert 1 <= len(lines) <= 2 and all(0 < len(line) <= 42 for line in lines), cue
        duration = cue.end_s - cue.start_s
        assert duration <= 7.0 + 1e-6, cue
        limit = cues[k + 1].start_s - 0.08 if k + 1 < len(cues) else float("inf")
        if k + 1 < len(cues):
            assert cues[k + 1].start_s >= cue.end_s + 0.08 - 1e-3, (cue, cues[k + 1])  # no overlap, 2 frames
        at_limit = cue.end_s >= min(limit, cue.start_s + 7.0) - 2e-3
        assert duration >= 1.0 - 1e-6 or at_limit, cue
        if len("".join(lines)) / duration > 17.0 + 1e-6:
            assert at_limit, cue  # too fast only where there was no room to extend it
        singles += len(cue.text.split()) == 1
    assert singles <= len(cues) * 0.02


def test_cues_break_at_punctuation_and_tidy_the_text():
    text = "so i said hello there . it was 3 in the morning , and 25000 people were still awake"
    words, t = [], 0.0
    for token in text.split():
        words.append(Word(t, t + 0.3, token))
        t += 0.32
    cues = cues_from_words(words)
    joined = " ".join(c.text.replace("\n", " ") for c in cues)
    assert joined == ("So I said hello there. It was three in the morning, and 25,000 people were still awake")
    assert cues[0].text.replace("\n", " ").endswith("there.")  # the sentence end is a cue end


# ------------------------------------------------------------------------------------------------------------
# Files and tables
# ------------------------------------------------------------------------------------------------------------
CUES = [Cue(0.2, 1.5, "Hello"), Cue(2.0, 4.25, "Two\nlines"), Cue(3661.25, 3662.0, "Late — one")]


def test_srt_and_vtt_round_trip(tmp_path):
    for write, parse in ((write_srt, parse_srt), (write_vtt, parse_vtt)):
        path = write(CUES, tmp_path / f"subs.{write.__name__[-3:]}")
        back = parse(path.read_text(encoding="utf-8"))
        assert [(round(c.start_s, 3), round(c.end_s, 3), c.text) for c in back] == \
               [(c.start_s, c.end_s, c.text) for c in CUES]
        assert read_subtitles(path) == back
    assert srt_text(CUES).startswith("1\n00:00:00,200 --> 00:00:01,500\nHello\n")


def test_parsers_accept_what_editors_write():
    srt = "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hi</i> there\r\n\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nYo\r\n"
    assert parse_srt(srt) == [Cue(1.0, 2.5, "Hi there"), Cue(3.0, 4.0, "Yo")]
    vtt = ("WEBVTT - made by hand\n\nNOTE a comment\n\nintro\n00:01.000 --> 00:02.000 align:start position:10%\n"
           "<v Ann>Hello</v>\n\nSTYLE\n::cue { color: red }\n\n01:00:00.500 --> 01:00:01.000\nLater\n")
    assert parse_vtt(vtt) == [Cue(1.0, 2.0, "Hello"), Cue(3600.5, 3601.0, "Later")]
    with pytest.raises(InvalidInput, match="block 1"):
        parse_srt("1\n00:00:01,000 --> soon\nHi\n")
    with pytest.raises(InvalidInput, match="WEBVTT"):
        parse_vtt(srt)
    assert vtt_text([]) == "WEBVTT\n\n"


def test_edited_tables_are_validated_row_by_row():
    cues = cues_from_table([("00:00:01,000", "00:00:02.5", "hello  world ."), (3, 4.5, "ok"), ("", "", ""),
                            {"start": "5", "end": "6", "text": "i agree"}])
    assert cues == [Cue(1.0, 2.5, "Hello world."), Cue(3.0, 4.5, "Ok"), Cue(5.0, 6.0, "I agree")]
    bad = [([(1, 2, "a"), (3, 2, "b")], "Row 2: the end"), ([(1, 2, "a"), ("1:xx", 4, "b")], "Row 2: '1:xx'"),
           ([(1, 2, "  ")], "Row 1: the text is empty"), ([(1, 3, "a"), (2, 4, "b")], "Row 2 starts"),
           ([(1, 2)], "Row 1 needs three cells"), ([(-1, 2, "a")], "Row 1"), ([], "no subtitles")]
    for rows, message in bad:
        with pytest.raises(InvalidInput, match=message):
            cues_from_table(rows)


def test_the_animatic_uses_the_same_subtitle_code():
    from engines.animatic import subtitles
    from engines.captions import burn, formats

    assert subtitles.write_srt is formats.write_srt and subtitles.SubtitleBurner is burn.SubtitleBurner


# ------------------------------------------------------------------------------------------------------------
# Burn-in and CLI
# ------------------------------------------------------------------------------------------------------------
def test_burn_in_draws_the_cue_only_while_it_is_on_and_keeps_the_sound(tmp_path, make_clip):
    source = make_clip(tmp_path / "clip.mp4", size=(320, 240), seconds=2.0)
    out = tmp_path / "captioned.mp4"
    seen = []
    burn_captions(source, [Cue(0.5, 1.0, "Hello captions")], out, ctx=CallbackContext(lambda f, m: seen.append(f)))
    assert probe(out).audio is not None and seen[-1] == 1.0
    before = {round(f.time_s, 2): f.image.astype(np.int16) for f in iter_frames(source)}
    after = {round(f.time_s, 2): f.image.astype(np.int16) for f in iter_frames(out)}
    bottom, top = (slice(int(240 * 0.75), 240), slice(80, 240)), slice(0, int(240 * 0.6))  # text box, above it
    for t, image in after.items():
        diff_bottom = np.abs(image[bottom] - before[t][bottom]).mean()
        assert np.abs(image[top] - before[t][top]).mean() < 4, t
        if 0.55 <= t <= 0.95:
            assert diff_bottom > 12, t  # (about 18 here)
        elif t < 0.45 or t > 1.05:
            assert diff_bottom < 6, t  # only the re-encoding's differences (under 4 here)
    cancelled = CallbackContext()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        burn_captions(source, [Cue(0.5, 1.0, "x")], tmp_path / "never.mp4", ctx=cancelled)
    assert not (tmp_path / "never.mp4").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engines.captions", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_transcribes_writes_subtitles_burns_and_fails_cleanly(tmp_path, speech, make_clip):
    srt, vtt = tmp_path / "speech.srt", tmp_path / "speech.vtt"
    out = _cli("transcribe", str(speech[0]), "--json", "--model", "tiny.en", "--srt", str(srt), "--vtt", str(vtt))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["language"] == "en" and data["text"] and {"start", "end", "text", "words"} <= set(data["segments"][0])
    assert read_subtitles(srt) == read_subtitles(vtt) and len(read_subtitles(srt)) >= 2
    video = make_clip(tmp_path / "clip.mp4", seconds=1.0)
    burned = _cli("burn", str(video), str(srt), "--out", str(tmp_path / "burned.mp4"))
    assert burned.returncode == 0, burned.stderr
    assert av.open(str(tmp_path / "burned.mp4")).streams.audio
    bad = _cli("transcribe", str(video.with_name("nothing.wav")))
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_the_shipped_speech_file_is_transcribed_and_captioned(tmp_path):
    """A file kept in tests/data (made once with eSpeak NG, see its README), through the default backend."""
    from engines.captions.cues import cues_from_words
    from engines.captions.formats import parse_srt, srt_text

    media = Path(__file__).resolve().parents[1] / "data" / "subtitle_rules.flac"
    result = REGISTRY.create().run(CaptionRequest(media=media))
    assert _wer("Subtitles should be short, easy to read and in time with the voice.", result.text) <= 0.25, \
        result.text
    cues = cues_from_words(result.words, duration_s=result.duration_s)
    assert cues and all(len(line) <= 42 for c in cues for line in c.text.split("\n"))
    assert all(1.0 <= c.end_s - c.start_s <= 7.0 for c in cues)
    assert [(round(c.start_s, 3), c.text) for c in parse_srt(srt_text(cues))] == \
        [(round(c.start_s, 3), c.text) for c in cues]
