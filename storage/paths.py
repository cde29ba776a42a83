"""Keep a path that came from a request inside a folder we chose.

``contained(root, user_path)`` decodes what a URL or a form may have encoded (``%2e%2e``, ``%5c``, the same
encoded twice), reads backslashes as separators, follows symlinks, and returns the real path only when it lies
inside ``root``. Anything else raises ``PathRefused`` with a message that says why, without echoing the
resolved target (which could name files the caller should not learn about).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote

from .errors import StoreError

#: How many rounds of URL-decoding we undo; a path still encoded after that is refused, not guessed at.
_MAX_DECODE_ROUNDS = 4
_ENCODED = re.compile(r"%[0-9a-fA-F]{2}")
_DRIVE = re.compile(r"^[A-Za-z]:")


class PathRefused(StoreError):
    """A path from a request points outside the folder it must stay in (or is malformed)."""


def _decoded(raw: str) -> str:
    text = raw
    for _ in range(_MAX_DECODE_ROUNDS):
        if not _ENCODED.search(text):
            return text
        text = unquote(text)
    if _ENCODED.search(text):
        raise PathRefused("The path is URL-encoded too many times.")
    return text


def _normal(path: Path) -> str:
    return os.path.normcase(str(path))


def _inside(path: Path, root: Path) -> bool:
    p, r = _normal(path), _normal(root)
    return p == r or p.startswith(r.rstrip(os.sep) + os.sep)


def contained(root: Path, user_path: str | Path) -> Path:
    """The resolved path of ``user_path`` (relative to ``root``, or absolute) if it lies inside ``root``.

    Raises ``PathRefused`` for NUL bytes, Windows drive or UNC paths, anything that climbs out of ``root``
    (``..``, encoded or not, with ``/`` or ``\\``), absolute paths elsewhere, and symlinks that lead out.
    """
    raw = os.fspath(user_path)
    if isinstance(raw, bytes):  # pragma: no cover - os.fspath of a bytes path
        raise PathRefused("The path must be text.")
    if not raw.strip():
        raise PathRefused("The path is empty.")
    if "\x00" in raw:
        raise PathRefused("The path contains a NUL byte.")
    # 1. Undo URL encoding (repeatedly), then read backslashes as separators.
    text = _decoded(raw)
    if "\x00" in text:
        raise PathRefused("The path contains an encoded NUL byte.")
    text = text.replace("\\", "/")
    if _DRIVE.match(text) or text.startswith("//"):
        raise PathRefused("Drive letters and network (UNC) paths are not accepted.")
    # 2. Resolve symlinks and '..' on both sides, then compare.
    base = Path(root).resolve(strict=False)
    candidate = Path(text) if Path(text).is_absolute() else base / text
    resolved = candidate.resolve(strict=False)
    if not _inside(resolved, base):
        raise PathRefused(f"The path {_shown(raw)} is outside the folder it must be in.")
    return resolved


def contained_in_any(roots: Iterable[Path], user_path: str | Path) -> Path:
    """``contained`` for the first of ``roots`` that holds ``user_path``; ``PathRefused`` if none does."""
    roots = list(roots)
    last: PathRefused | None = None
    for root in roots:
        try:
            return contained(root, user_path)
        except PathRefused as exc:
            last = exc
    raise last or PathRefused("No folder is allowed here.")


def upload_roots(settings) -> list[Path]:
    """The folders a file named in a request may come from: Gradio's upload dir (app.py puts it in the data dir)
    and the studio's own temp dir. Anything else (the database, /etc/passwd, another project's media) is refused."""
    return [settings.gradio_tmp_dir, settings.tmp_dir, settings.media_dir / ".incoming"]


def uploaded_file(settings, path: str | Path, name: str | None = None) -> Path:
    """``path`` resolved and checked to lie in ``upload_roots``; ``PathRefused`` naming the file otherwise."""
    shown = "".join(c for c in Path(name or str(path).replace("\\", "/")).name if c.isprintable()) or "The file"
    try:
        return contained_in_any(upload_roots(settings), path)
    except PathRefused as exc:
        raise PathRefused(f"{shown}: only files uploaded to this studio are accepted here. {exc.message}") from None


def _shown(raw: str) -> str:
    """The user's path, shortened and without control characters, for a message."""
    clean = "".join(c if c.isprintable() else "?" for c in raw)
    return repr(clean if len(clean) <= 80 else clean[:77] + "…")
