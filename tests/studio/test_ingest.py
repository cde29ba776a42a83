"""The upload path end to end below the UI: file → ingest job → asset with poster and contact sheet."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from engines.context import BaseContext
from storage.models import Asset, JobStatus
from storage.repo import assets as assets_repo
from storage.repo import preferences, projects
from studio.services import ingest
from studio.services.runner import JobRunner
from tests.media_factory import write_clip, write_wav
# every test taking store or settings runs on SQLite and on PostgreSQL, as [sqlite] and [pg]
from tests.pgfixtures import database_url, db_backend, pytest_generate_tests, settings  # noqa: F401, E402


@pytest.fixture
def runner(store):
    r = JobRunner(store)
    r.register(ingest.SPEC)
    yield r
    r.shutdown()


@pytest.fixture
def uploads(store):
    """Where Gradio puts uploads in a real studio (GRADIO_TEMP_DIR = <data>/gradio-tmp): the ingest task only
    accepts files from there and from the studio's tmp dir."""
    folder = store.settings.gradio_tmp_dir / "0123abcd"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def project_id(store):
    with store.session() as s:
        return projects.create_project(session=s, name="Test").id


def _ingest(runner, project_id, path, name=None):
    job_id = runner.submit("ingest", project_id=project_id,
                           params={"path": str(path), "name": name or path.name, "project_id": project_id})
    return runner.run_to_end(job_id, timeout_s=60)


def _stored_files(store):
    return sorted(p for p in store.media.root.rglob("*") if p.is_file()) if store.media.root.exists() else []


def test_video_upload_becomes_an_asset_with_previews(store, runner, project_id, uploads):
    clip = write_clip(uploads / "walk.mp4", size=(160, 120), seconds=2.0)
    snap = _ingest(runner, project_id, clip)
    assert snap.status == JobStatus.done, snap.message
    assert snap.message.startswith("Added walk.mp4: video, 160×120, 24 fps, 2.0 s")
    with store.session() as s:
        video = assets_repo.get_asset(session=s, asset_id=snap.result["asset_id"])
        assert (video.kind.value, video.width, video.height, round(video.fps)) == ("video", 160, 120, 24)
        assert abs(video.duration_s - 2.0) < 0.15
        assert video.meta["probe"]["audio"]["sample_rate"] == 22050 and "path" not in video.meta["probe"]
        assert video.provenance.source == "upload"
        poster = assets_repo.child_with_role(session=s, asset_id=video.id, role="poster")
        sheet = assets_repo.child_with_role(session=s, asset_id=video.id, role="contact_sheet")
        assert poster.provenance.engine == "thumbs" and poster.provenance.backend == "lite"
        assert poster.provenance.parameters["count"] >= 1 and "media" not in poster.provenance.parameters
        listed = assets_repo.list_assets(session=s, project_id=project_id, top_level_only=True)
        assert [a.id for a in listed] == [video.id]
        for a in (video, poster, sheet):
            assert store.media.path_for(a.content_hash, a.ext).is_file()
        with Image.open(store.media.path_for(sheet.content_hash, sheet.ext)) as im:
            assert im.width >= 4 * 100
    assert set(snap.output_asset_ids) == {video.id, poster.id, sheet.id}


def test_audio_upload_gets_a_waveform_poster(store, runner, project_id, uploads):
    snap = _ingest(runner, project_id, write_wav(uploads / "voice.wav", seconds=1.0))
    assert snap.status == JobStatus.done, snap.message
    with store.session() as s:
        a = assets_repo.get_asset(session=s, asset_id=snap.result["asset_id"])
        assert a.kind.value == "audio" and a.width is None
        assert assets_repo.child_with_role(session=s, asset_id=a.id, role="poster") is not None


def test_truncated_video_fails_clearly_and_stores_nothing(store, runner, project_id, uploads):
    clip = write_clip(uploads / "full.mp4", seconds=2.0)
    broken = uploads / "broken.mp4"
    data = clip.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    snap = _ingest(runner, project_id, broken)
    assert snap.status == JobStatus.failed
    assert "broken.mp4" in snap.message and "Traceback" not in snap.message
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Asset)) == 0
    assert _stored_files(store) == []


def test_wrong_type_is_refused_by_content(store, runner, project_id, uploads):
    fake = uploads / "notes.mp4"
    fake.write_text("this is not a video")
    snap = _ingest(runner, project_id, fake)
    assert snap.status == JobStatus.failed and "notes.mp4" in snap.message
    script = uploads / "evil.html"
    script.write_text("<script>alert(1)</script>")
    assert _ingest(runner, project_id, script).status == JobStatus.failed
    assert _stored_files(store) == []


