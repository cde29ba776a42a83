"""Shared pieces of the engines' command lines (``python -m engines.<kind> ...``)."""
from __future__ import annotations

import sys
from typing import Any

from .base import EngineConfig
from .context import CallbackContext
from .registry import Registry


def progress_context(enabled: bool) -> CallbackContext:
    """A context printing ``  42.0% message`` lines to stderr when ``enabled`` (``--progress``)."""
    return CallbackContext((lambda f, msg: print(f"{f:6.1%} {msg}", file=sys.stderr)) if enabled else None)


def run_once(registry: Registry, config: EngineConfig, request: Any, ctx: CallbackContext) -> Any:
    """Create the backend, load it, run one request and unload it again."""
    engine = registry.create(config)
    engine.load()
    try:
        return engine.run(request, ctx)
    finally:
        engine.unload()


def fail(message: object) -> int:
    """Print ``error: message`` to stderr and return the CLI's error exit code (2)."""
    print(f"error: {message}", file=sys.stderr)
    return 2
