"""Publish tab: put a video on its own watch page, run title/thumbnail tests, bring in audience data."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from storage.paths import uploaded_file

from storage.models import AssetKind
from storage.repo import assets as assets_repo
from storage.repo import publications

from .common import UI, handler, run_and_wait
from .services import access, governance, publishing, sample_audience
from .session import user_id


def _watch_url(request: gr.Request | None, slug: str) -> str:
    base = ""
    if request is not None:
        host = request.headers.get("x-forwarded-host") or request.headers.get("host") or ""
        proto = request.headers.get("x-forwarded-proto") or "http"
        base = f"{proto}://{host}" if host else ""
    return f"{base}/watch/{slug}"


def _sample_project_choice(store):
    from storage.repo import projects as projects_repo

    from .services.library import project_choices
    with store.session() as s:
        p = projects_repo.find_project(session=s, name=sample_audience.PROJECT)
        pid = p.id if p is not None else None
    return gr.update(choices=project_choices(store), value=pid)


def build(ui: UI) -> None:
    studio = ui.studio
    store = studio.store
    gr.Markdown("Publish a video of this project on a watch page served by this studio. Its player reports "
                "views, watch time and drop-off to the **Audience** tab; viewers see a notice and can opt out.")
    with gr.Row():
        video = gr.Dropdown(label="Video", choices=[], scale=3, elem_id="publish-video")
        thumb = gr.Dropdown(label="Thumbnail (empty: the video's poster)", choices=[], scale=2,
                            elem_id="publish-thumb")
        visibility = gr.Radio(["public", "unlisted", "private"], value="public", label="Visibility", scale=2)
    title = gr.Textbox(label="Title", max_length=200, elem_id="publish-title")
    description = gr.Textbox(label="Description", lines=3, max_length=5000)
    publish_btn = gr.Button("Publish", variant="primary", elem_id="publish-btn")
    status = gr.Markdown(elem_id="publish-status")
    listing = gr.Dataframe(headers=["id", "title", "visibility", "address", "sample"], interactive=False,
                           label="Published videos", elem_id="publish-list")
    with gr.Row():
        pub_pick = gr.Dropdown(label="Published video", choices=[], scale=3, elem_id="publish-pick")
        new_vis = gr.Radio(["public", "unlisted", "private"], label="Change visibility", scale=2)
        apply_vis = gr.Button("Apply", scale=0, min_width=90)

    with gr.Accordion("Title / thumbnail test (A/B/n, Thompson sampling)", open=False):
        gr.Markdown("Each page view is shown one variant; variants that get more plays are shown more often. "
                    "The Audience tab shows each variant's chance of being best and says when to stop.")
        variants = gr.Textbox(label="Titles to test, one per line", lines=3, elem_id="ab-titles")
        variant_thumbs = gr.Dropdown(label="Thumbnails to test (optional, paired with titles in order)",
                                     choices=[], multiselect=True)
        with gr.Row():
            start_ab = gr.Button("Start test", elem_id="ab-start")
            stop_ab = gr.Button("Stop test and keep the leader", elem_id="ab-stop")

    with gr.Accordion("Audience data: platform exports and sample data", open=False):
        gr.Markdown("CSV layouts (header row required; details in README, *Audience data*):\n"
                    "- **Per-video metrics**: `video,date` + any of `impressions,views,watch_time_s,"
                    "watch_time_hours,likes,comments` — `video` is the watch page slug or exact title.\n"
                    "- **Viewer events**: `video,viewer,session,event,position_s,watched_s,timestamp[,device,region]`"
                    " — events are impression, play, heartbeat, pause, seek, ended, leave.")
        with gr.Row():
            csv_file = gr.File(label="CSV export", file_types=[".csv"], type="filepath", scale=3)
            layout = gr.Radio([("Per-video metrics", "metrics"), ("Viewer events", "events")], value="metrics",
                              label="Layout", scale=2)
            import_btn = gr.Button("Import", scale=0, min_width=90, elem_id="import-btn")
        import_report = gr.Textbox(label="Import report", lines=4, interactive=False, elem_id="import-report")
        with gr.Row():
            sample_btn = gr.Button("Create sample channel (demo data)", elem_id="sample-btn")
            remove_sample_btn = gr.Button("Remove sample channel")

    # --- handlers ----------------------------------------------------------------------------------------------
    def choices(project_id, cur_video=None, cur_pub=None):
        if project_id is None:
            empty = gr.update(choices=[], value=None)
            return empty, empty, gr.update(choices=[], value=[]), [], empty
        with store.session() as s:
            vids = [(a.name, a.id) for a in assets_repo.list_assets(session=s, project_id=project_id,
                                                                       kinds=[AssetKind.video])]
            imgs = [(a.name, a.id) for a in assets_repo.list_assets(session=s, project_id=project_id,
                                                                       kinds=[AssetKind.image])]
            pubs = publications.list_publications(session=s, project_id=project_id)
            rows = [[p.id, p.title, p.visibility.value, f"/watch/{p.slug}", "yes" if p.is_sample else ""]
                    for p in pubs]
            pub_choices = [(p.title, p.id) for p in pubs]
        vid_ids, pub_ids = [v[1] for v in vids], [p[1] for p in pub_choices]
        return (gr.update(choices=vids, value=cur_video if cur_video in vid_ids else (vid_ids[0] if vids else None)),
                gr.update(choices=[("(video poster)", None)] + imgs, value=None),
                gr.update(choices=imgs, value=[]), rows,
                gr.update(choices=pub_choices, value=cur_pub if cur_pub in pub_ids else
                          (pub_ids[0] if pub_ids else None)))

    @handler
    def do_publish(project_id, asset_id, thumb_id, vis, title_text, desc, request: gr.Request):
        if project_id is None:
            raise gr.Error("Create or pick a project first (Projects tab).")
        if asset_id is None:
            raise gr.Error("Pick a video to publish (upload one in the Projects tab).")
        out = governance.publish_or_request(store, project_id=project_id, asset_id=asset_id, title=title_text,
                                            description=desc or "", visibility=vis, thumbnail_asset_id=thumb_id,
                                            user_id=user_id(studio, request))
        if out.pending:
            return (f"This project requires review: request **#{out.request.id}** is waiting for another team "
                    "member to approve it (Responsibility → Governance). It is published on approval.")
        pub = out.publication
        url = _watch_url(request, pub.slug)
        note = "" if vis != "private" else " It is private: only visible here until you make it public or unlisted."
        if pub.ai_generated:
            note += (f" The watch page carries an AI-disclosure label ({pub.ai_share:.0%} of the credit goes to "
                     "AI-generated material).")
        return f"Published **{pub.title}** at [{url}]({url}).{note}"

    def guard(pub_id, request) -> None:
        """Changing a live page is publishing; on a project under review only its owner may do it directly."""
        with store.session() as s:
            pub = publications.get_publication(session=s, publication_id=pub_id)
            action = "manage" if pub.project.review_required else "publish"
            access.require(store, user_id(studio, request), pub.project_id, action, session=s)

    @handler
    def do_visibility(pub_id, vis, request: gr.Request):
        if pub_id is None or not vis:
            raise gr.Error("Pick a published video and a visibility.")
        guard(pub_id, request)
        with store.session() as s:
            p = publications.update_publication(session=s, publication_id=pub_id, visibility=vis)
            return f"**{p.title}** is now {vis}."

    @handler
    def do_start(pub_id, titles_text, thumbs, request: gr.Request):
        if pub_id is None:
            raise gr.Error("Pick a published video first.")
        guard(pub_id, request)
        variants_ = publishing.parse_variants(titles_text, thumbs)
        with store.session() as s:
            exp = publications.start_experiment(session=s, publication_id=pub_id, variants=variants_)
            return f"Test started with {len(exp.arms)} variants: " + ", ".join(
                f"{a.label}: {a.title or 'thumbnail'}" for a in exp.arms)

    @handler
    def do_stop(pub_id, request: gr.Request):
        from analytics.experiments import Arm, stop_rule
        if pub_id is None:
            raise gr.Error("Pick a published video first.")
        guard(pub_id, request)
        with store.session() as s:
            exp = publications.running_experiment(session=s, publication_id=pub_id)
            if exp is None:
                raise gr.Error("This video has no running test.")
            decision = stop_rule([Arm(a.impressions, a.clicks, a.title or a.label) for a in exp.arms])
            leader = exp.arms[decision.leader]
            publications.stop_experiment(session=s, experiment_id=exp.id, winner_arm_id=leader.id)
            return f"Test stopped; kept **{leader.title or leader.label}**. {decision.reason}"

    @handler
    def do_import(project_id, path, which, request: gr.Request, progress=gr.Progress()):
        if not path:
            raise gr.Error("Choose a CSV file first.")
        staged = studio.store.media.stage(uploaded_file(studio.settings, path), Path(path).name)  # for any worker
        snap = run_and_wait(studio, "audience_import", project_id=project_id, request=request, progress=progress,
                            params={"path": str(staged), "layout": which, "project_id": project_id})
        return snap.result.get("report", snap.message)

    @handler
    def do_sample(request: gr.Request, progress=gr.Progress()):
        snap = run_and_wait(studio, "sample_audience", project_id=None, params={}, request=request,
                            progress=progress)
        return snap.message + " Pick the project “Sample channel” above, or open the Audience tab."

    @handler
    def do_remove_sample(request: gr.Request):
        access.require(store, user_id(studio, request), None, "manage")
        n = sample_audience.remove_sample(store)
        return f"Removed the sample channel ({n} videos)." if n else "There is no sample channel."

    def _sample_project():
        return _sample_project_choice(store)

    # --- wiring ------------------------------------------------------------------------------------------------
    private = {"api_visibility": "private"}
    outs = [video, thumb, variant_thumbs, listing, pub_pick]
    ui.project.change(choices, [ui.project, video, pub_pick], outs, **private)
    if ui.tab is not None:
        ui.tab.select(choices, [ui.project, video, pub_pick], outs, **private)
    publish_btn.click(do_publish, [ui.project, video, thumb, visibility, title, description], [status],
                      api_name="publish").then(choices, [ui.project, video, pub_pick], outs, **private)
    apply_vis.click(do_visibility, [pub_pick, new_vis], [status], api_name="set_visibility").then(
        choices, [ui.project, video, pub_pick], outs, **private)
    start_ab.click(do_start, [pub_pick, variants, variant_thumbs], [status], api_name="start_experiment")
    stop_ab.click(do_stop, [pub_pick], [status], api_name="stop_experiment")
    import_btn.click(do_import, [ui.project, csv_file, layout], [import_report], api_name="import_audience")
    sample_btn.click(do_sample, None, [status], api_name="sample_audience").then(
        _sample_project, None, [ui.project], **private)
    remove_sample_btn.click(do_remove_sample, None, [status], api_name="remove_sample_audience")