def test_upload_limit_from_settings(store, runner, project_id, uploads):
    with store.session() as s:
        preferences.set_preference(session=s, key=ingest.UPLOAD_LIMIT_KEY, value={"max_mb": 1})
    big = write_wav(uploads / "big.wav", seconds=30.0)  # 1.3 MB of 16-bit PCM
    assert big.stat().st_size > 1024 * 1024
    snap = _ingest(runner, project_id, big)
    assert snap.status == JobStatus.failed and "limit is 1 MB" in snap.message
    assert _stored_files(store) == []


def test_same_file_twice_is_stored_once(store, runner, project_id, uploads):
    clip = write_clip(uploads / "a.mp4", seconds=1.0)
    first = _ingest(runner, project_id, clip)
    second = _ingest(runner, project_id, clip, name="copy of a.mp4")
    assert second.status == JobStatus.done and second.result["duplicate"]
    assert second.result["asset_id"] == first.result["asset_id"]
    assert len(_stored_files(store)) == 3  # the video, its poster, its contact sheet


def test_cancelled_ingest_stores_nothing(store, project_id, uploads):
    clip = write_clip(uploads / "c.mp4", seconds=2.0)

    class CancelWhenSaving(BaseContext):
        store_ = store
        created_by_id = None

        def __init__(self):
            self.store = store

        def report(self, fraction, message=""):
            self.late = fraction >= 0.88

        def cancelled(self):
            return getattr(self, "late", False)

    from engines.errors import Cancelled

    with pytest.raises(Cancelled):
        ingest.ingest(CancelWhenSaving(), {"path": str(clip), "name": "c.mp4", "project_id": project_id})
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Asset)) == 0
    assert _stored_files(store) == []


def test_upload_over_the_settings_limit_names_both_sizes(store, runner, project_id, uploads):
    with store.session() as s:
        preferences.set_preference(session=s, key=ingest.UPLOAD_LIMIT_KEY, value={"max_mb": 1})
    big = write_wav(uploads / "long take.wav", seconds=30.0)
    snap = _ingest(runner, project_id, big)
    assert snap.status == JobStatus.failed
    assert snap.message == "long take.wav is 1.3 MB; the upload limit is 1 MB (Settings → Uploads)."
    assert _stored_files(store) == [] and list(store.media.tmp_dir.glob("*")) == []


@pytest.mark.sqlite_only("the crafted paths aim at the SQLite file in the data dir; the check itself is the same "
                         "on PostgreSQL")
@pytest.mark.parametrize("where", ["etc", "database", "traversal", "encoded", "symlink", "media"])
def test_paths_outside_the_upload_folders_are_refused(store, runner, project_id, uploads, where):
    """A crafted job (or API call) naming a file the user did not upload fails clearly and stores nothing."""
    db = store.settings.data_dir / "reelsmith.db"
    assert db.is_file()
    stored = store.media.put_bytes(b"someone else's media", ext=".mp4")
    path = {
        "etc": "/etc/passwd",
        "database": str(db),
        "traversal": f"{uploads}/../../reelsmith.db",
        "encoded": f"{uploads}/%2e%2e/%2E%2E/reelsmith.db",
        "symlink": str(uploads / "innocent.mp4"),
        "media": str(stored.path),
    }[where]
    if where == "symlink":
        (uploads / "innocent.mp4").symlink_to(db)
    before = _stored_files(store)
    snap = _ingest(runner, project_id, Path(path), name="holiday.mp4")
    assert snap.status == JobStatus.failed
    assert snap.message.startswith("holiday.mp4: only files uploaded to this studio are accepted here.")
    assert "Traceback" not in snap.message
    assert _stored_files(store) == before
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Asset)) == 0


def test_identical_uploads_in_two_projects_share_one_file(store, runner, uploads):
    with store.session() as s:
        first = projects.create_project(session=s, name="First").id
        second = projects.create_project(session=s, name="Second").id
    clip = write_clip(uploads / "dock.mp4", seconds=1.0)
    other_folder = store.settings.tmp_dir / "elsewhere"
    other_folder.mkdir(parents=True)
    copy = other_folder / "dock (1).mp4"
    copy.write_bytes(clip.read_bytes())
    a = _ingest(runner, first, clip)
    b = _ingest(runner, second, copy)
    assert a.status == b.status == JobStatus.done
    assert not b.result.get("duplicate")  # a new asset in the second project ...
    with store.session() as s:
        va = assets_repo.get_asset(session=s, asset_id=a.result["asset_id"])
        vb = assets_repo.get_asset(session=s, asset_id=b.result["asset_id"])
        assert (va.project_id, vb.project_id) == (first, second)
        assert va.content_hash == vb.content_hash and va.id != vb.id
    videos = [p for p in _stored_files(store) if p.suffix == ".mp4"]
    assert len(videos) == 1  # ... whose bytes are stored once
    assert list(store.media.tmp_dir.glob("*")) == []
