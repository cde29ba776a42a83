"""Write tab: a Fountain screenplay editor with a live scene breakdown, versions with diffs, and AI drafting."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from engines.script import parse
from storage.paths import uploaded_file
from storage.repo import audit
from storage.repo import scripts as scripts_repo

from .common import UI, cancel_jobs, handler
from .services import access
from .services.outputs import create_engine, lane
from .services.writing import latest_text
from .session import user_id

GENRES = ["drama", "thriller", "comedy", "documentary", "sci-fi", "horror", "romance", "adventure"]
TONES = ["hopeful", "tense", "melancholic", "playful", "dark", "warm", "eerie", "triumphant"]
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def breakdown(text: str):
    """Summary line, scene table and scene choices for the editor's current text."""
    play = parse(text or "")
    rows = [[sc.index, sc.heading, ", ".join(sc.characters), _clock(sc.est_seconds)] for sc in play.scenes]
    chars = ", ".join(play.characters[:12]) + ("…" if len(play.characters) > 12 else "")
    summary = (f"**{len(play.scenes)} scene(s)** · about **{_clock(play.total_seconds)}** of screen time"
               + (f" · {chars}" if chars else ""))
    choices = [(f"{sc.index}. {sc.heading}", sc.index) for sc in play.scenes]
    return summary, rows, gr.update(choices=choices, value=choices[0][1] if choices else None)


