from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.errors import Conflict, InvalidValue, NotFound
from storage.models import Asset, AssetLink, Job, JobAsset, Provenance, Script, ScriptVersion
from storage.repo import assets, jobs, projects, scripts, users


def _asset(store, s, project_id, data: bytes, kind="video", parents=None, **prov):
    stored = store.media.put_bytes(data, ext=".bin")
    return assets.add_asset(session=s, project_id=project_id, stored=stored, kind=kind, name=f"a{len(data)}",
                            parents=parents, provenance=prov or None)


def test_project_names_are_unique_and_cleaned(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="  My   film ")
        assert p.name == "My film"
        with pytest.raises(Conflict):
            projects.create_project(session=s, name="my FILM")
        with pytest.raises(InvalidValue):
            projects.create_project(session=s, name="   ")
        projects.rename_project(session=s, project_id=p.id, name="Renamed")
        assert projects.get_project(session=s, project_id=p.id).name == "Renamed"


def test_repository_functions_are_keyword_only(store):
    with store.session() as s:
        with pytest.raises(TypeError):
            projects.create_project(s, "x")  # type: ignore[misc]


def test_deleting_a_project_cascades_to_everything_it_owns(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="Doomed")
        keep = projects.create_project(session=s, name="Kept")
        video = _asset(store, s, p.id, b"video-bytes", engine="upload")
        thumb = _asset(store, s, p.id, b"thumb", kind="image", parents=[(video.id, "poster")],
                       source="derived", engine="thumbs", backend="lite", parameters={"count": 12})
        kept_asset = _asset(store, s, keep.id, b"other")
        scripts.create_script(session=s, project_id=p.id, title="S", text="hello")
        job = jobs.create_job(session=s, kind="ingest", project_id=p.id, input_asset_ids=[video.id])
        jobs.finish_job(session=s, job_id=job.id, status=jobs.JobStatus.done, output_asset_ids=[thumb.id])
        pid, kept_id = p.id, kept_asset.id

    with store.session() as s:
        files = projects.delete_project(session=s, project_id=pid)
        assert len(files) == 2
    with store.session() as s:
        for model in (Asset, AssetLink, Provenance, Job, JobAsset, Script, ScriptVersion):
            count = s.scalar(select(func.count()).select_from(model))
            expected = {Asset: 1, Provenance: 1}.get(model, 0)
            assert count == expected, model.__name__
        assert s.get(Asset, kept_id) is not None


def test_deleting_an_asset_removes_previews_links_and_unused_files_only(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="P")
        video = _asset(store, s, p.id, b"video")
        poster = _asset(store, s, p.id, b"poster", kind="image", parents=[(video.id, "poster")])
        twin = _asset(store, s, p.id, b"video")  # same content as `video`: shares its file
        vid, poster_id, twin_id = video.id, poster.id, twin.id
        poster_path = store.media.path_for(poster.content_hash, poster.ext)
        video_path = store.media.path_for(video.content_hash, video.ext)
    with store.session() as s:
        files = assets.delete_asset(session=s, asset_id=vid)
    with store.session() as s:
        removed = assets.remove_unused_files(session=s, media=store.media, files=files)
        assert removed == 1
        assert s.get(Asset, poster_id) is None and s.get(Asset, twin_id) is not None
        assert s.scalar(select(func.count()).select_from(AssetLink)) == 0
    assert not poster_path.exists()
    assert video_path.exists()  # still used by the twin


def test_provenance_and_human_edits(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="P")
        a = _asset(store, s, p.id, b"img", kind="image", source="generated", engine="scene", backend="neural",
                   model_id="stabilityai/sd-turbo", prompt="a lighthouse at dusk", seed=42,
                   parameters={"steps": 2, "guidance": 0.0})
        assets.record_human_edit(session=s, asset_id=a.id, op="crop", details={"box": [0, 0, 10, 10]}, user="ann")
        aid = a.id
    with store.session() as s:
        prov = assets.get_asset(session=s, asset_id=aid).provenance
        assert (prov.engine, prov.model_id, prov.seed, prov.parameters["steps"]) == (
            "scene", "stabilityai/sd-turbo", 42, 2)
        assert prov.human_edits[0]["op"] == "crop" and prov.human_edits[0]["by"] == "ann"
        with pytest.raises(InvalidValue):
            _asset(store, s, p.id, b"x", colour="red")


def test_asset_row_requires_its_file(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="P")
        stored = store.media.put_bytes(b"abc", ext=".bin")
        stored.path.unlink()
        with pytest.raises(InvalidValue):
            assets.add_asset(session=s, project_id=p.id, stored=stored, kind="other", name="gone")


def test_parent_must_be_in_the_same_project(store):
    with store.session() as s:
        a = projects.create_project(session=s, name="A")
        b = projects.create_project(session=s, name="B")
        parent = _asset(store, s, a.id, b"p")
        with pytest.raises(InvalidValue):
            _asset(store, s, b.id, b"c", parents=[(parent.id, "source")])


def test_job_claim_is_exclusive_and_cancel_of_queued_job(store):
    with store.session() as s:
        j1 = jobs.create_job(session=s, kind="k")
        j2 = jobs.create_job(session=s, kind="k")
    with store.session() as s:
        assert jobs.claim_job(session=s, job_id=j1.id, worker="a")
        assert not jobs.claim_job(session=s, job_id=j1.id, worker="b")
        jobs.request_cancel(session=s, job_id=j2.id)
        assert not jobs.claim_job(session=s, job_id=j2.id, worker="a")
    with store.session() as s:
        assert jobs.get_job(session=s, job_id=j1.id).worker == "a"
        assert jobs.get_job(session=s, job_id=j2.id).status.value == "cancelled"
        with pytest.raises(NotFound):
            jobs.get_job(session=s, job_id=999)


def test_users_are_stored_hashed_and_authenticate(store):
    pairs = users.parse_users("alice:s3cr:et, bob:pw2")
    assert pairs == [("alice", "s3cr:et"), ("bob", "pw2")]
    with pytest.raises(InvalidValue):
        users.parse_users("nopassword")
    with store.session() as s:
        created = users.sync_users(session=s, pairs=pairs)
        assert created[0].is_admin and not created[1].is_admin
        assert "s3cr" not in created[0].password_hash
    with store.session() as s:
        assert users.authenticate(session=s, name="alice", password="s3cr:et") is not None
        assert users.authenticate(session=s, name="alice", password="wrong") is None
        assert users.authenticate(session=s, name="carol", password="x") is None
