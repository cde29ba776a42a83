"""The studio's web guards against a real server on 127.0.0.1: foreign origins, the upload cap, aborted uploads,
files Gradio must not serve (or must not render), crafted API calls; and the launch options that set them up."""
from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import start_server, stop_server

USER, PASSWORD = "ann", "harbour-42"
BOUNDARY = "----reelsmith-test-boundary"


# --------------------------------------------------------------------------------------------------------------
# A team studio with a 1 MB upload cap, and a signed-in cookie for it
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def team(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("guarded") / "data", "--max-upload-mb", "1",
                          env={"REELSMITH_USERS": f"{USER}:{PASSWORD}"})
    parts = urlsplit(server.url)
    server.host, server.port = parts.hostname, parts.port
    server.origin = f"http://{parts.hostname}:{parts.port}"
    status, headers, body = request(server, "POST", "/login", body=f"username={USER}&password={PASSWORD}".encode(),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    server.cookie = "; ".join(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie")
    yield server
    stop_server(server)


def request(server, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
            cookie: bool = False) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        all_headers = dict(headers or {})
        if cookie:
            all_headers["Cookie"] = server.cookie
        conn.request(method, path, body=body, headers=all_headers)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def header(headers, name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name.lower()), None)


def staged(server) -> set[Path]:
    """Every file in Gradio's upload dir and the media store's temp dir."""
    folders = [server.data_dir / "gradio-tmp", server.data_dir / "media" / ".tmp"]
    return {p for f in folders if f.is_dir() for p in f.rglob("*") if p.is_file()}


def wait_until(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def part(name: str, data: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode() + data + b"\r\n"


def raw_head(server, extra: str, *, content_length: int | None) -> bytes:
    length = f"Content-Length: {content_length}\r\n" if content_length is not None else "Transfer-Encoding: chunked\r\n"
    return (f"POST /gradio_api/upload HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nCookie: {server.cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{length}{extra}\r\n").encode()


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.partition(b"\r\n\r\n")[2]


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


# --------------------------------------------------------------------------------------------------------------
# Origins
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example",
                                    "https://evil.example:443", "not a url"])
def test_login_from_a_foreign_origin_is_refused(team, origin):
    status, _, body = request(team, "POST", "/login", body=f"username={USER}&password={PASSWORD}".encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": origin})
    assert status == 403
    assert b"Origin" in body or b"refused" in body


def test_login_from_the_studio_itself_is_accepted(team):
    status, headers, body = request(team, "POST", "/login", body=f"username={USER}&password={PASSWORD}".encode(),
                                    headers={"Content-Type": "application/x-www-form-urlencoded",
                                             "Origin": team.origin})
    assert status == 200 and json.loads(body) == {"success": True}
    assert header(headers, "set-cookie")


def test_watch_events_from_a_foreign_origin_are_refused(team):
    payload = json.dumps({"events": []}).encode()
    for origin in ("http://evil.example", "null"):
        status, _, body = request(team, "POST", "/api/watch/events", body=payload,
                                  headers={"Content-Type": "application/json", "Origin": origin})
        assert status == 403, body
    # the page's own origin (and no origin at all) reaches the endpoint, which judges the payload itself
    for headers in ({"Origin": team.origin}, {}):
        status, _, body = request(team, "POST", "/api/watch/events", body=payload,
                                  headers={"Content-Type": "application/json", **headers})
        assert status != 403 and b"Cross-site" not in body, body


def test_gradio_api_call_from_a_foreign_origin_is_refused(team):
    body = json.dumps({"data": ["Evil project"]}).encode()
    status, _, answer = request(team, "POST", "/gradio_api/call/create_project", body=body, cookie=True,
                                headers={"Content-Type": "application/json", "Origin": "http://evil.example"})
    assert status == 403 and b"Cross-site request refused" in answer
    status, _, answer = request(team, "POST", "/gradio_api/call/create_project", body=body, cookie=True,
                                headers={"Content-Type": "application/json", "Origin": team.origin})
    assert status == 200 and "event_id" in json.loads(answer)


def test_upload_from_a_foreign_origin_is_refused_and_writes_nothing(team):
    before = staged(team)
    body = part("a.mp4", b"\x00" * 1000) + f"--{BOUNDARY}--\r\n".encode()
    status, _, _ = request(team, "POST", "/gradio_api/upload", body=body, cookie=True,
                           headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                                    "Origin": "http://evil.example"})
    assert status == 403
    assert staged(team) == before


# --------------------------------------------------------------------------------------------------------------
# The upload cap and aborted uploads
# --------------------------------------------------------------------------------------------------------------
def test_declared_size_over_the_cap_is_refused_before_the_body(team):
    before = staged(team)
    with socket.create_connection((team.host, team.port)) as sock:
        sock.sendall(raw_head(team, "", content_length=5_000_000))  # and not one byte of the body
        status, body = read_response(sock)
    assert status == 413
    assert b"maximum allowed size of 1 MB" in body
    assert staged(team) == before


def test_streamed_upload_over_the_cap_is_cut_off_and_leaves_nothing(team):
    """Four files each under Gradio's own 1 MB per-file limit, 3.6 MB together, streamed without a length."""
    before = staged(team)
    body = b"".join(part(f"clip{i}.mp4", bytes([i]) * 900_000) for i in range(4)) + f"--{BOUNDARY}--\r\n".encode()
    with socket.create_connection((team.host, team.port)) as sock:
        sock.sendall(raw_head(team, "", content_length=None))
        try:
            for i in range(0, len(body), 64 * 1024):
                chunk = body[i:i + 64 * 1024]
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may stop reading once it has refused
        status, answer = read_response(sock)
    assert status == 413 and b"maximum allowed size" in answer
    assert wait_until(lambda: staged(team) == before), staged(team) - before


def test_aborted_upload_leaves_no_temp_file(team):
    before = staged(team)
    gradio_tmp = team.data_dir / "gradio-tmp"
    with socket.create_connection((team.host, team.port)) as sock:
        sock.sendall(raw_head(team, "", content_length=800_000))
        sock.sendall(part("half.mp4", b"\x01" * 800_000)[:300_000])  # headers of the part and some of its data
        # Gradio has opened its temp file for the part (so this test would see a leak) ...
        assert wait_until(lambda: any(p.name.startswith("tmp") for p in gradio_tmp.iterdir())), \
            sorted(p.name for p in gradio_tmp.iterdir())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    # ... and removes it once the client is gone.
    assert wait_until(lambda: staged(team) == before), staged(team) - before
    assert not list((team.data_dir / "media" / ".tmp").glob("*")) if (team.data_dir / "media" / ".tmp").is_dir() \
        else True


def test_upload_within_the_cap_still_works(team):
    body = part("fine.mp4", b"\x02" * 10_000) + f"--{BOUNDARY}--\r\n".encode()
    status, _, answer = request(team, "POST", "/gradio_api/upload", body=body, cookie=True,
                                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                                         "Origin": team.origin})
    assert status == 200, answer
    [path] = json.loads(answer)
    assert Path(path).read_bytes() == b"\x02" * 10_000
    assert Path(path).resolve().is_relative_to((team.data_dir / "gradio-tmp").resolve())


