"""Edit → Transcript: edit a clip by editing its text. Strike words (or whole sentences) in the text, remove
fillers, long pauses and earlier takes, see what goes struck through, then cut: the result is the same timeline
as the rough cut, exported to EDL/FCPXML/OTIO/MP4 and recorded as human edits."""
from __future__ import annotations

import html

import gradio as gr

from engines.transcript import EditSession

from .common import UI, export_downloads, handler, run_and_wait
from .services import transcribing

FORMATS = [("EDL", "edl"), ("FCPXML", "fcpxml"), ("OTIO", "otio"), ("MP4", "mp4")]


def _clock(t: float) -> str:
    return f"{int(t // 60)}:{t % 60:04.1f}"


def _preview(state) -> str:
    session = EditSession.from_dict(state["session"])
    out = session.preview_markup("html")
    for label, name in (state.get("names") or {}).items():
        out = out.replace(f"<b>{html.escape(label)}:</b>", f"<b>{html.escape(name or label)}:</b>")
    gone = sum(e - s for s, e in session.deleted_spans()) + sum(e - s for s, e in state.get("spans", []))
    head = (f"<p class='tx-summary'>{len(session.deleted)} word(s) and {len(state.get('spans', []))} pause(s) "
            f"struck — about {gone:.1f} s to remove. Nothing changes until you cut.</p>")
    return f"<div id='tx-preview-body'>{head}{out}</div>"


def _candidates(data) -> tuple[list, list]:
    fillers = [(f"{_clock(f['start'])} {f['kind']}: {f['text'] or '(no word)'} ({f['confidence']:.0%}, "
                f"{f['reason']})", i) for i, f in enumerate(data["fillers"])]
    sentences = data["transcript"]["sentences"]
    words = data["transcript"]["words"]

    def sent(k):
        b = sentences[k]
        return " ".join(w["text"] for w in words[b["first"]:b["stop"]])

    retakes = [(f"{len(r['takes'])} takes, keep the last: “{sent(r['keep'])[:80]}” (similarity {r['similarity']:.2f})",
                i) for i, r in enumerate(data["retakes"])]
    return fillers, retakes


