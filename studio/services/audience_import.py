"""Import of platform exports (a second source beside the watch page's own events), validated row by row.

Two CSV layouts, documented in README "Audience data":
- per-video daily metrics: ``video,date`` plus any of ``impressions,views,watch_time_s,watch_time_hours,likes,
  comments`` (``video`` is the watch page's slug or its exact title);
- per-viewer events: ``video,viewer,session,event,position_s,watched_s,timestamp`` and optional ``device,region``.
  Viewer ids are pseudonymised on the way in (HMAC of the platform's id and the video with the day's salt, like the
  watch page's), and page views count as views by the watch page's rule (10 s watched, one per viewer, video, hour).

Good rows are stored in one transaction; bad rows are reported with their line number and reason. Nothing is
stored when the file itself is unreadable.
"""
from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import select

from storage.audience_models import EventKind, Publication
from storage.db import Store
from storage.errors import InvalidValue
from storage.paths import uploaded_file
from storage.repo import audience

MAX_BYTES = 200 * 1024 * 1024
MAX_REPORTED = 200
METRIC_COLUMNS = ("impressions", "views", "watch_time_s", "watch_time_hours", "likes", "comments")
EVENT_COLUMNS = ("video", "viewer", "session", "event", "position_s", "watched_s", "timestamp")
DEVICES = {"desktop", "mobile", "tablet", "tv", "unknown"}


