"""Audience tab: what viewers did on the watch pages (and imported exports), as the charts people expect."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from . import charts
from .common import UI, handler
from .services import dashboard, governance, recommending
from .session import user_id


def _duration(seconds: float) -> str:
    return charts.format_time(seconds) if seconds else "0:00"


def kpis(board: dashboard.Dashboard) -> str:
    s = board.summary
    sample = " · includes **sample data**" if any("(sample)" in t for t in board.videos.values()) else ""
    return (f"**Impressions** {s['impressions']:,} · **Views** {s['views']:,} · **CTR** {s['ctr']:.1%} · "
            f"**Watch time** {s['watch_time_s'] / 3600:,.1f} h · **Avg view** {_duration(s['avg_view_duration_s'])}"
            f" · **Bounce rate** {s['bounce_rate']:.0%} · **Viewers** {s['viewers']:,}{sample}")


def build(ui: UI) -> None:
    studio = ui.studio
    store = studio.store
    with gr.Row():
        videos = gr.Dropdown(label="Videos (empty: all of this project)", choices=[], multiselect=True, scale=3,
                             elem_id="aud-videos")
        start = gr.Textbox(label="From (YYYY-MM-DD)", placeholder="any", scale=1, elem_id="aud-start")
        end = gr.Textbox(label="To (YYYY-MM-DD)", placeholder="any", scale=1, elem_id="aud-end")
        refresh = gr.Button("Refresh", variant="primary", scale=0, min_width=100, elem_id="aud-refresh")
        export = gr.Button("Export CSV", scale=0, min_width=110, elem_id="aud-export")
    kpi = gr.Markdown("Pick a project with published videos, or create the sample channel in the Publish tab.",
                      elem_id="aud-kpis")
    export_file = gr.File(label="Dashboard as CSV", visible=False, interactive=False, elem_id="aud-csv")
    with gr.Tab("Overview"):
        with gr.Row():
            trend = gr.Plot(elem_id="aud-trend")
            funnel = gr.Plot(elem_id="aud-funnel")
        with gr.Row():
            device = gr.Plot()
            region = gr.Plot()
        with gr.Row():
            returning = gr.Plot()
            per_video = gr.Dataframe(label="Per video", interactive=False, elem_id="aud-per-video")
    with gr.Tab("Retention"):
        retention = gr.Plot(elem_id="aud-retention")
        moments = gr.Markdown(elem_id="aud-moments")
    with gr.Tab("Segments"):
        seg_btn = gr.Button("Find audience segments (K-means)")
        seg_plot = gr.Plot()
        seg_table = gr.Dataframe(headers=["segment", "share", "description"], interactive=False, wrap=True)
    with gr.Tab("Recommendations"):
        gr.Markdown("Biased matrix factorisation on how much of each video a viewer watched, blended with "
                    "title/description embeddings (MiniLM) so new videos can be recommended too.")
        with gr.Row():
            rec_btn = gr.Button("Train recommender", scale=1)
            viewer = gr.Dropdown(label="Viewer (pseudonymous id)", choices=[], scale=2, elem_id="rec-viewer")
        rec_status = gr.Markdown()
        rec_table = gr.Dataframe(headers=["rank", "video", "predicted rating (1–5)", "already watched"],
                                 interactive=False, elem_id="rec-table")
        rec_state = gr.State(None)
    with gr.Tab("Comments"):
        sent_plot = gr.Plot(elem_id="aud-sentiment")
        sent_table = gr.Dataframe(headers=["day", "video", "score", "comment"], interactive=False, wrap=True,
                                  elem_id="aud-comments")
    with gr.Tab("Experiments"):
        exp_plot = gr.Plot(elem_id="aud-experiment")
        exp_decision = gr.Markdown(elem_id="aud-decision")
        exp_table = gr.Dataframe(headers=["variant", "impressions", "clicks", "CTR", "95% interval",
                                          "P(best)", "expected loss"], interactive=False)
    with gr.Tab("Models"):
        model_btn = gr.Button("Fit watch-time and click-through models")
        model_text = gr.Markdown()
        with gr.Row():
            watch_plot = gr.Plot()
            ctr_plot = gr.Plot()

    # --- handlers ----------------------------------------------------------------------------------------------
    def video_list(project_id, current):
        choices = dashboard.video_choices(store, project_id)
        ids = {c[1] for c in choices}
        return gr.update(choices=choices, value=[v for v in (current or []) if v in ids])

    def _filters(project_id, vids, s, e):
        if not vids and project_id is not None:
            vids = [c[1] for c in dashboard.video_choices(store, project_id)] or [-1]
        return dashboard.make_filters(vids, s, e)

    @handler
    def do_refresh(project_id, vids, s, e):
        board = dashboard.compute(store, _filters(project_id, vids, s, e))
        title = board.videos.get(board.retention_video, "")
        pv = board.by_video
        table = ([[r["title"], r["impressions"], r["views"], f"{r['ctr']:.1%}", round(r["watch_time_s"] / 3600, 2),
                   _duration(r["avg_view_duration_s"]), f"{r['bounce_rate']:.0%}"] for _, r in pv.iterrows()]
                 if not pv.empty else [])
        moments_md = (f"**{title}** — average percentage viewed {board.apv:.0%}.\n\n"
                      + charts.moments_text(board.moments)) if board.retention is not None else \
            "No views of this video yet."
        exp = board.experiment
        if exp:
            d = exp["decision"]
            rows = [[a.name, a.impressions, a.clicks, f"{a.mean:.1%}", f"{a.lower:.1%}–{a.upper:.1%}",
                     f"{a.p_best:.0%}", f"{a.expected_loss:.2%}"] for a in d.arms]
            decision = f"**{exp['video']}** · test {exp['status']} · {d.reason}"
        else:
            rows, decision = [], "No title/thumbnail test on this video."
        return (kpis(board), charts.trend(board.daily, board.imported), charts.funnel(board.funnel),
                charts.bars(board.by_device, "By device"), charts.bars(board.by_region, "By region (time zone)"),
                charts.new_returning(board.new_returning),
                gr.update(value=table, headers=["video", "impressions", "views", "CTR", "watch h", "avg view",
                                                "bounce"]),
                charts.retention(board.retention, board.moments, title), moments_md,
                charts.posteriors(exp), decision, rows)

    @handler
    def do_sentiment(project_id, vids, s, e):
        """Comment sentiment runs after the rest of the dashboard (the sentence model loads on first use)."""
        filters_ = _filters(project_id, vids, s, e)
        sent = dashboard.sentiment_frame(store, filters_)
        titles = dict((v, t) for t, v in dashboard.video_choices(store))
        sent_rows = ([[r["day"], titles.get(r["video"], ""), round(r["score"], 2), r["text"]]
                      for _, r in sent.head(200).iterrows()] if not sent.empty else [])
        return charts.sentiment(sent), sent_rows

    @handler
    def do_export(project_id, vids, s, e):
        board = dashboard.compute(store, _filters(project_id, vids, s, e))
        folder = Path(tempfile.mkdtemp(dir=studio.settings.tmp_dir))
        path = folder / "audience.csv"
        path.write_text(dashboard.export_csv(board), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    @handler
    def do_segments(project_id, vids, s, e, progress=gr.Progress()):
        progress(0.1, desc="Clustering viewers")
        seg = dashboard.segments(store, _filters(project_id, vids, s, e))
        rows = [[x.name, f"{x.share:.0%}", x.description] for x in seg.segments]
        return charts.segment_map(seg), rows

    @handler
    def do_train(project_id, vids, s, e, request: gr.Request, progress=gr.Progress()):
        progress(0.1, desc="Training the recommender")
        model = recommending.train(store, _filters(project_id, vids, s, e))
        if not governance.can_see_raw(store, user_id(studio, request)):
            # aggregate-only role: no per-viewer ids or picks (Responsibility → Governance explains the roles)
            return (None, gr.update(choices=[], value=None),
                    model.summary + " Per-viewer recommendations are shown only to roles with access to "
                    "individual viewers' data; the Responsibility tab shows how fair they are by group.")
        viewers = model.viewers[:500]
        return (model, gr.update(choices=viewers, value=viewers[0] if viewers else None),
                model.summary)

    @handler
    def do_recommend(model, who):
        if model is None or not who:
            return []
        return [[i + 1, title, round(score, 2), "yes" if seen else ""]
                for i, (title, score, seen) in enumerate(model.for_viewer(who, k=5))]

    @handler
    def do_models(project_id, vids, s, e, progress=gr.Progress()):
        progress(0.1, desc="Fitting models")
        watch, ctr = dashboard.fit_models(store, _filters(project_id, vids, s, e))
        text = f"**Watch time.** {watch.summary}\n\n**Click-through.** {ctr.summary}"
        return text, charts.importances(watch, "What drives watch time"), \
            charts.importances(ctr, "What drives clicks")

    # --- wiring ------------------------------------------------------------------------------------------------
    private = {"api_visibility": "private"}
    filters = [ui.project, videos, start, end]
    outputs = [kpi, trend, funnel, device, region, returning, per_video, retention, moments, exp_plot,
               exp_decision, exp_table]
    sentiment_outputs = [sent_plot, sent_table]
    # Only the cheap video list follows the project picker; the dashboards are computed when the tab is opened
    # (or on Refresh), so picking a project elsewhere never waits on them.
    ui.project.change(video_list, [ui.project, videos], [videos], **private)
    if ui.tab is not None:
        ui.tab.select(video_list, [ui.project, videos], [videos], **private).then(
            do_refresh, filters, outputs, **private).then(do_sentiment, filters, sentiment_outputs, **private)
    refresh.click(do_refresh, filters, outputs, api_name="audience_dashboard").then(
        do_sentiment, filters, sentiment_outputs, api_name="audience_comments")
    export.click(do_export, filters, [export_file], api_name="audience_csv")
    seg_btn.click(do_segments, filters, [seg_plot, seg_table], api_name="audience_segments")
    rec_btn.click(do_train, filters, [rec_state, viewer, rec_status], **private)
    viewer.change(do_recommend, [rec_state, viewer], [rec_table], **private)
    model_btn.click(do_models, filters, [model_text, watch_plot, ctr_plot], api_name="audience_models")
