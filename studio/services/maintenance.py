"""House-keeping that runs beside the studio in one daemon thread: the viewer-data retention purge, sweeping
temp files left by crashed writes and aborted uploads, and the scheduled backup.

Every task runs at start-up and then on its own period; one failing task is logged and retried next round, it
never stops the others. ``REELSMITH_BACKUP_HOURS`` (default 24, 0 = off) and ``REELSMITH_BACKUP_KEEP`` (default
14) set the backup schedule; ``REELSMITH_BACKUP_DIR`` moves the backups off the data disk.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from storage import backup
from storage.db import Store
from storage.media import sweep_older, sweep_staging

log = logging.getLogger("reelsmith.maintenance")


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        log.warning("%s is not a number; using %s", name, default)
        return default


@dataclass
class Maintenance:
    store: Store
    tick_s: float = 300.0
    backup_hours: float = field(default_factory=lambda: _env_float("REELSMITH_BACKUP_HOURS", 24))
    backup_keep: int = field(default_factory=lambda: int(_env_float("REELSMITH_BACKUP_KEEP", backup.KEEP)))
    last_run: dict[str, float] = field(default_factory=dict)
    last_error: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tasks(self) -> list[tuple[str, float, Callable[[], object]]]:
        """(name, period in seconds, function)."""
        return [("retention", 6 * 3600, self.purge), ("sweep", 3600, self.sweep),
                ("backup", 3600, self.backup_if_due)]

    # --- the tasks -------------------------------------------------------------------------------------------
    def purge(self) -> object:
        from .governance import purge_now

        return purge_now(self.store)

    def sweep(self) -> dict[str, int]:
        """Temp files older than a day: media writes that died, studio scratch, Gradio upload leftovers."""
        settings, media = self.store.settings, self.store.media
        return {"media_tmp": media.sweep_tmp(), "scratch": sweep_older(settings.tmp_dir),
                "uploads": sweep_staging(settings.gradio_tmp_dir), "incoming": media.sweep_incoming()}

    def backup_if_due(self) -> backup.BackupInfo | None:
        root = backup.backup_root(self.store.settings)
        if not backup.due(root, self.backup_hours):
            return None
        return self.backup_now()

    def backup_now(self) -> backup.BackupInfo:
        with self._lock:  # one backup at a time (the timer and the Settings button)
            return backup.create_backup(self.store.settings, keep=self.backup_keep)

    # --- the thread ------------------------------------------------------------------------------------------
    def run_due(self, now: float | None = None) -> list[str]:
        """Run every task whose period has passed; return their names."""
        now = time.monotonic() if now is None else now
        ran = []
        for name, period, fn in self.tasks():
            last = self.last_run.get(name)
            if last is not None and now - last < period:
                continue
            self.last_run[name] = now
            try:
                fn()
                self.last_error.pop(name, None)
            except Exception as exc:  # noqa: BLE001 - logged and retried next round
                log.exception("maintenance task %s failed", name)
                self.last_error[name] = f"{type(exc).__name__}: {exc}"
            ran.append(name)
        return ran

    def start(self) -> "Maintenance":
        def loop() -> None:
            while not self._stop.is_set():
                self.run_due()
                if self._stop.wait(self.tick_s):
                    return

        threading.Thread(target=loop, name="maintenance", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
