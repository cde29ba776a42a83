"""Read-side helpers for the Projects tab: what to show of a project's assets (plain data, no Gradio)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.db import Store
from storage.models import Asset, AssetKind
from storage.repo import assets as assets_repo
from storage.repo import projects as projects_repo


@dataclass(frozen=True)
class AssetCard:
    id: int
    name: str
    kind: str
    path: Path
    preview: Path | None  # poster (video/audio) or the image itself
    sheet: Path | None
    caption: str
    row: list


def project_choices(store: Store) -> list[tuple[str, int]]:
    with store.session() as s:
        return [(p.name, p.id) for p in projects_repo.list_projects(session=s)]


def _duration(seconds: float | None) -> str:
    if not seconds:
        return ""
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def asset_cards(store: Store, project_id: int | None) -> list[AssetCard]:
    """Top-level assets of a project (previews hidden), newest first, with their poster and contact sheet."""
    if project_id is None:
        return []
    cards = []
    with store.session() as s:
        for a in assets_repo.list_assets(session=s, project_id=project_id, top_level_only=True):
            poster = assets_repo.child_with_role(session=s, asset_id=a.id, role="poster")
            sheet = assets_repo.child_with_role(session=s, asset_id=a.id, role="contact_sheet")
            path = store.media.path_for(a.content_hash, a.ext)
            preview = store.media.path_for(poster.content_hash, poster.ext) if poster else (
                path if a.kind == AssetKind.image else None)
            res = f"{a.width}×{a.height}" if a.width and a.height else ""
            caption = " · ".join(x for x in (a.name, _duration(a.duration_s), res) if x)
            cards.append(AssetCard(
                id=a.id, name=a.name, kind=a.kind.value, path=path, preview=preview,
                sheet=store.media.path_for(sheet.content_hash, sheet.ext) if sheet else None, caption=caption,
                row=[a.id, a.name, a.kind.value, _duration(a.duration_s), res,
                     f"{a.fps:.3g}" if a.fps else "", _size(a.size_bytes), a.created_at.strftime("%Y-%m-%d %H:%M")]))
    return cards


ASSET_COLUMNS = ["id", "name", "kind", "duration", "resolution", "fps", "size", "added"]


def asset_details(store: Store, asset_id: int) -> dict:
    with store.session() as s:
        a: Asset = assets_repo.get_asset(session=s, asset_id=asset_id)
        prov = a.provenance
        return {
            "id": a.id, "name": a.name, "kind": a.kind.value, "sha256": a.content_hash, "size_bytes": a.size_bytes,
            "duration_s": a.duration_s, "width": a.width, "height": a.height, "fps": a.fps,
            "probe": (a.meta or {}).get("probe"), "thumb_times": (a.meta or {}).get("thumb_times"),
            "provenance": None if prov is None else {
                "source": prov.source, "engine": prov.engine, "backend": prov.backend, "model_id": prov.model_id,
                "prompt": prov.prompt, "seed": prov.seed, "parameters": prov.parameters,
                "human_edits": prov.human_edits},
        }
