"""Shorts: proposals on whole sentences within [min_s, max_s], best first, no overlap, the loud + moving + hook part
first; word captions (highlight follows the word, text in the 9:16 safe area, 2-line groups); the rendered short
(9:16, even size, segment length, audio, its timeline); cancellation and bad input.

The talk is drawn here: 320×180 at 15 fps, 48 s in three 16-s parts — quiet and still, LOUD with a bright disc
moving and a hook ("Why do you never see ...?"), medium and still — with four sentences of timed words in each.
"""
from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import engines
from engines.autoedit.analyse import motion_curve
from engines.autoedit.export import write_edl
from engines.context import CallbackContext, NullContext
from engines.errors import Cancelled, InvalidInput
from engines.media import iter_frames, probe
from engines.shorts import REGISTRY, ShortsRequest, burn_word_captions, propose_shorts
from engines.shorts.__main__ import main as cli
from engines.shorts.captions import (
    MAX_LINES,
    SAFE_BOTTOM,
    SAFE_SIDE,
    SAFE_TOP,
    Layout,
    WordCaptionStyle,
    make_groups,
)
from engines.shorts.text import as_words
from engines.transcript import energy_curve
from tests.media_factory import encode_video

W, H, FPS, SECONDS, RATE = 320, 180, 15, 48.0, 48000
PARTS = [  # (loudness, moving disc, sentences)
    (0.02, False, ["Today we talk about the plan for this week.", "The team met on Monday to review the notes.",
                   "Most of the items were already done by then.", "We moved the rest to the next sprint board."]),
    (0.5, True, ["Why do you never see the secret editing trick?", "Here are 3 moves that change everything!",
                 "Cut on the beat and your viewers stay longer!", "Try it tonight and watch retention climb!"]),
    (0.08, False, ["After that the meeting went back to budgets.", "Finance asked for the totals by Friday.",
                   "Someone said the printer was broken again.", "Then everyone left the room around lunch."]),
]


def talk_words() -> list[dict]:
    """Four sentences per 16-s part, one every 4 s, a word every 0.38 s (0.3 s long)."""
    words = []
    for p, (_, _, sentences) in enumerate(PARTS):
        for s, sentence in enumerate(sentences):
            t0 = 16.0 * p + 4.0 * s + 0.2
            words += [{"start": round(t0 + 0.38 * k, 3), "end": round(t0 + 0.38 * k + 0.3, 3), "text": w}
                      for k, w in enumerate(sentence.split())]
    return words


