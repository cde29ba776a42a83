"""Edit tasks below the UI: rough cut → toggles → exports, and the enhancements, as jobs with stored results."""
from __future__ import annotations

import numpy as np
import pytest

from engines.audio_io import AudioClip, write_wav
from engines.autoedit import read_edl
from engines.media import probe
from storage.models import JobStatus
from storage.repo import assets as assets_repo
from storage.repo import projects
from tests.media_factory import write_talk_clip


def ingest(studio, pid, path):
    job = studio.runner.submit("ingest", project_id=pid, params={"path": str(path), "name": path.name,
                                                                 "project_id": pid})
    snap = studio.runner.run_to_end(job, timeout_s=120)
    assert snap.status == JobStatus.done, snap.message
    return snap.result["asset_id"]


def run(studio, kind, pid, **params):
    return studio.runner.run_to_end(studio.runner.submit(kind, project_id=pid, params=params), timeout_s=300)


@pytest.fixture(scope="module")
def talk(studio, tmp_path_factory):
    """A 6 s clip whose sound is two bursts separated by a 2 s silence."""
    (studio.settings.tmp_dir / "talk").mkdir(parents=True, exist_ok=True)
    clip = write_talk_clip(studio.settings.tmp_dir / "talk" / "talk.mp4")
    with studio.store.session() as s:
        pid = projects.create_project(session=s, name="Talk").id
    return pid, ingest(studio, pid, clip)


def test_rough_cut_toggle_and_export(studio, talk):
    pid, asset_id = talk
    cut = run(studio, "rough_cut", pid, asset_id=asset_id, margin_s=0.2)
    assert cut.status == JobStatus.done, cut.message
    clips = cut.result["timeline"]["clips"]
    assert len(clips) == 2 and clips[0]["src_out"] < 2.5 and clips[1]["src_in"] > 3.5
    exported = run(studio, "export_timeline", pid, timeline_id=cut.result["timeline_id"], disabled=[1],
                   formats=["edl", "fcpxml", "otio", "mp4"])
    assert exported.status == JobStatus.done, exported.message
    with studio.store.session() as s:
        made = {a.meta["purpose"]: a for a in (assets_repo.get_asset(session=s, asset_id=i)
                                               for i in exported.result["asset_ids"])
                if a.meta.get("purpose", "").startswith("export_")}
        mp4 = made["export_mp4"]
        assert mp4.provenance.human_edits[0]["op"] == "toggle_clips"
        edl = studio.store.media.path_for(made["export_edl"].content_hash, ".edl")
        mp4_path = studio.store.media.path_for(mp4.content_hash, ".mp4")
    events = read_edl(edl, fps=24)
    assert len(events) == 1  # the second clip was switched off
    info = probe(mp4_path)
    assert abs(info.duration_s - (clips[0]["src_out"] - clips[0]["src_in"])) < 0.15


def test_stabilise_and_grade_store_results_with_metrics(studio, talk):
    pid, asset_id = talk
    stab = run(studio, "stabilize", pid, asset_id=asset_id, smoothness=1000, crop_max=0.1)
    assert stab.status == JobStatus.done, stab.message
    assert {"jitter_before", "jitter_after", "crop", "ms_per_frame"} <= set(stab.result["metrics"])
    graded = run(studio, "colour", pid, asset_id=asset_id, white_balance=True, auto_exposure=True)
    assert graded.status == JobStatus.done, graded.message
    assert graded.result["metrics"]["psnr_vs_source"] > 10
    with studio.store.session() as s:
        out = assets_repo.get_asset(session=s, asset_id=graded.result["asset_id"])
        assert out.provenance.source == "edited" and out.provenance.engine == "colour"
        assert [link.parent_id for link in assets_repo.links_of(session=s, asset_id=out.id)
                if link.child_id == out.id] == [asset_id]


def test_interpolation_doubles_the_frame_rate_with_quality_figures(studio, talk):
    pid, asset_id = talk
    snap = run(studio, "interpolate", pid, asset_id=asset_id, factor=2)
    assert snap.status == JobStatus.done, snap.message
    m = snap.result["metrics"]
    assert m["fps_out"] == 2 * m["fps_in"] and "quality_flow_psnr" in m and "quality_blend_psnr" in m
    with studio.store.session() as s:
        out = assets_repo.get_asset(session=s, asset_id=snap.result["asset_id"])
        path = studio.store.media.path_for(out.content_hash, out.ext)
    assert abs(probe(path).fps - 48) < 0.5


def test_enhancing_an_audio_file_fails_clearly(studio, talk, tmp_path):
    pid, _ = talk
    wav = write_wav(studio.settings.tmp_dir / "voice.wav", AudioClip(np.zeros(48000, np.float32), 48000))
    audio_id = ingest(studio, pid, wav)
    snap = run(studio, "stabilize", pid, asset_id=audio_id)
    assert snap.status == JobStatus.failed and "voice.wav" in snap.message
