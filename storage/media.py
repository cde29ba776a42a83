"""Content-addressed media files: ``<root>/<h[0:2]>/<h[2:4]>/<sha256><ext>``.

Every write goes to a temp file in ``<root>/.tmp`` (same file system), is hashed as the bytes arrive, flushed,
fsynced and then renamed into place, so a reader never sees a partial file. Identical content is stored once.
Rows are committed only after their file is in place; files are removed only when no row refers to them.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

CHUNK = 1 << 20
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
_EXT_RE = re.compile(r"^(\.[a-z0-9]{1,10})?$")


class MediaStoreError(Exception):
    pass


class FileTooLarge(MediaStoreError):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"File is larger than the {limit_bytes / 1e6:.0f} MB limit.")
        self.limit_bytes = limit_bytes


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    ext: str
    size: int
    path: Path
    created: bool  # False when identical content was already stored


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    # --- paths -------------------------------------------------------------------------------------------------
    def path_for(self, sha256: str, ext: str) -> Path:
        if not _HASH_RE.match(sha256) or not _EXT_RE.match(ext):
            raise MediaStoreError(f"Not a media store key: {sha256!r}{ext!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{ext}"

    def exists(self, sha256: str, ext: str) -> bool:
        return self.path_for(sha256, ext).is_file()

    @property
    def tmp_dir(self) -> Path:
        return self.root / ".tmp"

    # --- writes ------------------------------------------------------------------------------------------------
    def put_stream(self, chunks: Iterable[bytes], *, ext: str, max_bytes: int | None = None) -> StoredFile:
        """Store the bytes of ``chunks``; raises ``FileTooLarge`` (and writes nothing) past ``max_bytes``."""
        ext = ext.lower()
        if not _EXT_RE.match(ext):
            raise MediaStoreError(f"Bad file extension {ext!r}")
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp_dir, prefix="put-", suffix=".part")
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise FileTooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path_for(sha, ext)
            if final.is_file() and final.stat().st_size == size:
                tmp.unlink()
                return StoredFile(sha, ext, size, final, created=False)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            return StoredFile(sha, ext, size, final, created=True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_file(self, src: Path, *, ext: str | None = None, max_bytes: int | None = None) -> StoredFile:
        src = Path(src)
        if max_bytes is not None and src.stat().st_size > max_bytes:
            raise FileTooLarge(max_bytes)
        with open(src, "rb") as fh:
            return self.put_stream(_read_chunks(fh), ext=ext if ext is not None else src.suffix,
                                   max_bytes=max_bytes)

    def put_bytes(self, data: bytes, *, ext: str) -> StoredFile:
        return self.put_stream([data], ext=ext)

    def remove(self, sha256: str, ext: str) -> bool:
        path = self.path_for(sha256, ext)
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False

    def sweep_tmp(self, older_than_s: float = 24 * 3600) -> int:
        """Remove temp files left by writes that died (a crash between write and rename)."""
        return sweep_older(self.tmp_dir, older_than_s, lambda entry, st: stat.S_ISREG(st.st_mode))

    # --- uploads handed to workers -----------------------------------------------------------------------------
    @property
    def incoming_dir(self) -> Path:
        """Uploads waiting for their job, inside the media root so that worker processes on other hosts (which
        mount the same media volume) can read them; the web host's Gradio temp dir is not shared."""
        return self.root / ".incoming"

    def stage(self, src: Path, name: str) -> Path:
        """A copy (a hard link when possible) of an uploaded file in ``incoming_dir/<random>/<name>``, written
        under a temp name and renamed; ``unstage`` removes it when its job is done, the sweep after a day."""
        import uuid

        safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", Path(str(name).replace("\\", "/")).name).strip(" .")[:120]
        folder = self.incoming_dir / uuid.uuid4().hex
        folder.mkdir(parents=True)
        dest, tmp = folder / (safe or "upload"), folder / ".part"
        try:
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return dest

    def unstage(self, path: Path) -> None:
        """Remove a staged upload (only ever something inside ``incoming_dir``)."""
        path = Path(path).resolve()
        if path.parent.parent == self.incoming_dir.resolve():
            shutil.rmtree(path.parent, ignore_errors=True)

    def sweep_incoming(self, older_than_s: float = 24 * 3600) -> int:
        """Staged uploads whose job never finished them (failed, cancelled) are removed after a day."""
        return sweep_older(self.incoming_dir, older_than_s, lambda entry, st: stat.S_ISDIR(st.st_mode))

    def copy_out(self, sha256: str, ext: str, dest: Path) -> Path:
        shutil.copyfile(self.path_for(sha256, ext), dest)
        return Path(dest)


def sweep_older(folder: Path, older_than_s: float = 24 * 3600, which=None) -> int:
    """Remove the entries directly in ``folder`` last modified more than ``older_than_s`` ago (folders with their
    contents) for which ``which(entry, lstat)`` holds (default: all); symlinks are removed, never followed.
    Returns how many were removed. Every periodic clean-up of temp, scratch and staging folders is this."""
    import time

    folder = Path(folder)
    if not folder.is_dir():
        return 0
    cutoff, removed = time.time() - older_than_s, 0
    for entry in folder.iterdir():
        try:
            st = entry.lstat()
        except FileNotFoundError:
            continue
        if st.st_mtime >= cutoff or (which is not None and not which(entry, st)):
            continue
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def sweep_staging(folder: Path, older_than_s: float = 24 * 3600) -> int:
    """Remove stray upload temp files (Gradio's top-level ``tmp*`` files, left when an upload died before they
    were renamed into a ``<sha256>/`` folder) older than ``older_than_s``; returns how many were removed.

    Only plain files directly in ``folder`` are touched: the hash-named folders hold uploads in use (Gradio's own
    ``delete_cache`` ages those out), and symlinks are never followed.
    """
    return sweep_older(folder, older_than_s,
                       lambda entry, st: entry.name.startswith("tmp") and stat.S_ISREG(st.st_mode))


def _read_chunks(fh: BinaryIO) -> Iterable[bytes]:
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
