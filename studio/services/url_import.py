"""The ``url_import`` task: a media file fetched from a link (safely, see ``engines.media.urlfetch``), then taken
in exactly like an upload (type sniffed, probed, previewed, stored). The download lives in the studio's scratch
folder and is removed whatever happens.

``REELSMITH_IMPORT_ALLOW`` lists networks (CIDR, comma-separated) a team trusts on purpose, such as its own NAS;
nothing else outside the public internet is ever contacted.
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import uuid
from typing import Any

from engines.context import SubContext
from engines.errors import InvalidInput
from engines.media.urlfetch import fetch

from . import ingest
from .runner import JobContext, TaskOutcome, TaskSpec


def allowed_networks() -> list:
    raw = os.environ.get("REELSMITH_IMPORT_ALLOW", "")
    out = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise InvalidInput(f"REELSMITH_IMPORT_ALLOW: '{part}' is not a network such as 192.168.1.0/24.") \
                from None
    return out


class _Part(SubContext):
    """A slice of the job's progress that still carries the job's store and user (what ``ingest`` reads)."""

    def __init__(self, parent: JobContext, start: float, end: float) -> None:
        super().__init__(parent, start, end)
        self.store, self.created_by_id = parent.store, parent.created_by_id


def url_import(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    store = ctx.store
    url = str(params.get("url") or "").strip()
    project_id = int(params["project_id"])
    # 1. Limit = the upload limit chosen in Settings
    with store.session() as s:
        limit_mb = ingest.upload_limit_mb(session=s, hard_cap_mb=store.settings.max_upload_mb)
    folder = store.settings.tmp_dir / "imports" / uuid.uuid4().hex
    try:
        # 2. Fetch (scheme, address, redirects, type and size checked as it goes)
        ctx.report(0.01, "Connecting")
        got = fetch(url, folder, max_bytes=limit_mb * 1024 * 1024, allow=allowed_networks(), ctx=_Part(ctx, 0, 0.5))
        ctx.check()
        # 3. The same path as an upload
        outcome = ingest.ingest(_Part(ctx, 0.5, 1.0), {"path": str(got.path), "name": got.name,
                                                       "project_id": project_id})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    outcome.result.update({"url": url, "final_url": got.final_url, "sha256": got.sha256})
    return TaskOutcome(message=outcome.message.replace("Added ", "Imported ", 1), result=outcome.result,
                       output_asset_ids=outcome.output_asset_ids)


SPEC = TaskSpec(kind="url_import", fn=url_import, queue="cpu", title="Import from a link")
