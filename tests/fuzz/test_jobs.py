"""Damaged files through real studio jobs (the JobRunner on a temp studio): the upload (``ingest``) and the jobs
that read a stored asset. A job given bad input ends ``failed`` with a clear message (never "failed
unexpectedly"), and the store is as it was: the same asset rows, the same files in the media folder, nothing left
in the media store's ``.tmp`` or in the studio's scratch folder.

For the jobs on stored assets the damaged file is put in the store directly (as if it had rotted on disk after a
good upload): the upload itself refuses such files, which the ``ingest`` tests check.
"""
from __future__ import annotations

import mimetypes

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage.models import Asset, AssetKind, JobStatus
from storage.repo import assets as assets_repo
from storage.repo import projects
from tests.studio.conftest import open_studio

from .conftest import TALLY
from .mutate import OPS, Case, apply
from .seeds import SEED_NAMES

INGEST_EXAMPLES = 20
ASSET_JOB_EXAMPLES = 4
ASSET_JOB_EXAMPLES_OVERRIDE = {"stabilize": 3}  # a file that still decodes costs a render
#: Jobs that read one stored asset (``asset_id``) and the seeds that make sense for them.
ASSET_JOBS = {
    "shots": ("clip.mp4", "talk.mp4", "clip.mkv", "clip.avi"),
    "rough_cut": ("talk.mp4", "clip.mp4", "clip.mkv"),
    "loudness": ("tone.wav", "tone.mp3", "talk.mp4", "tone.flac"),
    "denoise": ("tone.wav", "tone.ogg", "talk.mp4"),
    "stabilize": ("clip.mp4", "clip.avi", "clip.mkv"),
}
JOB_TIMEOUT_S = 90

#: Bounded and reproducible; no shrinking (a smaller rng seed is not a simpler case).
COMMON = {"deadline": None, "derandomize": True, "database": None, "phases": (Phase.explicit, Phase.generate),
          "suppress_health_check": list(HealthCheck)}


@pytest.fixture(scope="module")
def studio(tmp_path_factory, fuzz_env):  # fuzz_env first: its worker is forked before the runner's threads
    st_ = open_studio(tmp_path_factory, "fuzz-studio")
    with st_.store.session() as s:
        st_.project_id = projects.create_project(session=s, name="Fuzz").id  # one project for every upload
    yield st_
    st_.close()


def store_state(studio) -> dict:
    """What must not change when a job fails: asset rows, media files, temp files."""
    media = studio.store.media
    with studio.store.session() as s:
        rows = sorted((a.id, a.content_hash, a.ext, a.name) for a in s.scalars(select(Asset)))
    files = sorted(str(p.relative_to(media.root)) for p in media.root.rglob("*")
                   if p.is_file() and media.tmp_dir not in p.parents) if media.root.exists() else []
    tmp = sorted(p.name for p in media.tmp_dir.iterdir()) if media.tmp_dir.is_dir() else []
    scratch = sorted(p.name for p in studio.settings.tmp_dir.iterdir()) if studio.settings.tmp_dir.is_dir() else []
    return {"rows": rows, "files": files, "media_tmp": tmp, "scratch": scratch}


def check_failed_cleanly(snap, before: dict, after: dict, label: str) -> None:
    where = f"{snap.kind} on {label}"
    assert snap.status in (JobStatus.failed, JobStatus.done), f"{where}: {snap.status} {snap.message}"
    if snap.status == JobStatus.done:
        return  # the damage did not matter (a flipped bit in the picture): a result is a fine outcome
    assert snap.message.strip(), f"{where}: failed without a message"
    assert "failed unexpectedly" not in snap.message, f"{where}: {snap.message}\n{snap.error}"
    assert "Traceback" not in (snap.error or ""), f"{where}: {snap.error}"
    assert after == before, f"{where}: the store changed: {before} -> {after}"


def run_job(studio, kind: str, params: dict):
    TALLY["jobs"] += 1
    job = studio.runner.submit(kind, project_id=studio.project_id, params=params)
    return studio.runner.run_to_end(job, timeout_s=JOB_TIMEOUT_S)


