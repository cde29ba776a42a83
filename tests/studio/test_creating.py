"""Idea to animatic below the UI: draft → storyboard → music → voice-over → animatic, all lite, all as jobs."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engines.media import probe
from engines.scene.pnginfo import read_parameters
from engines.script import parse
from storage.models import Asset, JobStatus
from storage.repo import assets as assets_repo
from storage.repo import preferences, projects, scripts
from studio.services.creating import script_assets

SCRIPT = """Title: Tide

EXT. HARBOUR - MORNING

Rain on the dock. MARA waits by the water.

MARA
It comes in at four.

JONAS
Then we wait.

INT. PILOT OFFICE - DAY

Charts cover the table. Jonas circles a date.

JONAS
(quietly)
This one.

EXT. OPEN SEA - DAWN

The boat cuts through grey water.
"""


@pytest.fixture(scope="module")
def ids(studio):
    with studio.store.session() as s:
        p = projects.create_project(session=s, name="Tide")
        sc = scripts.create_script(session=s, project_id=p.id, title="Tide", text=SCRIPT)
        return p.id, sc.id


def run(studio, kind, project_id, **params):
    job_id = studio.runner.submit(kind, project_id=project_id, params={"project_id": project_id, **params})
    return studio.runner.run_to_end(job_id, timeout_s=300)


def count_assets(studio):
    with studio.store.session() as s:
        return s.scalar(select(func.count()).select_from(Asset))


def test_animatic_before_storyboard_fails_clearly(studio, ids):
    pid, sid = ids
    snap = run(studio, "animatic", pid, script_id=sid)
    assert snap.status == JobStatus.failed and "generate the storyboard first" in snap.message
    assert count_assets(studio) == 0


def test_draft_streams_and_saves_a_version(studio, ids):
    from studio.services import writing
    from studio.services.runner import JobContext

    pid, _ = ids
    with studio.store.session() as s:
        sid = scripts.create_script(session=s, project_id=pid, title="Draft").id

    class Recording(JobContext):
        def __init__(self):
            super().__init__(studio.store, job_id=0)
            self.partials = []

        def publish(self, partial, *, force=False):
            self.partials.append(partial["partial"])

    ctx = Recording()
    outcome = writing.draft(ctx, {"script_id": sid, "request": {
        "logline": "A lighthouse keeper finds a radio that talks back", "scenes": 5, "seed": 2}})
    play = parse(outcome.result["text"])
    assert len(play.scenes) == 5 and outcome.result["version"] == 2
    assert len(ctx.partials) > 3 and ctx.partials[-1] == outcome.result["text"]
    assert all(b.startswith(a) for a, b in zip(ctx.partials, ctx.partials[1:]))  # the text grows
    rewrite = run(studio, "rewrite", pid, script_id=sid, scene_index=2, instruction="at night, shorter")
    assert rewrite.status == JobStatus.done and rewrite.result["version"] == 3
    with studio.store.session() as s:
        assert "-" in scripts.diff_versions(session=s, script_id=sid, old=2, new=3)


def test_storyboard_music_voiceover_and_animatic(studio, ids):
    pid, sid = ids
    sb = run(studio, "storyboard", pid, script_id=sid, request={"seed": 7, "width": 320, "height": 176})
    assert sb.status == JobStatus.done, sb.message
    frames = script_assets(studio.store, pid, sid, "storyboard")
    assert sorted(frames) == [0, 1, 2]
    with studio.store.session() as s:
        frame = assets_repo.get_asset(session=s, asset_id=frames[1].id)
        prov = frame.provenance
        assert (prov.source, prov.engine, prov.backend, prov.seed) == ("generated", "scene", "lite", 8)
        assert "PILOT OFFICE" in prov.prompt
        png = studio.store.media.path_for(frame.content_hash, frame.ext)
    assert read_parameters(png)["seed"] == 8

    bed = run(studio, "music", pid, request={"prompt": "calm piano", "mood": "hopeful", "duration_s": 8.0,
                                             "seed": 1})
    assert bed.status == JobStatus.done, bed.message
    vo = run(studio, "voiceover", pid, script_id=sid, rate_wpm=220)
    assert vo.status == JobStatus.done, vo.message
    voices = script_assets(studio.store, pid, sid, "voiceover")
    assert sorted(voices) == [0, 1, 2]
    assert any("Mara: It comes in at four." in c[2] for c in voices[0].meta["captions"])
    with studio.store.session() as s:
        params = assets_repo.get_asset(session=s, asset_id=voices[0].id).provenance.parameters
        assert params["voices"]["MARA"] != params["voices"]["JONAS"]

    an = run(studio, "animatic", pid, script_id=sid, music_asset_id=bed.result["asset_id"], width=320,
             height=180, fps=12)
    assert an.status == JobStatus.done, an.message
    with studio.store.session() as s:
        video = assets_repo.get_asset(session=s, asset_id=an.result["asset_id"])
        roles = {(link.parent_id, link.role) for link in assets_repo.links_of(session=s, asset_id=video.id)
                 if link.child_id == video.id}
        srt = assets_repo.child_with_role(session=s, asset_id=video.id, role="subtitles")
        path = studio.store.media.path_for(video.content_hash, video.ext)
        srt_text = studio.store.media.path_for(srt.content_hash, srt.ext).read_text()
    info = probe(path)
    assert info.video.codec == "h264" and info.audio.codec == "aac" and info.width == 320
    speech_total = sum(v.duration_s for v in voices.values())
    assert info.duration_s >= speech_total  # each scene at least as long as its speech
    assert {r for _, r in roles} == {"frame", "voiceover", "music"} and len(roles) == 7
    assert "Mara: It comes in at four." in srt_text


def test_bad_requests_fail_and_store_nothing(studio, ids, monkeypatch):
    pid, _ = ids
    before = count_assets(studio)
    empty = run(studio, "scene_image", pid, request={"prompt": "   "})
    assert empty.status == JobStatus.failed and "prompt" in empty.message.lower()
    long_music = run(studio, "music", pid, request={"duration_s": 5000})
    assert long_music.status == JobStatus.failed
    silent = run(studio, "voice", pid, request={"text": ""})
    assert silent.status == JobStatus.failed
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with studio.store.session() as s:
        preferences.set_engine_choice(session=s, kind="scene", backend="neural", model_id="nobody/no-such-model")
    try:
        offline = run(studio, "scene_image", pid, request={"prompt": "a lighthouse", "width": 64, "height": 64})
    finally:
        with studio.store.session() as s:
            preferences.set_engine_choice(session=s, kind="scene", backend="lite", model_id=None)
    assert offline.status == JobStatus.failed and "local" in offline.message.lower()
    assert "Traceback" not in offline.message
    assert count_assets(studio) == before


def test_image_batch_and_img2img_from_a_project_image(studio, ids):
    pid, _ = ids
    first = run(studio, "scene_image", pid, request={"prompt": "EXT. LIGHTHOUSE - DUSK. Waves, tense", "seed": 3,
                                                     "width": 256, "height": 160, "batch": 2})
    assert first.status == JobStatus.done, first.message
    a, b = first.result["asset_ids"]
    with studio.store.session() as s:
        seeds = [assets_repo.get_asset(session=s, asset_id=i).provenance.seed for i in (a, b)]
    assert seeds == [3, 4]
    second = run(studio, "scene_image", pid, init_asset_id=a,
                 request={"prompt": "EXT. LIGHTHOUSE - NIGHT", "width": 256, "height": 160, "strength": 0.3})
    assert second.status == JobStatus.done, second.message
    [c] = second.result["asset_ids"]
    with studio.store.session() as s:
        links = assets_repo.links_of(session=s, asset_id=c)
        prov = assets_repo.get_asset(session=s, asset_id=c).provenance
    assert [(link.parent_id, link.role) for link in links if link.child_id == c] == [(a, "init_image")]
    assert prov.parameters["strength"] == 0.3


def test_storyboard_resumes_only_missing_scenes(studio, ids):
    pid, sid = ids
    before = script_assets(studio.store, pid, sid, "storyboard")
    assert sorted(before) == [0, 1, 2]  # made by the earlier test
    with studio.store.session() as s:
        assets_repo.delete_asset(session=s, asset_id=before[1].id)
    snap = run(studio, "storyboard", pid, script_id=sid, missing_only=True,
               request={"seed": 7, "width": 320, "height": 176})
    assert snap.status == JobStatus.done and snap.message.endswith("2 kept.")
    after = script_assets(studio.store, pid, sid, "storyboard")
    assert after[0].id == before[0].id and after[2].id == before[2].id and after[1].id != before[1].id
