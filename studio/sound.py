"""Edit → Sound: captions (transcribe, edit in a table, export SRT/VTT, burn in), voice clean-up, stems and
loudness, for a video or audio asset of the project. Every action is a job (progress, cancel, stored result)."""
from __future__ import annotations

import gradio as gr

from storage.models import AssetKind
from storage.repo import assets as assets_repo

from .common import UI, asset_picker, download_copy, handler, run_and_wait

CUE_HEADERS = ["start", "end", "text"]


def sound_tabs(ui: UI) -> None:
    studio = ui.studio
    store = studio.store
    with gr.Row():
        source = gr.Dropdown(label="Video or audio", choices=[], scale=3, elem_id="sound-source")
        refresh = gr.Button("Refresh", scale=0, min_width=90)
    status = gr.Markdown(elem_id="sound-status")
    cues_state = gr.State(None)  # {"subtitle_id": id, "source_id": id}
    with gr.Tab("Captions"):
        with gr.Row():
            language = gr.Dropdown([("detect", ""), ("English", "en"), ("French", "fr"), ("German", "de"),
                                    ("Spanish", "es"), ("Italian", "it"), ("Portuguese", "pt")], value="en",
                                   label="Language", scale=2)
            transcribe = gr.Button("Transcribe", variant="primary", elem_id="transcribe-btn", scale=1)
        cue_table = gr.Dataframe(headers=CUE_HEADERS, datatype=["str", "str", "str"], interactive=True,
                                 col_count=(3, "fixed"), wrap=True, label="Captions (edit the text or the times)",
                                 elem_id="cue-table")
        with gr.Row():
            export_btn = gr.Button("Export SRT + VTT", elem_id="cues-export-btn")
            burn_btn = gr.Button("Burn into the video", elem_id="cues-burn-btn")
        cue_files = gr.File(label="Subtitles", file_count="multiple", interactive=False, elem_id="cue-files")
        burned = gr.Video(label="With burned-in captions", interactive=False, format=None, elem_id="burned-video")
    with gr.Tab("Clean voice"):
        with gr.Row():
            strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength")
            clean_btn = gr.Button("Clean the voice", variant="primary", elem_id="denoise-btn")
        with gr.Row():
            cleaned_audio = gr.Audio(label="Cleaned sound", interactive=False, elem_id="denoised-audio")
            clean_metrics = gr.JSON(label="Metrics")
        cleaned_video = gr.Video(label="Video with the cleaned sound", interactive=False, format=None, visible=False)
    with gr.Tab("Stems"):
        stems_btn = gr.Button("Split into stems", variant="primary", elem_id="stems-btn")
        stems_note = gr.Markdown(elem_id="stems-note")
        with gr.Row():
            stem_players = [gr.Audio(label=f"Stem {i + 1}", interactive=False, visible=False) for i in range(4)]
    with gr.Tab("Loudness"):
        with gr.Row():
            target = gr.Number(value=-14.0, label="Target (LUFS integrated)", minimum=-40, maximum=-5)
            peak = gr.Number(value=-1.0, label="True-peak ceiling (dBTP)", minimum=-9, maximum=0)
            loud_btn = gr.Button("Measure and normalise", variant="primary", elem_id="loudness-btn")
        loud_metrics = gr.Markdown(elem_id="loudness-metrics")
        loud_audio = gr.Audio(label="Normalised sound", interactive=False)
        loud_video = gr.Video(label="Video with the normalised sound", interactive=False, format=None, visible=False)

    # --- helpers -----------------------------------------------------------------------------------------------
    def sources(project_id, current=None):
        return asset_picker(studio, project_id, [AssetKind.video, AssetKind.audio], current, with_kind=True,
                            top_level_only=True)

    def need(project_id, asset_id):
        if project_id is None:
            raise gr.Error("Create or pick a project first (Projects tab).")
        if asset_id is None:
            raise gr.Error("Pick a video or audio file (upload one in the Projects tab).")

    def path_of(asset_id):
        with store.session() as s:
            a = assets_repo.get_asset(session=s, asset_id=asset_id)
            return str(store.media.path_for(a.content_hash, a.ext))

    def follow(kind, project_id, params, request, progress):
        return run_and_wait(studio, kind, project_id=project_id, params=params, request=request, progress=progress)

    # --- handlers ----------------------------------------------------------------------------------------------
    @handler
    def do_transcribe(project_id, asset_id, lang, request: gr.Request, progress=gr.Progress()):
        need(project_id, asset_id)
        snap = follow("captions", project_id, {"asset_id": asset_id, "language": lang or None}, request, progress)
        rows = [[c["start_tc"], c["end_tc"], c["text"]] for c in snap.result["cues"]]
        return rows, {"subtitle_id": snap.result["subtitle_id"], "source_id": asset_id}, snap.message

    def _rows(table):
        if table is None:
            return []
        values = table.values.tolist() if hasattr(table, "values") else table
        return [[str(x) if x is not None else "" for x in row] for row in values]

    @handler
    def do_export(project_id, state, table, request: gr.Request, progress=gr.Progress()):
        if not state:
            raise gr.Error("Transcribe first (or pick a source and transcribe it).")
        snap = follow("captions_export", project_id, {"subtitle_id": state["subtitle_id"], "rows": _rows(table)},
                      request, progress)
        with store.session() as s:
            files = [download_copy(studio, assets_repo.get_asset(session=s, asset_id=i))
                     for i in snap.result["asset_ids"]]
        return files, snap.message

    @handler
    def do_burn(project_id, state, table, request: gr.Request, progress=gr.Progress()):
        if not state:
            raise gr.Error("Transcribe first.")
        snap = follow("captions_burn", project_id, {"subtitle_id": state["subtitle_id"],
                                                    "source_id": state["source_id"], "rows": _rows(table)},
                      request, progress)
        return path_of(snap.result["asset_id"]), snap.message

    @handler
    def do_clean(project_id, asset_id, k, request: gr.Request, progress=gr.Progress()):
        need(project_id, asset_id)
        snap = follow("denoise", project_id, {"asset_id": asset_id, "strength": k}, request, progress)
        video = snap.result.get("video_id")
        return (path_of(snap.result["audio_id"]), snap.result.get("metrics"),
                gr.update(value=path_of(video) if video else None, visible=bool(video)), snap.message)

    @handler
    def do_stems(project_id, asset_id, request: gr.Request, progress=gr.Progress()):
        need(project_id, asset_id)
        snap = follow("stems", project_id, {"asset_id": asset_id}, request, progress)
        stems = snap.result["stems"]  # [{"label", "asset_id"}]
        players = [gr.update(value=path_of(x["asset_id"]), label=x["label"], visible=True) for x in stems[:4]]
        players += [gr.update(value=None, visible=False)] * (4 - len(players))
        return (snap.result["note"], *players, snap.message)

    @handler
    def do_loudness(project_id, asset_id, lufs, tp, request: gr.Request, progress=gr.Progress()):
        need(project_id, asset_id)
        snap = follow("loudness", project_id, {"asset_id": asset_id, "target_lufs": lufs, "true_peak_db": tp},
                      request, progress)
        m = snap.result["metrics"]
        text = (f"**Before:** {m['integrated_lufs']:.1f} LUFS, true peak {m['true_peak_db']:.1f} dBTP · "
                f"**After:** {m['out_integrated_lufs']:.1f} LUFS, true peak {m['out_true_peak_db']:.1f} dBTP "
                f"(gain {m['gain_db']:+.1f} dB)")
        video = snap.result.get("video_id")
        return (text, path_of(snap.result["audio_id"]),
                gr.update(value=path_of(video) if video else None, visible=bool(video)), snap.message)

    # --- wiring ------------------------------------------------------------------------------------------------
    private = {"api_visibility": "private"}
    ui.project.change(sources, [ui.project, source], [source], **private)
    refresh.click(sources, [ui.project, source], [source], **private)
    if ui.tab is not None:
        ui.tab.select(sources, [ui.project, source], [source], **private)
    transcribe.click(do_transcribe, [ui.project, source, language], [cue_table, cues_state, status],
                     api_name="transcribe")
    export_btn.click(do_export, [ui.project, cues_state, cue_table], [cue_files, status], api_name="export_captions")
    burn_btn.click(do_burn, [ui.project, cues_state, cue_table], [burned, status], api_name="burn_captions")
    clean_btn.click(do_clean, [ui.project, source, strength], [cleaned_audio, clean_metrics, cleaned_video, status],
                    api_name="denoise")
    stems_btn.click(do_stems, [ui.project, source], [stems_note, *stem_players, status], api_name="stems")
    loud_btn.click(do_loudness, [ui.project, source, target, peak], [loud_metrics, loud_audio, loud_video, status],
                   api_name="loudness")
