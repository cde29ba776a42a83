"""Poster and contact sheet for any stored media (uploads and generated audio/video alike), via the thumbs
engine chosen in Settings, stored as child assets with roles ``poster`` and ``contact_sheet``."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from engines.base import Engine
from engines.context import Context
from engines.thumbs import ThumbnailRequest, ThumbnailResult
from storage.media import StoredFile
from storage.models import AssetKind
from storage.repo import assets as assets_repo

from .outputs import create_engine


@dataclass
class Previews:
    engine: Engine
    result: ThumbnailResult
    poster: StoredFile | None = None
    sheet: StoredFile | None = None

    @property
    def provenance(self) -> dict:
        return {"source": "derived", "engine": "thumbs", "backend": self.result.backend,
                "model_id": self.engine.config.model_id,
                "parameters": {k: v for k, v in self.result.parameters.items() if k != "media"}}


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def render(store, media: Path, ctx: Context | None = None) -> Previews:
    engine = create_engine(store, "thumbs")
    return Previews(engine, engine.run(ThumbnailRequest(media=Path(media)), ctx))


def put(previews: Previews, put_bytes) -> Previews:
    """Write the two PNGs with ``put_bytes(data, ext) -> StoredFile`` (a media store or an output batch)."""
    previews.poster = put_bytes(png(previews.result.poster), ".png")
    previews.sheet = put_bytes(png(previews.result.sheet), ".png")
    return previews


def add_rows(*, session, project_id: int, parent_id: int, name: str, previews: Previews,
             created_by_id: int | None) -> list[int]:
    ids = []
    for role, stored, image, label in (("poster", previews.poster, previews.result.poster, "poster"),
                                       ("contact_sheet", previews.sheet, previews.result.sheet, "contact sheet")):
        ids.append(assets_repo.add_asset(
            session=session, project_id=project_id, stored=stored, kind=AssetKind.image, name=f"{name} — {label}",
            mime="image/png", width=image.width, height=image.height, parents=[(parent_id, role)],
            provenance=previews.provenance, created_by_id=created_by_id).id)
    return ids
