"""ASGI guards in front of Gradio's routes and ours, installed by app.py through ``launch(app_kwargs=...)``.

* ``OriginGuard`` — a state-changing request (POST, PUT, PATCH, DELETE; and WebSocket handshakes) whose ``Origin``
  header is present but is neither this server (compared with ``Host``) nor in ``REELSMITH_ALLOWED_ORIGINS`` gets a
  403; ``Origin: null`` always does. Requests without an ``Origin`` (gradio_client, curl) pass: they still need the
  login cookie, which a browser only sends cross-site along with an ``Origin``.
* ``BodyGuard`` — a body declared (``Content-Length``) over the upload cap gets a 413 before a byte is read;
  otherwise the bytes are counted as they stream. In a multipart body, going over the cap or the client hanging up
  is raised *inside* Gradio's multipart parser as its own ``MultiPartException``: that is the one exception on which
  the parser closes and unlinks its ``NamedTemporaryFile(delete=False)`` files (a plain ``ClientDisconnect`` would
  leave them behind in the upload dir).
* ``FileHeaders`` — answers of ``/gradio_api/file=`` get ``X-Content-Type-Options: nosniff``; anything but media,
  plain text and JSON (HTML, SVG, XML, scripts, ...) goes out as an ``application/octet-stream`` attachment, even
  from ``allowed_paths``, which Gradio itself serves inline whatever their type.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from gradio.route_utils import MultiPartException
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Room for the multipart boundaries and part headers around the files themselves.
MULTIPART_SLACK = 1 << 20
FILE_ROUTE = "/gradio_api/file="
#: Types a browser may show inline from ``/file=``: pictures, sound, video, and text it will not run.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
                          "text/plain", "text/csv", "text/vtt", "application/json"})
INLINE_PREFIXES = ("audio/", "video/")


# --------------------------------------------------------------------------------------------------------------
# Origins
# --------------------------------------------------------------------------------------------------------------
def _netloc(host: str | None, port: int | None, scheme: str | None) -> str | None:
    if not host:
        return None
    host = host.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme or "", None)
    return host if port is None or port == default or (scheme is None and port in (80, 443)) else f"{host}:{port}"


def origin_key(origin: str) -> tuple[str, str] | None:
    """``("https", "studio.example")`` for ``https://Studio.Example:443``; ``None`` if it is no http(s) origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.username or parts.path not in ("", "/") or parts.query:
        return None
    netloc = _netloc(parts.hostname, port, parts.scheme)
    return (parts.scheme, netloc) if netloc else None


def host_key(host: str | None) -> str | None:
    """The ``Host`` header as ``origin_key`` spells the host (default ports dropped)."""
    if not host:
        return None
    try:
        parts = urlsplit("//" + host.strip())
        return _netloc(parts.hostname, parts.port, None)
    except ValueError:
        return None


def parse_origins(text: str | None) -> frozenset[tuple[str, str]]:
    """``"https://a.example, http://b.example:8080"`` → their keys; ``ValueError`` naming a bad entry."""
    keys = set()
    for item in (text or "").split(","):
        if item.strip():
            key = origin_key(item)
            if key is None:
                raise ValueError(f"REELSMITH_ALLOWED_ORIGINS: {item.strip()!r} is not an origin like "
                                 "https://studio.example.com")
            keys.add(key)
    return frozenset(keys)


@dataclass
class OriginGuard:
    app: ASGIApp
    allowed: frozenset[tuple[str, str]] = frozenset()

    def refusal(self, headers: Headers) -> str | None:
        """Why a request with these headers is refused, or ``None`` when its origin is fine (or absent)."""
        origin = headers.get("origin")
        if origin is None:
            return None
        if origin.strip().lower() == "null":
            return "Requests with 'Origin: null' (sandboxed frames, local files) are refused."
        key = origin_key(origin)
        if key is None:
            return f"The Origin header {origin[:100]!r} is malformed."
        if key in self.allowed or key[1] == host_key(headers.get("host")):
            return None
        return (f"Cross-site request refused: {origin[:100]} is not this studio's address. An operator can allow it "
                "with REELSMITH_ALLOWED_ORIGINS.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket" or (kind == "http" and scope["method"] in STATE_CHANGING):
            why = self.refusal(Headers(scope=scope))
            if why:
                if kind == "websocket":
                    await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})
                else:
                    await _plain(send, 403, why)
                return
        await self.app(scope, receive, send)


# --------------------------------------------------------------------------------------------------------------
# Bodies: the upload cap and aborted uploads
# --------------------------------------------------------------------------------------------------------------
class UploadTooLarge(MultiPartException):
    """Raised inside the request body stream; Gradio's parser unlinks its temp files and answers 413."""


class UploadAborted(MultiPartException):
    """The client hung up mid-body; raised in the stream so Gradio's parser unlinks its temp files."""


@dataclass
class BodyGuard:
    app: ASGIApp
    max_bytes: int
    slack: int = MULTIPART_SLACK

    def too_large(self) -> str:
        # "maximum allowed size" is what Gradio's upload route maps to 413.
        return (f"The upload is over the maximum allowed size of {self.max_bytes / 1048576:.0f} MB per request; "
                "send large files one at a time, or ask the operator to raise --max-upload-mb.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in STATE_CHANGING:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes + self.slack
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _plain(send, 400, "The Content-Length header is not a number.")
                return
            if int(declared) > limit:
                await _plain(send, 413, self.too_large())  # refused before a byte of the body is read
                return
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        seen, complete, started = 0, False, False

        async def counted_receive() -> Message:
            nonlocal seen, complete
            message = await receive()
            if complete:
                return message
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if seen > limit:
                    complete = True
                    raise UploadTooLarge(self.too_large())
            elif message["type"] == "http.disconnect" and multipart:
                complete = True
                raise UploadAborted("The upload was aborted: the client disconnected before sending all of it.")
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except UploadTooLarge:
            if started:
                raise
            await _plain(send, 413, self.too_large())
        except UploadAborted:
            return  # nobody is listening any more; Gradio's parser has already removed its temp files


# --------------------------------------------------------------------------------------------------------------
# Served files
# --------------------------------------------------------------------------------------------------------------
def inline_ok(content_type: str | None) -> bool:
    base = (content_type or "").split(";")[0].strip().lower()
    return base in INLINE_TYPES or base.startswith(INLINE_PREFIXES)


@dataclass
class FileHeaders:
    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or FILE_ROUTE not in scope.get("path", ""):
            await self.app(scope, receive, send)
            return

        async def safe_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if message.get("status", 200) < 300 and not inline_ok(headers.get("content-type")):
                    headers["Content-Type"] = "application/octet-stream"
                    disposition = headers.get("content-disposition", "")
                    name = disposition.partition(";")[2].strip()
                    headers["Content-Disposition"] = "attachment" + (f"; {name}" if name else "")
            await send(message)

        await self.app(scope, receive, safe_send)


# --------------------------------------------------------------------------------------------------------------
def guard_middleware(*, max_upload_bytes: int, allowed_origins: frozenset[tuple[str, str]] = frozenset()
                     ) -> list[Middleware]:
    """The guards, outermost first, for ``FastAPI(middleware=...)`` (Gradio passes ``app_kwargs`` on to it)."""
    return [Middleware(OriginGuard, allowed=allowed_origins), Middleware(BodyGuard, max_bytes=max_upload_bytes),
            Middleware(FileHeaders)]


async def _plain(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": message, "error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
