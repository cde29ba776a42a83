"""Viewer privacy and what counts as a view (issue 11, requirement 9): daily salts, keyed-hash viewer ids, nothing
raw stored, 10 s to count, one view per viewer per video per hour (also across midnight), bots dropped, a limit
per video. The clock is injected so the day boundary is crossed without waiting."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import LargeBinary, String, Text, create_engine, inspect, select, text

from storage.audience_models import Comment, ViewerSalt, ViewEvent, ViewSession
from storage.db import migrate
from storage.models import AssetKind
from storage.repo import assets, audience, projects, publications
from studio.services import sample_audience
from studio.services.viewing import BOT_USER_AGENTS, TokenBucket, Viewing, is_bot
from studio.watch import make_router
# every test taking store or settings runs on SQLite and on PostgreSQL, as [sqlite] and [pg]
from tests.pgfixtures import database_url, db_backend, pytest_generate_tests, settings  # noqa: F401, E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) PrivacyProbe/9.9 Safari/537.36"
IP = "203.0.113.77"
TOKEN = "tok-privacy-1"
DAY1 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def watch(store):
    """Two published 60 s videos, a Viewing on a movable clock, and a client factory (one client per address)."""
    with store.session() as s:
        p = projects.create_project(session=s, name="Privacy")
        v = assets.add_asset(session=s, project_id=p.id, stored=store.media.put_bytes(b"v" * 64, ext=".mp4"),
                             kind=AssetKind.video, name="v.mp4", mime="video/mp4", duration_s=60.0)
        slugs = [publications.publish(session=s, project_id=p.id, asset_id=v.id, title=t).slug
                 for t in ("Harbour", "Lighthouse")]
    clock = Clock(DAY1)
    viewing = Viewing(store, clock=clock)
    app = FastAPI(routes=make_router(viewing).routes)

    def client(ip: str = IP) -> TestClient:
        return TestClient(app, client=(ip, 40000))
    yield viewing, clock, client, slugs
    viewing.close()


def _post(client, slug, session, events, *, ua=UA, token=TOKEN):
    return client.post("/api/watch/events", headers={"user-agent": ua},
                       json={"video": slug, "session": session, "token": token, "tz": "Europe/Oslo",
                             "events": events})


def _watch(viewing, client, slug, session, seconds, *, ua=UA):
    """A page view that plays and watches ``seconds`` (in heartbeats of at most 5 s), then written."""
    evs = [{"type": "impression"}, {"type": "play"}]
    left, pos = float(seconds), 0.0
    while left > 0:
        step = min(5.0, left)
        pos += step
        left -= step
        evs.append({"type": "heartbeat", "position": pos, "watched": step})
    r = _post(client, slug, session, evs, ua=ua)
    assert r.status_code == 202 and r.json() == {"accepted": len(evs)}
    assert viewing.flush()


def _session(store, key) -> ViewSession:
    with store.session() as s:
        return s.scalar(select(ViewSession).where(ViewSession.session_key == key))


def _views(store) -> int:
    with store.session() as s:
        return audience.summary(session=s)["views"]


# --- salts and ids -------------------------------------------------------------------------------------------------

def test_salt_rotates_daily_keeping_yesterday_and_deleting_older(store, watch):
    viewing, clock, _, _ = watch

    def stored():
        with store.session() as s:
            return {r.day: bytes(r.value) for r in s.scalars(select(ViewerSalt))}
    today, yesterday = viewing.salts()
    assert yesterday is None and len(today) == 16 and stored() == {DAY1.date(): today}
    clock.now = DAY1.replace(hour=23, minute=59, second=59)
    assert viewing.salts() == (today, None)  # same day: same salt
    clock.now = DAY1.replace(hour=0) + timedelta(days=1)  # midnight: a new salt, yesterday's kept
    day2, prev = viewing.salts()
    assert prev == today and day2 != today and len(day2) == 16
    assert stored() == {DAY1.date(): today, DAY1.date() + timedelta(days=1): day2}
    clock.now = DAY1 + timedelta(days=2)  # the day after: the oldest is deleted
    day3, prev = viewing.salts()
    assert prev == day2 and stored() == {DAY1.date() + timedelta(days=1): day2, DAY1.date() + timedelta(days=2): day3}
    clock.now = DAY1 + timedelta(days=9)  # after a pause: nothing older than yesterday survives, no yesterday
    day9, prev = viewing.salts()
    assert prev is None and stored() == {DAY1.date() + timedelta(days=9): day9}


def test_viewer_ids_match_for_the_same_inputs_and_differ_otherwise(watch):
    viewing, clock, _, _ = watch

    def vid(ua=UA, ip=IP, video=1):
        return viewing.viewer_ids(user_agent=ua, client_ip=ip, publication_id=video)[0]
    a = vid()
    assert a == vid() and len(a) == 16 and all(c in "0123456789abcdef" for c in a)
    assert len({a, vid(ua=UA + "x"), vid(ip="203.0.113.78"), vid(video=2)}) == 4
    clock.now = DAY1 + timedelta(days=1)
    today, yesterday = viewing.viewer_ids(user_agent=UA, client_ip=IP, publication_id=1)
    assert today != a and yesterday == a  # a new id each day; yesterday's is still recognised
    # the id is HMAC-SHA256(salt, UA \n IP \n video), cut to 16 hex digits
    import hashlib
    import hmac
    salt = viewing.salts()[0]
    assert today == hmac.new(salt, f"{UA}\n{IP}\n1".encode(), hashlib.sha256).hexdigest()[:16]


def test_nothing_raw_is_stored_after_events_and_a_comment(store, watch, settings):  # noqa: F811
    viewing, _, client, slugs = watch
    c = client()
    _watch(viewing, c, slugs[0], "sess-raw-0001", 12)
    r = c.post("/api/watch/comments", headers={"user-agent": UA},
               json={"video": slugs[0], "token": TOKEN, "author": "Ana", "text": "Lovely light"})
    assert r.status_code == 201
    needles = [IP, UA, "PrivacyProbe", TOKEN, "X11; Linux x86_64"]
    with store.session() as s:
        row = s.scalar(select(ViewSession))
        comment = s.scalar(select(Comment))
        assert row.device == "desktop" and row.counted
        # comments use the same pseudonym as the viewing session (same browser, address, video, day)
        assert comment.viewer == row.viewer and comment.viewer not in (IP, UA, TOKEN)
    insp = inspect(store.engine)
    scanned = 0
    with store.engine.connect() as conn:
        for table in insp.get_table_names():
            cols = [c["name"] for c in insp.get_columns(table)
                    if isinstance(c["type"], (String, Text)) or "CHAR" in str(c["type"]).upper()
                    or "TEXT" in str(c["type"]).upper() or "JSON" in str(c["type"]).upper()]
            for col in cols:
                for (value,) in conn.execute(text(f'SELECT "{col}" FROM "{table}"')):
                    scanned += 1
                    for needle in needles:
                        assert needle not in str(value or ""), f"{needle!r} stored in {table}.{col}"
            bins = [c["name"] for c in insp.get_columns(table) if isinstance(c["type"], LargeBinary)]
            for col in bins:
                for (value,) in conn.execute(text(f'SELECT "{col}" FROM "{table}"')):
                    assert IP.encode() not in bytes(value) and b"PrivacyProbe" not in bytes(value)
    assert scanned > 20
    # and not in the database files' bytes either (WAL included)
    for f in settings.data_dir.glob("reelsmith.db*"):
        raw = f.read_bytes()
        assert IP.encode() not in raw and b"PrivacyProbe" not in raw and TOKEN.encode() not in raw


# --- what counts as a view -----------------------------------------------------------------------------------------

def test_a_view_counts_from_10_seconds_watched(store, watch):
    viewing, _, client, slugs = watch
    c = client()
    _watch(viewing, c, slugs[0], "sess-nine-001", 9)
    assert not _session(store, "sess-nine-001").counted and _views(store) == 0
    # the same page view watches one more second: now it counts
    assert _post(c, slugs[0], "sess-nine-001", [{"type": "heartbeat", "position": 10, "watched": 1}]).status_code \
        == 202
    assert viewing.flush()
    assert _session(store, "sess-nine-001").counted and _views(store) == 1
    _watch(viewing, client("198.51.100.4"), slugs[0], "sess-ten-0001", 10)
    assert _session(store, "sess-ten-0001").counted and _views(store) == 2
    with store.session() as s:
        m = audience.summary(session=s)
        assert (m["plays"], m["views"]) == (2, 2)


def test_one_view_per_viewer_per_video_per_hour(store, watch):
    viewing, clock, client, slugs = watch
    c = client()
    _watch(viewing, c, slugs[0], "sess-hour-001", 12)
    clock.now = DAY1 + timedelta(minutes=40)  # the same viewer, same video, 40 min later: not a second view
    _watch(viewing, c, slugs[0], "sess-hour-002", 12)
    _watch(viewing, c, slugs[1], "sess-hour-vid", 12)  # another video: its own view
    _watch(viewing, c, slugs[0], "sess-hour-oth", 12, ua=UA.replace("9.9", "10.0"))  # another browser: a view
    clock.now = DAY1 + timedelta(minutes=61)  # more than an hour after the first view: counts again
    _watch(viewing, c, slugs[0], "sess-hour-003", 12)
    counted = {k: _session(store, k).counted for k in ("sess-hour-001", "sess-hour-002", "sess-hour-vid",
                                                        "sess-hour-oth", "sess-hour-003")}
    assert counted == {"sess-hour-001": True, "sess-hour-002": False, "sess-hour-vid": True,
                       "sess-hour-oth": True, "sess-hour-003": True}
    with store.session() as s:
        per_video = {r["key"]: (r["plays"], r["views"]) for r in audience.breakdown(session=s, by="video")}
    assert sorted(per_video.values()) == [(1, 1), (4, 3)]


def test_across_midnight_within_the_hour_is_still_one_view(store, watch):
    viewing, clock, client, slugs = watch
    c = client()
    clock.now = DAY1.replace(hour=23, minute=40)
    _watch(viewing, c, slugs[0], "sess-night-01", 12)
    clock.now = DAY1.replace(hour=0, minute=20) + timedelta(days=1)  # 40 min later, the next day
    _watch(viewing, c, slugs[0], "sess-night-02", 12)
    first, second = _session(store, "sess-night-01"), _session(store, "sess-night-02")
    assert first.viewer != second.viewer  # a new day, a new id ...
    assert first.counted and not second.counted  # ... but recognised through yesterday's salt
    clock.now = DAY1.replace(hour=0, minute=45) + timedelta(days=1)  # 65 min after the first view
    _watch(viewing, c, slugs[0], "sess-night-03", 12)
    assert _session(store, "sess-night-03").counted and _views(store) == 2


# --- bots and limits -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ua", [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
    "curl/8.5.0", "Wget/1.21.4", "python-requests/2.32.3", "Python-urllib/3.12", "facebookexternalhit/1.1",
    "Baiduspider+(+http://www.baidu.com/search/spider.htm)", "AhrefsBot/7.0", "",
])
def test_bots_and_headless_browsers_are_dropped_silently(store, watch, ua):
    viewing, _, client, slugs = watch
    r = _post(client(), slugs[0], "sess-bot-0001", [{"type": "impression"}, {"type": "play"},
                                                    {"type": "heartbeat", "position": 5, "watched": 5}], ua=ua)
    assert r.status_code == 202 and r.json() == {"accepted": 0}  # the bot learns nothing
    assert viewing.flush()
    with store.session() as s:
        assert s.query(ViewSession).count() == 0 and s.query(ViewEvent).count() == 0


def test_the_bot_list_spares_ordinary_browsers():
    assert len(BOT_USER_AGENTS) >= 20
    for ua in ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Version/17.5 Mobile/15E148 Safari/604.1",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
               "Safari/537.36 Edg/126.0.0.0",
               "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
               "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
               "Mobile Safari/537.36"):
        assert not is_bot(ua), ua


def test_per_video_rate_limit_answers_429(store, watch):
    viewing, _, client, slugs = watch
    viewing.video_limiter = TokenBucket(rate=0.001, burst=3)
    # different addresses, browsers and tokens: only the per-video bucket can refuse
    codes = [_post(client(f"198.51.100.{n}"), slugs[0], f"sess-vrl-{n:04d}", [{"type": "impression"}],
                   ua=f"{UA} n{n}", token=f"tok-vrl-{n:04d}").status_code for n in range(5)]
    assert codes == [202, 202, 202, 429, 429]
    assert _post(client("198.51.100.9"), slugs[1], "sess-vrl-other", [{"type": "impression"}]).status_code == 202
    assert viewing.flush()
    with store.session() as s:
        assert s.query(ViewSession).count() == 4


# --- other writers of sessions -------------------------------------------------------------------------------------

def test_imported_events_count_views_by_the_same_rule(store, watch):
    from studio.services import audience_import

    _, _, _, slugs = watch
    folder = store.settings.tmp_dir  # imports read only files uploaded to the studio
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "events.csv"
    rows = ["video,viewer,session,event,position_s,watched_s,timestamp"]
    for viewer, key, start, watched in (("alice", "a1", "10:00", 15), ("alice", "a2", "10:30", 15),
                                        ("alice", "a3", "11:30", 15), ("bob", "b1", "10:00", 9)):
        rows += [f"{slugs[0]},{viewer},{key},play,0,0,2026-09-01T{start}:00Z",
                 f"{slugs[0]},{viewer},{key},leave,{watched},{watched},2026-09-01T{start}:30Z"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = audience_import.import_events(store, path)
    assert report.rejected == 0, report.as_text()
    with store.session() as s:
        counted = {r.session_key.rsplit("-", 1)[1]: r.counted for r in s.scalars(select(ViewSession))}
        viewers = {r.viewer for r in s.scalars(select(ViewSession))}
    assert counted == {"a1": True, "a2": False, "a3": True, "b1": False}
    assert "alice" not in viewers and "bob" not in viewers


def test_sample_sessions_are_counted_like_watch_page_views():
    t0 = DAY1
    rows = [{"viewer": "v", "publication_id": 1, "started_at": t0 + timedelta(minutes=m), "played": p,
             "watched_s": w, "_count_after": 10.0}
            for m, p, w in ((0, True, 30.0), (20, True, 30.0), (70, True, 30.0), (80, True, 5.0), (200, False, 0.0))]
    sample_audience.mark_counted(rows)
    assert [r["counted"] for r in rows] == [True, False, True, False, False]
    assert all("_count_after" not in r for r in rows)


def test_migration_drops_monthly_salts_and_marks_old_views(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")  # foreign keys off: bare rows are enough here
    migrate(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO viewer_salts (period, value) VALUES ('2026-10', :v)"), {"v": "ab" * 32})
        for key, played, watched in (("old-long", 1, 40.0), ("old-short", 1, 4.0), ("old-imp", 0, 0.0)):
            conn.execute(text(
                "INSERT INTO view_sessions (publication_id, session_key, viewer, device, region, source, started_at,"
                " last_at, impressed, played, ended, max_position_s, watched_s, events) VALUES (1, :k, 'v', "
                "'desktop', 'unknown', 'watch', '2026-10-01 10:00:00', '2026-10-01 10:01:00', 1, :p, 0, :w, :w, 3)"),
                {"k": key, "p": played, "w": watched})
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM viewer_salts")).scalar() == 0
        assert {c["name"] for c in inspect(conn).get_columns("viewer_salts")} == {"day", "value"}
        rows = dict(conn.execute(text("SELECT session_key, counted FROM view_sessions")).all())
        assert {k: bool(v) for k, v in rows.items()} == {"old-long": True, "old-short": False, "old-imp": False}
        assert "ix_view_sessions_pub_viewer_started" in {i["name"] for i in inspect(conn).get_indexes("view_sessions")}
    engine.dispose()
