"""Fetch a media file from a link without becoming a proxy into the server's own network (SSRF).

1. Only ``http``/``https``, no user:password in the link, ports 80/443/8000–65535 by default.
2. The host is resolved here and **every** address it resolves to is checked: loopback, private (RFC 1918, ULA),
   link-local, carrier-grade NAT, multicast, reserved, unspecified and the cloud metadata addresses are refused
   (IPv4-mapped IPv6 unwrapped first). The connection then goes to the checked address (pinned), so a second DNS
   answer cannot swap it for an internal one (rebinding).
3. Redirects are followed by hand, at most five, and each new location goes through 1–2 again.
4. The body streams to a temp file next to its destination with a byte cap (Content-Length checked first, then
   the bytes counted), hashed as it arrives, and is renamed into place only when complete.
5. HTML, scripts and other non-media answers are refused by Content-Type before the body is read.

``allow`` lists networks a team trusts on purpose (e.g. its own NAS); tests use it for their loopback server.
"""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import os
import re
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote, urljoin, urlsplit

from ..context import BaseContext, NullContext
from ..errors import InvalidInput, MediaTooLarge, ReelsmithError

SCHEMES = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
CHUNK = 1 << 16
METADATA = [ipaddress.ip_network(n) for n in ("169.254.169.254/32", "169.254.170.2/32", "100.100.100.200/32",
                                              "fd00:ec2::254/128")]
EXTRA_BLOCKED = [ipaddress.ip_network(n) for n in ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15",
                                                   "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16")]
MEDIA_TYPES = ("video/", "audio/", "image/")
NEUTRAL_TYPES = {"application/octet-stream", "binary/octet-stream", "application/mp4", "application/ogg",
                 "application/x-matroska", "application/mxf"}
_NAME_RE = re.compile(r"[^A-Za-z0-9._ -]+")

Resolver = Callable[[str, int], Iterable[str]]


class UrlRefused(ReelsmithError):
    """The link may not be fetched (scheme, address, redirect, type or size)."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    name: str
    size: int
    sha256: str
    content_type: str
    final_url: str
    redirects: int


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UrlRefused(f"The host '{host}' could not be found.") from None
    return [info[4][0] for info in infos]


def refusal(address: str, allow: Iterable[ipaddress._BaseNetwork] = ()) -> str | None:
    """Why ``address`` may not be contacted, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allow if net.version == ip.version):
        return None
    if any(ip in net for net in METADATA if net.version == ip.version):
        return "a cloud metadata address"
    for what, flag in (("a loopback address", ip.is_loopback), ("an unspecified address", ip.is_unspecified),
                       ("a link-local address", ip.is_link_local), ("a multicast address", ip.is_multicast),
                       ("a private network address", ip.is_private), ("a reserved address", ip.is_reserved)):
        if flag:
            return what
    if any(ip in net for net in EXTRA_BLOCKED if net.version == ip.version) or not ip.is_global:
        return "a non-public address"
    return None


def check_url(url: str, *, resolver: Resolver = system_resolver, allow=(), any_port: bool = False
              ) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, path+query, pinned address) for an allowed link; raises UrlRefused otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("Paste a link that starts with http:// or https://.")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UrlRefused(f"Only http and https links can be imported, not '{scheme or url[:20]}'.")
    if parts.username or parts.password:
        raise UrlRefused("Links with a user name or password in them are not imported.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("The link has no host.")
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise UrlRefused("The link's port is not a number.") from None
    if not any_port and port not in (80, 443) and port < 8000:
        raise UrlRefused(f"Port {port} is not allowed for imports (80, 443 or 8000 and above).")
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]  # a literal address needs no lookup
    except ValueError:
        addresses = list(resolver(host, port))  # names, and odd spellings such as 2130706433 or 0x7f.1
    if not addresses:
        raise UrlRefused(f"The host '{host}' has no address.")
    for address in addresses:
        why = refusal(address, allow)
        if why:
            raise UrlRefused(f"'{host}' points to {why} ({address}); imports only reach the public internet.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, path, addresses[0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def fetch(url: str, dest_dir: Path, *, max_bytes: int, resolver: Resolver = system_resolver, allow=(),
          any_port: bool = False, timeout_s: float = 30.0, ctx: BaseContext | None = None) -> Fetched:
    """Download ``url`` into ``dest_dir`` (see the module notes); the file is complete or absent."""
    ctx = ctx or NullContext()
    current = url
    for redirects in range(MAX_REDIRECTS + 1):
        scheme, host, port, path, address = check_url(current, resolver=resolver, allow=allow, any_port=any_port)
        conn_cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        conn = conn_cls(host, port, address, timeout_s)
        try:
            try:
                conn.request("GET", path, headers={"User-Agent": "Reelsmith-import/1", "Accept": "*/*",
                                                   "Accept-Encoding": "identity"})
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
                raise UrlRefused(f"Could not download from {host}: {exc}.") from None
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise UrlRefused(f"{host} answered a redirect without a location.")
                current = urljoin(current, location)
                continue
            if resp.status != 200:
                raise UrlRefused(f"{host} answered {resp.status} {resp.reason}.")
            ctype = (resp.getheader("Content-Type") or "application/octet-stream").split(";")[0].strip().lower()
            if not ctype.startswith(MEDIA_TYPES) or "svg" in ctype:
                if ctype not in NEUTRAL_TYPES:
                    raise UrlRefused(f"The link is not a media file (it is {ctype}).")
            length = resp.getheader("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise MediaTooLarge(f"The file is {int(length) / 1e6:.0f} MB; the import limit is "
                                    f"{max_bytes / 1e6:.0f} MB.")
            name = _file_name(resp.getheader("Content-Disposition"), current)
            return _save(resp, Path(dest_dir), name, max_bytes, int(length) if length and length.isdigit() else 0,
                         ctype, current, redirects, ctx)
        finally:
            conn.close()
    raise UrlRefused(f"More than {MAX_REDIRECTS} redirects; the link was not followed further.")


def _save(resp, dest_dir: Path, name: str, max_bytes: int, expected: int, ctype: str, final_url: str,
          redirects: int, ctx: BaseContext) -> Fetched:
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix="fetch-", suffix=".part")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = resp.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise UrlRefused(f"The download broke off after {size / 1e6:.1f} MB ({exc}).") from None
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(f"The file is larger than the {max_bytes / 1e6:.0f} MB import limit.")
                digest.update(chunk)
                out.write(chunk)
                if expected:
                    ctx.report(min(0.99, size / expected), f"Downloaded {size / 1e6:.1f} MB")
                ctx.check()
        if expected and size != expected:
            raise UrlRefused(f"The download broke off at {size} of {expected} bytes.")
        if size == 0:
            raise UrlRefused("The link returned an empty file.")
        final = dest_dir / name
        os.replace(tmp_name, final)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Fetched(final, name, size, digest.hexdigest(), ctype, final_url, redirects)


def _file_name(disposition: str | None, url: str) -> str:
    name = ""
    if disposition:
        m = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', disposition, re.I)
        if m:
            name = unquote(m.group(1))
    if not name:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = _NAME_RE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")[:120]
    return name or "download"
