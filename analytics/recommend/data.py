"""Ratings as plain typed data, and readers for MovieLens-style files (``user<TAB>item<TAB>rating[<TAB>time]``)."""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analytics.errors import InvalidData

COLUMNS = ("user", "item", "rating", "timestamp")
ML_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
             "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")


@dataclass(frozen=True)
class Ratings:
    """Explicit ratings, one per row: parallel arrays of user ids, item ids, ratings and (optional) timestamps."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.rating)
        if len(self.user) != n or len(self.item) != n or (self.timestamp is not None and len(self.timestamp) != n):
            raise InvalidData("ratings: user, item, rating and timestamp columns differ in length")
        if n == 0:
            raise InvalidData("ratings: no rows")
        if not np.all(np.isfinite(self.rating)):
            raise InvalidData("ratings: a rating is not a finite number")

    def __len__(self) -> int:
        return len(self.rating)

    @property
    def scale(self) -> tuple[float, float]:
        """The lowest and highest rating present."""
        return float(self.rating.min()), float(self.rating.max())

    @classmethod
    def from_records(cls, rows: Iterable[tuple[Any, ...]]) -> Ratings:
        """From ``(user, item, rating)`` or ``(user, item, rating, timestamp)`` tuples."""
        rows = list(rows)
        if not rows:
            raise InvalidData("ratings: no rows")
        users = _ids([r[0] for r in rows])
        items = _ids([r[1] for r in rows])
        rating = np.asarray([r[2] for r in rows], dtype=np.float64)
        stamps = np.asarray([r[3] for r in rows], dtype=np.int64) if all(len(r) > 3 for r in rows) else None
        return cls(users, items, rating, stamps)

    @classmethod
    def from_frame(cls, frame: Any) -> Ratings:
        """From a DataFrame with columns ``user``, ``item``, ``rating`` and optionally ``timestamp``."""
        missing = [c for c in COLUMNS[:3] if c not in frame.columns]
        if missing:
            raise InvalidData(f"ratings: missing column(s) {', '.join(missing)}")
        try:
            rating = frame["rating"].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidData(f"ratings: rating column is not numeric ({exc})") from None
        stamps = frame["timestamp"].to_numpy(dtype=np.int64) if "timestamp" in frame.columns else None
        return cls(_ids(frame["user"].tolist()), _ids(frame["item"].tolist()), rating, stamps)

    def as_frame(self) -> Any:
        """As a pandas DataFrame with the columns of :data:`COLUMNS` (timestamp only when present)."""
        import pandas as pd

        data = {"user": self.user, "item": self.item, "rating": self.rating}
        if self.timestamp is not None:
            data["timestamp"] = self.timestamp
        return pd.DataFrame(data)

    def take(self, rows: np.ndarray) -> Ratings:
        """The subset at ``rows`` (indices or a boolean mask)."""
        stamps = None if self.timestamp is None else self.timestamp[rows]
        return Ratings(self.user[rows], self.item[rows], self.rating[rows], stamps)


def as_ratings(data: Ratings | Any) -> Ratings:
    """Accept :class:`Ratings` or a DataFrame with the ratings columns."""
    if isinstance(data, Ratings):
        return data
    if hasattr(data, "columns"):
        return Ratings.from_frame(data)
    raise InvalidData(f"ratings: expected Ratings or a DataFrame, got {type(data).__name__}")


def _ids(values: list[Hashable]) -> np.ndarray:
    """An id column as a 1-D object array (so mixed ints/strings never become a 2-D or unicode array)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def read_ratings(path: Path | str) -> Ratings:
    """Read a tab-separated ratings file without header: ``user item rating [timestamp]`` (MovieLens ``u.data``).

    Ids are kept as strings. Raises :class:`InvalidData` as ``<file>:<line>: <what>`` on the first bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidData(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    users: list[str] = []
    items: list[str] = []
    rating: list[float] = []
    stamps: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) not in (3, 4):
            raise InvalidData(f"{path}:{number}: expected 3 or 4 tab-separated fields, found {len(fields)}")
        user, item = fields[0].strip(), fields[1].strip()
        if not user or not item:
            raise InvalidData(f"{path}:{number}: empty user or item id")
        try:
            value = float(fields[2])
        except ValueError:
            raise InvalidData(f"{path}:{number}: rating {fields[2]!r} is not a number") from None
        if not math.isfinite(value):
            raise InvalidData(f"{path}:{number}: rating {fields[2]!r} is not finite")
        if len(fields) == 4:
            try:
                stamps.append(int(fields[3]))
            except ValueError:
                raise InvalidData(f"{path}:{number}: timestamp {fields[3]!r} is not an integer") from None
        users.append(user)
        items.append(item)
        rating.append(value)
    if not rating:
        raise InvalidData(f"{path}: no ratings")
    stamp_array = np.asarray(stamps, dtype=np.int64) if len(stamps) == len(rating) else None
    return Ratings(_ids(users), _ids(items), np.asarray(rating, dtype=np.float64), stamp_array)


def write_ratings(ratings: Ratings, path: Path | str) -> None:
    """Write ``ratings`` as a tab-separated file in the format :func:`read_ratings` reads."""
    stamps = ratings.timestamp if ratings.timestamp is not None else np.zeros(len(ratings), dtype=np.int64)
    lines = (f"{u}\t{i}\t{r:g}\t{t}\n" for u, i, r, t in zip(ratings.user, ratings.item, ratings.rating, stamps))
    Path(path).write_text("".join(lines), encoding="utf-8")


def read_item_text(path: Path | str) -> dict[str, str]:
    """Read item texts: ``item<TAB>text`` per line, or MovieLens ``u.item`` (``id|title|date|url|19 genre flags``,
    read as ``"title: Genre, Genre"``)."""
    path = Path(path)
    try:
        raw = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InvalidData(f"{path}: cannot read ({exc})") from None
    out: dict[str, str] = {}
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        sep = "\t" if "\t" in line else "|"
        fields = line.split(sep)
        if len(fields) < 2 or not fields[0].strip():
            raise InvalidData(f"{path}:{number}: expected 'item<TAB>text' or 'id|title|...'")
        text = fields[1].strip()
        flags = fields[-len(ML_GENRES):]
        if sep == "|" and len(fields) == 5 + len(ML_GENRES) and set(flags) <= {"0", "1"}:
            text += ": " + ", ".join(g for g, f in zip(ML_GENRES, flags) if f == "1")
        out[fields[0].strip()] = text
    if not out:
        raise InvalidData(f"{path}: no item texts")
    return out
