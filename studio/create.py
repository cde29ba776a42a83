"""Create tab: storyboard frames and scene images, music beds, voice-over, and the animatic that joins them."""
from __future__ import annotations

import gradio as gr

from storage.models import AssetKind
from storage.repo import assets as assets_repo
from storage.repo import scripts as scripts_repo

from .common import UI, cancel_jobs, download_copy, download_files, handler, run_and_wait
from .services.creating import ANIMATIC, STORYBOARD, VOICEOVER, script_assets
from .services.outputs import create_engine, lane

MOODS = ["hopeful", "tense", "melancholic", "playful", "dark", "warm", "eerie", "triumphant", "calm"]
RESOLUTIONS = [("1280×720 (HD)", "1280x720"), ("1920×1080 (Full HD)", "1920x1080"), ("854×480", "854x480"),
               ("640×360 (draft)", "640x360"), ("1080×1920 (vertical)", "1080x1920")]
KINDS = ("scene_image", "storyboard", "music", "voice", "voiceover", "animatic")


def build(ui: UI) -> None:
    studio = ui.studio
    store = studio.store
    with gr.Row():
        script_pick = gr.Dropdown(label="Script (from the Write tab)", choices=[], scale=3,
                                  elem_id="create-script")
        refresh_btn = gr.Button("Refresh", scale=0, min_width=90)
        cancel_btn = gr.Button("Cancel running", scale=0, min_width=140)
    status = gr.Markdown(elem_id="create-status")

    with gr.Tab("Storyboard"):
        with gr.Row():
            sb_seed = gr.Number(value=0, precision=0, label="Seed")
            sb_mood = gr.Dropdown(MOODS, value=None, label="Mood (optional)")
            sb_w = gr.Number(value=768, precision=0, label="Width")
            sb_h = gr.Number(value=432, precision=0, label="Height")
            sb_steps = gr.Number(value=2, precision=0, label="Steps (neural)")
        with gr.Row():
            sb_btn = gr.Button("Generate a frame for every scene", variant="primary", elem_id="storyboard-btn",
                               scale=3)
            sb_missing = gr.Checkbox(value=False, label="Only scenes without a frame (resume)", scale=1)
        sb_gallery = gr.Gallery(label="Storyboard", columns=3, height=360, object_fit="contain",
                                elem_id="storyboard-gallery")

    with gr.Tab("Image"):
        prompt = gr.Textbox(label="Prompt", lines=2, elem_id="image-prompt")
        negative = gr.Textbox(label="Negative prompt")
        with gr.Row():
            seed = gr.Number(value=0, precision=0, label="Seed", elem_id="image-seed")
            steps = gr.Number(value=2, precision=0, label="Steps")
            guidance = gr.Number(value=0.0, label="Guidance")
            width = gr.Number(value=512, precision=0, label="Width", elem_id="image-width")
            height = gr.Number(value=512, precision=0, label="Height", elem_id="image-height")
            batch = gr.Slider(1, 8, value=1, step=1, label="Batch")
        with gr.Row():
            init = gr.Dropdown(label="Start from an image (img2img, optional)", choices=[], scale=3)
            strength = gr.Slider(0, 1, value=0.6, step=0.05, label="Strength", scale=1)
        img_btn = gr.Button("Generate", variant="primary")
        img_gallery = gr.Gallery(label="Images", columns=4, height=300, object_fit="contain")

    with gr.Tab("Music"):
        m_prompt = gr.Textbox(label="Describe the music", placeholder="slow hopeful piano with soft strings")
        with gr.Row():
            m_mood = gr.Dropdown(MOODS, value="hopeful", label="Mood")
            m_dur = gr.Slider(5, 180, value=30, step=1, label="Duration (s)")
            m_seed = gr.Number(value=0, precision=0, label="Seed")
            m_key = gr.Textbox(label="Key (optional)", placeholder="e.g. Am, D, F#m")
            m_tempo = gr.Number(value=None, precision=0, label="Tempo BPM (optional)")
        m_btn = gr.Button("Compose", variant="primary", elem_id="music-btn")
        m_audio = gr.Audio(label="Music bed", type="filepath", interactive=False)

    with gr.Tab("Voice-over"):
        with gr.Row():
            narrate = gr.Checkbox(value=True, label="Narrate the action lines")
            narrator = gr.Textbox(value="", label="Narrator voice (empty: default)", placeholder="en-gb, en-us+f3…")
            rate = gr.Slider(100, 260, value=165, step=5, label="Words per minute")
        with gr.Row():
            vo_btn = gr.Button("Voice the whole script (a character voice each)", variant="primary",
                               elem_id="voiceover-btn", scale=3)
            vo_missing = gr.Checkbox(value=False, label="Only scenes without voice-over (resume)", scale=1)
        vo_list = gr.Dataframe(headers=["scene", "asset", "seconds"], interactive=False)
        with gr.Accordion("Say one line", open=False):
            say_text = gr.Textbox(label="Text", lines=2)
            say_voice = gr.Textbox(value="en-us", label="Voice")
            say_btn = gr.Button("Speak")
            say_audio = gr.Audio(label="Voice", type="filepath", interactive=False)

    with gr.Tab("Animatic"):
        gr.Markdown("Each scene's storyboard frame with a slow pan or zoom, its voice-over, the music bed ducked "
                    "under speech, crossfades and optional burned-in subtitles → an MP4.")
        with gr.Row():
            bed = gr.Dropdown(label="Music bed", choices=[], scale=3)
            size = gr.Dropdown(RESOLUTIONS, value="1280x720", label="Size", scale=1, elem_id="animatic-size")
            burn = gr.Checkbox(value=True, label="Burn in subtitles", scale=1)
        an_btn = gr.Button("Render animatic", variant="primary", elem_id="animatic-btn")
        an_video = gr.Video(label="Animatic", interactive=False, format=None, elem_id="animatic-video")
        an_files = gr.File(label="Downloads (MP4 + SRT)", file_count="multiple", interactive=False)

    # --- read side ---------------------------------------------------------------------------------------------
    def path_of(a):
        return str(store.media.path_for(a.content_hash, a.ext))

    def scripts(project_id, current=None):
        if project_id is None:
            return gr.update(choices=[], value=None)
        with store.session() as s:
            choices = [(sc.title, sc.id) for sc in scripts_repo.list_scripts(session=s, project_id=project_id)]
        ids = [c[1] for c in choices]
        return gr.update(choices=choices, value=current if current in ids else (ids[0] if ids else None))

    def images_and_beds(project_id):
        if project_id is None:
            return gr.update(choices=[]), gr.update(choices=[])
        with store.session() as s:
            imgs = assets_repo.list_assets(session=s, project_id=project_id, kinds=[AssetKind.image],
                                           top_level_only=True)
            auds = [a for a in assets_repo.list_assets(session=s, project_id=project_id, kinds=[AssetKind.audio])
                    if (a.meta or {}).get("purpose") != VOICEOVER]
        beds = [(a.name, a.id) for a in auds]
        return (gr.update(choices=[(a.name, a.id) for a in imgs]),
                gr.update(choices=beds, value=beds[0][1] if beds else None))

    def storyboard_items(project_id, script_id):
        if project_id is None or script_id is None:
            return []
        frames = script_assets(store, project_id, script_id, STORYBOARD)
        return [(path_of(a), a.name) for _, a in sorted(frames.items())]

    def voice_rows(project_id, script_id):
        if project_id is None or script_id is None:
            return []
        vos = script_assets(store, project_id, script_id, VOICEOVER)
        return [[i, a.name, f"{a.duration_s:.1f}"] for i, a in sorted(vos.items())]

    def latest_animatic(project_id, script_id):
        if project_id is None or script_id is None:
            return None, None
        found = script_assets(store, project_id, script_id, ANIMATIC)
        if not found:
            return None, None
        video = found[0]
        with store.session() as s:
            srt = assets_repo.child_with_role(session=s, asset_id=video.id, role="subtitles")
        files = download_files(studio, video) + ([download_copy(studio, srt)] if srt else [])
        return path_of(video), files

    def refresh(project_id, script_id):
        imgs, beds = images_and_beds(project_id)
        vid, files = latest_animatic(project_id, script_id)
        return (storyboard_items(project_id, script_id), voice_rows(project_id, script_id), imgs, beds, vid, files)

    def need(project_id, script_id=0):
        if project_id is None:
            raise gr.Error("Create or pick a project first (Projects tab).")
        if script_id is None:
            raise gr.Error("Pick a script (write or draft one in the Write tab).")

    def follow(kind, project_id, params, request, progress, engine_kind):
        queue = lane(create_engine(store, engine_kind))
        return run_and_wait(studio, kind, project_id=project_id, params=params, request=request,
                            progress=progress, queue=queue)

    # --- actions -----------------------------------------------------------------------------------------------
    @handler
    def do_storyboard(project_id, script_id, seed_v, mood, w, h, st, missing, request: gr.Request,
                      progress=gr.Progress()):
        need(project_id, script_id)
        params = {"project_id": project_id, "script_id": script_id, "mood": mood, "missing_only": bool(missing),
                  "request": {"seed": int(seed_v or 0), "width": int(w), "height": int(h), "steps": int(st)}}
        snap = follow("storyboard", project_id, params, request, progress, "scene")
        return storyboard_items(project_id, script_id), snap.message

    @handler
    def do_image(project_id, p, neg, seed_v, st, g, w, h, b, init_id, strength_v, request: gr.Request,
                 progress=gr.Progress()):
        need(project_id)
        params = {"project_id": project_id, "init_asset_id": init_id,
                  "request": {"prompt": p or "", "negative_prompt": neg or "", "seed": int(seed_v or 0),
                              "steps": int(st), "guidance": float(g or 0), "width": int(w), "height": int(h),
                              "batch": int(b), "strength": float(strength_v)}}
        snap = follow("scene_image", project_id, params, request, progress, "scene")
        with store.session() as s:
            items = [(path_of(assets_repo.get_asset(session=s, asset_id=i)), p) for i in snap.result["asset_ids"]]
        return items, snap.message

    @handler
    def do_music(project_id, p, mood, dur, seed_v, key, tempo, request: gr.Request, progress=gr.Progress()):
        need(project_id)
        req = {"prompt": p or "", "mood": mood, "duration_s": float(dur), "seed": int(seed_v or 0),
               "key": (key or "").strip() or None, "tempo_bpm": int(tempo) if tempo else None}
        snap = follow("music", project_id, {"project_id": project_id, "request": req}, request, progress, "music")
        with store.session() as s:
            a = assets_repo.get_asset(session=s, asset_id=snap.result["asset_id"])
        return path_of(a), snap.message

    @handler
    def do_voiceover(project_id, script_id, narr, who, wpm, missing, request: gr.Request, progress=gr.Progress()):
        need(project_id, script_id)
        params = {"project_id": project_id, "script_id": script_id, "narrate_action": bool(narr),
                  "missing_only": bool(missing),
                  "narrator": (who or "").strip() or None, "rate_wpm": int(wpm)}
        snap = follow("voiceover", project_id, params, request, progress, "speech")
        return voice_rows(project_id, script_id), snap.message

    @handler
    def do_say(project_id, text, voice_id, wpm, request: gr.Request, progress=gr.Progress()):
        need(project_id)
        req = {"text": text or "", "rate_wpm": int(wpm)}
        if (voice_id or "").strip():
            req["voice"] = voice_id.strip()
        snap = follow("voice", project_id, {"project_id": project_id, "request": req}, request, progress, "speech")
        with store.session() as s:
            a = assets_repo.get_asset(session=s, asset_id=snap.result["asset_id"])
        return path_of(a), snap.message

    @handler
    def do_animatic(project_id, script_id, bed_id, wh, burn_in, request: gr.Request, progress=gr.Progress()):
        need(project_id, script_id)
        w, h = (int(x) for x in (wh or "1280x720").split("x"))
        params = {"project_id": project_id, "script_id": script_id, "music_asset_id": bed_id,
                  "burn_subtitles": bool(burn_in), "width": w, "height": h}
        snap = follow("animatic", project_id, params, request, progress, "animatic")
        vid, files = latest_animatic(project_id, script_id)
        return vid, files, snap.message

    def do_cancel(project_id):
        n = cancel_jobs(studio, project_id, KINDS)
        return f"Asked {n} job(s) to stop." if n else "Nothing is running."

    # --- wiring ------------------------------------------------------------------------------------------------
    private = {"api_visibility": "private"}
    views = [sb_gallery, vo_list, init, bed, an_video, an_files]
    ui.project.change(scripts, [ui.project], [script_pick], **private)
    script_pick.change(refresh, [ui.project, script_pick], views, **private)
    refresh_btn.click(scripts, [ui.project, script_pick], [script_pick], **private).then(
        refresh, [ui.project, script_pick], views, **private)
    cancel_btn.click(do_cancel, [ui.project], [status], **private)
    sb_btn.click(do_storyboard, [ui.project, script_pick, sb_seed, sb_mood, sb_w, sb_h, sb_steps, sb_missing],
                 [sb_gallery, status], api_name="storyboard")
    img_btn.click(do_image, [ui.project, prompt, negative, seed, steps, guidance, width, height, batch, init,
                             strength], [img_gallery, status], api_name="generate_image")
    m_btn.click(do_music, [ui.project, m_prompt, m_mood, m_dur, m_seed, m_key, m_tempo], [m_audio, status],
                api_name="compose_music").then(images_and_beds, [ui.project], [init, bed], **private)
    vo_btn.click(do_voiceover, [ui.project, script_pick, narrate, narrator, rate, vo_missing], [vo_list, status],
                 api_name="voiceover")
    say_btn.click(do_say, [ui.project, say_text, say_voice, rate], [say_audio, status], api_name="speak")
    an_btn.click(do_animatic, [ui.project, script_pick, bed, size, burn], [an_video, an_files, status],
                 api_name="animatic")
    if ui.tab is not None:  # scripts written in the Write tab show up when this tab is opened
        ui.tab.select(scripts, [ui.project, script_pick], [script_pick], **private).then(
            refresh, [ui.project, script_pick], views, **private)
