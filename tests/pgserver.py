"""A throw-away PostgreSQL server on 127.0.0.1 for tests and benchmarks (the system's binaries, never a download).

    from tests.pgserver import postgres_server
    with postgres_server() as url:        # postgresql+psycopg://postgres@127.0.0.1:PORT/reelsmith
        store = open_store(Settings(data_dir=..., database_url=url))

The cluster lives in a temporary folder, listens only on 127.0.0.1 (a free port; its Unix socket in that folder)
with trust authentication, and is stopped and deleted when the block ends. Run as root, the server runs as the
``postgres`` user (PostgreSQL refuses root). Nothing is skipped silently: a missing installation raises
``PostgresUnavailable`` saying what to install.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql*/bin")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries (initdb, pg_ctl) or the user to run them as are missing."""


def find_bin_dir() -> Path:
    """The newest installed PostgreSQL ``bin`` folder with ``initdb`` and ``pg_ctl`` (``PG_BIN`` overrides)."""
    candidates = [os.environ["PG_BIN"]] if os.environ.get("PG_BIN") else []
    for pattern in SEARCH:
        candidates += sorted(glob.glob(pattern), key=_version_key, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found under "
                              f"{', '.join(SEARCH)} or on PATH; install them (Debian: apt-get install postgresql) "
                              "or set PG_BIN to the folder that holds them.")


def _version_key(path: str) -> tuple:
    parts = [p for p in Path(path).parts if any(ch.isdigit() for ch in p)]
    digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in (parts[-1] if parts else "")).split()
    try:
        return tuple(int(x) for x in (digits[0].split(".") if digits else []) if x)
    except ValueError:
        return ()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner() -> tuple[list[str], str | None]:
    """(command prefix, user to own the files): ``runuser -u postgres --`` when running as root."""
    if os.geteuid() != 0:
        return [], None
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root, PostgreSQL needs an unprivileged 'postgres' user to run as "
                                  "(it comes with the Debian postgresql package)") from None
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"], "postgres"
    su = shutil.which("su")
    if su is None:
        raise PostgresUnavailable("running as root, neither runuser nor su is available to start PostgreSQL "
                                  "as the 'postgres' user")
    return [su, "postgres", "-s", "/bin/sh", "-c", 'exec "$0" "$@"'], "postgres"


def _run(prefix: list[str], *cmd: str, timeout: float = 120) -> None:
    proc = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-2000:]}")


@contextlib.contextmanager
def postgres_server(database: str = "reelsmith", *, fast: bool = False,
                    settings: dict[str, str] | None = None) -> Iterator[str]:
    """Start a private PostgreSQL, create ``database``, yield its SQLAlchemy URL, then stop and delete it.

    ``fast`` turns off fsync and synchronous commit (for test suites; never for benchmark figures). ``settings``
    are extra ``-c name=value`` server options."""
    bin_dir = find_bin_dir()
    prefix, owner = _runner()
    root = Path(tempfile.mkdtemp(prefix="reelsmith-pg-"))
    data, log = root / "data", root / "server.log"
    if owner:
        shutil.chown(root, user=owner, group=owner)
    os.chmod(root, 0o700)
    port = free_port()
    options = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(root),
               "max_connections": "100", **({"fsync": "off", "synchronous_commit": "off",
                                             "full_page_writes": "off"} if fast else {}), **(settings or {})}
    started = False
    try:
        try:
            _run(prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--locale=C", "--no-sync")
            opts = " ".join(f"-c {k}={v}" for k, v in options.items())
            _run(prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60",
                 "start")
            started = True
            _run(prefix, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)"
            raise RuntimeError(f"PostgreSQL on 127.0.0.1:{port} did not start: {exc}\nserver log:\n{tail}") from None
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    finally:
        if started:
            with contextlib.suppress(Exception):
                _run(prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop")
        shutil.rmtree(root, ignore_errors=True)
