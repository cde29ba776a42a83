"""What every generation task needs: the engine chosen in Settings, and storing what it made as an asset
(file first, then the row with its provenance; a failure removes the files it had newly written)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import engines
from engines.base import Engine, EngineConfig
from storage.db import Store
from storage.media import StoredFile
from storage.repo import assets as assets_repo
from storage.repo import preferences


def create_engine(store: Store, kind: str) -> Engine:
    """The backend and model chosen for ``kind`` in Settings (``lite`` unless changed)."""
    with store.session() as s:
        choice = preferences.engine_choice(session=s, kind=kind)
    registry = engines.registries()[kind]
    backend = choice.get("backend") or registry.default
    return registry.create(EngineConfig(backend=backend, model_id=choice.get("model_id")))


def lane(engine: Engine) -> str:
    return "gpu" if getattr(engine, "heavy", False) else "cpu"


@dataclass
class OutputBatch:
    """Files written for one task; rows are added in one transaction by ``commit``."""

    store: Store
    written: list[StoredFile] = field(default_factory=list)

    def put(self, data: bytes, ext: str) -> StoredFile:
        stored = self.store.media.put_bytes(data, ext=ext)
        self.written.append(stored)
        return stored

    def put_file(self, path, ext: str | None = None) -> StoredFile:
        stored = self.store.media.put_file(path, ext=ext)
        self.written.append(stored)
        return stored

    def discard(self) -> None:
        with self.store.session() as s:
            assets_repo.remove_unused_files(session=s, media=self.store.media,
                                            files=[(f.sha256, f.ext) for f in self.written if f.created])


@contextmanager
def output_batch(store: Store) -> Iterator[OutputBatch]:
    """Write files inside the block; if the block fails (or is cancelled) the new files are removed again.

    Files land whole or not at all (the media store writes a temp file and renames it). Inside a job the rows'
    transaction is fenced on the job's attempt (see ``runner``): when the attempt has lost its lease the commit
    raises ``LeaseLost`` and the files go again, so a stalled worker leaves nothing behind; the assets it commits
    are linked to the job, so a retry can remove them before it starts again."""
    batch = OutputBatch(store)
    try:
        yield batch
    except BaseException:
        batch.discard()
        raise


def provenance(engine: Engine, *, source: str = "generated", prompt: str | None = None,
               negative_prompt: str | None = None, seed: int | None = None,
               parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"source": source, "engine": engine.kind, "backend": engine.name, "model_id": engine.config.model_id,
            "prompt": prompt, "negative_prompt": negative_prompt, "seed": seed, "parameters": parameters or {}}
