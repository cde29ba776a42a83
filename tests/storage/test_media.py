from __future__ import annotations

import hashlib
import os
import time

import pytest

from storage.media import FileTooLarge, MediaStore, MediaStoreError


def test_content_addressed_and_deduplicated(tmp_path):
    ms = MediaStore(tmp_path / "m")
    a = ms.put_bytes(b"frame data", ext=".PNG")
    b = ms.put_bytes(b"frame data", ext=".png")
    assert a.sha256 == hashlib.sha256(b"frame data").hexdigest()
    assert a.path == b.path and a.created and not b.created
    assert a.path.read_bytes() == b"frame data"
    assert a.path.relative_to(ms.root).parts[:2] == (a.sha256[:2], a.sha256[2:4])
    assert list(ms.tmp_dir.iterdir()) == []


def test_failed_write_leaves_nothing_behind(tmp_path):
    ms = MediaStore(tmp_path / "m")

    def chunks():
        yield b"x" * 1000
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        ms.put_stream(chunks(), ext=".mp4")
    files = [p for p in ms.root.rglob("*") if p.is_file()]
    assert files == []


def test_size_limit_is_enforced_while_streaming(tmp_path):
    ms = MediaStore(tmp_path / "m")
    seen = []

    def chunks():
        for i in range(100):
            seen.append(i)
            yield b"y" * 1024

    with pytest.raises(FileTooLarge):
        ms.put_stream(chunks(), ext=".bin", max_bytes=10 * 1024)
    assert len(seen) == 11  # stopped as soon as the limit was passed
    assert [p for p in ms.root.rglob("*") if p.is_file()] == []


def test_reader_never_sees_a_partial_file(tmp_path):
    """While a write is in progress the final path does not exist; afterwards it is complete."""
    ms = MediaStore(tmp_path / "m")
    payload = os.urandom(3 * 1024 * 1024)
    final = ms.path_for(hashlib.sha256(payload).hexdigest(), ".bin")
    observed = []

    def chunks():
        for i in range(0, len(payload), 1 << 20):
            observed.append(final.exists())
            yield payload[i:i + (1 << 20)]

    ms.put_stream(chunks(), ext=".bin")
    assert observed == [False, False, False]
    assert final.read_bytes() == payload


def test_keys_are_validated(tmp_path):
    ms = MediaStore(tmp_path / "m")
    with pytest.raises(MediaStoreError):
        ms.path_for("../../etc/passwd", ".txt")
    with pytest.raises(MediaStoreError):
        ms.path_for("a" * 64, "/../x")


def test_sweep_removes_only_old_temp_files(tmp_path):
    ms = MediaStore(tmp_path / "m")
    ms.tmp_dir.mkdir(parents=True)
    old, new = ms.tmp_dir / "old.part", ms.tmp_dir / "new.part"
    old.write_bytes(b"1")
    new.write_bytes(b"2")
    past = time.time() - 2 * 24 * 3600
    os.utime(old, (past, past))
    assert ms.sweep_tmp() == 1
    assert not old.exists() and new.exists()