@dataclass
class ImportReport:
    kind: str
    accepted: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def reject(self, line: int, why: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(f"line {line}: {why}")

    def as_text(self) -> str:
        head = f"{self.kind}: {self.accepted} rows imported, {self.rejected} rejected."
        more = "" if self.rejected <= len(self.problems) else f"\n… and {self.rejected - len(self.problems)} more."
        return head + ("\n" + "\n".join(self.problems) if self.problems else "") + more


def _open_rows(path: Path) -> tuple[list[str], csv.DictReader]:
    path = Path(path)
    if not path.is_file():
        raise InvalidValue("The CSV file is missing.")
    if path.stat().st_size > MAX_BYTES:
        raise InvalidValue(f"The CSV is larger than {MAX_BYTES // 2**20} MB; split it.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidValue(f"{path.name} is not UTF-8 text (is it a spreadsheet file? export it as CSV).") \
            from None
    if "\x00" in text[:4096]:
        raise InvalidValue(f"{path.name} looks binary, not CSV.")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise InvalidValue(f"{path.name} is empty.")
    reader.fieldnames = header
    return header, reader


def _videos(store: Store, project_id: int | None) -> dict[str, int]:
    from sqlalchemy import select
    with store.session() as s:
        stmt = select(Publication.id, Publication.slug, Publication.title)
        if project_id is not None:
            stmt = stmt.where(Publication.project_id == project_id)
        out: dict[str, int] = {}
        for pid, slug, title in s.execute(stmt):
            out[slug.lower()] = pid
            out.setdefault(title.strip().lower(), pid)
        return out


def _number(value: str | None, name: str, *, integer: bool = False) -> float:
    value = (value or "").strip().replace(",", "") or "0"
    try:
        x = float(value)
    except ValueError:
        raise ValueError(f"{name} is not a number ({value!r})") from None
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be zero or more")
    if integer and x != int(x):
        raise ValueError(f"{name} must be a whole number")
    return x


def import_metrics(store: Store, path: Path, *, project_id: int | None = None,
                   platform: str = "import") -> ImportReport:
    header, reader = _open_rows(uploaded_file(store.settings, path))  # only files uploaded to the studio
    missing = {"video", "date"} - set(header)
    if missing or not set(METRIC_COLUMNS) & set(header):
        raise InvalidValue("A metrics CSV needs the columns video and date and at least one of: "
                           + ", ".join(METRIC_COLUMNS) + f". Found: {', '.join(header)}.")
    videos, report, rows = _videos(store, project_id), ImportReport("Per-video metrics"), []
    for line, row in enumerate(reader, start=2):
        try:
            pid = videos.get((row.get("video") or "").strip().lower())
            if pid is None:
                raise ValueError(f"unknown video {row.get('video')!r} (use the slug or the exact title)")
            try:
                day = date.fromisoformat((row.get("date") or "").strip()[:10])
            except ValueError:
                raise ValueError(f"date must be YYYY-MM-DD, not {row.get('date')!r}") from None
            values = {k: int(_number(row.get(k), k, integer=True)) for k in ("impressions", "views", "likes",
                                                                                 "comments") if k in header}
            if "watch_time_s" in header:
                values["watch_time_s"] = _number(row.get("watch_time_s"), "watch_time_s")
            elif "watch_time_hours" in header:
                values["watch_time_s"] = _number(row.get("watch_time_hours"), "watch_time_hours") * 3600.0
            if values.get("views", 0) > values.get("impressions", math.inf) and "impressions" in header:
                raise ValueError("views cannot exceed impressions")
        except ValueError as exc:
            report.reject(line, str(exc))
            continue
        rows.append((pid, day, values))
    with store.session() as s:
        for pid, day, values in rows:
            audience.upsert_imported_metric(session=s, publication_id=pid, platform=platform[:40], day=day,
                                            values=values)
    report.accepted = len(rows)
    return report


def _timestamp(value: str | None) -> datetime:
    value = (value or "").strip()
    try:
        if value.replace(".", "", 1).isdigit():
            t = datetime.fromtimestamp(float(value), tz=timezone.utc)
        else:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"timestamp must be ISO 8601 or Unix seconds, not {value!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def import_events(store: Store, path: Path, *, project_id: int | None = None) -> ImportReport:
    header, reader = _open_rows(uploaded_file(store.settings, path))  # only files uploaded to the studio
    missing = [c for c in EVENT_COLUMNS if c not in header]
    if missing:
        raise InvalidValue(f"An events CSV needs the columns {', '.join(EVENT_COLUMNS)}; missing: "
                           f"{', '.join(missing)}.")
    videos, report = _videos(store, project_id), ImportReport("Viewer events")
    sessions: dict[str, dict] = {}
    grouped: dict[str, list[audience.Event]] = defaultdict(list)
    for line, row in enumerate(reader, start=2):
        try:
            pid = videos.get((row.get("video") or "").strip().lower())
            if pid is None:
                raise ValueError(f"unknown video {row.get('video')!r}")
            viewer, key = (row.get("viewer") or "").strip(), (row.get("session") or "").strip()
            if not viewer or not key or len(key) > 30:
                raise ValueError("viewer and session are required (session at most 30 characters)")
            try:
                kind = EventKind((row.get("event") or "").strip().lower())
            except ValueError:
                raise ValueError(f"event must be one of {', '.join(k.value for k in EventKind)}") from None
            ev = audience.Event(kind=kind, position_s=_number(row.get("position_s"), "position_s"),
                                watched_s=_number(row.get("watched_s"), "watched_s"),
                                occurred_at=_timestamp(row.get("timestamp")))
            device = (row.get("device") or "unknown").strip().lower()
            if device not in DEVICES:
                raise ValueError(f"device must be one of {', '.join(sorted(DEVICES))}")
            skey = f"imp-{pid}-{key}"
            first = sessions.setdefault(skey, {"pid": pid, "viewer": viewer, "device": device,
                                               "region": (row.get("region") or "unknown").strip()[:32]})
            if first["pid"] != pid or first["viewer"] != viewer:
                raise ValueError(f"session {key!r} was given another video or viewer earlier")
        except ValueError as exc:
            report.reject(line, str(exc))
            continue
        grouped[skey].append(ev)
        report.accepted += 1
    with store.session() as s:
        salts = audience.day_salts(session=s, today=datetime.now(timezone.utc).date())
        durations = dict(s.execute(select(Publication.id, Publication.duration_s)
                                   .where(Publication.id.in_({i["pid"] for i in sessions.values()}))).all())
        # page views in time order, so the "one view per viewer, video and hour" rule keeps the first
        for skey, events in sorted(grouped.items(), key=lambda kv: min(e.occurred_at for e in kv[1])):
            info = sessions[skey]
            events.sort(key=lambda e: e.occurred_at)
            viewer = audience.pseudonym(salts[0], "import", info["viewer"], str(info["pid"]))
            duration = float(durations.get(info["pid"]) or 0.0)
            audience.record_events(session=s, publication_id=info["pid"], session_key=skey, viewer=viewer,
                                   events=events, device=info["device"], region=info["region"], source="import",
                                   count_after_s=min(audience.VIEW_SECONDS, 0.9 * duration) if duration > 0
                                   else audience.VIEW_SECONDS)
    return report
