"""Subtitle files: SubRip (.srt) and WebVTT (.vtt) written atomically, parsed back, and edited tables checked.

Writers take any cues with ``start_s``, ``end_s`` and ``text`` (``Cue`` or the animatic's ``Caption``). Parsers
accept what editors and browsers write: a UTF-8 BOM, CRLF line ends, missing or extra blank lines, VTT
headers/NOTE/STYLE blocks, cue identifiers and settings, ``mm:ss.ttt`` times and inline tags (dropped).
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Sequence

from ..errors import InvalidInput, InvalidMedia
from .craft import tidy_text
from .types import Cue

_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")
_ARROW = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)(.*)$")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[^>]*>")


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _atomic_write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def srt_text(captions: Sequence[Any]) -> str:
    blocks = [f"{i}\n{_clock(c.start_s, ',')} --> {_clock(c.end_s, ',')}\n{c.text.strip()}\n"
              for i, c in enumerate(captions, start=1)]
    return "\n".join(blocks)


def vtt_text(captions: Sequence[Any]) -> str:
    blocks = [f"{_clock(c.start_s, '.')} --> {_clock(c.end_s, '.')}\n{c.text.strip()}\n" for c in captions]
    return "WEBVTT\n\n" + "\n".join(blocks)


def write_srt(captions: Sequence[Any], path: Path) -> Path:
    """SubRip file of the captions (UTF-8, written to a temporary name and renamed)."""
    return _atomic_write(path, srt_text(captions))


def write_vtt(captions: Sequence[Any], path: Path) -> Path:
    """WebVTT file (what a browser's ``<track>`` reads) of the same captions."""
    return _atomic_write(path, vtt_text(captions))


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------
def parse_time(value: Any) -> float:
    """Seconds from a number or a time such as ``"00:01:02,500"``, ``"01:02.5"`` or ``"62.5"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        m = _TIME.match(text)
        if m:
            h, mnt, s, frac = m.groups()
            seconds = int(h or 0) * 3600 + int(mnt) * 60 + int(s) + (int(frac.ljust(3, "0")) / 1000 if frac else 0)
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise InvalidInput(f"'{text}' is not a time (use 00:01:02,500 or seconds such as 62.5).") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidInput(f"'{value}' is not a time of 0 seconds or more.")
    return seconds


def _blocks(text: str) -> list[list[str]]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [block.split("\n") for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]


def _parse(text: str, what: str) -> list[Cue]:
    cues = []
    for number, block in enumerate(_blocks(text), start=1):
        at = next((k for k, line in enumerate(block) if "-->" in line), None)
        if at is None:
            if block[0].strip().startswith(("WEBVTT", "NOTE", "STYLE", "REGION")) or what == "VTT":
                continue  # header, comment or style block
            raise InvalidInput(f"{what} block {number} has no 'start --> end' line: {block[0][:40]!r}.")
        m = _ARROW.match(block[at])
        if not m:
            raise InvalidInput(f"{what} block {number}: cannot read the times in {block[at].strip()!r}.")
        try:
            start, end = parse_time(m.group(1)), parse_time(m.group(2))
        except InvalidInput as exc:
            raise InvalidInput(f"{what} block {number}: {exc}") from None
        body = "\n".join(_TAG.sub("", line).strip() for line in block[at + 1:] if line.strip())
        cues.append(Cue(start, end, body))
    return cues


def parse_srt(text: str) -> list[Cue]:
    """Cues of a SubRip file's text."""
    return _parse(text, "SRT")


def parse_vtt(text: str) -> list[Cue]:
    """Cues of a WebVTT file's text (it must start with ``WEBVTT``)."""
    if not text.lstrip("\ufeff").lstrip().startswith("WEBVTT"):
        raise InvalidInput("This is not a WebVTT file: it must start with 'WEBVTT'.")
    return _parse(text, "VTT")


def read_subtitles(path: Path) -> list[Cue]:
    """Cues of an .srt or .vtt file (the format is told by its first line, not its name)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidMedia(f"{path.name}: the subtitle file was not found.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidMedia(f"{path.name} is not a UTF-8 text file, so not subtitles we can read.") from None
    cues = parse_vtt(text) if text.lstrip().startswith("WEBVTT") else parse_srt(text)
    if not cues:
        raise InvalidMedia(f"{path.name} has no subtitles in it.")
    return cues


# --------------------------------------------------------------------------------------------------------------
# Edited tables
# --------------------------------------------------------------------------------------------------------------
def cues_from_table(rows: Sequence[Any], *, tidy: bool = True, allow_overlap: bool = False) -> list[Cue]:
    """Cues from an edited table: rows of ``(start, end, text)`` (numbers or times) or dicts with those keys.

    Every problem raises ``InvalidInput`` naming the row (1-based): a missing cell, a time that does not parse,
    end not after start, empty text, or (unless ``allow_overlap``) a row starting before the previous one ends.
    Empty rows (all cells blank) are skipped; texts are tidied (``craft.tidy_text``) unless ``tidy=False``.
    """
    cues: list[Cue] = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            row = (row.get("start", row.get("start_s")), row.get("end", row.get("end_s")), row.get("text"))
        cells = list(row) if row is not None else []
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        if len(cells) < 3:
            raise InvalidInput(f"Row {number} needs three cells: start, end and text.")
        start_cell, end_cell, text = cells[:3]
        try:
            start, end = parse_time(start_cell), parse_time(end_cell)
        except InvalidInput as exc:
            raise InvalidInput(f"Row {number}: {exc}") from None
        if end <= start:
            raise InvalidInput(f"Row {number}: the end ({_clock(end, '.')}) must be after the start "
                               f"({_clock(start, '.')}).")
        text = "" if text is None else str(text).replace("\r\n", "\n").strip()
        if not text:
            raise InvalidInput(f"Row {number}: the text is empty.")
        if cues and not allow_overlap and start < cues[-1].end_s - 1e-6:
            raise InvalidInput(f"Row {number} starts ({_clock(start, '.')}) before the row above it ends "
                               f"({_clock(cues[-1].end_s, '.')}).")
        cues.append(Cue(start, end, tidy_text(text) if tidy else text))
    if not cues:
        raise InvalidInput("The table has no subtitles in it.")
    return cues
