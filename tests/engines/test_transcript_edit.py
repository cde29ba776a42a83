"""Edit by transcript: document + edit session, word cuts snapped to quiet frames and rendered, fillers, retakes."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engines.autoedit import render_mp4
from engines.autoedit.timeline import seconds_to_frames
from engines.captions.types import CaptionResult, Segment, Word
from engines.errors import InvalidInput
from engines.media import probe, read_audio
from engines.transcript import (
    EditSession,
    Filler,
    Retake,
    Transcript,
    TranscriptWord,
    apply_text_edit,
    energy_curve,
    filler_indices,
    find_fillers,
    find_retakes,
    plan_transcript_cut,
    to_timeline,
)
from tests.media_factory import write_av_clip

ROOT = Path(__file__).resolve().parents[2]
FPS = 25
SR = 16000
GAP = 0.3
SPOKEN = ["hello", "there", "purple", "elephant", "today", "um"]


def _speak(texts: list[str]) -> dict[str, np.ndarray]:
    """eSpeak NG audio (16 kHz mono, silence trimmed by the speech engine) of each text, synthesised in a fresh
    process as in test_captions: eSpeak keeps state between calls."""
    pytest.importorskip("espeakng_loader")
    code = ("import sys, numpy as np; from engines.speech import REGISTRY, SpeechRequest; e = REGISTRY.create(); "
            "cs = [np.asarray(e.run(SpeechRequest(text=t, voice='en-us', rate_wpm=150, sample_rate=16000))"
            ".clip.samples, np.float32).mean(axis=0) for t in sys.argv[1:]]; "
            "sys.stdout.buffer.write(np.asarray([c.size for c in cs], np.int32).tobytes() "
            "+ b''.join(c.tobytes() for c in cs))")
    out = subprocess.run([sys.executable, "-c", code, *texts], cwd=ROOT, capture_output=True, check=True,
                         timeout=120).stdout
    sizes = np.frombuffer(out[:4 * len(texts)], np.int32)
    data, clips, at = np.frombuffer(out[4 * len(texts):], np.float32), {}, 0
    for text, size in zip(texts, sizes):
        clips[text], at = data[at:at + size], at + int(size)
    return clips


def _join(clips: dict[str, np.ndarray], order: list[str], gap: float = GAP, lead: float = 0.5):
    """Samples of the words said in ``order`` with ``gap`` s of silence between, and their exact Words."""
    pieces, words, t = [np.zeros(int(lead * SR), np.float32)], [], lead
    for k, text in enumerate(order):
        clip = clips[text]
        words.append(TranscriptWord(t, t + clip.size / SR, text))
        pieces += [clip, np.zeros(int((gap if k + 1 < len(order) else lead) * SR), np.float32)]
        t += clip.size / SR + (gap if k + 1 < len(order) else lead)
    return np.concatenate(pieces), words


@pytest.fixture(scope="module")
def spoken() -> dict[str, np.ndarray]:
    return _speak(SPOKEN)


@pytest.fixture(scope="module")
def talk(spoken, tmp_path_factory):
    samples, words = _join(spoken, SPOKEN[:5])
    up = np.interp(np.arange(samples.size * 3) / 3, np.arange(samples.size), samples).astype(np.float32)
    path = write_av_clip(tmp_path_factory.mktemp("transcript") / "talk.mp4", up, rate=48000, size=(96, 64), fps=FPS,
                         preset="ultrafast")
    return path, samples, words


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _words(text: str, word_s: float = 0.3, gap_s: float = 0.05) -> list[TranscriptWord]:
    """Hand-made timings: ``|`` in the text is a 0.8 s pause."""
    out, t = [], 0.0
    for token in text.split():
        if token == "|":
            t += 0.8
            continue
        out.append(TranscriptWord(t, t + word_s, token))
        t += word_s + gap_s
    return out


# --------------------------------------------------------------------------------------------------------------
# Cuts on real speech
# --------------------------------------------------------------------------------------------------------------
def test_deleting_a_word_removes_exactly_its_span(talk):
    path, samples, words = talk
    energy = energy_curve(path, FPS)
    info = probe(path)
    kept = plan_transcript_cut(words, [2], duration=info.duration_s, energy_db=energy, fps=FPS)
    assert len(kept) == 2 and kept[0][0] == 0.0
    (_, cut_in), (cut_out, end) = kept
    there, purple, elephant = words[1], words[2], words[3]
    assert there.end + 0.08 - 1e-9 <= cut_in <= purple.start + 1 / FPS  # after the kept word + margin
    assert purple.end - 1 / FPS <= cut_out <= elephant.start - 0.08 + 1e-9
    assert abs(end - seconds_to_frames(info.duration_s, FPS) / FPS) <= 1 / FPS
    for a, b in kept:  # frame grid
        assert abs(a * FPS - round(a * FPS)) < 1e-6 and abs(b * FPS - round(b * FPS)) < 1e-6
    assert plan_transcript_cut(words, [], duration=info.duration_s, fps=FPS) == [(0.0, end)]
    assert plan_transcript_cut(words, range(5), duration=info.duration_s, fps=FPS) == []


def test_render_has_the_kept_duration_and_the_deleted_word_is_gone(talk, tmp_path):
    path, samples, words = talk
    kept = plan_transcript_cut(words, [2], duration=probe(path).duration_s, energy_db=energy_curve(path, FPS),
                               fps=FPS)
    timeline = to_timeline(path, kept, name="talk edit", fps=FPS, width=96, height=64, words=words)
    assert timeline.clips[0].label.startswith("hello there") and timeline.clips[1].label.startswith("elephant")
    out = tmp_path / "edit.mp4"
    render_mp4(timeline, out)
    total = sum(b - a for a, b in kept)
    assert abs(timeline.duration - total) < 1e-6
    assert abs(probe(out).duration_s - total) <= 1 / FPS + 0.03
    audio = read_audio(out, sample_rate=SR, mono=False)[0]  # the render is stereo (FFmpeg's downmix adds 3 dB)
    record = lambda t: next(r0 + (t - a) for (a, b), (r0, _) in zip(kept, timeline.record_times()) if a <= t <= b)
    for k in (0, 1, 3, 4):  # the neighbours are intact, where the cut moved them
        w = words[k]
        src = samples[int(w.start * SR):int(w.end * SR)]
        got = audio[int(record(w.start) * SR):][:src.size]
        assert abs(_rms(got) / _rms(src) - 1) < 0.25, w.text
        m = min(src.size, got.size) // 160 * 160
        envelope = lambda x: np.abs(x[:m]).reshape(-1, 160).mean(1)  # 10 ms loudness envelope
        assert np.corrcoef(envelope(got), envelope(src))[0, 1] > 0.8, w.text
    gap = audio[int((record(words[1].end) + 0.02) * SR):int((record(words[3].start) - 0.02) * SR)]
    assert gap.size < 0.4 * SR and _rms(gap) < 0.01  # purple's audio (rms ~0.07) is gone; only margins left
    purple = samples[int(words[2].start * SR):int(words[2].end * SR)]
    assert abs(_rms(audio) ** 2 * audio.size - (_rms(samples) ** 2 * samples.size - _rms(purple) ** 2 * purple.size)) \
        < 0.1 * _rms(samples) ** 2 * samples.size


def test_no_cut_lands_inside_a_kept_word():
    rng = random.Random(7)
    for trial in range(200):
        t, words = rng.uniform(0, 1), []
        for _ in range(rng.randint(1, 15)):
            start = t + rng.choice([0.0, 0.01, rng.uniform(0, 0.6)])
            words.append(TranscriptWord(start, start + rng.uniform(0.05, 0.6), "w"))
            t = words[-1].end
        duration = t + rng.uniform(0, 1)
        deleted = {i for i in range(len(words)) if rng.random() < 0.4}
        energy = np.random.default_rng(trial).uniform(-80, -10, int(duration * FPS) + 2)
        kept = plan_transcript_cut(words, deleted, duration=duration, energy_db=energy, fps=FPS)
        assert kept == sorted(kept) and all(a < b for a, b in kept)
        assert all(b1 < a2 for (_, b1), (a2, _) in zip(kept, kept[1:]))
        for i, w in enumerate(words):
            if i not in deleted and w.end <= seconds_to_frames(duration, FPS) / FPS - 1 / FPS:
                assert any(a - 1e-9 <= w.start and w.end <= b + 1e-9 for a, b in kept), (trial, i)
        if kept:
            timeline = to_timeline("x.mp4", kept, name="t", fps=FPS, width=2, height=2)
            assert timeline.duration_frames == sum(round(b * FPS) - round(a * FPS) for a, b in kept)


def test_snapping_picks_the_quiet_frame():
    words = [TranscriptWord(0.0, 1.0, "keep"), TranscriptWord(1.2, 2.0, "gone"), TranscriptWord(2.5, 3.0, "keep")]
    energy = np.full(80, -20.0)
    energy[28] = energy[56] = -60.0
    assert plan_transcript_cut(words, [1], duration=3.2, fps=FPS) == [(0.0, 27 / FPS), (60 / FPS, 80 / FPS)]
    kept = plan_transcript_cut(words, [1], duration=3.2, energy_db=energy, fps=FPS)
    assert kept == [(0.0, 29 / FPS), (56 / FPS, 80 / FPS)]  # kept parts end / start on the quiet frames
    energy[30] = -99.0  # the first frame of the deleted word: never kept, however quiet
    assert plan_transcript_cut(words, [1], duration=3.2, energy_db=energy, fps=FPS)[0] == (0.0, 29 / FPS)
    energy[24] = energy[20] = -90.0  # quieter, but inside the margin after the kept word: never chosen
    assert plan_transcript_cut(words, [1], duration=3.2, energy_db=energy, fps=FPS)[0] == (0.0, 29 / FPS)
    with pytest.raises(InvalidInput):
        plan_transcript_cut(words, [3], duration=3.2, fps=FPS)


# --------------------------------------------------------------------------------------------------------------
# Document and session
# --------------------------------------------------------------------------------------------------------------
def _captions() -> CaptionResult:
    w = [Word(0.0, 0.3, "Hello"), Word(0.35, 0.6, "there."), Word(0.7, 1.0, "So"), Word(1.05, 1.3, "um,"),
         Word(1.35, 1.6, "we—"), Word(1.7, 1.9, "so"), Word(1.95, 2.2, "we"), Word(2.25, 2.6, "won."),
         Word(4.5, 4.8, "Great"), Word(4.85, 5.2, "news!"), Word(5.3, 5.6, "Yes"), Word(5.65, 5.9, "indeed.")]
    segments = [Segment(0.0, 2.6, "Hello there. So um, we— so we won.", w[:8]),
                Segment(4.5, 5.9, "Great news! Yes indeed.", w[8:])]
    return CaptionResult("en", "…", segments, "base", 1.0, 0.1, 6.0, "lite")


def test_transcript_sentences_paragraphs_and_speakers():
    doc = Transcript.from_captions(_captions(), speakers=[(0.0, 5.25, "A"), (5.25, 6.0, "B")])
    assert [doc.block_text(s) for s in doc.sentences] == ["Hello there.", "So um, we—", "so we won.", "Great news!",
                                                          "Yes indeed."]
    assert [(p.first, p.stop, p.speaker) for p in doc.paragraphs] == [(0, 8, "A"), (8, 10, "A"), (10, 12, "B")]
    assert doc.paragraph_sentences(0) == [0, 1, 2]
    assert Transcript.from_captions(_captions().as_dict()).as_dict() == Transcript.from_captions(_captions()).as_dict()
    back = Transcript.from_dict(json.loads(json.dumps(doc.as_dict())))
    assert back == doc


def test_edit_session_undo_redo_markup_and_round_trip():
    doc = Transcript.from_captions(_captions(), speakers=[(0.0, 5.25, "A"), (5.25, 6.0, "B")])
    s = EditSession(doc)
    assert s.delete([3]) == 1 and s.delete([3]) == 0  # a no-op is not a history step
    s.delete(doc.sentences[1].indices)
    assert s.deleted == {2, 3, 4} and s.deleted_spans() == [(0.7, 1.6)]
    assert s.undo() and s.deleted == {3}
    assert s.redo() and s.deleted == {2, 3, 4} and not s.redo()
    s.undo()
    s.restore([3])  # a new edit clears what could be redone
    assert s.deleted == set() and not s.can_redo
    assert s.undo() and s.deleted == {3}
    s.delete([9, 10])
    md = s.preview_markup()
    assert md == "**A:** Hello there. So ~~um,~~ we— so we won.\n\n**A:** Great ~~news!~~\n\n**B:** ~~Yes~~ indeed."
    assert "<del>um,</del>" in s.preview_markup("html") and "<p><b>B:</b> <del>Yes</del> indeed.</p>" in \
        s.preview_markup("html")
    assert s.deleted_spans() == [(1.05, 1.3), (4.85, 5.6)]
    back = EditSession.from_dict(json.loads(json.dumps(s.as_dict())))
    assert back.deleted == s.deleted == {3, 9, 10}
    assert back.undo() and back.deleted == {3}
    assert back.undo() and back.deleted == set() and not back.undo()  # history: delete 3, delete 9-10
    assert back.redo() and back.deleted == {3}
    with pytest.raises(InvalidInput):
        s.delete([99])


def test_text_edit_alignment():
    original = "So um I think, you know, it works.".split()
    edit = apply_text_edit(original, "So I think, it works!")
    assert edit.deleted == [1, 4, 5] and edit.warnings == []
    edit = apply_text_edit(original, "So um I really think you know it fails.")
    assert edit.deleted == [] and len(edit.warnings) == 2
    assert "cannot be added" in edit.warnings[0] and "really" in edit.warnings[0] and "fails" in edit.warnings[1]
    doc = Transcript.build(_words("one two three four five"))
    s = EditSession(doc, deleted=[1])
    got = s.edit_text("one three five")  # edited from the visible text "one three four five"
    assert got.deleted == [3] and s.deleted == {1, 3}
    s.undo()
    assert s.deleted == {1}


# --------------------------------------------------------------------------------------------------------------
# Fillers
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, flagged", [
    ("So um I think uh it works.", ["um", "uh"]),
    ("Umm, so Uhh... erm hmm mm we go.", ["Umm,", "Uhh...", "erm", "hmm", "mm"]),
    ("Well, you know, it is fine.", ["you know,"]),
    ("It's hard, you know.", ["you know."]),
    ("I mean, it was great.", ["I mean,"]),
    ("It was, like, amazing.", ["like,"]),
    ("Like, I don't know.", ["Like,"]),
    ("and it was like um yeah.", ["like", "um"]),
    ("Do you know the way to the station?", []),
    ("I mean it. You know what I mean?", []),
    ("I like tea. It looks like rain. I would like to go.", []),
    ("A car like a tank. Mm-hmm. Uh-huh.", []),
])
def test_fillers_by_context(text, flagged):
    found = find_fillers(_words(text))
    assert [f.text for f in found if f.kind == "filler"] == flagged


def test_pauses_and_filler_indices():
    words = _words("so um | we went")
    found = find_fillers(words, pause_s=0.6)
    pauses = [f for f in found if f.kind == "pause"]
    assert len(pauses) == 1 and abs(pauses[0].end - pauses[0].start - 0.85) < 1e-6
    assert filler_indices(found) == [1]
    assert [f for f in find_fillers(words, pause_s=1.0) if f.kind == "pause"] == []


def test_an_unheard_filler_in_a_gap_is_found(spoken):
    samples, words = _join(spoken, ["hello", "um", "there"], gap=0.25)
    said = [words[0], words[2]]  # Whisper left the "um" out
    found = [f for f in find_fillers(said, media_energy=(energy_curve(samples, FPS, sample_rate=SR), FPS))
             if f.kind == "unheard"]
    assert len(found) == 1, found
    assert abs(found[0].start - words[1].start) < 0.1 and abs(found[0].end - words[1].end) < 0.1
    assert found[0].confidence >= 0.5 and "between “hello” and “there”" in found[0].reason
    duration = samples.size / SR  # accepting it cuts it out, and nothing of the words around it
    kept = plan_transcript_cut(said, [], duration=duration, fps=FPS, remove_spans=[(found[0].start, found[0].end)])
    assert len(kept) == 2 and said[0].end < kept[0][1] <= words[1].start + 0.1
    assert words[1].end - 0.1 <= kept[1][0] < said[1].start
    kept = plan_transcript_cut(said, [], duration=duration, fps=FPS, remove_spans=[(0.0, duration)])
    assert all(any(a <= w.start - 0.08 + 1e-9 and w.end + 0.08 - 1e-9 <= b for a, b in kept) for w in said)
    assert len(kept) == 2  # the lead, the gap and the tail went; the words and their margins stayed
    clean, words = _join(spoken, ["hello", "there"], gap=0.5)
    assert [f.kind for f in find_fillers(words, media_energy=(energy_curve(clean, FPS, sample_rate=SR), FPS))] == []


def test_whisper_transcript_filler_is_found_and_cut(tmp_path):
    """End to end on one short clip: eSpeak says "um", Whisper base (the default captions backend) writes it
    (as "uh" or "um"), it is found, deleted, and the cut keeps every other word whole."""
    pytest.importorskip("faster_whisper")
    import wave

    from engines.base import EngineConfig
    from engines.captions import REGISTRY, CaptionRequest

    pad = np.zeros(SR // 2, np.float32)
    samples = np.concatenate([pad, _speak(["So um I think we should go to the park."])["So um I think we should go "
                                                                                       "to the park."], pad])
    path = tmp_path / "say.wav"
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1), fh.setsampwidth(2), fh.setframerate(SR)
        fh.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    result = REGISTRY.create(EngineConfig(options={"cache_dir": str(tmp_path / "models")})).run(
        CaptionRequest(media=path))
    doc = Transcript.from_captions(result)
    fillers = [f for f in find_fillers(doc.words) if f.kind == "filler"]
    assert len(fillers) == 1 and fillers[0].text.strip(",.").lower() in {"um", "uh"}, result.text
    session = EditSession(doc)
    session.delete(filler_indices(fillers))
    assert fillers[0].indices[0] not in session.visible_indices()
    kept = plan_transcript_cut(doc.words, session.deleted, duration=samples.size / SR,
                               energy_db=energy_curve(samples, FPS, sample_rate=SR), fps=FPS)
    gone = doc.words[fillers[0].indices[0]]
    assert len(kept) == 2 and kept[0][1] <= gone.start + 0.1 and kept[1][0] >= gone.end - 0.1
    for i, w in enumerate(doc.words):
        assert i in session.deleted or any(a <= w.start and w.end <= b for a, b in kept)


# --------------------------------------------------------------------------------------------------------------
# Retakes
# --------------------------------------------------------------------------------------------------------------
TAKES = [(0.0, 3.0, "So the reason we chose this camera is the low light."),
         (3.5, 6.5, "So, um, the reason we chose this camera is its low light."),
         (7.0, 9.0, "Then we went outside to film the street."),
         (9.5, 10.0, "Okay."), (10.2, 10.5, "Okay.")]


def test_retakes_found_by_text_and_false_start():
    retakes = find_retakes(TAKES)
    assert [(r.takes, r.keep, r.drop) for r in retakes] == [((0, 1), 1, (0,))]
    assert retakes[0].similarity >= 0.9
    for cut in ("So the reason we—", "So the reason wh-", "So the reason we..."):
        (r,) = find_retakes([(0.0, 1.0, cut), (1.2, 4.0, "So the reason we chose this camera.")])
        assert r.takes == (0, 1) and r.keep == 1 and "false start" in r.reason
    distinct = [TAKES[0], TAKES[2], (10.0, 12.0, "The light was low so we chose a camera."),
                (13.0, 14.0, "I think we should go."), (14.5, 16.0, "I think we should stay home tonight.")]
    assert find_retakes(distinct) == []
    assert find_retakes([TAKES[0], (60.0, 63.0, TAKES[1][2])]) == []  # outside the window


def test_retakes_with_an_embedding():
    texts = ["We picked this camera because it handles darkness well.",
             "This camera was chosen since it copes with low light.", "Then we went outside to film the street."]
    vectors = {texts[0]: [1.0, 0.0], texts[1]: [0.96, 0.28], texts[2]: [0.0, 1.0]}
    embed = lambda batch: np.array([vectors[t] for t in batch])
    sentences = [(0.0, 3.0, texts[0]), (3.5, 6.0, texts[1]), (6.5, 8.0, texts[2])]
    assert find_retakes(sentences) == []
    (r,) = find_retakes(sentences, embed=embed)
    assert r.takes == (0, 1) and r.keep == 1 and abs(r.similarity - 0.96) < 1e-9 and "meaning" in r.reason
    assert Retake.from_dict(json.loads(json.dumps(r.as_dict()))) == r


def test_filler_round_trip():
    found = find_fillers(_words("so um | you know, it is"))
    assert found and [Filler.from_dict(json.loads(json.dumps(f.as_dict()))).as_dict() for f in found] == \
        [f.as_dict() for f in found]
