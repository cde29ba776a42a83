"""The small contract every engine follows (see shared CONVENTIONS: one ``run(request, ctx)`` per backend).

A backend is a class with a ``name``, an optional ``load()``/``unload()`` pair and ``run(request, ctx)``.
Heavy libraries are imported inside ``load()`` (never at module top), so registering a backend costs nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from .context import Context, NullContext

Req = TypeVar("Req")
Res = TypeVar("Res")


@dataclass(frozen=True)
class EngineConfig:
    """What settings say about one engine kind: the backend to use and, for neural ones, the model."""

    backend: str = "lite"
    model_id: str | None = None
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    options: dict[str, Any] = field(default_factory=dict)


class Engine(Generic[Req, Res]):
    """Base class of a backend. Subclasses set ``kind`` and ``name`` and implement ``run``."""

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    #: True when the backend wants the GPU queue (one heavy job at a time).
    heavy: ClassVar[bool] = False

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig(backend=self.name)

    def load(self) -> None:
        """Load weights or other expensive state. Default: nothing to load."""

    def unload(self) -> None:
        """Release what ``load`` took. Default: nothing."""

    def run(self, request: Req, ctx: Context | None = None) -> Res:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _ctx(ctx: Context | None) -> Context:
        return ctx if ctx is not None else NullContext()
