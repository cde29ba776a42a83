"""sweep_staging: stray upload temp files go, uploads in use and everything else stay."""
from __future__ import annotations

import os
import time

from storage.media import sweep_staging

DAY = 24 * 3600


def _age(path, seconds):
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)


def test_only_old_top_level_tmp_files_are_removed(tmp_path):
    staging = tmp_path / "gradio-tmp"
    in_use = staging / ("a" * 64)
    in_use.mkdir(parents=True)
    kept_upload = in_use / "clip.mp4"          # an upload Gradio renamed into its sha folder: in use
    kept_upload.write_bytes(b"x")
    stray = staging / "tmpab12cd34"            # Gradio's NamedTemporaryFile of an upload that died
    stray.write_bytes(b"partial")
    fresh = staging / "tmpfresh99"             # an upload still streaming
    fresh.write_bytes(b"partial")
    other = staging / "notes.txt"              # not Gradio's temp naming
    other.write_bytes(b"x")
    tmp_dir = staging / "tmpdir"               # a folder named like a temp file
    tmp_dir.mkdir()
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    link = staging / "tmplink"                 # a link is never followed (nor removed)
    link.symlink_to(target)
    for p in (kept_upload, in_use, stray, other, tmp_dir, target):
        _age(p, 2 * DAY)
    _age(link, 2 * DAY)

    assert sweep_staging(staging) == 1
    assert not stray.exists()
    assert fresh.exists() and kept_upload.exists() and other.exists() and tmp_dir.is_dir()
    assert target.read_bytes() == b"keep me" and link.is_symlink()


def test_threshold_and_missing_folder(tmp_path):
    staging = tmp_path / "gradio-tmp"
    assert sweep_staging(staging) == 0
    staging.mkdir()
    f = staging / "tmp123"
    f.write_bytes(b"x")
    _age(f, 3600)
    assert sweep_staging(staging) == 0                   # younger than the default 24 h
    assert sweep_staging(staging, older_than_s=60) == 1  # older than one minute
    assert not f.exists()


def test_uploads_are_staged_in_the_media_volume_and_unstaged(tmp_path):
    from storage.media import MediaStore

    store = MediaStore(tmp_path / "media")
    src = tmp_path / "gradio-tmp" / "abc" / "clip.mp4"
    src.parent.mkdir(parents=True)
    src.write_bytes(b"clip bytes")
    staged = store.stage(src, "../../evil name?.mp4")
    assert staged.parent.parent == store.incoming_dir and staged.name == "evil name_.mp4"
    assert staged.read_bytes() == b"clip bytes" and not list(staged.parent.glob(".part"))
    store.unstage(src)  # not a staged file: left alone
    assert src.exists()
    store.unstage(staged)
    assert not staged.parent.exists()
    old = store.stage(src, "clip.mp4")
    past = old.parent.stat().st_mtime - 2 * 86400
    os.utime(old.parent, (past, past))
    fresh = store.stage(src, "clip.mp4")
    assert store.sweep_incoming() == 1 and fresh.exists() and not old.exists()
