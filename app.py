"""Reelsmith studio: compose the tabs and launch. Importing this module loads no model and opens no connection."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import gradio as gr

from storage.config import Settings, load_settings
from studio import audience, create, edit, jobs_panel, projects, publish, responsibility, write
from studio import settings as settings_tab
from studio.common import UI
from studio.services.app_state import Studio, start_studio
from studio.services.viewing import Viewing
from studio.session import make_auth
from studio.watch import make_router
from studio.web_guard import guard_middleware, parse_origins

TABS = [
    ("Projects", projects.build),
    ("Write", write.build),
    ("Create", create.build),
    ("Edit", edit.build),
    ("Publish", publish.build),
    ("Audience", audience.build),
    ("Responsibility", responsibility.build),
    ("Settings", settings_tab.build),
]

CSS = Path(__file__).with_name("assets").joinpath("studio.css")


def build_app(studio: Studio) -> gr.Blocks:
    # delete_cache: Gradio's copies of uploads and outputs older than a day are removed every hour.
    with gr.Blocks(title="Reelsmith", analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        with gr.Row(elem_id="header"):
            gr.Markdown("## Reelsmith — open AI studio", elem_id="brand")
            project = gr.Dropdown(label="Project", choices=[], value=None, elem_id="project-picker",
                                  scale=0, min_width=280)
        ui = UI(studio=studio, app=app, project=project)
        with gr.Tabs():
            for title, build in TABS:
                with gr.Tab(title, id=title.lower(), elem_id=f"tab-{title.lower()}") as tab:
                    build(replace(ui, tab=tab))
        jobs_panel.build(ui)
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(prog="app.py", description="Run the Reelsmith studio (a Gradio web app).")
    p.add_argument("--host", default=env.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="interface to listen on (0.0.0.0 for a team or a container; default %(default)s)")
    p.add_argument("--port", type=int, default=int(env.get("GRADIO_SERVER_PORT", "7860")),
                   help="port (default %(default)s)")
    p.add_argument("--data-dir", default=None,
                   help="where the database, media and temp files live (env REELSMITH_DATA, default ./data)")
    p.add_argument("--share", action="store_true",
                   help="also open a public gradio.live link (contacts Gradio's share server)")
    p.add_argument("--users", default=None, metavar="USER:PASS[,USER:PASS]",
                   help="require login with these users (env REELSMITH_USERS); passwords are stored hashed")
    p.add_argument("--auth-message", default="Reelsmith team studio — sign in.",
                   help="text on the login page when --users is set")
    p.add_argument("--max-upload-mb", type=int, default=None,
                   help="hard cap on one upload in MB (env REELSMITH_MAX_UPLOAD_MB, default 2048)")
    p.add_argument("--queue-size", type=int, default=64, help="most requests waiting in the queue (1-10000)")
    p.add_argument("--allowed-origins", default=env.get("REELSMITH_ALLOWED_ORIGINS", ""), metavar="ORIGIN[,ORIGIN]",
                   help="other browser origins allowed to send requests, e.g. https://studio.example.com behind a "
                        "proxy that rewrites Host (env REELSMITH_ALLOWED_ORIGINS)")
    args = p.parse_args(argv)
    if not 1 <= args.queue_size <= 10_000:
        p.error("--queue-size must be from 1 to 10000 (the queue is always bounded)")
    try:
        parse_origins(args.allowed_origins)
    except ValueError as exc:
        p.error(str(exc))
    return args


def launch_options(settings: Settings, args: argparse.Namespace, *, auth=None, routes=()) -> dict:
    """The keyword arguments of ``Blocks.launch``: what is served, what is refused, the upload cap, the guards."""
    db_files = [settings.data_dir / n for n in ("reelsmith.db", "reelsmith.db-wal", "reelsmith.db-shm",
                                                "reelsmith.db-journal")]
    if settings.is_sqlite:  # DATABASE_URL may put the SQLite file elsewhere
        from sqlalchemy.engine import make_url

        name = make_url(settings.database_url).database
        if name and name != ":memory:":
            db_files += [Path(name + suffix).resolve() for suffix in ("", "-wal", "-shm", "-journal")]
    # the instance's signing keys and the backups (a copy of the database) are refused outright
    blocked = sorted({str(p) for p in db_files} | {str(settings.data_dir / "secrets"),
                                                   str(settings.data_dir / "backups"),
                                                   str(settings.media_dir / ".incoming")})  # uploads in flight
    return dict(
        server_name=args.host, server_port=args.port, share=args.share,
        auth=auth, auth_message=args.auth_message if auth else None,
        max_file_size=f"{settings.max_upload_mb}mb",
        # media files and download copies only (Gradio adds its own upload dir, GRADIO_TEMP_DIR, in the data dir)
        allowed_paths=[str(settings.media_dir), str(settings.tmp_dir)], blocked_paths=blocked,
        css_paths=[CSS] if CSS.exists() else None, theme=gr.themes.Soft(), footer_links=["api"],
        # the public watch pages and their event endpoint live beside the studio (no login); the guards sit in
        # front of both: foreign origins, the upload cap, aborted uploads, headers of served files
        app_kwargs={"routes": list(routes),
                    "middleware": guard_middleware(max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
                                                   allowed_origins=parse_origins(args.allowed_origins))},
    )


def queue_options(args: argparse.Namespace) -> dict:
    """``Blocks.queue`` keyword arguments: a bounded queue (requests beyond it are refused, not piled up)."""
    return {"max_size": args.queue_size, "default_concurrency_limit": 8}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings()
    if args.data_dir:
        settings = settings.with_data_dir(Path(args.data_dir))
    if args.max_upload_mb:
        settings = replace(settings, max_upload_mb=args.max_upload_mb)
    if args.users:
        settings = replace(settings, users=args.users)
    # Gradio's uploads and cache always live in the data dir, where the ingest task accepts files from
    os.environ["GRADIO_TEMP_DIR"] = str(settings.gradio_tmp_dir)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    # Gradio only stops cleanly on KeyboardInterrupt: make SIGTERM (docker stop, systemd) take the same way out,
    # so the buffered viewing events are written and the job workers stop.
    signal.signal(signal.SIGTERM, _interrupt)
    studio = start_studio(settings)
    viewing = Viewing(studio.store)
    app = build_app(studio)
    app.queue(**queue_options(args))
    try:
        app.launch(**launch_options(settings, args, auth=make_auth(studio) if settings.users else None,
                                    routes=make_router(viewing).routes))
    finally:
        viewing.close()  # writes every event still buffered
        studio.close()


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main(sys.argv[1:])