def write_talk(path: Path) -> Path:
    y, x = np.mgrid[0:H, 0:W]  # a smooth dark gradient (blotchy noise makes the face cascades slow)
    bg = np.stack([20 + x * 40 // W, 30 + y * 30 // H, 50 + 0 * x], axis=2).astype(np.uint8)
    n = int(SECONDS * FPS)

    def frame(i: int) -> np.ndarray:
        t, image = i / FPS, bg.copy()
        if PARTS[min(2, int(t // 16))][1]:
            x = 60 + 200 * abs(((t * 0.5) % 2) - 1)  # back and forth
            cv2.circle(image, (int(x), 90), 22, (255, 255, 255), -1)
        else:
            cv2.circle(image, (160, 90), 22, (120, 120, 120), -1)
        return image

    t = np.arange(int(SECONDS * RATE)) / RATE
    loud = np.array([PARTS[min(2, int(x // 16))][0] for x in t[::RATE // 10]]).repeat(RATE // 10)[:t.size]
    sound = (loud * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        encode_video(out, video, (frame(i) for i in range(n)))
        for start in range(0, sound.size, 1024):
            chunk = av.AudioFrame.from_ndarray(sound[None, start:start + 1024], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = RATE, start
            for packet in audio.encode(chunk):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> Path:
    return write_talk(tmp_path_factory.mktemp("shorts") / "talk.mp4")


@pytest.fixture(scope="module")
def analysis(talk) -> dict:
    return {"energy_db": energy_curve(talk, FPS), "motion": motion_curve(talk, NullContext()), "fps": FPS,
            "duration": SECONDS}


def sentence_edges(words: list[dict]) -> tuple[list[float], list[float]]:
    starts, ends = [words[0]["start"]], []
    for a, b in zip(words, words[1:]):
        if a["text"].endswith((".", "?", "!")):
            ends.append(a["end"])
            starts.append(b["start"])
    return starts, ends + [words[-1]["end"]]


# --------------------------------------------------------------------------------------------------------------
# Proposals
# --------------------------------------------------------------------------------------------------------------
def test_proposals_are_whole_sentences_in_range_sorted_and_the_hook_part_wins(analysis):
    words = talk_words()
    found = propose_shorts(words, n=3, min_s=10.0, max_s=16.0, **analysis)
    assert len(found) == 3
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert all(0.0 <= c.score <= 1.0 for c in found)
    starts, ends = sentence_edges(words)
    for c in found:
        assert 10.0 - 1e-6 <= c.duration <= 16.0 + 1e-6, c
        inside = [w for w in words if c.start <= w["start"] < c.end]
        assert inside[0]["start"] in starts and inside[-1]["end"] in ends  # whole sentences ...
        assert all(w["end"] <= c.end + 1e-6 for w in inside)  # ... and no word clipped
        assert not [w for w in words if w["start"] < c.start < w["end"]]
        assert c.title and len(c.title.split()) <= 8
        assert abs(c.start * FPS - round(c.start * FPS)) < 1e-6  # on the frame grid
    for a in found:
        for b in found:
            assert a is b or a.end <= b.start or b.end <= a.start
    best = found[0]
    assert 15.5 <= best.start <= 16.2 and best.end <= 32.0, best
    assert any(r.startswith("hook") for r in best.reasons)
    assert "Secret" in best.title or "Never" in best.title


def test_titles_and_motion_free_scoring():
    words = as_words(talk_words())
    found = propose_shorts(words, duration=SECONDS, energy_db=None, fps=FPS, motion=None, n=2, min_s=10, max_s=16)
    assert len(found) == 2 and found[0].start > 15  # the hook and the exclamations alone still win
    plain = propose_shorts([w for w in talk_words() if w["start"] > 32], duration=SECONDS, energy_db=None, fps=FPS,
                           n=1, min_s=10, max_s=16)
    assert plain[0].title and len(plain[0].title.split()) <= 8 and plain[0].title[0].isupper()


def test_short_input_becomes_one_short_and_bad_input_is_refused():
    words = talk_words()[:18]  # two sentences, about 7 s
    found = propose_shorts(words, duration=8.0, energy_db=None, fps=FPS, n=3, min_s=15, max_s=60)
    assert len(found) == 1 and any("shorter than min_s" in r for r in found[0].reasons)
    with pytest.raises(InvalidInput, match="no words"):
        propose_shorts([], duration=10.0, energy_db=None, fps=FPS)
    with pytest.raises(InvalidInput, match="min_s"):
        propose_shorts(words, duration=10.0, energy_db=None, fps=FPS, min_s=20, max_s=10)
    with pytest.raises(InvalidInput, match="No run of whole sentences"):  # one 40-s sentence, shorts of 5–10 s
        long = [{"start": k * 0.5, "end": k * 0.5 + 0.4, "text": "word"} for k in range(80)]
        propose_shorts(long, duration=40.0, energy_db=None, fps=FPS, min_s=5, max_s=10)
    with pytest.raises(InvalidInput, match="bad times"):
        propose_shorts([{"start": 2.0, "end": 1.0, "text": "x"}], duration=10.0, energy_db=None, fps=FPS)


# --------------------------------------------------------------------------------------------------------------
# Word captions
# --------------------------------------------------------------------------------------------------------------
def test_groups_fit_two_lines_of_the_safe_width():
    layout = Layout(180, 320, WordCaptionStyle())
    text = ("Extraordinarily complicated visualisations demonstrate wonderfully the incomprehensible, "
            "and so we go on. Short words are fine too. Yes!").split()
    words = as_words([{"start": k * 0.4, "end": k * 0.4 + 0.3, "text": t} for k, t in enumerate(text)])
    groups = make_groups(words, layout)
    assert sum(len(g.texts) for g in groups) == len(words)
    for g in groups:
        assert 1 <= len(g.texts) <= 5 and len(g.lines) <= MAX_LINES
        for line in g.lines:
            assert len(line) == 1 or layout.line_width(g.texts, line) <= layout.max_line
    assert sum(len(g.texts) >= 2 for g in groups) >= len(groups) - 2
    for g, nxt in zip(groups, groups[1:]):  # 0.1-s gaps: each group stays until the next one (no flicker)
        assert g.end == nxt.start


def test_word_captions_highlight_the_current_word_inside_the_safe_area(tmp_path):
    grey, cw, ch, n = 90, 180, 320, 60
    src = tmp_path / "plain.mp4"
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = cw, ch, "yuv420p"
        encode_video(out, video, (np.full((ch, cw, 3), grey, np.uint8) for _ in range(n)))
    words = [{"start": 0.2, "end": 0.6, "text": "Stop"}, {"start": 0.7, "end": 1.2, "text": "scrolling"},
             {"start": 1.3, "end": 1.8, "text": "now!"}, {"start": 2.6, "end": 3.0, "text": "Seriously."}]
    out = burn_word_captions(src, words, tmp_path / "captioned.mp4")
    frames = {f.index: f.image.astype(int) for f in iter_frames(out)}
    assert len(frames) == n

    def highlight(image):  # the amber box of the current word
        r, g, b = image[..., 0], image[..., 1], image[..., 2]
        return (r > 200) & (g > 150) & (g < 235) & (b < 90)

    boxes = {}
    for t in (0.4, 0.95, 1.55):
        ys, xs = np.nonzero(highlight(frames[int(t * FPS)]))
        assert xs.size > 40, t
        boxes[t] = (xs.mean(), ys.mean())
    assert boxes[0.4] != boxes[0.95] != boxes[1.55]
    assert boxes[0.4][0] < boxes[0.95][0] or boxes[0.4][1] < boxes[0.95][1]  # the highlight moves on
    assert highlight(frames[int(2.3 * FPS)]).sum() < 5  # a 0.8-s pause: nothing shown
    for k, image in frames.items():
        drawn = np.abs(image - grey).max(axis=2) > 30
        ys, xs = np.nonzero(drawn)
        if ys.size:
            assert ys.min() >= SAFE_TOP * ch - 1 and ys.max() <= (1 - SAFE_BOTTOM) * ch + 1, k
            assert xs.min() >= SAFE_SIDE * cw - 1 and xs.max() <= (1 - SAFE_SIDE) * cw + 1, k
            assert 0.4 * ch < ys.mean() < 0.8 * ch
    with pytest.raises(InvalidInput, match="No words"):
        burn_word_captions(src, [{"start": 9.0, "end": 9.5, "text": "late"}], tmp_path / "none.mp4")


# --------------------------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------------------------
def test_render_one_short(talk, tmp_path):
    engine = REGISTRY.create()
    seen = []
    request = ShortsRequest(media=talk, words=talk_words(), n=1, min_s=10, max_s=16, out_dir=tmp_path / "out",
                            output_height=320)
    result = engine.run(request, CallbackContext(lambda f, m: seen.append(f)))
    assert len(result.shorts) == 1 and seen[-1] == 1.0 and seen == sorted(seen)
    short = result.shorts[0]
    cand = short.candidate
    info = probe(short.video)
    assert info.video.display_width * 16 == info.video.display_height * 9  # 9:16, even
    assert info.video.display_width % 2 == 0 and info.video.display_height == 320
    assert info.audio is not None
    assert abs(info.duration_s - cand.duration) <= 1.5 / FPS
    frames = sum(1 for _ in iter_frames(short.video, max_side=64))
    assert abs(frames - round(cand.duration * FPS)) <= 1
    clip = short.timeline.clips[0]
    assert (clip.src_in, clip.src_out) == (cand.start, cand.end) and Path(clip.source) == talk.resolve()
    write_edl(short.timeline, tmp_path / "short.edl")
    json.dumps(result.as_dict())
    assert short.crop_summary["output_size"] == [180, 320]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # temp files gone


def test_propose_only_cli_and_registry(talk, tmp_path, capsys):
    assert "shorts" in engines.KINDS and engines.registries()["shorts"].names() == ["lite"]
    found = REGISTRY.create().propose_only(ShortsRequest(media=talk, words=talk_words(), min_s=10, max_s=16))
    assert len(found) == 3 and found[0].start > 15
    words = tmp_path / "words.json"
    words.write_text(json.dumps(talk_words()))
    assert cli([str(talk), "--words", str(words), "--propose-only", "--json", "--min-s", "10", "--max-s", "16",
                "--n", "2"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 2 and listed[0]["start"] == pytest.approx(found[0].start, abs=1e-3)
    assert not (talk.parent / "talk-shorts").exists()  # nothing written
    picked = REGISTRY.create().propose_only(ShortsRequest(media=talk, words=talk_words(), segments=[(16.0, 24.1)]))
    assert picked[0].start == 16.0 and picked[0].end == pytest.approx(362 / 15)  # on the frame grid
    assert picked[0].text.startswith("Why do you") and picked[0].reasons == ["chosen by hand"]
    assert cli([str(talk), "--words", str(tmp_path / "missing.json")]) == 2


def test_cancel_and_bad_requests(talk, tmp_path):
    engine = REGISTRY.create()
    out = tmp_path / "cancelled"
    ctx = CallbackContext()
    ctx._on_report = lambda f, m: ctx.cancel() if "reframing" in m else None
    with pytest.raises(Cancelled):
        engine.run(ShortsRequest(media=talk, words=talk_words(), n=1, min_s=10, max_s=16, out_dir=out), ctx)
    assert list(out.iterdir()) == []  # no short, no temporary folder
    with pytest.raises(InvalidInput, match="too short"):
        engine.run(ShortsRequest(media=talk, words=talk_words(), segments=[(3.0, 3.4)], out_dir=out))
    with pytest.raises(InvalidInput, match="no words"):
        engine.propose_only(ShortsRequest(media=talk, words=[]))
    with pytest.raises(InvalidInput, match="aspect"):
        engine.propose_only(ShortsRequest(media=talk, words=talk_words(), aspect="2:1"))
