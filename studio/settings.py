"""Settings tab: backend and model id per engine kind (stored in the DB), upload limit, device and paths."""
from __future__ import annotations

import gradio as gr

import engines
from engines.device import detect_cuda
from engines.models import model_cache
from storage.repo import preferences

from .common import UI, handler
from .services import access
from .session import user_id
from .services.ingest import UPLOAD_LIMIT_KEY, upload_limit_mb


def build(ui: UI) -> None:
    studio = ui.studio
    regs = engines.registries()
    gr.Markdown("### Engines\nWhich backend each engine kind uses. `lite` runs offline on the CPU with no "
                "downloads; `neural` loads the model id or local path you give, on first use.")
    with studio.store.session() as s:
        current = {kind: preferences.engine_choice(session=s, kind=kind) for kind in regs}
        limit = upload_limit_mb(session=s, hard_cap_mb=studio.settings.max_upload_mb)

    for kind, reg in regs.items():
        gr.Markdown("\n".join(f"- `{kind}` · **{name}** — {reg.info(name).description}" for name in reg.names()))
        with gr.Row():
            names = reg.names()
            choice = current[kind].get("backend") if current[kind].get("backend") in names else reg.default
            backend = gr.Dropdown(names, value=choice, label=f"{kind}: backend", scale=1)
            model = gr.Textbox(value=current[kind].get("model_id") or "", label=f"{kind}: model id or local path",
                               placeholder="empty: the backend's default (not used by lite)", scale=2)
            save = gr.Button("Save", scale=0, min_width=80)
        save.click(_saver(studio, kind, reg), [backend, model], None, api_name=f"set_engine_{kind}")

    gr.Markdown("### Uploads")
    with gr.Row():
        limit_box = gr.Number(value=limit, precision=0, minimum=1, maximum=studio.settings.max_upload_mb,
                              label=f"Largest upload in MB (server cap {studio.settings.max_upload_mb})")
        save_limit = gr.Button("Save", scale=0, min_width=80)

    gr.Markdown("### Backups\nAn online copy of the database, the signing keys and every media file, made on "
                "schedule (`REELSMITH_BACKUP_HOURS`, default daily; the newest `REELSMITH_BACKUP_KEEP` = 14 kept). "
                "Restore into a fresh data dir with `python -m storage.backup restore BACKUP --into NEW_DIR`.")
    backups_md = gr.Markdown(elem_id="backups-list")
    backup_now = gr.Button("Back up now", size="sm", elem_id="backup-now")

    gr.Markdown("### This machine")
    gr.Markdown(f"- **Device:** {detect_cuda().describe()}\n"
                f"- **Data dir:** `{studio.settings.data_dir}`\n"
                f"- **Database:** `{studio.settings.safe_database_url()}`")
    loaded = gr.Markdown()
    unload = gr.Button("Unload models", size="sm")

    @handler
    def set_limit(mb, request: gr.Request):
        access.require(studio.store, user_id(studio, request), None, "manage")
        if not mb or mb < 1:
            raise gr.Error("The limit must be at least 1 MB.")
        mb = min(int(mb), studio.settings.max_upload_mb)
        with studio.store.session() as s:
            preferences.set_preference(session=s, key=UPLOAD_LIMIT_KEY, value={"max_mb": mb})
        gr.Info(f"Uploads are now limited to {mb} MB.")

    def describe_models():
        keys = model_cache().keys()
        return "**Models in memory:** " + (", ".join(map(str, keys)) if keys else "none")

    def do_unload():
        model_cache().clear()
        return describe_models()

    def list_backups_md() -> str:
        return describe_backups(studio)

    @handler
    def do_backup(request: gr.Request, progress=gr.Progress()):
        access.require(studio.store, user_id(studio, request), None, "manage")
        progress(0.1, desc="Backing up the database and media")
        info = studio.maintenance.backup_now()
        gr.Info(f"Backed up to {info.name}: {info.counts.get('projects', 0)} projects, {len(info.media)} files.")
        return describe_backups(studio)

    backup_now.click(do_backup, None, backups_md, api_name="backup_now")
    ui.app.load(list_backups_md, None, backups_md, api_visibility="private")
    save_limit.click(set_limit, [limit_box], None, api_name="set_upload_limit")
    unload.click(do_unload, None, loaded, api_name="unload_models")
    ui.app.load(describe_models, None, loaded, api_visibility="private")


def describe_backups(studio) -> str:
    from storage import backup

    root = backup.backup_root(studio.settings)
    items = backup.list_backups(root)
    if not items:
        return f"No backup yet in `{root}`."
    lines = [f"- `{b.name}` · {b.counts.get('projects', 0)} projects, {b.counts.get('assets', 0)} assets, "
             f"{len(b.media)} files ({b.media_bytes / 1e6:.1f} MB)" for b in items[:5]]
    more = f"\n\n…and {len(items) - 5} older." if len(items) > 5 else ""
    return f"**{len(items)} backup(s) in `{root}`**\n" + "\n".join(lines) + more


def _saver(studio, kind, reg):
    @handler
    def save(backend, model_id, request: gr.Request):
        access.require(studio.store, user_id(studio, request), None, "manage")
        info = reg.info(backend)
        missing = info.missing()
        if missing:
            raise gr.Error(f"The '{backend}' backend needs {', '.join(missing)}, which is not installed.")
        with studio.store.session() as s:
            preferences.set_engine_choice(session=s, kind=kind, backend=backend, model_id=model_id)
        gr.Info(f"{kind} now uses '{backend}'" + (f" with {model_id}" if model_id else "") + ".")
    return save
