"""Projects tab: create, rename and delete projects; upload media; browse assets with their previews."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from engines.media import EXTENSIONS
from storage.paths import uploaded_file
from storage.repo import assets as assets_repo
from storage.repo import audit
from storage.repo import projects as projects_repo

from .common import UI, cancel_jobs, handler
from .services import access
from .services.library import ASSET_COLUMNS, asset_cards, asset_details, project_choices
from .session import user_id

VIDEO_PLAYABLE = {".mp4", ".webm", ".ogg", ".m4v", ".mov"}


def build(ui: UI) -> None:
    studio = ui.studio
    cards_state = gr.State([])  # asset ids in gallery order (per user)
    selected = gr.State(None)   # selected asset id

    with gr.Row():
        new_name = gr.Textbox(label="New project", placeholder="Name, e.g. 'Harbour documentary'", scale=3)
        create_btn = gr.Button("Create project", variant="primary", scale=1)
    with gr.Accordion("Rename or delete the current project", open=False):
        with gr.Row():
            rename_box = gr.Textbox(label="New name", scale=3)
            rename_btn = gr.Button("Rename", scale=1)
        delete_btn = gr.Button("Delete project…", variant="stop")
        with gr.Row(visible=False) as confirm_row:
            confirm_md = gr.Markdown()
            confirm_btn = gr.Button("Yes, delete it and all its media", variant="stop")
            keep_btn = gr.Button("Keep it")

    gr.Markdown("### Media")
    upload = gr.File(label=f"Upload video, audio or images (up to {studio.settings.max_upload_mb} MB each)",
                     file_count="multiple", file_types=sorted(EXTENSIONS), elem_id="upload")
    with gr.Row():
        link_box = gr.Textbox(label="…or import from a link", placeholder="https://…/clip.mp4 (public http/https "
                              "only; internal addresses are refused)", scale=4, elem_id="import-url")
        link_btn = gr.Button("Import", scale=0, min_width=90, elem_id="import-url-btn")
    with gr.Row():
        refresh_btn = gr.Button("Refresh", size="sm")
        cancel_btn = gr.Button("Cancel running uploads", size="sm")
    status = gr.Markdown(elem_id="upload-status")
    gallery = gr.Gallery(label="Assets", columns=5, height=320, allow_preview=False, object_fit="cover",
                         fit_columns=False, elem_id="assets-gallery")
    with gr.Accordion("Selected asset", open=True, visible=False) as detail_box:
        with gr.Row():
            video = gr.Video(label="Preview", visible=False, format=None, interactive=False)
            audio = gr.Audio(label="Preview", visible=False, type="filepath", interactive=False)
            sheet = gr.Image(label="Contact sheet", type="filepath", interactive=False)
        info = gr.JSON(label="Media info and provenance")
        with gr.Row():
            download = gr.DownloadButton("Download original")
            del_asset_btn = gr.Button("Delete asset…", variant="stop")
            del_asset_confirm = gr.Button("Yes, delete this asset", variant="stop", visible=False)
    table = gr.Dataframe(headers=ASSET_COLUMNS, label="All assets", interactive=False, wrap=True)

    # --- handlers ----------------------------------------------------------------------------------------------
    def refresh(project_id):
        cards = asset_cards(studio.store, project_id)
        items = [(str(c.preview), c.caption) for c in cards if c.preview is not None]
        ids = [c.id for c in cards if c.preview is not None]
        return items, ids, [c.row for c in cards]

    def picker(value=None):
        choices = project_choices(studio.store)
        if value is None and choices:
            value = choices[0][1]
        return gr.update(choices=choices, value=value)

    @handler
    def create(name, request: gr.Request):
        with studio.store.session() as s:
            project = projects_repo.create_project(session=s, name=name, owner_id=user_id(studio, request))
            pid = project.id
        gr.Info(f"Project '{project.name}' created.")
        return picker(pid), ""

    @handler
    def rename(project_id, name, request: gr.Request):
        if project_id is None:
            raise gr.Error("Pick a project first.")
        uid = user_id(studio, request)
        with studio.store.session() as s:
            access.require(studio.store, uid, project_id, "manage", session=s)
            projects_repo.rename_project(session=s, project_id=project_id, name=name)
            audit.record(session=s, action="renamed", user_id=uid, project_id=project_id,
                         target=f"project:{project_id}", detail={"name": name})
        return picker(project_id), ""

    @handler
    def ask_delete(project_id):
        if project_id is None:
            raise gr.Error("Pick a project first.")
        with studio.store.session() as s:
            p = projects_repo.get_project(session=s, project_id=project_id)
            n = len(p.assets)
            text = f"Delete **{p.name}** with its {n} asset(s), scripts and jobs? This cannot be undone."
        return gr.update(visible=True), text

    @handler
    def do_delete(project_id, request: gr.Request):
        uid = user_id(studio, request)
        with studio.store.session() as s:
            access.require(studio.store, uid, project_id, "manage", session=s)
            name = projects_repo.get_project(session=s, project_id=project_id).name
            files = projects_repo.delete_project(session=s, project_id=project_id)
            audit.record(session=s, action="deleted", user_id=uid, project_id=project_id,
                         target=f"project:{project_id}", detail={"name": name})
        with studio.store.session() as s:
            assets_repo.remove_unused_files(session=s, media=studio.store.media, files=files)
        gr.Info("Project deleted.")
        return picker(), gr.update(visible=False)

    @handler
    def add_media(project_id, files, request: gr.Request, progress=gr.Progress()):
        if not files:
            return gr.update(), None
        if project_id is None:
            raise gr.Error("Create or pick a project before uploading.")
        paths = [Path(f if isinstance(f, str) else f.name) for f in files]
        lines = []
        for i, path in enumerate(paths):
            # handed to the job through the media volume, which worker processes on other hosts share
            staged = studio.store.media.stage(uploaded_file(studio.settings, path), path.name)
            job_id = studio.runner.submit("ingest", project_id=project_id, created_by_id=user_id(studio, request),
                                          params={"path": str(staged), "name": path.name, "project_id": project_id})
            for snap in studio.runner.wait(job_id):
                progress((i + snap.progress) / len(paths), desc=f"{path.name}: {snap.message}")
            label = {"done": "Added", "cancelled": "Cancelled"}.get(snap.status.value, "Failed")
            lines.append(f"**{label}** — {snap.message}")
        return "\n\n".join(lines), None

    @handler
    def import_link(project_id, url, request: gr.Request, progress=gr.Progress()):
        if project_id is None:
            raise gr.Error("Create or pick a project before importing.")
        if not (url or "").strip():
            raise gr.Error("Paste a link that starts with http:// or https://.")
        job_id = studio.runner.submit("url_import", project_id=project_id, created_by_id=user_id(studio, request),
                                      params={"url": url.strip(), "project_id": project_id})
        for snap in studio.runner.wait(job_id):
            progress(snap.progress, desc=snap.message)
        if snap.status.value != "done":
            raise gr.Error(snap.message)
        return f"**Imported** — {snap.message}", ""

    @handler
    def cancel_uploads(project_id):
        n = cancel_jobs(studio, project_id, ("ingest", "url_import"))
        gr.Info(f"Asked {n} upload job(s) to stop." if n else "No upload is running.")

    def show(ids, evt: gr.SelectData):
        asset_id = ids[evt.index] if evt.index is not None and evt.index < len(ids) else None
        return (asset_id,) + details(asset_id)

    def details(asset_id):
        hidden = (gr.update(visible=False),) * 3 + (None, None, None, gr.update(visible=False))
        if asset_id is None:
            return hidden
        card = next((c for c in asset_cards(studio.store, _project_of(asset_id)) if c.id == asset_id), None)
        if card is None:
            return hidden
        is_video = card.kind == "video" and card.path.suffix in VIDEO_PLAYABLE
        return (gr.update(visible=True),
                gr.update(value=str(card.path) if is_video else None, visible=is_video),
                gr.update(value=str(card.path) if card.kind == "audio" else None, visible=card.kind == "audio"),
                str(card.sheet) if card.sheet else (str(card.preview) if card.preview else None),
                asset_details(studio.store, asset_id), str(card.path), gr.update(visible=False))

    def _project_of(asset_id):
        with studio.store.session() as s:
            return assets_repo.get_asset(session=s, asset_id=asset_id).project_id

    @handler
    def delete_asset(asset_id, request: gr.Request):
        if asset_id is None:
            raise gr.Error("Select an asset first.")
        uid = user_id(studio, request)
        with studio.store.session() as s:
            asset = assets_repo.get_asset(session=s, asset_id=asset_id)
            access.require(studio.store, uid, asset.project_id, "edit", session=s)
            audit.record(session=s, action="deleted", user_id=uid, project_id=asset.project_id,
                         target=f"asset:{asset_id}", detail={"name": asset.name})
            files = assets_repo.delete_asset(session=s, asset_id=asset_id)
        with studio.store.session() as s:
            assets_repo.remove_unused_files(session=s, media=studio.store.media, files=files)
        gr.Info("Asset deleted.")
        return None, gr.update(visible=False)

    # --- wiring ------------------------------------------------------------------------------------------------
    listing = [gallery, cards_state, table]
    private = {"api_visibility": "private"}
    create_btn.click(create, [new_name], [ui.project, new_name], api_name="create_project")
    new_name.submit(create, [new_name], [ui.project, new_name], **private)
    rename_btn.click(rename, [ui.project, rename_box], [ui.project, rename_box], api_name="rename_project")
    delete_btn.click(ask_delete, [ui.project], [confirm_row, confirm_md], **private)
    keep_btn.click(lambda: gr.update(visible=False), None, [confirm_row], **private)
    confirm_btn.click(do_delete, [ui.project], [ui.project, confirm_row], api_name="delete_project")
    ui.project.change(refresh, [ui.project], listing, **private).then(
        lambda: (None, gr.update(visible=False)), None, [selected, detail_box], **private)
    upload.upload(add_media, [ui.project, upload], [status, upload], api_name="upload_media").then(
        refresh, [ui.project], listing, **private)
    link_btn.click(import_link, [ui.project, link_box], [status, link_box], api_name="import_url").then(
        refresh, [ui.project], listing, **private)
    refresh_btn.click(refresh, [ui.project], listing, api_name="list_assets")
    cancel_btn.click(cancel_uploads, [ui.project], None, api_name="cancel_uploads")
    gallery.select(show, [cards_state], [selected, detail_box, video, audio, sheet, info, download,
                                         del_asset_confirm], **private)
    del_asset_btn.click(lambda: gr.update(visible=True), None, [del_asset_confirm], **private)
    del_asset_confirm.click(delete_asset, [selected], [selected, detail_box], api_name="delete_asset").then(
        refresh, [ui.project], listing, **private)
    ui.app.load(picker, None, [ui.project], api_name="list_projects").then(refresh, [ui.project], listing,
                                                                           **private)
