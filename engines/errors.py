"""One exception hierarchy for every engine; messages are written to be shown to a user as they are.

The UI turns any ``ReelsmithError`` into a ``gr.Error`` in one place (``studio.common``); anything else is a bug
and is logged with its traceback while the user sees a short generic message.
"""
from __future__ import annotations


class ReelsmithError(Exception):
    """Base of every error whose message is fit for a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class InvalidInput(ReelsmithError):
    """A request is malformed: empty text, out-of-range parameter, unknown option."""


class InvalidMedia(ReelsmithError):
    """A media file cannot be used."""


class CorruptMedia(InvalidMedia):
    """The file is damaged or truncated."""


class UnsupportedMedia(InvalidMedia):
    """The file is readable but of a kind or codec we do not handle (or not media at all)."""


class MediaTooLarge(InvalidMedia):
    """The file or its resolution/duration is over a configured limit."""


class BackendUnavailable(ReelsmithError):
    """A backend was asked for that is not registered or whose optional dependency is missing."""


class ModelLoadError(ReelsmithError):
    """A model id or path could not be loaded."""


class Cancelled(ReelsmithError):
    """The work was cancelled by the user."""

    def __init__(self, message: str = "Cancelled by the user.") -> None:
        super().__init__(message)