# --------------------------------------------------------------------------------------------------------------
# Files: never the database or the keys, never a page rendered inline
# --------------------------------------------------------------------------------------------------------------
def test_database_is_not_served_however_the_path_is_spelt(team):
    data = team.data_dir
    db = data / "reelsmith.db"
    assert db.is_file()
    (data / "secrets").mkdir(exist_ok=True)
    (data / "secrets" / "note.txt").write_text("private")
    spellings = [
        f"{db}", f"{data}/reelsmith.db-wal", f"{data}/reelsmith.db-shm", f"{data}/secrets/note.txt",
        f"{data}/tmp/../reelsmith.db", f"{data}/media/../reelsmith.db", f"{data}/media/%2e%2e/reelsmith.db",
        f"{data}/media/%2E%2E/reelsmith.db", f"{data}/media/%252e%252e/reelsmith.db",
        f"{data}/media/..%2freelsmith.db", f"{data}/media/..%5creelsmith.db", f"{data}/gradio-tmp/../reelsmith.db",
        f"{str(data).upper()}/REELSMITH.DB", f"{data}//reelsmith.db", f"{data}/./reelsmith.db",
    ]
    for spelling in spellings:
        status, _, body = request(team, "GET", f"/gradio_api/file={spelling}", cookie=True)
        assert status in (403, 404), (spelling, status)
        assert not body.startswith(b"SQLite format") and b"private" not in body


