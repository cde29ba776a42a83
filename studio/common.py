"""Pieces every tab shares: the UI context handed to ``build``, and the one place errors become ``gr.Error``."""
from __future__ import annotations

import functools
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from engines.errors import ReelsmithError
from storage.errors import StoreError
from storage.media import MediaStoreError

from .services.app_state import Studio

log = logging.getLogger("reelsmith.ui")


@dataclass
class UI:
    """Handed to every tab's ``build``: the running studio and the project picker shown above the tabs."""

    studio: Studio
    app: gr.Blocks
    project: gr.Dropdown  # value: project id (int) or None
    tab: gr.Tab | None = None  # the tab being built (to refresh views when it is selected)


def user_message(exc: BaseException) -> str:
    if isinstance(exc, (ReelsmithError, StoreError)):
        return exc.message
    if isinstance(exc, MediaStoreError):
        return str(exc)
    return f"Something went wrong ({type(exc).__name__}). The details are in the studio's log."


def handler(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Gradio handler: known errors show their message, anything else is logged and shown briefly."""

    def convert(exc: BaseException) -> gr.Error:
        if not isinstance(exc, (ReelsmithError, StoreError, MediaStoreError)):
            log.exception("handler %s failed", fn.__name__)
        return gr.Error(user_message(exc))

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - this is the one place errors are turned into messages
                raise convert(exc) from exc
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001
            raise convert(exc) from exc
    return wrapper


def run_and_wait(studio: Studio, kind: str, *, project_id: int | None, params: dict, request, progress,
                 queue: str | None = None):
    """Submit a job, feed its progress to ``gr.Progress`` until it ends; return the final snapshot or raise a
    ``gr.Error`` with the job's own message when it failed or was cancelled."""
    from .session import user_id

    job_id = studio.runner.submit(kind, project_id=project_id, params=params, queue=queue,
                                  created_by_id=user_id(studio, request))
    snap = None
    for snap in studio.runner.wait(job_id):
        progress(snap.progress, desc=snap.message)
    if snap.status.value != "done":
        raise gr.Error(snap.message or f"The {kind} job {snap.status.value}.")
    return snap


def cancel_jobs(studio: Studio, project_id: int | None, kinds: tuple[str, ...]) -> int:
    """Ask the project's queued or running jobs of these kinds to stop; returns how many were asked."""
    from storage.models import JobStatus
    from storage.repo import jobs as jobs_repo

    with studio.store.session() as s:
        ids = [j.id for j in jobs_repo.list_jobs(session=s, project_id=project_id,
                                                  statuses=[JobStatus.queued, JobStatus.running])
               if j.kind in kinds]
    for job_id in ids:
        studio.runner.cancel(job_id)
    return len(ids)


def download_copy(studio: Studio, asset) -> str:
    """The stored file under its asset's name (a hard link where possible, else a copy) in the data dir's tmp, for
    a download list: the store names files by hash. Old copies are swept at start-up."""
    import os
    import re
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(dir=studio.settings.tmp_dir))
    name = re.sub(r"[^\w .()-]+", "_", asset.name.replace(":", " -")).strip() or f"asset-{asset.id}{asset.ext}"
    if not name.lower().endswith(asset.ext):
        name += asset.ext
    dest = folder / name
    src = studio.store.media.path_for(asset.content_hash, asset.ext)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return str(dest)


def download_files(studio: Studio, asset) -> list[str]:
    """``download_copy`` plus, for pictures, sound and video, its signed content-credentials sidecar
    (``<file>.c2pa.json``: models, prompts, seeds, human edits, ingredient hashes; see Responsibility)."""
    from storage.models import AssetKind

    from .services import credentials

    path = download_copy(studio, asset)
    if asset.kind not in (AssetKind.video, AssetKind.audio, AssetKind.image):
        return [path]
    try:
        return [path, str(credentials.sidecar_for_copy(studio.store, studio.settings, asset.id, path))]
    except Exception:  # noqa: BLE001 - the download must not fail because the manifest could not be made
        log.exception("content credentials for asset %s failed", asset.id)
        return [path]


def export_downloads(studio: Studio, asset_ids: list[int]) -> tuple[list[str], str | None]:
    """Download copies of an ``export_timeline`` job's files (the MP4 with its credentials sidecar) and the stored
    MP4's path for the player."""
    from storage.repo import assets as assets_repo

    with studio.store.session() as s:
        made = [assets_repo.get_asset(session=s, asset_id=i) for i in asset_ids]
        files = [f for a in made if (a.meta or {}).get("purpose", "").startswith("export_")
                 for f in (download_files(studio, a) if a.kind.value == "video" else [download_copy(studio, a)])]
        mp4 = next((str(studio.store.media.path_for(a.content_hash, a.ext)) for a in made
                    if (a.meta or {}).get("purpose") == "export_mp4"), None)
    return files, mp4


def asset_picker(studio: Studio, project_id: int | None, kinds: list, current=None, *, with_kind: bool = False,
                 top_level_only: bool = False):
    """A dropdown update listing the project's assets of ``kinds``, keeping ``current`` when it is still there."""
    from storage.repo import assets as assets_repo

    if project_id is None:
        return gr.update(choices=[], value=None)
    with studio.store.session() as s:
        rows = assets_repo.list_assets(session=s, project_id=project_id, kinds=kinds, top_level_only=top_level_only)
        choices = [(f"{a.name} ({a.kind.value})" if with_kind else a.name, a.id) for a in rows]
    ids = [c[1] for c in choices]
    return gr.update(choices=choices, value=current if current in ids else (ids[0] if ids else None))