def transcript_tab(ui: UI, source, status) -> None:
    studio = ui.studio
    store = studio.store
    state = gr.State(None)  # {"id", "session", "data", "names", "spans", "timeline_id"}
    with gr.Row():
        diarize = gr.Checkbox(value=True, label="Find speakers")
        speakers = gr.Number(value=0, precision=0, minimum=0, maximum=8, label="Speakers (0 = estimate)")
        verbatim = gr.Checkbox(value=True, label="Keep fillers (verbatim prompt)")
        pause = gr.Number(value=0.6, label="Long pause (s)")
        run = gr.Button("Transcribe", variant="primary", elem_id="tx-run")
    names = gr.Dataframe(headers=["speaker", "name"], interactive=True, label="Speakers (rename in the table)",
                         elem_id="tx-names", row_count=(1, "fixed"), column_count=(2, "fixed"))
    with gr.Row():
        with gr.Column(scale=1):
            text = gr.Textbox(label="Transcript — delete words here, then Preview", lines=14,
                              elem_id="tx-text")
            with gr.Row():
                preview_btn = gr.Button("Preview", elem_id="tx-preview-btn")
                undo = gr.Button("Undo", elem_id="tx-undo")
                redo = gr.Button("Redo", elem_id="tx-redo")
                reset = gr.Button("Restore all", elem_id="tx-reset")
        with gr.Column(scale=1):
            preview = gr.HTML(label="What will be removed", elem_id="tx-preview")
    with gr.Row():
        with gr.Column():
            fillers = gr.CheckboxGroup(label="Fillers and long pauses", choices=[], elem_id="tx-fillers")
            fillers_btn = gr.Button("Strike the ticked fillers and pauses", elem_id="tx-fillers-btn")
        with gr.Column():
            retakes = gr.CheckboxGroup(label="Retakes (earlier attempts at the same sentence)", choices=[],
                                       elem_id="tx-retakes")
            retakes_btn = gr.Button("Strike the earlier takes", elem_id="tx-retakes-btn")
    with gr.Row():
        formats = gr.CheckboxGroup(FORMATS, value=["edl", "fcpxml", "otio", "mp4"], label="Export", scale=3)
        cut = gr.Button("Cut and export", variant="primary", scale=1, elem_id="tx-cut")
    video = gr.Video(label="Edited", interactive=False, format=None, elem_id="tx-video")
    files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="tx-downloads")

    def views(st):
        session = EditSession.from_dict(st["session"])
        return st, session.visible_text(), _preview(st)

    @handler
    def do_run(project_id, asset_id, dia, n, verb, pause_s, request: gr.Request, progress=gr.Progress()):
        if asset_id is None:
            raise gr.Error("Pick a video above (upload one in the Projects tab).")
        params = {"asset_id": asset_id, "diarize": bool(dia), "speakers": int(n) or None, "verbatim": bool(verb),
                  "pause_s": float(pause_s or 0.6)}
        snap = run_and_wait(studio, "transcript", project_id=project_id, params=params, request=request,
                            progress=progress)
        data = transcribing.load(store, snap.result["transcript_id"])
        st = {"id": snap.result["transcript_id"], "session": data["session"], "data": data,
              "names": dict(data["speaker_names"]), "spans": []}
        fill, ret = _candidates(data)
        rows = [[k, v] for k, v in st["names"].items()] or [["—", "—"]]
        suggested = [i for i, f in enumerate(data["fillers"]) if f["confidence"] >= 0.7]
        return (*views(st), gr.update(value=rows, row_count=(len(rows), "fixed")),
                gr.update(choices=fill, value=suggested), gr.update(choices=ret, value=[c[1] for c in ret]),
                snap.message)

    def need(st):
        if not st:
            raise gr.Error("Transcribe a video first.")

    def edit(st, fn):
        session = EditSession.from_dict(st["session"])
        note = fn(session)
        st = {**st, "session": session.as_dict()}
        return (*views(st), note or "")

    @handler
    def do_preview(st, edited):
        need(st)

        def apply(session):
            result = session.edit_text(edited or "")
            return " ".join(result.warnings[:3])
        return edit(st, apply)

    @handler
    def do_undo(st):
        need(st)
        return edit(st, lambda s: "" if s.undo() else "Nothing to undo.")

    @handler
    def do_redo(st):
        need(st)
        return edit(st, lambda s: "" if s.redo() else "Nothing to redo.")

    @handler
    def do_reset(st):
        need(st)
        st = {**st, "spans": []}
        return edit(st, lambda s: s.restore(sorted(s.deleted)) and "")

    @handler
    def do_fillers(st, ticked):
        need(st)
        chosen = [st["data"]["fillers"][i] for i in ticked or []]
        spans = [[f["start"], f["end"]] for f in chosen if not f["indices"]]
        st = {**st, "spans": sorted({tuple(x) for x in st.get("spans", []) + spans})}
        st["spans"] = [list(x) for x in st["spans"]]
        indices = [i for f in chosen for i in f["indices"]]
        return edit(st, lambda s: s.delete(indices) and "")

    @handler
    def do_retakes(st, ticked):
        need(st)
        data = st["data"]
        sentences = data["transcript"]["sentences"]
        drop = [k for i in ticked or [] for k in data["retakes"][i]["takes"] if k != data["retakes"][i]["keep"]]
        indices = [w for k in drop for w in range(sentences[k]["first"], sentences[k]["stop"])]
        return edit(st, lambda s: s.delete(indices) and "")

    def rename(st, table):
        if not st:
            return None, ""
        rows = table.values.tolist() if hasattr(table, "values") else (table or [])
        st = {**st, "names": {str(r[0]): str(r[1]).strip() or str(r[0]) for r in rows if r and r[0] != "—"}}
        return st, _preview(st)

    @handler
    def do_cut(project_id, st, fmts, request: gr.Request, progress=gr.Progress()):
        need(st)
        if not fmts:
            raise gr.Error("Tick at least one export format.")
        session = EditSession.from_dict(st["session"])
        snap = run_and_wait(studio, "transcript_cut", project_id=project_id, request=request, progress=progress,
                            params={"transcript_id": st["id"], "deleted": sorted(session.deleted),
                                    "remove_spans": st.get("spans", [])})
        msg = snap.message
        snap = run_and_wait(studio, "export_timeline", project_id=project_id, request=request, progress=progress,
                            params={"timeline_id": snap.result["timeline_id"], "formats": list(fmts)})
        out, mp4 = export_downloads(studio, snap.result["asset_ids"])
        return out, mp4, f"{msg} {snap.message}"

    outs = [state, text, preview]
    run.click(do_run, [ui.project, source, diarize, speakers, verbatim, pause],
              [*outs, names, fillers, retakes, status], api_name="transcribe_for_editing")
    preview_btn.click(do_preview, [state, text], [*outs, status], api_name="transcript_preview")
    undo.click(do_undo, [state], [*outs, status], api_name="transcript_undo")
    redo.click(do_redo, [state], [*outs, status], api_name="transcript_redo")
    reset.click(do_reset, [state], [*outs, status], api_visibility="private")
    fillers_btn.click(do_fillers, [state, fillers], [*outs, status], api_name="transcript_fillers")
    retakes_btn.click(do_retakes, [state, retakes], [*outs, status], api_name="transcript_retakes")
    names.input(rename, [state, names], [state, preview], api_visibility="private")
    cut.click(do_cut, [ui.project, state, formats], [files, video, status], api_name="transcript_cut")