def build(ui: UI) -> None:
    studio = ui.studio
    with gr.Row():
        script_pick = gr.Dropdown(label="Script", choices=[], value=None, scale=2, elem_id="script-picker")
        new_title = gr.Textbox(label="New script", placeholder="Title", scale=2)
        new_btn = gr.Button("Create script", scale=1)
        importer = gr.UploadButton("Import .fountain", file_types=[".fountain", ".txt", ".spmd"], scale=1)
    with gr.Row():
        with gr.Column(scale=3):
            editor = gr.Textbox(label="Screenplay (Fountain)", lines=26, max_lines=80, elem_id="fountain-editor",
                                placeholder="INT. HARBOUR OFFICE - NIGHT\n\nMara studies the tide charts.\n\n"
                                            "MARA\nIt comes in at four.")
            with gr.Row():
                note = gr.Textbox(label="Version note", placeholder="what changed", scale=3)
                save_btn = gr.Button("Save version", variant="primary", scale=1)
                download = gr.DownloadButton("Download .fountain", scale=1)
            status = gr.Markdown(elem_id="write-status")
        with gr.Column(scale=2):
            summary = gr.Markdown("**0 scene(s)**", elem_id="breakdown-summary")
            table = gr.Dataframe(headers=["#", "scene", "characters", "time"], interactive=False, wrap=True,
                                 elem_id="breakdown")

    with gr.Accordion("Draft with AI", open=False, elem_id="draft-panel"):
        logline = gr.Textbox(label="Logline", lines=2,
                             placeholder="A harbour pilot must guide a stranger's boat through a storm…")
        with gr.Row():
            genre = gr.Dropdown(GENRES, value="drama", label="Genre")
            tone = gr.Dropdown(TONES, value="hopeful", label="Tone")
            n_scenes = gr.Slider(1, 20, value=5, step=1, label="Scenes")
            seed = gr.Number(value=0, precision=0, label="Seed")
        with gr.Row():
            draft_btn = gr.Button("Draft screenplay", variant="primary")
            cancel_btn = gr.Button("Cancel")
    with gr.Accordion("Rewrite a scene", open=False):
        with gr.Row():
            scene_pick = gr.Dropdown(label="Scene", choices=[], scale=2)
            instruction = gr.Textbox(label="How", placeholder="more tense, shorter, at night…", scale=3)
            rewrite_btn = gr.Button("Rewrite", scale=1)
    with gr.Accordion("Dialogue", open=False):
        with gr.Row():
            situation = gr.Textbox(label="Situation", scale=3)
            speakers = gr.Textbox(label="Characters (comma separated)", scale=2)
            n_lines = gr.Slider(2, 30, value=6, step=1, label="Lines", scale=1)
        dialogue_btn = gr.Button("Write dialogue")
        dialogue_out = gr.Textbox(label="Dialogue (subtitle-ready, paste it into the script)", lines=8,
                                  buttons=["copy"])
    with gr.Accordion("Versions", open=False):
        with gr.Row():
            version_pick = gr.Dropdown(label="Version", choices=[], scale=3)
            restore_btn = gr.Button("Load into editor", scale=1)
        diff = gr.Code(label="Changes from the previous version", language=None, interactive=False)

    # --- helpers -----------------------------------------------------------------------------------------------
    def script_choices(project_id, value=None):
        if project_id is None:
            return gr.update(choices=[], value=None)
        with studio.store.session() as s:
            choices = [(sc.title, sc.id) for sc in scripts_repo.list_scripts(session=s, project_id=project_id)]
        ids = [c[1] for c in choices]
        return gr.update(choices=choices, value=value if value in ids else (ids[0] if ids else None))

    def version_choices(script_id):
        if script_id is None:
            return gr.update(choices=[], value=None)
        with studio.store.session() as s:
            versions = scripts_repo.get_script(session=s, script_id=script_id).versions
            choices = [(f"v{v.number} · {v.created_at:%Y-%m-%d %H:%M} · {v.note}", v.number)
                       for v in reversed(versions)]
        return gr.update(choices=choices, value=choices[0][1] if choices else None)

    def load_script(script_id):
        text = latest_text(studio.store, script_id) if script_id is not None else ""
        return (text, version_choices(script_id))

    def show_diff(script_id, number):
        if script_id is None or not number or number <= 1:
            return ""
        with studio.store.session() as s:
            return scripts_repo.diff_versions(session=s, script_id=script_id, old=number - 1, new=number) or \
                "(no changes)"

    def need_script(script_id):
        if script_id is None:
            raise gr.Error("Create or pick a script first.")

    def run_job(kind, project_id, params, request, progress, partial_to_editor=False):
        """Submit a job and follow it; yields (text or None, status) while it runs, returns the final snapshot."""
        queue = lane(create_engine(studio.store, "script"))
        job_id = studio.runner.submit(kind, project_id=project_id, params=params, queue=queue,
                                      created_by_id=user_id(studio, request))
        snap = None
        for snap in studio.runner.wait(job_id):
            progress(snap.progress, desc=snap.message)
            if partial_to_editor and snap.result.get("partial"):
                yield snap.result["partial"], f"Drafting… {snap.message}"
        if snap.status.value != "done":
            raise gr.Error(snap.message or f"The {kind} job {snap.status.value}.")
        return snap

    # --- handlers ----------------------------------------------------------------------------------------------
    @handler
    def create(project_id, title, request: gr.Request):
        if project_id is None:
            raise gr.Error("Create or pick a project first (Projects tab).")
        with studio.store.session() as s:
            access.require(studio.store, user_id(studio, request), project_id, "edit", session=s)
            sid = scripts_repo.create_script(session=s, project_id=project_id, title=title,
                                             created_by_id=user_id(studio, request)).id
        return script_choices(project_id, sid), ""

    @handler
    def import_file(project_id, script_id, file, request: gr.Request):
        if project_id is None:
            raise gr.Error("Create or pick a project first (Projects tab).")
        path = uploaded_file(studio.settings, file if isinstance(file, str) else file.name)  # uploads only
        data = path.read_bytes()
        if len(data) > MAX_IMPORT_BYTES:
            raise gr.Error(f"{path.name} is larger than {MAX_IMPORT_BYTES // 1048576} MB; is it really a script?")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise gr.Error(f"{path.name} is not UTF-8 text (byte {exc.start} cannot be read). "
                           "Save it as UTF-8 and import it again.") from None
        with studio.store.session() as s:
            access.require(studio.store, user_id(studio, request), project_id, "edit", session=s)
            if script_id is None:
                script_id = scripts_repo.create_script(session=s, project_id=project_id, title=path.stem,
                                                       created_by_id=user_id(studio, request)).id
            v = scripts_repo.save_version(session=s, script_id=script_id, text=text, note=f"import {path.name}",
                                          created_by_id=user_id(studio, request))
            number = v.number
        return script_choices(project_id, script_id), text, f"Imported {path.name} as version {number}."

    @handler
    def save(script_id, text, note_text, request: gr.Request):
        need_script(script_id)
        uid = user_id(studio, request)
        with studio.store.session() as s:
            project_id = scripts_repo.get_script(session=s, script_id=script_id).project_id
            access.require(studio.store, uid, project_id, "edit", session=s)
            before = scripts_repo.latest_version(session=s, script_id=script_id)
            v = scripts_repo.save_version(session=s, script_id=script_id, text=text or "",
                                          note=note_text or "edit", created_by_id=user_id(studio, request))
            same = before is not None and before.id == v.id
            if not same:
                audit.record(session=s, action="edited", user_id=uid, project_id=project_id,
                             target=f"script:{script_id}", detail={"version": v.number, "note": note_text or "edit"})
        msg = "No changes since the last version." if same else f"Saved version {v.number}."
        return msg, "", version_choices(script_id)

    def export(script_id, text):
        if script_id is None:
            return None
        with studio.store.session() as s:
            title = scripts_repo.get_script(session=s, script_id=script_id).title
        out = Path(tempfile.mkdtemp(dir=studio.settings.tmp_dir)) / f"{title or 'script'}.fountain"
        out.write_text(text or "", encoding="utf-8")
        return str(out)

    @handler
    def do_draft(project_id, script_id, log, gen, ton, scenes, seed_value, request: gr.Request,
                 progress=gr.Progress()):
        need_script(script_id)
        params = {"script_id": script_id, "request": {"logline": log or "", "genre": gen, "tone": ton,
                                                      "scenes": int(scenes), "seed": int(seed_value or 0)}}
        gen_ = run_job("draft", project_id, params, request, progress, partial_to_editor=True)
        try:
            while True:
                text, msg = next(gen_)
                yield text, msg, gr.update()
        except StopIteration as stop:
            snap = stop.value
        yield snap.result["text"], snap.message, version_choices(script_id)

    @handler
    def do_rewrite(project_id, script_id, text, scene_index, how, request: gr.Request, progress=gr.Progress()):
        need_script(script_id)
        if scene_index is None:
            raise gr.Error("Pick the scene to rewrite.")
        params = {"script_id": script_id, "text": text, "scene_index": int(scene_index), "instruction": how or ""}
        snap = _drain(run_job("rewrite", project_id, params, request, progress))
        return snap.result["text"], snap.message, version_choices(script_id)

    @handler
    def do_dialogue(project_id, what, who, lines, request: gr.Request, progress=gr.Progress()):
        params = {"situation": what or "", "characters": [c for c in (who or "").split(",") if c.strip()],
                  "lines": int(lines)}
        snap = _drain(run_job("dialogue", project_id, params, request, progress))
        return snap.result["text"]

    def cancel_drafts(project_id):
        cancel_jobs(studio, project_id, ("draft", "rewrite", "dialogue"))

    # --- wiring ------------------------------------------------------------------------------------------------
    private = {"api_visibility": "private"}
    ui.project.change(script_choices, [ui.project], [script_pick], **private)
    script_pick.change(load_script, [script_pick], [editor, version_pick], **private)
    new_btn.click(create, [ui.project, new_title], [script_pick, new_title], api_name="create_script")
    importer.upload(import_file, [ui.project, script_pick, importer], [script_pick, editor, status],
                    api_name="import_script")
    editor.change(breakdown, [editor], [summary, table, scene_pick], trigger_mode="always_last",
                  show_progress="hidden", api_name="breakdown")
    save_btn.click(save, [script_pick, editor, note], [status, note, version_pick], api_name="save_version")
    download.click(export, [script_pick, editor], [download], **private)
    draft_btn.click(do_draft, [ui.project, script_pick, logline, genre, tone, n_scenes, seed],
                    [editor, status, version_pick], api_name="draft")
    cancel_btn.click(cancel_drafts, [ui.project], None, **private)
    rewrite_btn.click(do_rewrite, [ui.project, script_pick, editor, scene_pick, instruction],
                      [editor, status, version_pick], api_name="rewrite_scene")
    dialogue_btn.click(do_dialogue, [ui.project, situation, speakers, n_lines], [dialogue_out],
                       api_name="write_dialogue")
    version_pick.change(show_diff, [script_pick, version_pick], [diff], **private)

    def restore(script_id, number):
        need_script(script_id)
        with studio.store.session() as s:
            for v in scripts_repo.get_script(session=s, script_id=script_id).versions:
                if v.number == number:
                    return v.text, f"Loaded version {number} into the editor (save to make it the latest)."
        raise gr.Error("Pick a version first.")

    restore_btn.click(handler(restore), [script_pick, version_pick], [editor, status], **private)


def _drain(gen):
    """Run a ``run_job`` generator to its end and return its final snapshot."""
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value
