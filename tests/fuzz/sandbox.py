"""Run one fuzz case in a worker process with a wall-clock limit and an address-space limit.

A hang (the worker does not answer within ``timeout_s``) kills and replaces the worker; so does a crash (a
segfault in a native library, the worker killed). A huge allocation fails inside the worker as ``MemoryError``
(the limit is the worker's size at start plus ``memory_gb``) instead of taking the machine down. Workers are forked
from a fork server (a fresh interpreter that has imported NumPy, PyAV and the entry points), never from the test
process itself, whose native-library threads a forked child could not use.

    with Sandbox(timeout_s=30) as box:
        outcome = box.run("probe", path, work)
        assert outcome.acceptable, outcome.describe()
"""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

#: Outcomes that are fine: a result, or a ReelsmithError with a message.
ACCEPTABLE = frozenset({"ok", "clean"})


@dataclass
class Outcome:
    """``status``: ``ok`` (a result), ``clean`` (a ReelsmithError with a message), ``bug`` (any other exception,
    or a ReelsmithError without a message), ``leftover`` (a clean error that left files behind), ``crash`` (the
    worker died), ``timeout``."""

    status: str
    seconds: float
    error_type: str = ""
    message: str = ""
    summary: str = ""
    traceback: str = ""
    leftovers: list[str] = field(default_factory=list)

    @property
    def acceptable(self) -> bool:
        return self.status in ACCEPTABLE

    def describe(self) -> str:
        text = f"{self.status} after {self.seconds:.1f}s"
        if self.error_type:
            text += f": {self.error_type}: {self.message}"
        if self.leftovers:
            text += f" (left behind: {', '.join(self.leftovers)})"
        if self.traceback:
            text += "\n" + self.traceback
        return text


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _serve(conn, memory_bytes: int) -> None:
    from engines.errors import ReelsmithError

    from .entrypoints import ENTRY_POINTS

    if memory_bytes:
        limit = _vm_bytes() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        name, path, work = job
        started = time.perf_counter()
        try:
            summary = ENTRY_POINTS[name](Path(path), Path(work))
            conn.send(("ok", time.perf_counter() - started, "", "", str(summary)[:300], ""))
        except ReelsmithError as exc:
            message = str(exc.message or "")
            status = "clean" if message.strip() else "bug"
            conn.send((status, time.perf_counter() - started, type(exc).__name__, message[:500], "", ""))
        except BaseException as exc:  # noqa: BLE001 - the point is to catch what leaks out
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-40:])
            kind = type(exc)
            conn.send(("bug", time.perf_counter() - started, f"{kind.__module__}.{kind.__qualname__}",
                       str(exc)[:500], "", tb[-12000:]))


class Sandbox:
    def __init__(self, *, timeout_s: float = 30.0, memory_gb: float = 6.0) -> None:
        self.timeout_s = timeout_s
        self.memory_bytes = int(memory_gb * (1 << 30))
        # forkserver, not fork: by the time the fuzz tests run, the pytest process holds threads of native
        # libraries (CTranslate2, ONNX Runtime, torch) that a forked child cannot safely use; the fork server is a
        # fresh interpreter, so each worker starts clean (and still cheaply, forked from it)
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(["numpy", "av", "engines.errors", "tests.fuzz.entrypoints"])
        self._proc = None
        self._conn = None
        self.restarts = 0

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_serve, args=(child, self.memory_bytes), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None
        self.restarts += 1

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(5)
            except (OSError, BrokenPipeError):
                pass
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        self._proc = self._conn = None

    def run(self, name: str, path: Path, work: Path, *, timeout_s: float | None = None) -> Outcome:
        """Run entry point ``name`` on ``path`` with outputs in ``work`` (emptied first)."""
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        if self._proc is None or not self._proc.is_alive():
            self._start()
        limit = self.timeout_s if timeout_s is None else timeout_s
        started = time.perf_counter()
        try:
            self._conn.send((name, str(path), str(work)))
            if not self._conn.poll(limit):
                self._kill()
                return Outcome("timeout", time.perf_counter() - started, message=f"no answer after {limit:.0f} s")
            status, seconds, error_type, message, summary, tb = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._proc.join(5)
            code = self._proc.exitcode
            self._kill()
            return Outcome("crash", time.perf_counter() - started, error_type=f"exit code {code}",
                           message="the worker process died (native crash or killed)")
        outcome = Outcome(status, seconds, error_type, message, summary, tb)
        if status == "clean":
            outcome.leftovers = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
            if outcome.leftovers:
                outcome.status = "leftover"
        return outcome
