"""Online backups of the project store, the last N kept, and the restore that proves them.

One backup is a folder ``<root>/reelsmith-YYYYmmdd-HHMMSS/`` holding

- ``reelsmith.db`` — an online copy made with SQLite's backup API (consistent while the studio keeps writing),
  or ``reelsmith.pgdump`` — ``pg_dump --format=custom`` of a PostgreSQL store (called with an argument list);
- ``secrets/`` — the instance's signing keys (content credentials made before the backup still verify);
- ``manifest.json`` — when, which schema revision, counts, and every media file the database refers to.

Media files are content-addressed and never change, so they are mirrored once into ``<root>/media/`` (hard links
when the backup lives on the same file system, copies otherwise) and shared by every backup; files no kept backup
refers to are removed when old backups are pruned. A backup is written under ``*.partial`` and renamed when it is
complete, so a crash never leaves a half backup that looks whole.

    python -m storage.backup create [--data-dir D] [--keep 14]
    python -m storage.backup list   [--data-dir D]
    python -m storage.backup verify BACKUP
    python -m storage.backup restore BACKUP --into NEW_DATA_DIR [--database-url URL]
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from .config import Settings
from .errors import StoreError

log = logging.getLogger("reelsmith.backup")
PREFIX = "reelsmith-"
KEEP = 14
DB_FILE = "reelsmith.db"
PG_FILE = "reelsmith.pgdump"
_ASSET_FILES = "SELECT DISTINCT content_hash, ext FROM assets"


class BackupError(StoreError):
    pass


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: str
    database: str  # "sqlite" | "postgresql"
    revision: str | None
    counts: dict[str, int]
    media: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def media_bytes(self) -> int:
        return sum(int(m["size"]) for m in self.media)


def backup_root(settings: Settings) -> Path:
    return Path(os.environ.get("REELSMITH_BACKUP_DIR") or settings.data_dir / "backups")


# --- create --------------------------------------------------------------------------------------------------
def create_backup(settings: Settings, *, root: Path | None = None, keep: int = KEEP,
                  now: datetime | None = None) -> BackupInfo:
    """Back up the store now (online), then keep only the newest ``keep`` backups."""
    t0 = time.monotonic()
    root = Path(root or backup_root(settings))
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)  # the backups hold the signing keys
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    final = root / f"{PREFIX}{stamp}"
    n = 1
    while final.exists():
        n += 1
        final = root / f"{PREFIX}{stamp}-{n}"
    work = final.with_name(final.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite":
            kind = "sqlite"
            _sqlite_backup(Path(url.database), work / DB_FILE)
            files, revision, counts = _sqlite_inventory(work / DB_FILE)
        elif url.get_backend_name() == "postgresql":
            kind = "postgresql"
            files, revision, counts = _pg_backup(settings.database_url, work / PG_FILE)
        else:
            raise BackupError(f"Backups support SQLite and PostgreSQL, not {url.get_backend_name()}.")
        media = _mirror_media(settings.media_dir, root / "media", files)
        secrets = settings.data_dir / "secrets"
        if secrets.is_dir():
            shutil.copytree(secrets, work / "secrets")
        info = BackupInfo(final, (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"), kind,
                          revision, counts, media, round(time.monotonic() - t0, 3))
        manifest = {"created_at": info.created_at, "database": kind, "revision": revision, "counts": counts,
                    "media": media, "seconds": info.seconds}
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
        _fsync_tree(work)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    prune(root, keep=keep)
    log.info("backup %s: %d media files, %s", final.name, len(media), counts)
    return info


def _sqlite_backup(src: Path, dest: Path) -> None:
    if not src.is_file():
        raise BackupError(f"No database at {src}.")
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dest)
    try:
        with target:
            source.backup(target, pages=1024)  # a consistent snapshot while writers carry on
        ok = target.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"The backup copy failed its integrity check: {ok}")
    finally:
        target.close()
        source.close()


def _sqlite_inventory(db: Path) -> tuple[list[tuple[str, str]], str | None, dict[str, int]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        files = [(h, e) for h, e in con.execute(_ASSET_FILES)]
        revision = con.execute("SELECT version_num FROM alembic_version").fetchone()
        counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                  for t in ("projects", "assets", "scripts", "jobs", "publications")}
    finally:
        con.close()
    return sorted(files), revision[0] if revision else None, counts


def _pg_backup(database_url: str, dest: Path) -> tuple[list[tuple[str, str]], str | None, dict[str, int]]:
    """pg_dump of one snapshot, and the media files, revision and counts of that same snapshot: a REPEATABLE READ
    transaction exports its snapshot, takes the inventory, and stays open while pg_dump imports the snapshot
    (``--snapshot``), so rows written meanwhile are in neither (and every file the dump refers to is listed)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn, conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            files = [(h, e) for h, e in conn.execute(text(_ASSET_FILES))]
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()  # noqa: S608
                      for t in ("projects", "assets", "scripts", "jobs", "publications")}
            _pg_dump(database_url, dest, snapshot=snapshot)
    finally:
        engine.dispose()
    return sorted(files), revision, counts


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password (given through PGPASSWORD instead)."""
    url = make_url(database_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise BackupError(f"{name} was not found; install the PostgreSQL client tools (Debian: postgresql-client).")


def _pg_dump(database_url: str, dest: Path, *, snapshot: str | None = None) -> None:
    conn, env = _libpq(database_url)
    proc = subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                           *([f"--snapshot={snapshot}"] if snapshot else []),
                           f"--file={dest}", f"--dbname={conn}"], env=env, capture_output=True, text=True,
                          timeout=6 * 3600, check=False)
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {proc.stderr.strip()[-500:]}")


def _mirror_media(media_dir: Path, mirror: Path, files: list[tuple[str, str]]) -> list[dict]:
    """Copy (or hard-link) every referenced media file into the shared mirror once; list what the backup needs."""
    from .media import MediaStore

    src_store, dst_store = MediaStore(media_dir), MediaStore(mirror)
    out = []
    for sha, ext in files:
        src, dst = src_store.path_for(sha, ext), dst_store.path_for(sha, ext)
        if not src.is_file():
            log.warning("backup: media file %s%s is missing from the store; it cannot be backed up", sha, ext)
            continue
        if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(dst.name + ".part")
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        out.append({"sha256": sha, "ext": ext, "size": dst.stat().st_size})
    return out


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


# --- list, prune, verify ---------------------------------------------------------------------------------------
def list_backups(root: Path) -> list[BackupInfo]:
    """Complete backups, newest first."""
    out = []
    for folder in sorted(Path(root).glob(f"{PREFIX}*"), reverse=True):
        manifest = folder / "manifest.json"
        if folder.suffix == ".partial" or not manifest.is_file():
            continue
        out.append(_read_manifest(folder))
    return out


def _read_manifest(folder: Path) -> BackupInfo:
    try:
        m = json.loads((folder / "manifest.json").read_text())
        return BackupInfo(folder, m["created_at"], m["database"], m.get("revision"), m.get("counts", {}),
                          m.get("media", []), m.get("seconds", 0.0))
    except (OSError, ValueError, KeyError) as exc:
        raise BackupError(f"{folder.name} is not a readable backup ({exc}).") from None


def prune(root: Path, *, keep: int = KEEP) -> list[str]:
    """Delete all but the newest ``keep`` backups, stale partial ones, and mirrored files nothing refers to."""
    root = Path(root)
    backups = list_backups(root)
    removed = []
    for info in backups[keep:]:
        shutil.rmtree(info.path, ignore_errors=True)
        removed.append(info.name)
    for partial in root.glob(f"{PREFIX}*.partial"):
        if time.time() - partial.stat().st_mtime > 6 * 3600:
            shutil.rmtree(partial, ignore_errors=True)
    wanted = {(m["sha256"], m["ext"]) for info in backups[:keep] for m in info.media}
    mirror = root / "media"
    busy = any(root.glob(f"{PREFIX}*.partial"))  # a backup being written may need files no manifest lists yet
    if mirror.is_dir() and not busy:
        for path in mirror.glob("*/*/*"):
            sha, ext = path.name[:64], path.name[64:]
            if path.is_file() and (sha, ext) not in wanted:
                path.unlink(missing_ok=True)
    return removed


def verify(folder: Path) -> list[str]:
    """Problems found in one backup (empty when it is whole): database readable, every media file present with
    the right SHA-256."""
    folder = Path(folder)
    info = _read_manifest(folder)
    problems = []
    if info.database == "sqlite":
        db = folder / DB_FILE
        if not db.is_file():
            return [f"{DB_FILE} is missing"]
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            result = str(exc)
        finally:
            con.close()
        if result != "ok":
            problems.append(f"database integrity: {result}")
    elif not (folder / PG_FILE).is_file():
        problems.append(f"{PG_FILE} is missing")
    from .media import MediaStore

    mirror = MediaStore(folder.parent / "media")
    for m in info.media:
        path = mirror.path_for(m["sha256"], m["ext"])
        if not path.is_file():
            problems.append(f"media {m['sha256'][:12]}{m['ext']} is missing")
        elif _sha256(path) != m["sha256"]:
            problems.append(f"media {m['sha256'][:12]}{m['ext']} is damaged (hash differs)")
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- restore ---------------------------------------------------------------------------------------------------
def restore(folder: Path, into: Path, *, database_url: str | None = None) -> Settings:
    """Restore a backup into a fresh data dir (and, for PostgreSQL, an empty database at ``database_url``);
    returns the settings that open it. Refuses to overwrite a data dir that already holds a store."""
    from .config import sqlite_url

    folder, into = Path(folder), Path(into).resolve()
    problems = verify(folder)
    if problems:
        raise BackupError(f"{folder.name} cannot be restored: " + "; ".join(problems[:5]))
    info = _read_manifest(folder)
    if (into / DB_FILE).exists() or (into / "media").exists():
        raise BackupError(f"{into} already holds a studio; restore into an empty folder.")
    into.mkdir(parents=True, exist_ok=True)
    if info.database == "sqlite":
        tmp = into / (DB_FILE + ".restoring")
        shutil.copyfile(folder / DB_FILE, tmp)
        os.replace(tmp, into / DB_FILE)
        url = sqlite_url(into)
    else:
        if not database_url:
            raise BackupError("This is a PostgreSQL backup: give the empty database to restore into.")
        conn, env = _libpq(database_url)
        # one transaction: a restore that fails half-way leaves the database as empty as it was
        proc = subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
                               f"--dbname={conn}", str(folder / PG_FILE)], env=env, capture_output=True,
                              text=True, timeout=6 * 3600, check=False)
        if proc.returncode != 0:
            raise BackupError(f"pg_restore failed: {proc.stderr.strip()[-500:]}")
        url = database_url
    from .media import MediaStore

    mirror, media = MediaStore(folder.parent / "media"), MediaStore(into / "media")
    for m in info.media:
        dst = media.path_for(m["sha256"], m["ext"])
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror.path_for(m["sha256"], m["ext"]), dst)
    if (folder / "secrets").is_dir():
        shutil.copytree(folder / "secrets", into / "secrets")
    return Settings(data_dir=into, database_url=database_url or url)


# --- schedule --------------------------------------------------------------------------------------------------
def due(root: Path, every_h: float, now: float | None = None) -> bool:
    """True when the newest backup is older than ``every_h`` hours (or there is none)."""
    if every_h <= 0:
        return False
    backups = list_backups(root)
    if not backups:
        return True
    newest = datetime.fromisoformat(backups[0].created_at).timestamp()
    return (now or time.time()) - newest >= every_h * 3600 - 60


def _main(argv: list[str] | None = None) -> int:
    import argparse

    from .config import load_settings

    p = argparse.ArgumentParser(prog="python -m storage.backup", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("create", "list"):
        c = sub.add_parser(name)
        c.add_argument("--data-dir", default=None)
        c.add_argument("--keep", type=int, default=KEEP)
    v = sub.add_parser("verify")
    v.add_argument("backup")
    r = sub.add_parser("restore")
    r.add_argument("backup")
    r.add_argument("--into", required=True)
    r.add_argument("--database-url", default=None)
    args = p.parse_args(argv)
    settings = load_settings()
    if getattr(args, "data_dir", None):
        settings = settings.with_data_dir(Path(args.data_dir))
    try:
        if args.cmd == "create":
            info = create_backup(settings, keep=args.keep)
            print(f"{info.path}  ({len(info.media)} media files, {info.media_bytes / 1e6:.1f} MB, {info.seconds} s)")
        elif args.cmd == "list":
            for info in list_backups(backup_root(settings)):
                print(f"{info.name}  {info.database}  {info.counts}  {len(info.media)} files")
        elif args.cmd == "verify":
            problems = verify(Path(args.backup))
            print("\n".join(problems) if problems else "ok")
            return 1 if problems else 0
        else:
            restored = restore(Path(args.backup), Path(args.into), database_url=args.database_url)
            print(f"restored into {restored.data_dir}; start it with: python app.py --data-dir {restored.data_dir}")
    except BackupError as exc:
        print(f"error: {exc.message if hasattr(exc, 'message') else exc}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