# --------------------------------------------------------------------------------------------------------------
# The upload
# --------------------------------------------------------------------------------------------------------------
def ingest(studio, path, name: str | None = None):
    """Upload ``path`` as the UI does: copied into Gradio's upload folder (the only place ingest takes files from)."""
    import shutil

    folder = studio.settings.gradio_tmp_dir / f"fuzz-{path.parent.name}"
    folder.mkdir(parents=True, exist_ok=True)
    upload = folder / path.name
    shutil.copyfile(path, upload)
    snap = run_job(studio, "ingest", {"path": str(upload), "name": name or path.name,
                                      "project_id": studio.project_id})
    assert snap.error != "PathRefused", snap.message  # the test's own mistake, not the property under test
    return snap


def test_ingest_of_mutated_files_fails_cleanly(studio, fuzz_env):
    @settings(max_examples=INGEST_EXAMPLES, **COMMON)
    @given(case=st.builds(Case, st.sampled_from(SEED_NAMES), st.sampled_from(OPS), st.integers(0, 2**32 - 1)))
    def check(case: Case) -> None:
        path = fuzz_env.write(case)
        before = store_state(studio)
        snap = ingest(studio, path)
        check_failed_cleanly(snap, before, store_state(studio), case.label)
        seen.add(snap.error or "done")

    seen: set[str] = set()
    check()
    # not vacuous: some files got past the type check (done, or refused later by the probe or the previews)
    assert seen - {"UnsupportedMedia", "InvalidMedia"}, seen


@pytest.mark.parametrize("name, error", [
    ("huge.png", "MediaTooLarge"), ("huge.jpg", "MediaTooLarge"), ("huge.gif", "MediaTooLarge"),
    ("huge.bmp", "MediaTooLarge"), ("huge-frames.mov", "MediaTooLarge"),
])
def test_ingest_refuses_enormous_resolution(studio, fuzz_env, name, error):
    before = store_state(studio)
    snap = ingest(studio, fuzz_env.seeds_dir / name)
    assert snap.status == JobStatus.failed and snap.error == error, (snap.status, snap.message, snap.error)
    check_failed_cleanly(snap, before, store_state(studio), name)


def test_ingest_of_empty_and_wrong_files(studio, fuzz_env, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 50)
    png_as_wav = tmp_path / "still.wav"
    png_as_wav.write_bytes((fuzz_env.seeds_dir / "still.png").read_bytes())
    for path in (empty, text, png_as_wav):
        before = store_state(studio)
        snap = ingest(studio, path)
        assert snap.status == JobStatus.failed, (path.name, snap.message)
        check_failed_cleanly(snap, before, store_state(studio), path.name)


def test_ingest_of_a_real_hour_long_file(studio, fuzz_env):
    """An hour of 8 kHz MP3 (3.6 MB) is an ordinary upload: stored with its duration and previews, quickly."""
    snap = ingest(studio, fuzz_env.seeds_dir / "hour-silence.mp3")
    assert snap.status == JobStatus.done, snap.message
    with studio.store.session() as s:
        asset = assets_repo.get_asset(session=s, asset_id=snap.result["asset_id"])
        assert abs(asset.duration_s - 3600) < 5


# --------------------------------------------------------------------------------------------------------------
# Jobs on a stored asset whose file is damaged
# --------------------------------------------------------------------------------------------------------------
def add_damaged_asset(studio, data: bytes, name: str) -> int:
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ".bin"
    kind = AssetKind.audio if ext in (".wav", ".mp3", ".flac", ".ogg", ".m4a") else AssetKind.video
    stored = studio.store.media.put_bytes(data, ext=ext)
    with studio.store.session() as s:
        return assets_repo.add_asset(session=s, project_id=studio.project_id, stored=stored, kind=kind, name=name,
                                     mime=mimetypes.guess_type(name)[0], duration_s=1.0,
                                     provenance={"source": "upload"}).id


@pytest.mark.parametrize("kind", sorted(ASSET_JOBS))
def test_jobs_on_a_damaged_stored_asset_fail_cleanly(studio, fuzz_env, kind):
    seeds = ASSET_JOBS[kind]

    @settings(max_examples=ASSET_JOB_EXAMPLES_OVERRIDE.get(kind, ASSET_JOB_EXAMPLES), **COMMON)
    @given(case=st.builds(Case, st.sampled_from(seeds), st.sampled_from(OPS), st.integers(0, 2**32 - 1)))
    def check(case: Case) -> None:
        data, name = apply(case, fuzz_env.seeds)
        asset_id = add_damaged_asset(studio, data, name)
        before = store_state(studio)
        snap = run_job(studio, kind, {"asset_id": asset_id})
        check_failed_cleanly(snap, before, store_state(studio), case.label)

    check()
