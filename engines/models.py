"""Lazy model loading with a small cache: load once per process, unload on demand, never at import.

Keyed by (kind, backend, model id, device). The least recently used entry is unloaded when the cache is full so a
GPU holds only a couple of big models at a time. Loading happens under a per-key lock, so two jobs asking for the
same model at once load it once.
"""
from __future__ import annotations

import gc
import sys
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from .errors import ModelLoadError, ReelsmithError


class ModelCache:
    def __init__(self, max_items: int = 2) -> None:
        self.max_items = max_items
        self._items: "OrderedDict[Hashable, Any]" = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.loads = 0  # how many times a loader actually ran (for tests and the Settings tab)

    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:  # loaded by another thread while we waited
                    self._items.move_to_end(key)
                    return self._items[key]
            try:
                value = loader()
            except ReelsmithError:
                raise
            except (OSError, ValueError, RuntimeError, ImportError) as exc:
                raise ModelLoadError(f"Could not load model {key!r}: {exc}") from exc
            with self._lock:
                self.loads += 1
                self._items[key] = value
                evicted = []
                while len(self._items) > self.max_items:
                    evicted.append(self._items.popitem(last=False))
            for _, old in evicted:
                _release(old)
            return value

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._items)

    def unload(self, key: Hashable) -> bool:
        with self._lock:
            value = self._items.pop(key, None)
        if value is None:
            return False
        _release(value)
        return True

    def clear(self) -> None:
        with self._lock:
            values = list(self._items.values())
            self._items.clear()
        for value in values:
            _release(value)


def _release(value: Any) -> None:
    close = getattr(value, "unload", None) or getattr(value, "close", None)
    if callable(close):
        close()
    del value
    gc.collect()
    torch = sys.modules.get("torch")  # only if a backend already imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


_CACHE: ModelCache | None = None
_CACHE_LOCK = threading.Lock()


def model_cache() -> ModelCache:
    """The process-wide cache, created on first use (not at import)."""
    global _CACHE
    with _CACHE_LOCK:
        if _CACHE is None:
            _CACHE = ModelCache()
        return _CACHE
