"""Pieces every tab shares: the UI context handed to ``build``, and the one place errors become ``gr.Error``."""
from __future__ import annotations

import functools
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from engines.errors import ReelsmithError
from storage.errors import StoreError
from storage.media import MediaStoreError

from .services.app_state import Studio

log = logging.getLogger("reelsmith.ui")


@dataclass
class UI:
    """Handed to every tab's ``build``: the running studio and the project picker shown above the tabs."""

    studio: Studio
    app: gr.Blocks
    project: gr.Dropdown  # value: project id (int) or None


def user_message(exc: BaseException) -> str:
    if isinstance(exc, (ReelsmithError, StoreError)):
        return exc.message
    if isinstance(exc, MediaStoreError):
        return str(exc)
    return f"Something went wrong ({type(exc).__name__}). The details are in the studio's log."


def handler(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Gradio handler: known errors show their message, anything else is logged and shown briefly."""

    def convert(exc: BaseException) -> gr.Error:
        if not isinstance(exc, (ReelsmithError, StoreError, MediaStoreError)):
            log.exception("handler %s failed", fn.__name__)
        return gr.Error(user_message(exc))

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - this is the one place errors are turned into messages
                raise convert(exc) from exc
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001
            raise convert(exc) from exc
    return wrapper


def coming_soon(title: str, what: list[str], issue: str) -> None:
    """Say plainly what a tab will hold, with no fake controls."""
    items = "\n".join(f"- {line}" for line in what)
    gr.Markdown(f"### {title}\n\nNot built yet — it arrives with {issue}. It will hold:\n\n{items}")
