"""Progress and cancellation for long work, independent of any UI.

Engines call ``ctx.report(fraction, message)`` at real steps and ``ctx.check()`` (or ``ctx.cancelled()``) inside
their long loops. The job runner supplies a context bound to the job's row; tests and CLIs use ``NullContext``
or ``CallbackContext``.
"""
from __future__ import annotations

import threading
from typing import Callable, Protocol

from .errors import Cancelled


class Context(Protocol):
    def report(self, fraction: float, message: str = "") -> None: ...

    def cancelled(self) -> bool: ...

    def check(self) -> None: ...


class BaseContext:
    """Default behaviour shared by the concrete contexts: ``check`` raises ``Cancelled`` when asked to stop."""

    def report(self, fraction: float, message: str = "") -> None:  # noqa: D401 - protocol method
        return None

    def cancelled(self) -> bool:
        return False

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled()

    def sub(self, start: float, end: float) -> "SubContext":
        """A context whose 0..1 maps onto ``start..end`` of this one (for steps of a larger job)."""
        return SubContext(self, start, end)


class NullContext(BaseContext):
    """Reports nowhere and is never cancelled."""


class CallbackContext(BaseContext):
    """Calls ``on_report(fraction, message)``; cancelled once ``cancel()`` is called (thread-safe)."""

    def __init__(self, on_report: Callable[[float, str], None] | None = None) -> None:
        self._on_report = on_report
        self._event = threading.Event()

    def report(self, fraction: float, message: str = "") -> None:
        if self._on_report is not None:
            self._on_report(min(1.0, max(0.0, float(fraction))), message)

    def cancel(self) -> None:
        self._event.set()

    def cancelled(self) -> bool:
        return self._event.is_set()


class SubContext(BaseContext):
    def __init__(self, parent: BaseContext, start: float, end: float) -> None:
        self._parent, self._start, self._end = parent, start, end

    def report(self, fraction: float, message: str = "") -> None:
        f = min(1.0, max(0.0, float(fraction)))
        self._parent.report(self._start + (self._end - self._start) * f, message)

    def cancelled(self) -> bool:
        return self._parent.cancelled()
