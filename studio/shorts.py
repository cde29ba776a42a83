"""Edit → Reframe and shorts: reframe a clip to 9:16 / 1:1 / 4:5 following its subject, and cut the best
15–60 s parts of a long clip into vertical shorts with word-by-word captions (listed by score first, rendered
when picked), each downloadable as MP4 and as a timeline (EDL / FCPXML / OTIO)."""
from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go

from storage.repo import assets as assets_repo

from .common import UI, download_copy, download_files, handler, run_and_wait

ASPECTS = ["9:16", "1:1", "4:5"]
FILLS = [("Automatic (blur when the subject cannot be framed)", "auto"), ("Always crop", "crop"),
         ("Letterbox when it cannot be framed", "letterbox"), ("Blur-fill when it cannot be framed", "blur")]
COLUMNS = ["#", "start", "end", "seconds", "score", "title", "why"]


def crop_figure(crop: list[list[float]]) -> go.Figure:
    fig = go.Figure()
    if crop:
        t = [c[0] for c in crop]
        fig.add_scatter(x=t, y=[c[1] for c in crop], name="crop left edge (px)", mode="lines")
        fig.add_scatter(x=t, y=[c[2] for c in crop], name="crop top edge (px)", mode="lines")
    fig.update_layout(height=220, margin=dict(l=40, r=10, t=10, b=30), xaxis_title="time (s)",
                      template="plotly_white")
    return fig


def shorts_tab(ui: UI, source, status) -> None:
    studio = ui.studio
    store = studio.store
    gr.Markdown("#### Reframe")
    with gr.Row():
        aspect = gr.Radio(ASPECTS, value="9:16", label="Shape", elem_id="rf-aspect")
        fill = gr.Dropdown(FILLS, value="auto", label="When the subject cannot be framed", elem_id="rf-fill")
        reframe_btn = gr.Button("Reframe", variant="primary", elem_id="rf-run")
    with gr.Row():
        reframed = gr.Video(label="Reframed", interactive=False, format=None, height=360, elem_id="rf-video")
        crop_plot = gr.Plot(label="Crop path", elem_id="rf-path")
    gr.Markdown("#### Shorts\nNeeds the clip's transcript (Edit → Transcript): shorts start and end on sentences.")
    with gr.Row():
        n = gr.Slider(1, 8, value=3, step=1, label="How many")
        min_s = gr.Number(value=15, label="Shortest (s)")
        max_s = gr.Number(value=60, label="Longest (s)")
        captions = gr.Checkbox(value=True, label="Word-by-word captions")
        find = gr.Button("Find shorts", elem_id="sh-find")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, elem_id="sh-table")
    pick = gr.CheckboxGroup(label="Render these", choices=[], elem_id="sh-pick")
    render_btn = gr.Button("Render the picked shorts", variant="primary", elem_id="sh-render")
    gallery = gr.Gallery(label="Shorts", columns=4, height=320, object_fit="contain", elem_id="sh-gallery")
    files = gr.File(label="Downloads (MP4 + EDL / FCPXML / OTIO)", file_count="multiple", interactive=False,
                    elem_id="sh-downloads")
    found = gr.State([])

    def need(asset_id):
        if asset_id is None:
            raise gr.Error("Pick a video above (upload one in the Projects tab).")

    @handler
    def do_reframe(project_id, asset_id, shape, how, request: gr.Request, progress=gr.Progress()):
        need(asset_id)
        snap = run_and_wait(studio, "reframe", project_id=project_id, request=request, progress=progress,
                            params={"asset_id": asset_id, "aspect": shape, "fill": how})
        with store.session() as s:
            a = assets_repo.get_asset(session=s, asset_id=snap.result["video_id"])
            path = str(store.media.path_for(a.content_hash, a.ext))
        return path, crop_figure(snap.result["crop"]), snap.message

    @handler
    def do_find(project_id, asset_id, count, lo, hi, request: gr.Request, progress=gr.Progress()):
        need(asset_id)
        snap = run_and_wait(studio, "shorts", project_id=project_id, request=request, progress=progress,
                            params={"asset_id": asset_id, "n": int(count), "min_s": lo, "max_s": hi})
        cands = snap.result["candidates"]
        rows = [[i + 1, round(c["start"], 1), round(c["end"], 1), round(c["end"] - c["start"], 1),
                 round(c["score"], 2), c["title"], "; ".join(c["reasons"][:3])] for i, c in enumerate(cands)]
        choices = [(f"{i + 1}. {c['title']} ({c['end'] - c['start']:.0f} s, score {c['score']:.2f})", i)
                   for i, c in enumerate(cands)]
        return cands, rows, gr.update(choices=choices, value=[c[1] for c in choices]), snap.message

    @handler
    def do_render(project_id, asset_id, cands, picked, shape, with_captions, request: gr.Request,
                  progress=gr.Progress()):
        need(asset_id)
        chosen = [cands[i] for i in sorted(picked or []) if i < len(cands)]
        if not chosen:
            raise gr.Error("Find shorts first and tick at least one.")
        snap = run_and_wait(studio, "shorts", project_id=project_id, request=request, progress=progress,
                            params={"asset_id": asset_id, "render": True, "aspect": shape,
                                    "captions": bool(with_captions), "n": len(chosen),
                                    "segments": [[c["start"], c["end"]] for c in chosen]})
        items, out = [], []
        with store.session() as s:
            for sh in snap.result["shorts"]:
                v = assets_repo.get_asset(session=s, asset_id=sh["video_id"])
                items.append((str(store.media.path_for(v.content_hash, v.ext)), sh["title"]))
                out += download_files(studio, v)
                out += [download_copy(studio, assets_repo.get_asset(session=s, asset_id=i))
                        for i in sh["timeline_ids"]]
        return items, out, snap.message

    reframe_btn.click(do_reframe, [ui.project, source, aspect, fill], [reframed, crop_plot, status],
                      api_name="reframe")
    find.click(do_find, [ui.project, source, n, min_s, max_s], [found, table, pick, status], api_name="find_shorts")
    render_btn.click(do_render, [ui.project, source, found, pick, aspect, captions], [gallery, files, status],
                     api_name="render_shorts")
