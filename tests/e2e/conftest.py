"""A real studio process on 127.0.0.1 for the API and browser tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    data_dir: Path
    log: Path
    proc: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, *extra: str, env: dict | None = None, timeout_s: float = 120) -> Server:
    port = free_port()
    log = data_dir.parent / f"{data_dir.name}-server.log"
    environ = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    environ.pop("REELSMITH_USERS", None) if "REELSMITH_USERS" not in (env or {}) else None
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--data-dir", str(data_dir), *extra],
                                cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=environ)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"studio exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return Server(url, data_dir, log, proc)
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"studio did not answer within {timeout_s} s:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory):
    # A data dir outside both the working directory and the system temp dir (like /data in the Docker image), so
    # the tests see what Gradio really serves from it.
    import shutil
    import tempfile

    outside = Path(tempfile.mkdtemp(prefix="reelsmith-e2e-", dir="/var/tmp")) if Path("/var/tmp").is_dir() \
        else tmp_path_factory.mktemp("studio")
    server = start_server(outside / "data")
    yield server
    stop_server(server)
    shutil.rmtree(outside, ignore_errors=True)
