"""A throw-away Redis on 127.0.0.1 for tests and benchmarks (the system's ``redis-server``, never a download).

    from tests.workers.redisserver import redis_server
    with redis_server() as url:            # redis://127.0.0.1:PORT/0
        ...

No persistence (``--save ''``, ``--appendonly no``), its files in a temp dir deleted afterwards, listening on
127.0.0.1 only. A missing binary raises ``RedisUnavailable`` saying what to install.
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisUnavailable(RuntimeError):
    """``redis-server`` is not installed (Debian: apt-get install redis-server)."""


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start ``redis-server`` on a free port of 127.0.0.1 (no RDB, no AOF, its files in a temp dir); yield its URL."""
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists()
                                              else None)
    if binary is None:
        raise RedisUnavailable("redis-server not found; install it (Debian: apt-get install redis-server)")
    root = Path(tempfile.mkdtemp(prefix="reelsmith-redis-"))
    port = free_port()
    log = root / "redis.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", str(root), "--protected-mode", "yes"],
                                stdout=fh, stderr=subprocess.STDOUT, cwd=root)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start:\n{log.read_text()[-2000:]}") from None
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
