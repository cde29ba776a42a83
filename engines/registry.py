"""Backend registry: one per engine kind, ``lite`` always present, optional backends filled by guarded imports."""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable

from .base import Engine, EngineConfig
from .errors import BackendUnavailable


@dataclass(frozen=True)
class BackendInfo:
    name: str
    description: str
    requires: tuple[str, ...] = ()  # import names of optional packages (checked without importing them)

    def missing(self) -> list[str]:
        return [mod for mod in self.requires if importlib.util.find_spec(mod) is None]


class Registry:
    """Maps backend names of one kind to engine classes (or lazy ``"module:Class"`` references)."""

    def __init__(self, kind: str, default: str = "lite") -> None:
        self.kind = kind
        self.default = default
        self._entries: dict[str, tuple[BackendInfo, Callable[[], type[Engine]]]] = {}

    def register(self, name: str, target: type[Engine] | str, *, description: str = "",
                 requires: tuple[str, ...] = ()) -> None:
        """Register ``target``: a class, or ``"package.module:Class"`` imported only when first used."""
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")

            def resolve(module_name: str = module_name, attr: str = attr) -> type[Engine]:
                return getattr(importlib.import_module(module_name), attr)
        else:
            def resolve(cls: type[Engine] = target) -> type[Engine]:
                return cls
        self._entries[name] = (BackendInfo(name, description, requires), resolve)

    def names(self) -> list[str]:
        return list(self._entries)

    def info(self, name: str) -> BackendInfo:
        try:
            return self._entries[name][0]
        except KeyError:
            raise BackendUnavailable(
                f"No '{name}' backend for {self.kind}; choose one of: {', '.join(self._entries)}.") from None

    def available(self) -> list[str]:
        """Backends whose optional packages are installed."""
        return [name for name, (info, _) in self._entries.items() if not info.missing()]

    def create(self, config: EngineConfig | None = None) -> Engine:
        config = config or EngineConfig(backend=self.default)
        info = self.info(config.backend)
        missing = info.missing()
        if missing:
            raise BackendUnavailable(
                f"The '{info.name}' backend for {self.kind} needs {', '.join(missing)}; "
                f"install it (pip install {' '.join(missing)}) or choose the 'lite' backend in Settings.")
        cls = self._entries[config.backend][1]()
        return cls(config)


#: Every engine kind's registry, filled by ``engines/<kind>/__init__.py``; kinds are listed in ``engines.KINDS``.
REGISTRIES: dict[str, Registry] = {}


def registry_for(kind: str, default: str = "lite") -> Registry:
    if kind not in REGISTRIES:
        REGISTRIES[kind] = Registry(kind, default)
    return REGISTRIES[kind]
