"""Who is using the studio in a request (the logged-in user of a team instance, or nobody)."""
from __future__ import annotations

import gradio as gr

from storage.repo import users as users_repo

from .services.app_state import Studio


def user_id(studio: Studio, request: gr.Request | None) -> int | None:
    name = getattr(request, "username", None) if request is not None else None
    if not name:
        return None
    with studio.store.session() as s:
        return users_repo.get_or_create_user(session=s, name=name).id


def make_auth(studio: Studio):
    """A Gradio ``auth`` callable checking names and scrypt hashes in the store."""

    def check(username: str, password: str) -> bool:
        with studio.store.session() as s:
            return users_repo.authenticate(session=s, name=username, password=password) is not None

    return check
