"""Edit by transcript as jobs on a real studio: a two-voice eSpeak conversation with an "um" and a repeated
sentence is transcribed (words, speakers, fillers, retakes); deleting words gives a timeline whose render is
shorter by exactly the removed span, recorded as a human edit."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from engines.transcript import EditSession
from storage.models import JobStatus
from storage.repo import assets as assets_repo
from storage.repo import projects
from studio.services import transcribing
from tests.media_factory import FPS, write_av_clip

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
LINES = [("en-us+m1", 50, "Welcome to the harbour show. Um, today we talk about boats."),
         ("en-gb+f4", 50, "Thanks for having me. I love the old wooden boats."),
         ("en-us+m1", 50, "Tell me about the restoration. Tell me about the restoration."),
         ("en-gb+f4", 50, "It took three summers and a lot of patience.")]


def _say(voice: str, pitch: int, text: str) -> np.ndarray:
    pytest.importorskip("espeakng_loader")
    code = ("import sys, numpy as np; from engines.speech import REGISTRY, SpeechRequest; "
            "c = REGISTRY.create().run(SpeechRequest(text=sys.argv[1], voice=sys.argv[2], pitch=int(sys.argv[3]), "
            "rate_wpm=150, sample_rate=16000)).clip; "
            "sys.stdout.buffer.write(np.asarray(c.samples, np.float32).mean(axis=0).tobytes())")
    out = subprocess.run([sys.executable, "-c", code, text, voice, str(pitch)], cwd=ROOT, capture_output=True,
                         check=True, timeout=120).stdout
    return np.frombuffer(out, dtype=np.float32)


@pytest.fixture(scope="module")
def talk(studio, tmp_path_factory):
    gap = np.zeros(int(0.35 * RATE), np.float32)
    parts = [np.zeros(int(0.5 * RATE), np.float32)]
    for voice, pitch, text in LINES:
        parts += [_say(voice, pitch, text), gap]
    sound = np.concatenate(parts + [np.zeros(int(0.5 * RATE), np.float32)])
    path = write_av_clip(tmp_path_factory.mktemp("talk") / "talk.mp4", sound, rate=RATE, size=(160, 120))
    with studio.store.session() as s:
        pid = projects.create_project(session=s, name="Harbour show").id
        a = assets_repo.add_asset(session=s, project_id=pid, stored=studio.store.media.put_file(path), kind="video",
                                  name="talk.mp4", duration_s=sound.size / RATE, width=160, height=120, fps=25.0)
        aid = a.id
    job = studio.runner.submit("transcript", project_id=pid, params={"asset_id": aid, "speakers": 2})
    snap = studio.runner.run_to_end(job, timeout_s=600)
    assert snap.status == JobStatus.done, snap.message
    return pid, aid, snap, transcribing.load(studio.store, snap.result["transcript_id"])


def _duration(path: Path) -> float:
    with av.open(str(path)) as c:
        return float(c.duration / av.time_base)


def test_transcript_has_words_speakers_fillers_and_the_retake(talk):
    _, _, snap, data = talk
    words = [w["text"].lower().strip(".,!?") for w in data["transcript"]["words"]]
    assert "boats" in words and "restoration" in words
    speakers = {w["speaker"] for w in data["transcript"]["words"]}
    assert len(speakers) == 2, snap.message
    first = data["transcript"]["words"][words.index("welcome")]["speaker"]
    second = data["transcript"]["words"][words.index("thanks")]["speaker"]
    assert first != second
    assert any(f["kind"] == "filler" and "um" in f["text"].lower() for f in data["fillers"]), data["fillers"]
    sentences = data["transcript"]["sentences"]

    def text(k):
        b = sentences[k]
        return " ".join(data["transcript"]["words"][i]["text"] for i in range(b["first"], b["stop"])).lower()
    assert any(all("restoration" in text(k) for k in r["takes"]) for r in data["retakes"]), data["retakes"]


def test_deleting_words_cuts_exactly_their_span_and_records_the_edit(studio, talk, tmp_path):
    pid, aid, snap, data = talk
    session = EditSession.from_dict(data["session"])
    words = session.transcript.words
    norm = [w.text.lower().strip(".,") for w in words]
    start = next(i for i in range(len(norm) - 1) if norm[i:i + 2] == ["three", "summers"])
    idx = [start, start + 1]  # delete "three summers" from "It took three summers and a lot of patience."
    session.delete(idx)
    job = studio.runner.submit("transcript_cut", project_id=pid, params={
        "transcript_id": snap.result["transcript_id"], "deleted": sorted(session.deleted)})
    cut = studio.runner.run_to_end(job, timeout_s=300)
    assert cut.status == JobStatus.done, cut.message
    clips = cut.result["timeline"]["clips"]
    removed = [(a["src_out"], b["src_in"]) for a, b in zip(clips, clips[1:])]
    assert len(removed) == 1
    gap_start, gap_end = removed[0]
    before, after = words[idx[0] - 1], words[idx[-1] + 1]
    frame = 1 / FPS + 1e-6  # the clip's frame; cuts sit on frames and keep 0.08 s after/before kept words
    assert before.end <= gap_start <= max(words[idx[0]].start, before.end + 0.08) + frame  # no ending clipped
    assert min(words[idx[-1]].end, after.start - 0.08) - frame <= gap_end <= after.start
    export = studio.runner.run_to_end(studio.runner.submit("export_timeline", project_id=pid, params={
        "timeline_id": cut.result["timeline_id"], "formats": ["mp4", "edl"]}), timeout_s=300)
    assert export.status == JobStatus.done, export.message
    with studio.store.session() as s:
        made = [assets_repo.get_asset(session=s, asset_id=i) for i in export.result["asset_ids"]]
        mp4 = next(a for a in made if a.ext == ".mp4")
        src = assets_repo.get_asset(session=s, asset_id=aid)
        tl = assets_repo.get_asset(session=s, asset_id=cut.result["timeline_id"])
        edits = tl.provenance.human_edits
        path = studio.store.media.path_for(mp4.content_hash, mp4.ext)
        src_path = studio.store.media.path_for(src.content_hash, src.ext)
    assert edits and edits[0]["op"] == "transcript_delete" and edits[0]["details"]["deleted_words"] == 2
    assert _duration(path) == pytest.approx(_duration(src_path) - (gap_end - gap_start), abs=0.1)


def test_nothing_struck_is_refused(studio, talk):
    pid, _, snap, _ = talk
    job = studio.runner.submit("transcript_cut", project_id=pid, params={
        "transcript_id": snap.result["transcript_id"], "deleted": []})
    out = studio.runner.run_to_end(job, timeout_s=60)
    assert out.status == JobStatus.failed and "Nothing is marked" in out.message


def test_shorts_are_proposed_on_sentences_and_rendered_vertical_with_timelines(studio, talk):
    pid, aid, _, data = talk
    propose = studio.runner.run_to_end(studio.runner.submit("shorts", project_id=pid, params={
        "asset_id": aid, "n": 2, "min_s": 4, "max_s": 12}), timeout_s=300)
    assert propose.status == JobStatus.done, propose.message
    cands = propose.result["candidates"]
    assert cands and all(4 <= c["end"] - c["start"] <= 12.6 for c in cands)
    assert [c["score"] for c in cands] == sorted((c["score"] for c in cands), reverse=True)
    ends = {round(w["end"], 1) for w in data["transcript"]["words"] if w["text"].rstrip().endswith((".", "?", "!"))}
    assert all(any(abs(c["end"] - 0.35 - e) < 0.6 for e in ends) for c in cands)  # they end after a sentence
    first = cands[0]
    done = studio.runner.run_to_end(studio.runner.submit("shorts", project_id=pid, params={
        "asset_id": aid, "render": True, "segments": [[first["start"], first["end"]]]}), timeout_s=600)
    assert done.status == JobStatus.done, done.message
    [short] = done.result["shorts"]
    with studio.store.session() as s:
        video = assets_repo.get_asset(session=s, asset_id=short["video_id"])
        path = studio.store.media.path_for(video.content_hash, video.ext)
        timelines = [assets_repo.get_asset(session=s, asset_id=i) for i in short["timeline_ids"]]
        assert video.provenance.engine == "shorts" and video.provenance.parameters["title"]
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        assert v.height > v.width and v.width % 2 == 0 and c.streams.audio
    assert sorted(t.ext for t in timelines) == [".edl", ".fcpxml", ".otio"]


def test_reframe_job_makes_a_vertical_video(studio, talk):
    pid, aid, _, _ = talk
    snap = studio.runner.run_to_end(studio.runner.submit("reframe", project_id=pid, params={
        "asset_id": aid, "aspect": "1:1", "fill": "crop"}), timeout_s=300)
    assert snap.status == JobStatus.done, snap.message
    with studio.store.session() as s:
        v = assets_repo.get_asset(session=s, asset_id=snap.result["video_id"])
        assert v.width == v.height and v.provenance.parameters["aspect"] == "1:1"
    assert len(snap.result["crop"]) > 10


@pytest.mark.parametrize("kind", ["no audio", "tone only"])
def test_clips_without_speech_fail_clearly_and_store_nothing(studio, tmp_path, kind):
    from tests.media_factory import write_clip, write_talk_clip

    path = (write_clip(tmp_path / "silent.mp4", seconds=2.0, audio=None) if kind == "no audio"
            else write_talk_clip(tmp_path / "tone.mp4", seconds=4.0))
    with studio.store.session() as s:
        pid = projects.create_project(session=s, name=f"No speech {kind}").id
        aid = assets_repo.add_asset(session=s, project_id=pid, stored=studio.store.media.put_file(path),
                                    kind="video", name=path.name, duration_s=2.0).id
    snap = studio.runner.run_to_end(studio.runner.submit("transcript", project_id=pid, params={"asset_id": aid}),
                                    timeout_s=300)
    assert snap.status == JobStatus.failed and path.name in snap.message, snap.message
    assert "Traceback" not in (snap.error or "") and "unexpectedly" not in snap.message  # a clear error, not a crash
    with studio.store.session() as s:
        assert [a.id for a in assets_repo.list_assets(session=s, project_id=pid)] == [aid]
