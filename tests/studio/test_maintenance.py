"""The house-keeping thread: each task on its own period, a failing one never stops the others, backups when due,
old scratch files swept."""
from __future__ import annotations

import os
import time

from storage import backup
from studio.services.maintenance import Maintenance


def test_tasks_run_on_their_period_and_a_failure_is_contained(store, monkeypatch):
    m = Maintenance(store, backup_hours=24)
    calls = []

    def broken():
        calls.append("purge")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(m, "purge", broken)
    assert m.run_due(now=1000.0) == ["retention", "sweep", "backup"]
    assert calls == ["purge"] and "disk on fire" in m.last_error["retention"]
    assert len(backup.list_backups(backup.backup_root(store.settings))) == 1  # the backup still ran
    assert m.run_due(now=1000.0 + 1800) == []
    assert m.run_due(now=1000.0 + 3601) == ["sweep", "backup"]
    assert len(backup.list_backups(backup.backup_root(store.settings))) == 1  # not due again within 24 h
    assert m.run_due(now=1000.0 + 6 * 3600 + 1) == ["retention", "sweep", "backup"]


def test_backups_off_when_hours_is_zero_and_old_scratch_is_swept(store):
    m = Maintenance(store, backup_hours=0)
    assert m.backup_if_due() is None
    scratch = store.settings.tmp_dir
    scratch.mkdir(parents=True, exist_ok=True)
    old, new = scratch / "old-render", scratch / "new-render"
    old.mkdir()
    new.mkdir()
    past = time.time() - 2 * 86400
    os.utime(old, (past, past))
    store.media.tmp_dir.mkdir(parents=True, exist_ok=True)
    stale = store.media.tmp_dir / "put-dead.part"
    stale.write_bytes(b"half a file")
    os.utime(stale, (past, past))
    out = m.sweep()
    assert out["scratch"] == 1 and out["media_tmp"] == 1
    assert new.exists() and not old.exists() and not stale.exists()
