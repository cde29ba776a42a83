"""Import from a link, end to end through the job runner: a real clip becomes an asset like an upload; an internal
address fails the job with a clear message and leaves the store and the scratch folder as they were."""
from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from storage.models import Asset, JobStatus
from storage.repo import projects
from studio.services import url_import
from tests.media_factory import write_clip


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    write_clip(root / "harbour.mp4", seconds=1.0)
    (root / "index.html").write_text("<html>hello</html>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.fixture
def project(studio):
    if "url_import" not in studio.runner._tasks:
        studio.runner.register(url_import.SPEC)
    with studio.store.session() as s:
        return projects.create_project(session=s, name=f"Linked {len(projects.list_projects(session=s))}").id


def _run(studio, pid, url):
    job = studio.runner.submit("url_import", project_id=pid, params={"url": url, "project_id": pid})
    return studio.runner.run_to_end(job, timeout_s=120)


def _count(studio):
    with studio.store.session() as s:
        return s.scalar(select(func.count()).select_from(Asset))


def _scratch(studio):
    folder = studio.settings.tmp_dir / "imports"
    return list(folder.rglob("*")) if folder.exists() else []


def test_a_link_on_an_allowed_network_is_imported_like_an_upload(studio, project, served, monkeypatch):
    monkeypatch.setenv("REELSMITH_IMPORT_ALLOW", "127.0.0.1/32")
    snap = _run(studio, project, f"{served}/harbour.mp4")
    assert snap.status == JobStatus.done, snap.message
    assert snap.message.startswith("Imported harbour.mp4: video")
    with studio.store.session() as s:
        asset = s.get(Asset, snap.result["asset_id"])
        assert asset.name == "harbour.mp4" and asset.kind.value == "video" and asset.project_id == project
        assert asset.content_hash == snap.result["sha256"]
        assert studio.store.media.path_for(asset.content_hash, asset.ext).is_file()
    assert len(snap.output_asset_ids) == 3  # the clip, its poster and contact sheet
    assert _scratch(studio) == []


def test_internal_addresses_and_web_pages_fail_the_job_and_change_nothing(studio, project, served, monkeypatch):
    monkeypatch.delenv("REELSMITH_IMPORT_ALLOW", raising=False)
    before = _count(studio)
    for url, words in [(f"{served}/harbour.mp4", "loopback"), ("http://169.254.169.254/latest/meta-data", "metadata"),
                       ("file:///etc/passwd", "Only http and https")]:
        snap = _run(studio, project, url)
        assert snap.status == JobStatus.failed and words in snap.message, snap.message
    monkeypatch.setenv("REELSMITH_IMPORT_ALLOW", "127.0.0.1/32")
    page = _run(studio, project, f"{served}/index.html")
    assert page.status == JobStatus.failed and "not a media file" in page.message
    assert _count(studio) == before and _scratch(studio) == []
