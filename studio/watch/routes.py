"""FastAPI routes mounted beside Gradio's: the watch page, its media, and the event and comment endpoints.

Nothing here needs a login: published pages are public (private ones are never served). The endpoints validate
every field, cap the body size, and rate-limit per browser token, per address and per video (429); events are
buffered and written in batches, and a full buffer is answered 503 with Retry-After.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from storage.errors import InvalidValue, NotFound
from storage.repo import publications

from ..services.viewing import Busy, RateLimited, Viewing
from .page import render_index, render_page

log = logging.getLogger("reelsmith.watch")
STATIC = Path(__file__).resolve().parents[2] / "assets" / "watch"
MAX_BODY = 16 * 1024
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                                               "style-src 'self'; script-src 'self'; frame-ancestors 'self'"}


#: The only types served inline from the watch routes; anything else goes out as a download, never as a page.
MEDIA_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime", "video/x-matroska", "video/ogg",
                         "audio/mpeg", "audio/mp4", "audio/wav", "audio/x-wav", "audio/ogg", "audio/flac",
                         "audio/webm", "image/png", "image/jpeg", "image/webp", "image/gif"})


def _media_response(path: Path, mime: str | None) -> FileResponse:
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    base = (mime or "").split(";")[0].strip().lower()
    if base in MEDIA_TYPES:
        return FileResponse(path, media_type=base, headers=headers)
    return FileResponse(path, media_type="application/octet-stream", headers=headers,
                        filename=path.name, content_disposition_type="attachment")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class BodyTooLarge(Exception):
    pass


async def _json_body(request: Request) -> object:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise BodyTooLarge()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BodyTooLarge()
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidValue("body is not valid JSON") from None


def make_router(viewing: Viewing) -> APIRouter:
    router = APIRouter()
    store = viewing.store

    @router.get("/watch", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        with store.session() as s:
            items = [(p.slug, p.title, p.is_sample) for p in publications.list_publications(session=s,
                                                                                          listed_only=True)]
        return HTMLResponse(render_index(items), headers=SECURITY_HEADERS)

    @router.get("/watch/static/{name}")
    def static(name: str) -> Response:
        path = STATIC / name
        if name not in {"player.js", "watch.css"} or not path.is_file():
            return _error(404, "not found")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=300"})

    @router.get("/watch/{slug}", response_class=HTMLResponse)
    def page(slug: str) -> Response:
        try:
            pub, view = viewing.page(slug)
            comments = viewing.comments(slug)
        except NotFound:
            return HTMLResponse("<h1>Not found</h1>", status_code=404)
        return HTMLResponse(render_page(pub, view, comments), headers=SECURITY_HEADERS)

    def _asset_file(slug: str, which: str, asset_id: int | None = None) -> Response:
        with store.session() as s:
            try:
                pub = publications.by_slug(session=s, slug=slug)
            except NotFound:
                return _error(404, "no such video")
            if which == "video":
                asset = pub.asset
            else:
                allowed = {pub.thumbnail_asset_id} | {a.thumbnail_asset_id for e in pub.experiments for a in e.arms}
                if asset_id is None:
                    asset_id = pub.thumbnail_asset_id
                if asset_id is None or asset_id not in allowed:
                    return _error(404, "no thumbnail")
                from storage.models import Asset
                asset = s.get(Asset, asset_id)
            path = store.media.path_for(asset.content_hash, asset.ext)
            mime = asset.mime or ("video/mp4" if which == "video" else "image/png")
        if not path.is_file():
            return _error(404, "file missing")
        return _media_response(path, mime)

    @router.get("/watch/{slug}/video")
    def video(slug: str) -> Response:
        return _asset_file(slug, "video")

    @router.get("/watch/{slug}/poster")
    def poster(slug: str, arm_asset: int | None = None) -> Response:
        return _asset_file(slug, "poster", arm_asset)

    async def _post(request: Request, call, status: int, **kwargs) -> Response:
        """Run ``call(payload, client_ip=..., **kwargs)`` off the event loop; map refusals to 4xx answers."""
        try:
            payload = await _json_body(request)
            out = await run_in_threadpool(call, payload, client_ip=_client(request), **kwargs)
        except BodyTooLarge:
            return _error(413, f"request body over {MAX_BODY // 1024} KB")
        except RateLimited:
            return _error(429, "too many requests; slow down")
        except Busy as exc:  # the event buffer is full: the player keeps its events and sends them again later
            return JSONResponse({"error": "busy; try again shortly"}, status_code=503,
                                headers={"Retry-After": str(exc.retry_after_s)})
        except NotFound:
            return _error(404, "no such video")
        except InvalidValue as exc:
            return _error(400, exc.message)
        return JSONResponse(out, status_code=status)

    @router.post("/api/watch/events")
    async def events(request: Request) -> Response:
        return await _post(request, lambda *a, **k: {"accepted": viewing.ingest(*a, **k)}, 202,
                           user_agent=request.headers.get("user-agent", ""))

    @router.post("/api/watch/comments")
    async def comments(request: Request) -> Response:
        return await _post(request, viewing.comment, 201, user_agent=request.headers.get("user-agent", ""))

    return router


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
