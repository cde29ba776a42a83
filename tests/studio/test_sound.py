"""Edit → Sound tasks through the job runner: captions (transcribe, edit, export, burn), voice clean-up, stems and
loudness, on a clip with speech synthesised in the test."""
from __future__ import annotations

import numpy as np
import pytest

from engines.speech import REGISTRY as SPEECH
from engines.speech.types import SpeechRequest
from storage.models import AssetKind
from storage.repo import assets as assets_repo
from storage.repo import projects
from tests.media_factory import write_av_clip

TEXT = "The harbour opens at dawn. Fishing boats leave before the sun comes up."


def _run(studio, kind, project_id, params):
    job = studio.runner.submit(kind, project_id=project_id, params=params)
    snap = None
    for snap in studio.runner.wait(job):
        pass
    return snap


@pytest.fixture(scope="module")
def talk(studio, tmp_path_factory):
    voice = SPEECH.create().run(SpeechRequest(text=TEXT, sample_rate=48000)).clip.samples[0]
    pad = np.zeros(24000, np.float32)
    sound = np.concatenate([pad, voice / np.abs(voice).max() * 0.7, pad])
    sound = sound + np.random.default_rng(1).normal(0, 0.03, sound.size)
    path = write_av_clip(tmp_path_factory.mktemp("sound") / "talk.mp4", sound.astype(np.float32), rate=48000,
                         size=(160, 96))
    with studio.store.session() as s:
        p = projects.create_project(session=s, name="Sound")
        a = assets_repo.add_asset(session=s, project_id=p.id, stored=studio.store.media.put_file(path),
                                  kind=AssetKind.video, name="talk.mp4", duration_s=sound.size / 48000, width=160,
                                  height=96, fps=24.0)
        return p.id, a.id


def test_captions_edit_export_and_burn(studio, talk):
    project_id, asset_id = talk
    snap = _run(studio, "captions", project_id, {"asset_id": asset_id, "language": "en"})
    assert snap.status.value == "done", snap.message
    cues = snap.result["cues"]
    assert cues and "harbo" in snap.result["text"].lower()
    assert all(len(line) <= 42 for c in cues for line in c["text"].split("\n"))
    with studio.store.session() as s:
        subs = [assets_repo.get_asset(session=s, asset_id=i) for i in snap.result["asset_ids"]]
        assert sorted(a.ext for a in subs) == [".srt", ".vtt"] and all(a.kind == AssetKind.subtitle for a in subs)
        srt = studio.store.media.path_for(subs[0].content_hash, subs[0].ext).read_text()
        assert "-->" in srt
    rows = [[c["start_tc"], c["end_tc"], c["text"]] for c in cues]
    rows[0][2] = "The harbor opens at first light."
    out = _run(studio, "captions_export", project_id, {"subtitle_id": snap.result["subtitle_id"], "rows": rows})
    assert out.status.value == "done", out.message
    with studio.store.session() as s:
        edited = assets_repo.get_asset(session=s, asset_id=out.result["asset_ids"][0])
        text = studio.store.media.path_for(edited.content_hash, edited.ext).read_text()
        assert "first light" in text
        assert edited.provenance.human_edits and edited.provenance.human_edits[0]["op"] == "edit_captions"
    bad = [list(r) for r in rows]
    bad[0][1] = "soon"
    failed = _run(studio, "captions_export", project_id, {"subtitle_id": snap.result["subtitle_id"], "rows": bad})
    assert failed.status.value == "failed" and "row 1" in failed.message.lower()
    burned = _run(studio, "captions_burn", project_id, {"subtitle_id": snap.result["subtitle_id"],
                                                       "source_id": asset_id, "rows": rows})
    assert burned.status.value == "done", burned.message
    with studio.store.session() as s:
        video = assets_repo.get_asset(session=s, asset_id=burned.result["asset_id"])
        assert video.kind == AssetKind.video and {p.id for p in video.parents} == {asset_id,
                                                                                   snap.result["subtitle_id"]}


def test_clean_voice_gives_audio_and_a_video_with_the_new_sound(studio, talk):
    from engines.media import probe
    project_id, asset_id = talk
    snap = _run(studio, "denoise", project_id, {"asset_id": asset_id, "strength": 1.0})
    assert snap.status.value == "done", snap.message
    with studio.store.session() as s:
        audio = assets_repo.get_asset(session=s, asset_id=snap.result["audio_id"])
        video = assets_repo.get_asset(session=s, asset_id=snap.result["video_id"])
        assert audio.kind == AssetKind.audio and video.kind == AssetKind.video
        info = probe(studio.store.media.path_for(video.content_hash, video.ext))
        assert info.video is not None and info.audio is not None and abs(info.duration_s - 4) < 3


def test_stems_lite_split_is_labelled(studio, talk):
    project_id, asset_id = talk
    snap = _run(studio, "stems", project_id, {"asset_id": asset_id})
    assert snap.status.value == "done", snap.message
    assert snap.result["labelled_lite"] and "Lite split" in snap.result["note"]
    assert len(snap.result["stems"]) >= 2


def test_loudness_hits_the_target(studio, talk):
    import pyloudnorm

    from engines.media import read_audio
    project_id, asset_id = talk
    snap = _run(studio, "loudness", project_id, {"asset_id": asset_id, "target_lufs": -16.0, "true_peak_db": -1.0})
    assert snap.status.value == "done", snap.message
    with studio.store.session() as s:
        audio = assets_repo.get_asset(session=s, asset_id=snap.result["audio_id"])
        path = studio.store.media.path_for(audio.content_hash, audio.ext)
    x = read_audio(path, sample_rate=48000, mono=False)
    assert abs(pyloudnorm.Meter(48000).integrated_loudness(x.T) - (-16.0)) <= 0.5
    assert snap.result["metrics"]["out_true_peak_db"] <= -0.9


def test_bad_input_is_refused_clearly(studio, talk, tmp_path):
    project_id, _ = talk
    silent = tmp_path / "silent.mp4"
    from tests.media_factory import write_clip
    write_clip(silent, seconds=1.0, audio=None)
    with studio.store.session() as s:
        a = assets_repo.add_asset(session=s, project_id=project_id, stored=studio.store.media.put_file(silent),
                                  kind=AssetKind.video, name="no sound.mp4", duration_s=1.0)
        before = len(assets_repo.list_assets(session=s, project_id=project_id))
    for kind in ("captions", "denoise", "loudness"):
        snap = _run(studio, kind, project_id, {"asset_id": a.id})
        assert snap.status.value == "failed" and "no sound.mp4" in snap.message and "Traceback" not in snap.message
    with studio.store.session() as s:
        assert len(assets_repo.list_assets(session=s, project_id=project_id)) == before