def test_pages_in_allowed_folders_are_downloads_not_pages(team):
    folder = team.data_dir / "tmp" / "x"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evil.html").write_text("<script>alert(document.cookie)</script>")
    (folder / "evil.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (folder / "evil.xml").write_text("<x>1</x>")
    (folder / "poster.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    for name in ("evil.html", "evil.svg", "evil.xml"):
        status, headers, _ = request(team, "GET", f"/gradio_api/file={folder / name}", cookie=True)
        assert status == 200
        assert header(headers, "content-type") == "application/octet-stream", name
        assert header(headers, "content-disposition").startswith("attachment"), name
        assert header(headers, "x-content-type-options") == "nosniff"
    status, headers, _ = request(team, "GET", f"/gradio_api/file={folder / 'poster.png'}", cookie=True)
    assert status == 200 and header(headers, "content-type") == "image/png"
    assert header(headers, "x-content-type-options") == "nosniff"


def _call(team, api: str, data: list) -> tuple[str, str]:
    """Run a Gradio API endpoint the way any HTTP client can; returns (event, data) of its last message."""
    status, _, answer = request(team, "POST", f"/gradio_api/call/{api}", cookie=True,
                                body=json.dumps({"data": data}).encode(),
                                headers={"Content-Type": "application/json"})
    assert status == 200, answer
    event_id = json.loads(answer)["event_id"]
    status, _, stream = request(team, "GET", f"/gradio_api/call/{api}/{event_id}", cookie=True)
    events = [line[7:] for line in stream.decode().splitlines() if line.startswith("event: ")]
    datas = [line[6:] for line in stream.decode().splitlines() if line.startswith("data: ")]
    return events[-1], datas[-1]


@pytest.mark.parametrize("target", ["/etc/passwd", "database"])
def test_crafted_api_upload_of_a_server_file_is_refused(team, target):
    event, data = _call(team, "create_project", [f"Crafted {target[-8:]}"])
    assert event == "complete"
    pid = json.loads(data)[0]["value"]
    path = str(team.data_dir / "reelsmith.db") if target == "database" else target
    event, data = _call(team, "upload_media", [pid, [{"path": path, "meta": {"_type": "gradio.FileData"},
                                                      "orig_name": "holiday.mp4"}]])
    assert event == "error" or "Failed" in data
    con = sqlite3.connect(team.data_dir / "reelsmith.db")
    try:
        assert con.execute("SELECT count(*) FROM assets WHERE project_id = ?", (pid,)).fetchone() == (0,)
    finally:
        con.close()


# --------------------------------------------------------------------------------------------------------------
# Unit level: what app.py passes to Gradio, the watch routes' file headers, sign-in timing
# --------------------------------------------------------------------------------------------------------------
def test_launch_options_serve_little_and_refuse_the_database(tmp_path):
    import app
    from storage.config import Settings, sqlite_url
    from studio.web_guard import BodyGuard, FileHeaders, OriginGuard

    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=sqlite_url(data), max_upload_mb=7)
    args = app.parse_args(["--queue-size", "12", "--allowed-origins", "https://studio.example.com"])
    opts = app.launch_options(settings, args)
    assert opts["allowed_paths"] == [str(data / "media"), str(data / "tmp")]
    blocked = set(opts["blocked_paths"])
    for name in ("reelsmith.db", "reelsmith.db-wal", "reelsmith.db-shm", "secrets", "backups"):
        assert str(data / name) in blocked
    assert opts["max_file_size"] == "7mb" and opts["share"] is False and opts["server_name"] == "127.0.0.1"
    guards = opts["app_kwargs"]["middleware"]
    assert [m.cls for m in guards] == [OriginGuard, BodyGuard, FileHeaders]
    assert guards[1].kwargs["max_bytes"] == 7 * 1024 * 1024
    assert guards[0].kwargs["allowed"] == {("https", "studio.example.com")}
    assert app.queue_options(args)["max_size"] == 12
    assert settings.gradio_tmp_dir.parent == data  # where main() points GRADIO_TEMP_DIR
    with pytest.raises(SystemExit):
        app.parse_args(["--queue-size", "0"])
    with pytest.raises(SystemExit):
        app.parse_args(["--allowed-origins", "evil.example"])


def test_sqlite_file_elsewhere_is_blocked_too(tmp_path):
    import app
    from storage.config import Settings

    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/elsewhere/studio.db")
    blocked = set(app.launch_options(settings, app.parse_args([]))["blocked_paths"])
    assert {str(tmp_path / "elsewhere" / n) for n in ("studio.db", "studio.db-wal", "studio.db-shm")} <= blocked


def test_origin_comparison():
    from studio.web_guard import OriginGuard
    from starlette.datastructures import Headers

    guard = OriginGuard(app=None, allowed=frozenset({("https", "studio.example.com")}))

    def refused(origin, host="127.0.0.1:7860"):
        return guard.refusal(Headers({"origin": origin, "host": host})) is not None

    assert not refused("http://127.0.0.1:7860") and not refused("http://LOCALHOST:7860", "localhost:7860")
    assert not refused("https://studio.example.com", "internal:7860")  # allowlisted behind a proxy
    assert not refused("https://team.example.org", "team.example.org")  # TLS proxy passing Host on
    assert not refused("http://[::1]:7860", "[::1]:7860")
    assert refused("http://127.0.0.1:7861") and refused("http://evil.example", "evil.example:7860")
    assert refused("null") and refused("http://studio.example.com")  # scheme is part of an allowlisted origin
    assert refused("http://127.0.0.1:7860/path") and refused("file://") and refused("http://a@127.0.0.1:7860")
    assert guard.refusal(Headers({"host": "127.0.0.1:7860"})) is None  # no Origin: gradio_client, curl


def test_watch_routes_serve_only_media_inline(tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from studio.watch.routes import _media_response

    page = tmp_path / "clip.mp4"
    page.write_bytes(b"<html><script>alert(1)</script></html>")
    api = FastAPI()
    api.get("/as/{mime:path}")(lambda mime: _media_response(page, mime))
    client = TestClient(api)
    for mime in ("text/html", "image/svg+xml", "application/xml", "text/javascript", ""):
        r = client.get(f"/as/{mime}")
        assert r.headers["content-type"] == "application/octet-stream", mime
        assert r.headers["content-disposition"].startswith("attachment")
        assert r.headers["x-content-type-options"] == "nosniff"
    r = client.get("/as/video/mp4")
    assert r.headers["content-type"] == "video/mp4" and "content-disposition" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"


def test_unknown_user_costs_an_argon2_verification(tmp_path, monkeypatch):
    from storage.config import Settings, sqlite_url
    from storage.db import open_store
    from storage.repo import users

    data = tmp_path / "data"
    store = open_store(Settings(data_dir=data, database_url=sqlite_url(data)))
    try:
        with store.session() as s:
            users.sync_users(session=s, pairs=[("ann", "harbour-42")])
            users.get_or_create_user(session=s, name="ben")  # a row without a password
        calls = []
        real = users.verify_password
        monkeypatch.setattr(users, "verify_password", lambda pw, stored: calls.append(stored) or real(pw, stored))

        def timed(name):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                with store.session() as s:
                    assert users.authenticate(session=s, name=name, password="wrong") is None
                best = min(best, time.perf_counter() - start)
            return best

        known, unknown, no_password = timed("ann"), timed("nobody"), timed("ben")
        assert all(c and c.startswith("$argon2id$") for c in calls) and len(calls) == 9
        assert unknown > 0.4 * known and no_password > 0.4 * known, (known, unknown, no_password)
        with store.session() as s:
            assert users.authenticate(session=s, name="ann", password="harbour-42") is not None
    finally:
        store.close()
