"""What both script backends share: one ``run`` that dispatches on the request type."""
from __future__ import annotations

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput
from .types import DialogueRequest, DraftRequest, RewriteRequest


class ScriptEngine(Engine):
    """A script backend implements ``draft``, ``stream_draft``, ``rewrite`` and ``dialogue``."""

    kind = "script"

    def run(self, request, ctx: Context | None = None):
        if isinstance(request, DraftRequest):
            return self.draft(request, ctx)
        if isinstance(request, RewriteRequest):
            return self.rewrite(request, ctx)
        if isinstance(request, DialogueRequest):
            return self.dialogue(request, ctx)
        raise InvalidInput(f"The script engine takes a DraftRequest, RewriteRequest or DialogueRequest, not "
                           f"{type(request).__name__}.")
