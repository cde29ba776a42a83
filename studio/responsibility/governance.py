"""Responsibility → Governance: the project's review gate and members, publish reviews, the audit log and
viewers' data (retention, export, delete). Every button goes through ``services.governance``, which checks
the signed-in user's role before it changes anything."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr

from storage.models import User
from storage.repo import assets as assets_repo
from storage.repo import projects as projects_repo
from storage.repo import reviews as reviews_repo
from storage.repo import viewer_data

from ..common import UI, handler
from ..services import access, governance
from ..session import user_id

REVIEW_COLUMNS = ["request", "title", "status", "requested by", "reviewer", "requested at", "note"]
AUDIT_COLUMNS = ["when (UTC)", "who", "action", "target", "detail"]


def build(ui: UI, tabs: list) -> None:
    studio = ui.studio
    store = studio.store
    whoami = gr.Markdown(elem_id="gov-whoami")
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Review gate")
            review_box = gr.Checkbox(label="Require a second team member's approval before anything in this "
                                           "project is published", elem_id="gov-review-required")
            review_save = gr.Button("Save review setting", size="sm", elem_id="gov-review-save")
            gr.Markdown("#### Members of this project")
            members = gr.Dataframe(headers=["user", "role"], interactive=False, elem_id="gov-members")
            with gr.Row():
                member_name = gr.Textbox(label="User name", scale=2, elem_id="gov-member-name")
                member_role = gr.Dropdown(["viewer", "editor", "owner", "none"], value="editor", label="Role",
                                          scale=1, elem_id="gov-member-role")
                member_save = gr.Button("Set role", scale=0, min_width=90, elem_id="gov-member-save")
            default_role = gr.Dropdown(["viewer", "editor"], label="Role of users who are not members "
                                       "(instance-wide, admins only)", elem_id="gov-default-role")
        with gr.Column():
            gr.Markdown("#### Publish reviews")
            reviews = gr.Dataframe(headers=REVIEW_COLUMNS, interactive=False, wrap=True, elem_id="gov-reviews")
            pending = gr.Dropdown(label="Pending request", choices=[], elem_id="gov-pending")
            preview = gr.Video(label="What would be published", interactive=False, height=220,
                               elem_id="gov-preview")
            note = gr.Textbox(label="Note to the requester", elem_id="gov-note")
            with gr.Row():
                approve = gr.Button("Approve and publish", variant="primary", elem_id="gov-approve")
                reject = gr.Button("Reject", variant="stop", elem_id="gov-reject")
    status = gr.Markdown(elem_id="gov-status")
    with gr.Accordion("Audit log: who generated, edited, approved and published what", open=True):
        audit_table = gr.Dataframe(headers=AUDIT_COLUMNS, interactive=False, wrap=True, elem_id="gov-audit")
    with gr.Accordion("Viewers' data (admins only on a team instance)", open=False):
        gr.Markdown("Viewers are known only by a pseudonymous id: a keyed hash of the day's secret salt, the "
                    "browser's user agent, its address and the video, so it changes daily and differs per video; "
                    "the address and user agent are never stored. Raw viewing data older than the "
                    "retention period is deleted automatically (checked at start-up and every 6 hours); "
                    "dashboards for other roles show aggregates only.")
        with gr.Row():
            keep_days = gr.Number(label="Keep raw viewing data for (days)", precision=0, minimum=1,
                                  maximum=viewer_data.MAX_DAYS, elem_id="gov-retention-days")
            keep_forever = gr.Checkbox(label="Keep without limit", elem_id="gov-retention-off")
            retention_save = gr.Button("Save and apply", scale=0, min_width=120, elem_id="gov-retention-save")
        with gr.Row():
            viewer_id = gr.Textbox(label="Viewer id", scale=2, elem_id="gov-viewer-id")
            export_btn = gr.Button("Export their data", scale=0, min_width=140, elem_id="gov-viewer-export")
            delete_btn = gr.Button("Delete their data", variant="stop", scale=0, min_width=140,
                                   elem_id="gov-viewer-delete")
        viewer_file = gr.File(label="Viewer data (JSON)", visible=False, interactive=False,
                              elem_id="gov-viewer-file")
        viewer_status = gr.Markdown(elem_id="gov-viewer-status")

    # --- views ---------------------------------------------------------------------------------------------------
    def who(uid, project_id) -> str:
        if uid is None:
            return ("Single-user studio: nobody is signed in, so every action is allowed and reviews cannot be "
                    "approved (start the studio with `--users` for a team).")
        with store.session() as s:
            name = s.get(User, uid).name
        role = access.role(store, uid, project_id).value
        return f"Signed in as **{name}** — **{role}** in this project."

    @handler
    def refresh(project_id, current, request: gr.Request):
        uid = user_id(studio, request)
        with store.session() as s:
            required = bool(project_id) and projects_repo.get_project(session=s, project_id=project_id).review_required
            days = viewer_data.retention_days(session=s)
            default = access.default_role(s).value
        rows = governance.pending_reviews(store, project_id, uid) if project_id else []
        ids = governance.pending_ids(store, project_id) if project_id else []
        keep = [i for _, i in ids]
        return (who(uid, project_id), required,
                governance.member_rows(store, project_id, uid) if project_id else [], default, rows,
                gr.update(choices=ids, value=current if current in keep else (keep[0] if keep else None)),
                governance.audit_rows(store, project_id, uid) if project_id else [],
                days if days is not None else viewer_data.DEFAULT_RETENTION_DAYS, days is None)

    def show_request(request_id):
        if request_id is None:
            return None
        with store.session() as s:
            req = reviews_repo.get_request(session=s, request_id=request_id)
            asset = assets_repo.get_asset(session=s, asset_id=req.asset_id)
            return str(store.media.path_for(asset.content_hash, asset.ext))

    # --- actions -------------------------------------------------------------------------------------------------
    def need(project_id):
        if project_id is None:
            raise gr.Error("Pick a project first.")

    @handler
    def save_review(project_id, required, request: gr.Request):
        need(project_id)
        governance.set_review_required(store, project_id=project_id, required=required,
                                       user_id=user_id(studio, request))
        return ("Publishing in this project now needs a second person's approval." if required else
                "Editors can publish this project directly again.")

    @handler
    def save_member(project_id, name, role, request: gr.Request):
        need(project_id)
        if not (name or "").strip():
            raise gr.Error("Type the user's name.")
        governance.set_role(store, project_id=project_id, user_name=name.strip(), role=role,
                            user_id=user_id(studio, request))
        return f"{name.strip()} is now {'not a member' if role == 'none' else 'a' + ('n ' if role[0] in 'aeiou' else ' ') + role}."

    @handler
    def save_default(role, request: gr.Request):
        access.set_default_role(store, role, user_id=user_id(studio, request))
        return f"Users who are not members of a project are now {role}s there."

    @handler
    def decide(request_id, note_text, approve_it, request: gr.Request):
        if request_id is None:
            raise gr.Error("Pick a pending request.")
        out = governance.decide(store, request_id=request_id, approve=approve_it, note=note_text or "",
                                user_id=user_id(studio, request))
        if out.publication is not None:
            return f"Approved: **{out.publication.title}** is published at /watch/{out.publication.slug}."
        return f"Request #{out.request.id} rejected."

    @handler
    def save_retention(days, forever, request: gr.Request):
        counts = governance.set_retention(store, None if forever else int(days or 0), user_id(studio, request))
        if counts is None:
            return "Raw viewing data is now kept until deleted by hand."
        return (f"Raw viewing data is kept for {int(days)} days. Purged now: {counts['views']} page views, "
                f"{counts['events']} events; {counts['comments_unlinked']} old comments unlinked from viewers.")

    @handler
    def export_viewer(viewer, request: gr.Request):
        data = governance.export_viewer(store, viewer or "", user_id(studio, request))
        out = Path(tempfile.mkdtemp(dir=studio.settings.tmp_dir)) / f"viewer-{data['viewer']}.json"
        out.write_text(json.dumps(data, indent=2), encoding="utf-8")
        return (gr.update(value=str(out), visible=True),
                f"{len(data['views'])} page views and {len(data['comments'])} comments exported.")

    @handler
    def delete_viewer(viewer, request: gr.Request):
        counts = governance.delete_viewer(store, viewer or "", user_id(studio, request))
        return (gr.update(value=None, visible=False),
                f"Deleted {counts['views']} page views, {counts['events']} events and {counts['comments']} "
                f"comments of viewer {viewer.strip()}.")

    # --- wiring --------------------------------------------------------------------------------------------------
    private = {"api_visibility": "private", "show_progress": "hidden"}  # quiet refreshes: no overlay on the form
    views = [whoami, review_box, members, default_role, reviews, pending, audit_table, keep_days, keep_forever]
    load = (refresh, [ui.project, pending], views)
    ui.project.change(*load, **private)
    for tab in tabs:
        tab.select(*load, **private)
    pending.change(show_request, [pending], [preview], **private)
    review_save.click(save_review, [ui.project, review_box], [status], api_name="set_review_required").then(
        *load, **private)
    member_save.click(save_member, [ui.project, member_name, member_role], [status], api_name="set_role").then(
        *load, **private)
    default_role.input(save_default, [default_role], [status], api_name="set_default_role")
    def do_approve(request_id, note_text, request: gr.Request):
        return decide(request_id, note_text, True, request)

    def do_reject(request_id, note_text, request: gr.Request):
        return decide(request_id, note_text, False, request)

    approve.click(do_approve, [pending, note], [status], api_name="approve_publish").then(*load, **private)
    reject.click(do_reject, [pending, note], [status], api_name="reject_publish").then(*load, **private)
    retention_save.click(save_retention, [keep_days, keep_forever], [viewer_status],
                         api_name="set_retention").then(*load, **private)
    export_btn.click(export_viewer, [viewer_id], [viewer_file, viewer_status], api_name="export_viewer")
    delete_btn.click(delete_viewer, [viewer_id], [viewer_file, viewer_status], api_name="delete_viewer")
