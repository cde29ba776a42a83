"""Edit tab: shots and the silence rough cut of a project video, clips to toggle, exports to real editors, and
the video enhancements (stabilise, colour, interpolate) with their metrics."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from storage.models import AssetKind
from storage.repo import assets as assets_repo

from .common import UI, asset_picker, cancel_jobs, export_downloads, handler, run_and_wait
from .sound import sound_tabs
from .shorts import shorts_tab
from .transcript import transcript_tab

FORMATS = [("EDL (CMX3600)", "edl"), ("FCPXML (Final Cut, Resolve)", "fcpxml"), ("OTIO", "otio"), ("MP4", "mp4")]
KINDS = ("shots", "rough_cut", "export_timeline", "stabilize", "colour", "interpolate", "captions", "captions_export",
         "captions_burn", "denoise", "stems", "loudness", "transcript", "transcript_cut",
         "reframe", "shorts")


def timeline_figure(timeline: dict, disabled: set[int], transitions: list[dict]) -> go.Figure:
    """Source time on x; kept clips green, switched-off clips grey, the removed gaps light; shot cuts as lines."""
    fig = go.Figure()
    clips = timeline.get("clips", [])
    for i, clip in enumerate(clips):
        on = clip.get("enabled", True) and i not in disabled
        fig.add_trace(go.Bar(x=[clip["src_out"] - clip["src_in"]], base=[clip["src_in"]], y=["clips"],
                             orientation="h", marker_color="#3ba55d" if on else "#9aa0a6",
                             name=f"{i}", hovertemplate=f"clip {i}: %{{base:.2f}}–{clip['src_out']:.2f} s"
                                                        f"<br>{'kept' if on else 'off'}<extra></extra>",
                             showlegend=False))
    for t in transitions:
        fig.add_vline(x=t["time"], line_dash="dot", line_color="#5865f2" if t.get("type") == "cut" else "#f0a020")
    fig.update_layout(barmode="overlay", height=180, margin=dict(l=40, r=10, t=10, b=30),
                      xaxis_title="source time (s)", yaxis_visible=False)
    return fig


def build(ui: UI) -> None:
    studio = ui.studio
    store = studio.store
    timeline_state = gr.State(None)  # {"id": timeline asset id, "timeline": dict}
    with gr.Row():
        source = gr.Dropdown(label="Video", choices=[], scale=3, elem_id="edit-source")
        refresh_btn = gr.Button("Refresh", scale=0, min_width=90)
        cancel_btn = gr.Button("Cancel running", scale=0, min_width=140)
    status = gr.Markdown(elem_id="edit-status")

    with gr.Tab("Shots and rough cut"):
        with gr.Row():
            shots_btn = gr.Button("Detect shots", elem_id="shots-btn")
            cut_btn = gr.Button("Rough cut (remove silences)", variant="primary", elem_id="roughcut-btn")
        with gr.Row():
            silence_db = gr.Textbox(value="", label="Silence threshold dBFS", placeholder="automatic")
            margin = gr.Number(value=0.2, label="Margin around speech (s)")
            min_silence = gr.Number(value=0.5, label="Shortest pause to cut (s)")
            min_clip = gr.Number(value=0.5, label="Shortest clip to keep (s)")
            snap = gr.Checkbox(value=True, label="Snap to shot cuts")
        shots_table = gr.Dataframe(headers=["frame", "time (s)", "type"], interactive=False, label="Transitions")
        plot = gr.Plot(label="Timeline", elem_id="timeline-plot")
        clips = gr.CheckboxGroup(label="Clips to keep (untick to drop one before export)", choices=[],
                                 elem_id="clip-toggles")
        with gr.Row():
            formats = gr.CheckboxGroup(FORMATS, value=["edl", "fcpxml", "otio", "mp4"], label="Export", scale=3)
            export_btn = gr.Button("Export", variant="primary", scale=1, elem_id="export-btn")
        cut_video = gr.Video(label="Rough cut", interactive=False, format=None, elem_id="roughcut-video")
        downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="edit-downloads")

    # --- helpers -----------------------------------------------------------------------------------------------
    def videos(project_id, current=None):
        return asset_picker(studio, project_id, [AssetKind.video], current)

    def need(project_id, asset_id):
        if project_id is None:
            raise gr.Error("Create or pick a project first (Projects tab).")
        if asset_id is None:
            raise gr.Error("Pick a video (upload one in the Projects tab).")

    def follow(kind, project_id, params, request, progress):
        return run_and_wait(studio, kind, project_id=project_id, params=params, request=request, progress=progress)

    def transitions_of(asset_id):
        if asset_id is None:
            return []
        with store.session() as s:
            meta = assets_repo.get_asset(session=s, asset_id=asset_id).meta or {}
        return (meta.get("shots") or {}).get("transitions", [])

    # --- handlers ----------------------------------------------------------------------------------------------
    @handler
    def do_shots(project_id, asset_id, request: gr.Request, progress=gr.Progress()):
        need(project_id, asset_id)
        snap = follow("shots", project_id, {"asset_id": asset_id}, request, progress)
        rows = [[t["frame"], round(t["time"], 2), t["type"]] for t in snap.result.get("transitions", [])]
        return rows, snap.message

    @handler
    def do_cut(project_id, asset_id, db, m, ms, mc, snap_on, request: gr.Request, progress=gr.Progress()):
        need(project_id, asset_id)
        try:
            db = float(db) if (db or "").strip() else None
        except ValueError:
            raise gr.Error(f"The silence threshold is a number of dBFS like -40, not {db!r}.") from None
        params = {"asset_id": asset_id, "silence_db": db, "margin_s": m, "min_silence_s": ms, "min_clip_s": mc,
                  "snap_to_shots": bool(snap_on)}
        snap = follow("rough_cut", project_id, params, request, progress)
        tl = snap.result["timeline"]
        choices = [(f"{i}: {c['src_in']:.2f}–{c['src_out']:.2f} s", i) for i, c in enumerate(tl["clips"])]
        state = {"id": snap.result["timeline_id"], "timeline": tl}
        return (state, timeline_figure(tl, set(), transitions_of(asset_id)),
                gr.update(choices=choices, value=[c[1] for c in choices]), snap.message)

    def redraw(state, kept, asset_id):
        if not state:
            return None
        n = len(state["timeline"]["clips"])
        return timeline_figure(state["timeline"], set(range(n)) - set(kept or []), transitions_of(asset_id))

    @handler
    def do_export(project_id, state, kept, fmts, request: gr.Request, progress=gr.Progress()):
        if not state:
            raise gr.Error("Make a rough cut first.")
        if not fmts:
            raise gr.Error("Tick at least one export format.")
        n = len(state["timeline"]["clips"])
        params = {"timeline_id": state["id"], "disabled": sorted(set(range(n)) - set(kept or [])),
                  "formats": list(fmts)}
        snap = follow("export_timeline", project_id, params, request, progress)
        files, mp4 = export_downloads(studio, snap.result["asset_ids"])
        return files, mp4, snap.message

    def do_cancel(project_id):
        n = cancel_jobs(studio, project_id, KINDS)
        return f"Asked {n} job(s) to stop." if n else "Nothing is running."

    # --- wiring ------------------------------------------------------------------------------------------------
    private = {"api_visibility": "private"}
    ui.project.change(videos, [ui.project, source], [source], **private)  # keep the clip being edited
    refresh_btn.click(videos, [ui.project, source], [source], **private)
    if ui.tab is not None:
        ui.tab.select(videos, [ui.project, source], [source], **private)
    cancel_btn.click(do_cancel, [ui.project], [status], **private)
    shots_btn.click(do_shots, [ui.project, source], [shots_table, status], api_name="detect_shots")
    cut_btn.click(do_cut, [ui.project, source, silence_db, margin, min_silence, min_clip, snap],
                  [timeline_state, plot, clips, status], api_name="rough_cut")
    clips.change(redraw, [timeline_state, clips, source], [plot], **private)
    export_btn.click(do_export, [ui.project, timeline_state, clips, formats], [downloads, cut_video, status],
                     api_name="export_timeline")

    with gr.Tab("Transcript", elem_id="edit-transcript"):
        transcript_tab(ui, source, status)
    with gr.Tab("Reframe and shorts", elem_id="edit-shorts"):
        shorts_tab(ui, source, status)
    enhance_tabs(ui, source, status)
    with gr.Tab("Sound", elem_id="edit-sound"):
        sound_tabs(ui)


LUT_DIR = Path(__file__).resolve().parents[1] / "assets" / "luts"


def enhance_tabs(ui: UI, source, status) -> None:
    """Stabilise, colour and interpolate, each showing the result next to its metrics."""
    studio = ui.studio
    store = studio.store
    luts = [("none", "")] + [(p.stem.replace("_", " "), str(p)) for p in sorted(LUT_DIR.glob("*.cube"))]
    with gr.Tab("Stabilise"):
        with gr.Row():
            smooth = gr.Slider(1000, 300000, value=100000, step=1000, label="Smoothness (λ)")
            crop = gr.Slider(0.02, 0.35, value=0.2, step=0.01, label="Largest crop per side")
        stab_btn = gr.Button("Stabilise", variant="primary", elem_id="stabilize-btn")
        with gr.Row():
            stab_video = gr.Video(label="Stabilised", interactive=False, format=None, scale=2)
            stab_metrics = gr.JSON(label="Metrics", scale=1)
    with gr.Tab("Colour"):
        with gr.Row():
            wb = gr.Checkbox(value=True, label="Auto white balance")
            expo = gr.Checkbox(value=True, label="Auto exposure / contrast")
            lut = gr.Dropdown(luts, value="", label="Look (3D LUT)")
            strength = gr.Slider(0, 1, value=1.0, step=0.05, label="Look strength")
        with gr.Row():
            reference = gr.Dropdown(label="Match the colours of (optional)", choices=[], scale=3)
            match = gr.Radio(["reinhard", "histogram"], value="reinhard", label="Matching", scale=1)
        col_btn = gr.Button("Grade", variant="primary", elem_id="colour-btn")
        with gr.Row():
            col_video = gr.Video(label="Graded", interactive=False, format=None, scale=2)
            col_metrics = gr.JSON(label="Metrics", scale=1)

    with gr.Tab("Interpolate"):
        with gr.Row():
            factor = gr.Radio([2, 3, 4], value=2, label="Frames per source frame")
            slow = gr.Checkbox(value=False, label="Slow motion (keep the frame rate, no sound)")
        int_btn = gr.Button("Interpolate", variant="primary", elem_id="interpolate-btn")
        with gr.Row():
            int_video = gr.Video(label="Interpolated", interactive=False, format=None, scale=2)
            int_metrics = gr.JSON(label="Metrics (flow vs plain blending on held-out frames)", scale=1)

    def result_of(snap):
        with store.session() as s:
            a = assets_repo.get_asset(session=s, asset_id=snap.result["asset_id"])
            return str(store.media.path_for(a.content_hash, a.ext))

    def need(project_id, asset_id):
        if project_id is None or asset_id is None:
            raise gr.Error("Pick a project and a video first.")

    @handler
    def do_stab(project_id, asset_id, lam, crop_max, request: gr.Request, progress=gr.Progress()):
        need(project_id, asset_id)
        snap = run_and_wait(studio, "stabilize", project_id=project_id, request=request, progress=progress,
                            params={"asset_id": asset_id, "smoothness": lam, "crop_max": crop_max})
        return result_of(snap), snap.result["metrics"], snap.message

    @handler
    def do_colour(project_id, asset_id, wb_on, expo_on, lut_path, lut_k, ref_id, how, request: gr.Request,
                  progress=gr.Progress()):
        need(project_id, asset_id)
        params = {"asset_id": asset_id, "white_balance": bool(wb_on), "auto_exposure": bool(expo_on),
                  "lut": lut_path or None, "lut_strength": lut_k, "reference_asset_id": ref_id, "match": how}
        snap = run_and_wait(studio, "colour", project_id=project_id, request=request, progress=progress,
                            params=params)
        return result_of(snap), snap.result["metrics"], snap.message

    def references(project_id):
        if project_id is None:
            return gr.update(choices=[])
        with store.session() as s:
            rows = assets_repo.list_assets(session=s, project_id=project_id,
                                           kinds=[AssetKind.image, AssetKind.video], top_level_only=True)
        return gr.update(choices=[(a.name, a.id) for a in rows])

    @handler
    def do_interp(project_id, asset_id, k, slow_on, request: gr.Request, progress=gr.Progress()):
        need(project_id, asset_id)
        snap = run_and_wait(studio, "interpolate", project_id=project_id, request=request, progress=progress,
                            params={"asset_id": asset_id, "factor": int(k), "slow_motion": bool(slow_on)})
        return result_of(snap), snap.result["metrics"], snap.message

    int_btn.click(do_interp, [ui.project, source, factor, slow], [int_video, int_metrics, status],
                  api_name="interpolate")
    stab_btn.click(do_stab, [ui.project, source, smooth, crop], [stab_video, stab_metrics, status],
                   api_name="stabilize")
    col_btn.click(do_colour, [ui.project, source, wb, expo, lut, strength, reference, match],
                  [col_video, col_metrics, status], api_name="colour")
    ui.project.change(references, [ui.project], [reference], api_visibility="private")
    source.focus(references, [ui.project], [reference], api_visibility="private")
