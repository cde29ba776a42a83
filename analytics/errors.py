"""Errors the analytics raise for bad input; the UI turns them into a readable message."""
from __future__ import annotations

from engines.errors import ReelsmithError


class AnalyticsError(ReelsmithError):
    """Base of the analytics errors."""


class InvalidData(AnalyticsError):
    """Input data is malformed or too small for the requested analysis (the message says what and where)."""
