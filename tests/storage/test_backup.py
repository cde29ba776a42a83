"""Backups: an online copy while the studio writes, the newest 14 kept, damage found, and the restore drill — a
fresh data dir that holds every project, asset, script and file of the original. Each runs on SQLite (the backup
API) and on PostgreSQL (pg_dump, restored with pg_restore into a new empty database)."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import backup
from storage.db import open_store
from storage.models import Asset, Project, ScriptVersion
from storage.repo import assets, projects, scripts

ROOT = Path(__file__).resolve().parents[2]


def _fill(store, n_projects: int = 3) -> dict[str, bytes]:
    """Projects with assets of distinct bytes (one shared by two projects) and a script each."""
    contents = {}
    with store.session() as s:
        shared = store.media.put_bytes(b"shared-intro" * 500, ext=".mp4")
        for i in range(n_projects):
            p = projects.create_project(session=s, name=f"Film {i}")
            data = bytes([i]) * 4096 + f"clip {i}".encode()
            stored = store.media.put_bytes(data, ext=".wav")
            contents[stored.sha256] = data
            assets.add_asset(session=s, project_id=p.id, stored=stored, kind="audio", name=f"take{i}.wav")
            assets.add_asset(session=s, project_id=p.id, stored=shared, kind="video", name="intro.mp4")
            scripts.create_script(session=s, project_id=p.id, title=f"Script {i}", text=f"INT. ROOM {i} - DAY")
    contents[shared.sha256] = b"shared-intro" * 500
    return contents


def _snapshot(store) -> dict:
    with store.session() as s:
        return {
            "projects": sorted(p.name for p in s.scalars(select(Project))),
            "assets": sorted((a.name, a.content_hash, a.ext, a.project.name) for a in s.scalars(select(Asset))),
            "scripts": sorted(v.text for v in s.scalars(select(ScriptVersion))),
        }


def test_restore_drill_finds_every_project_asset_and_file(settings, store, tmp_path, db_backend, blank_database):
    contents = _fill(store)
    keys = settings.data_dir / "secrets" / "credentials"
    keys.mkdir(parents=True)
    (keys / "instance.key").write_bytes(b"-----BEGIN KEY-----")
    before = _snapshot(store)

    info = backup.create_backup(settings)
    assert info.database == {"sqlite": "sqlite", "pg": "postgresql"}[db_backend]
    assert info.counts["projects"] == 3 and info.counts["assets"] == 6
    assert len(info.media) == 4  # the shared intro is backed up once
    assert backup.verify(info.path) == []

    restored = backup.restore(info.path, tmp_path / "restored", database_url=blank_database())
    other = open_store(restored)
    try:
        assert _snapshot(other) == before
        with other.session() as s:
            for a in s.scalars(select(Asset)):
                path = other.media.path_for(a.content_hash, a.ext)
                assert hashlib.sha256(path.read_bytes()).hexdigest() == a.content_hash
                assert path.read_bytes() == contents[a.content_hash]
    finally:
        other.close()
    assert (restored.data_dir / "secrets" / "credentials" / "instance.key").read_bytes() == b"-----BEGIN KEY-----"
    with pytest.raises(backup.BackupError, match="already holds a studio"):
        backup.restore(info.path, restored.data_dir)


def test_online_backup_while_the_studio_writes_is_consistent(settings, store, tmp_path, blank_database):
    _fill(store, 2)
    stop = threading.Event()
    written = []

    def writer():
        i = 0
        while not stop.is_set() and i < 400:
            with store.session() as s:
                p = projects.create_project(session=s, name=f"Busy {i}")
                stored = store.media.put_bytes(f"busy {i}".encode() * 100, ext=".txt")
                assets.add_asset(session=s, project_id=p.id, stored=stored, kind="other", name=f"b{i}.txt")
            written.append(i)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        infos = [backup.create_backup(settings, now=datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=h))
                 for h in range(3)]
    finally:
        stop.set()
        t.join()
    assert written, "the writer made no progress during the backups"
    for info in infos:
        assert backup.verify(info.path) == []
        restored = backup.restore(info.path, tmp_path / info.name, database_url=blank_database())
        other = open_store(restored)
        try:  # every asset row in the copy has its file: rows and files are consistent in each snapshot
            with other.session() as s:
                rows = list(s.scalars(select(Asset)))
                assert len(rows) == info.counts["assets"]
                assert all(other.media.path_for(a.content_hash, a.ext).is_file() for a in rows)
        finally:
            other.close()


def test_only_the_newest_14_are_kept_and_unreferenced_media_go(settings, store):
    with store.session() as s:
        p = projects.create_project(session=s, name="Rotating")
        first = store.media.put_bytes(b"first version", ext=".png")
        a = assets.add_asset(session=s, project_id=p.id, stored=first, kind="image", name="frame.png")
        aid = a.id
    root = backup.backup_root(settings)
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    backup.create_backup(settings, now=start)
    with store.session() as s:  # the first file is deleted from the project; later backups do not need it
        assets.delete_asset(session=s, asset_id=aid)
        second = store.media.put_bytes(b"second version", ext=".png")
        assets.add_asset(session=s, project_id=p.id, stored=second, kind="image", name="frame2.png")
    for day in range(1, 16):
        backup.create_backup(settings, now=start + timedelta(days=day))
    kept = backup.list_backups(root)
    assert len(kept) == 14
    assert kept[0].name == "reelsmith-20260316-000000" and kept[-1].name == "reelsmith-20260303-000000"
    mirror = root / "media"
    names = {p.name for p in mirror.rglob("*.png")}
    assert names == {second.sha256 + ".png"}  # the first file left with the last backup that held it


def test_verify_finds_a_damaged_or_missing_file_and_restore_refuses(settings, store, tmp_path, blank_database):
    _fill(store, 1)
    info = backup.create_backup(settings)
    m = info.media[0]
    path = backup.backup_root(settings) / "media" / m["sha256"][:2] / m["sha256"][2:4] / (m["sha256"] + m["ext"])
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.unlink()  # the mirror may be a hard link to the live file: replace it rather than write through it
    path.write_bytes(bytes(data))
    problems = backup.verify(info.path)
    assert any("damaged" in p for p in problems)
    with pytest.raises(backup.BackupError, match="cannot be restored"):
        backup.restore(info.path, tmp_path / "r", database_url=blank_database())
    assert not (tmp_path / "r" / "reelsmith.db").exists()
    path.unlink()
    assert any("missing" in p for p in backup.verify(info.path))


def test_a_partial_backup_is_never_listed_and_due_follows_the_newest(settings, store):
    _fill(store, 1)
    root = backup.backup_root(settings)
    assert backup.due(root, 24)
    info = backup.create_backup(settings)
    (root / "reelsmith-20990101-000000.partial").mkdir()
    assert [b.name for b in backup.list_backups(root)] == [info.name]
    assert not backup.due(root, 24)
    assert backup.due(root, 24, now=datetime.now(timezone.utc).timestamp() + 25 * 3600)
    assert not backup.due(root, 0)  # 0 hours turns scheduled backups off


def test_command_line_create_verify_restore(settings, store, tmp_path, db_backend, blank_database):
    _fill(store, 2)
    store.close()
    env = {"REELSMITH_DATA": str(settings.data_dir), "PATH": "/usr/bin:/bin"}
    target = []
    if db_backend == "pg":
        env["DATABASE_URL"] = settings.database_url
        target = ["--database-url", blank_database()]
    run = lambda *a: subprocess.run([sys.executable, "-m", "storage.backup", *a], cwd=ROOT, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    made = run("create", "--data-dir", str(settings.data_dir))
    assert made.returncode == 0, made.stderr
    folder = Path(made.stdout.split()[0])
    assert run("verify", str(folder)).stdout.strip() == "ok"
    done = run("restore", str(folder), "--into", str(tmp_path / "new"), *target)
    assert done.returncode == 0 and "restored into" in done.stdout
    again = run("restore", str(folder), "--into", str(tmp_path / "new"), *target)
    assert again.returncode == 2 and "already holds a studio" in again.stdout
