"""Importing media from a link: only http(s), never an internal address — checked after DNS and on every redirect —
a byte cap while streaming, no HTML, and nothing left behind when a download is refused."""
from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engines.errors import InvalidInput, MediaTooLarge
from engines.media.urlfetch import UrlRefused, check_url, fetch, refusal

LOOP = [ipaddress.ip_network("127.0.0.1/32")]  # the test server's address, allowed the way a team allows its NAS
PUBLIC = "93.184.216.34"
CLIP = bytes(range(256)) * 64  # 16 KB


def _resolver(table):
    return lambda host, port: table[host]


@pytest.mark.parametrize("address, why", [
    ("127.0.0.1", "loopback"), ("127.8.9.1", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.5.4", "private"), ("192.168.1.20", "private"), ("fd12::1", "private"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"), ("169.254.10.10", "link-local"),
    ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"), ("100.64.1.1", "non-public"), ("224.0.0.1", "multicast"),
])
def test_internal_addresses_are_refused(address, why):
    assert why in refusal(address)


def test_public_addresses_pass():
    assert refusal(PUBLIC) is None and refusal("2606:4700::6810:85e5") is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.mp4", "gopher://x/", "javascript:alert(1)",
                                 "data:video/mp4;base64,AAAA", "//example.com/a.mp4"])
def test_only_http_and_https(url):
    with pytest.raises(UrlRefused, match="Only http and https"):
        check_url(url, resolver=_resolver({"example.com": [PUBLIC]}))


def test_empty_link_and_credentials_and_ports():
    with pytest.raises(InvalidInput):
        check_url("   ")
    with pytest.raises(UrlRefused, match="user name or password"):
        check_url("http://admin:pw@example.com/a.mp4", resolver=_resolver({"example.com": [PUBLIC]}))
    with pytest.raises(UrlRefused, match="Port 22"):
        check_url("http://example.com:22/a.mp4", resolver=_resolver({"example.com": [PUBLIC]}))


def test_any_internal_answer_among_several_is_refused():
    """DNS answering a public and an internal address (rebinding set-ups) is refused as a whole."""
    with pytest.raises(UrlRefused, match="loopback"):
        check_url("http://media.example/a.mp4", resolver=_resolver({"media.example": [PUBLIC, "127.0.0.1"]}))
    scheme, host, port, path, pinned = check_url("https://media.example/v/a.mp4?x=1",
                                                 resolver=_resolver({"media.example": [PUBLIC]}))
    assert (scheme, host, port, path, pinned) == ("https", "media.example", 443, "/v/a.mp4?x=1", PUBLIC)


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        status, headers, body = self.routes.get(self.path, (404, {}, b"no"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers and body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            try:
                self.wfile.write(body)
            except OSError:
                pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = srv.server_address[1]
    base = f"http://127.0.0.1:{port}"
    _Handler.routes = {
        "/clip.mp4": (200, {"Content-Type": "video/mp4"}, CLIP),
        "/named": (200, {"Content-Type": "application/octet-stream",
                         "Content-Disposition": 'attachment; filename="../../etc/Take 1.mp4"'}, CLIP),
        "/page": (200, {"Content-Type": "text/html"}, b"<html><script>alert(1)</script></html>"),
        "/svg": (200, {"Content-Type": "image/svg+xml"}, b"<svg onload='alert(1)'/>"),
        "/big": (200, {"Content-Type": "video/mp4"}, CLIP * 10),
        "/liar": (200, {"Content-Type": "video/mp4", "Content-Length": "100"}, CLIP * 10),
        "/to-clip": (302, {"Location": "/clip.mp4"}, b""),
        "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/to-private": (301, {"Location": "http://10.0.0.5:8080/admin"}, b""),
        "/to-internal-name": (307, {"Location": f"http://intranet.example:{port}/clip.mp4"}, b""),
        "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
    }
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield base
    srv.shutdown()


def _fetch(url, tmp_path, **kw):
    names = {"127.0.0.1": ["127.0.0.1"], "intranet.example": ["10.9.8.7"]}
    return fetch(url, tmp_path / "dl", max_bytes=kw.pop("max_bytes", 64 * 1024), allow=LOOP, any_port=True,
                 resolver=_resolver(names), **kw)


def _leftovers(tmp_path: Path) -> list[str]:
    folder = tmp_path / "dl"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_real_download_is_whole_and_hashed(server, tmp_path):
    import hashlib

    got = _fetch(f"{server}/clip.mp4", tmp_path)
    assert got.path.read_bytes() == CLIP and got.sha256 == hashlib.sha256(CLIP).hexdigest()
    assert got.name == "clip.mp4" and got.redirects == 0 and got.content_type == "video/mp4"
    named = _fetch(f"{server}/named", tmp_path)
    assert named.name == "Take 1.mp4" and named.path.parent == tmp_path / "dl"  # no way out of the folder


def test_redirects_are_followed_and_checked_every_time(server, tmp_path):
    assert _fetch(f"{server}/to-clip", tmp_path).redirects == 1
    with pytest.raises(UrlRefused, match="metadata"):
        _fetch(f"{server}/to-metadata", tmp_path)
    with pytest.raises(UrlRefused, match="private"):
        _fetch(f"{server}/to-private", tmp_path)
    with pytest.raises(UrlRefused, match="intranet.example' points to a private"):
        _fetch(f"{server}/to-internal-name", tmp_path)  # DNS resolved again for the redirect's host
    with pytest.raises(UrlRefused, match="Only http"):
        _fetch(f"{server}/to-file", tmp_path)
    with pytest.raises(UrlRefused, match="redirects"):
        _fetch(f"{server}/loop", tmp_path)


def test_loopback_is_refused_without_an_explicit_allowance(server, tmp_path):
    with pytest.raises(UrlRefused, match="loopback"):
        fetch(f"{server}/clip.mp4", tmp_path / "dl", max_bytes=1 << 20, any_port=True)
    assert _leftovers(tmp_path) == []


def test_html_svg_and_oversized_answers_leave_nothing(server, tmp_path):
    for path, exc, match in [("/page", UrlRefused, "not a media file"), ("/svg", UrlRefused, "not a media file"),
                             ("/big", MediaTooLarge, "limit")]:
        with pytest.raises(exc, match=match):
            _fetch(f"{server}{path}", tmp_path)
    with pytest.raises(MediaTooLarge):  # no trustworthy length: the streamed bytes are counted
        _fetch(f"{server}/clip.mp4", tmp_path, max_bytes=1000)
    assert _leftovers(tmp_path) == []


def test_odd_spellings_of_loopback_are_resolved_then_refused():
    from engines.media.urlfetch import system_resolver

    for host in ("2130706433", "0x7f.0.0.1", "127.1", "[::1]", "localhost"):
        with pytest.raises(UrlRefused, match="loopback"):
            check_url(f"http://{host}/a.mp4", resolver=system_resolver)
