"""Responsibility → Provenance: an asset's lineage (prompts, models, seeds, uploads, human edits), the human/AI
share of the credit, its content-credentials manifest and export, and a checker for any file (embedded or
sidecar credentials, AI watermark)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from storage.repo import assets as assets_repo

from ..common import UI, asset_picker, handler
from ..services import access, credentials
from ..session import user_id
from . import charts

NODE_COLUMNS = ["asset", "name", "kind", "made by", "engine / backend", "model", "prompt", "seed", "human edits"]


def build(ui: UI, tabs: list) -> None:
    studio = ui.studio
    store, settings = studio.store, studio.settings
    with gr.Row():
        asset = gr.Dropdown(label="Asset", choices=[], scale=3, elem_id="prov-asset")
        show = gr.Button("Show lineage", variant="primary", scale=0, min_width=130, elem_id="prov-show")
        export = gr.Button("Export with content credentials", scale=0, min_width=230, elem_id="prov-export")
    share = gr.Markdown(elem_id="prov-share")
    graph = gr.Plot(elem_id="prov-graph")
    nodes = gr.Dataframe(headers=NODE_COLUMNS, interactive=False, wrap=True, elem_id="prov-nodes")
    with gr.Accordion("Content-credentials manifest (C2PA-style, signed on export)", open=False):
        manifest = gr.JSON(elem_id="prov-manifest")
    files = gr.File(label="File + signed sidecar (+ a copy with the manifest embedded where the format allows)",
                    file_count="multiple", visible=False, interactive=False, elem_id="prov-files")
    gr.Markdown("#### Check a file\nUpload any picture or video (and, if you have it, its `.c2pa.json` sidecar): "
                "embedded credentials are verified with c2pa-rs, a sidecar's signature and file hash are checked, "
                "and the invisible AI watermark is looked for (it survives JPEG re-encoding and resizing).")
    with gr.Row():
        to_check = gr.File(label="File to check", elem_id="prov-check-file")
        sidecar = gr.File(label="Sidecar (optional)", file_types=[".json"], elem_id="prov-check-sidecar")
    check = gr.Button("Check", elem_id="prov-check")
    report = gr.Markdown(elem_id="prov-report")

    def pick(project_id, current):
        return asset_picker(studio, project_id, None, current, with_kind=True, top_level_only=False)

    @handler
    def do_show(asset_id, request: gr.Request):
        if asset_id is None:
            raise gr.Error("Pick an asset of this project.")
        with store.session() as s:
            project_id = assets_repo.get_asset(session=s, asset_id=asset_id).project_id
        access.require(store, user_id(studio, request), project_id, "view")
        man, g, c = credentials.build_for_asset(store, settings, int(asset_id))
        rows = []
        for n in sorted(g.nodes.values(), key=lambda n: (-n.depth, n.id)):
            rows.append([n.id, n.name, n.kind, n.source + (" (AI mark found)" if n.ai_marked else ""),
                         f"{n.engine or ''}{' / ' + n.backend if n.backend else ''}", n.model_id or "",
                         (n.prompt or "")[:160], "" if n.seed is None else n.seed,
                         ", ".join(str(e.get("op", e)) if isinstance(e, dict) else str(e) for e in n.human_edits)])
        text = (f"**{g.nodes[g.root].name}** — {c.sentence()} "
                f"Rule: AI share = D × (1 − min(0.5, 0.1 × H)), D = duration-weighted share of AI-generated "
                f"sources, H = human edit operations (README, *Provenance and disclosure*).")
        if c.sources:
            text += " AI sources: " + ", ".join(f"{k} ({v:.0%})" for k, v in list(c.sources.items())[:6]) + "."
        return text, charts.lineage_graph(g, f"Lineage of {g.nodes[g.root].name[:50]}"), rows, man

    @handler
    def do_export(asset_id, request: gr.Request, progress=gr.Progress()):
        if asset_id is None:
            raise gr.Error("Pick an asset of this project.")
        with store.session() as s:
            project_id = assets_repo.get_asset(session=s, asset_id=asset_id).project_id
        access.require(store, user_id(studio, request), project_id, "view")
        progress(0.3, desc="Signing the manifest")
        out = Path(tempfile.mkdtemp(dir=settings.tmp_dir))
        paths = credentials.export(store, settings, int(asset_id), out)
        return gr.update(value=[str(p) for p in paths], visible=True)

    @handler
    def do_check(file, side, progress=gr.Progress()):
        if not file:
            raise gr.Error("Choose a file to check.")
        progress(0.2, desc="Verifying credentials and looking for a watermark")
        path = Path(file if isinstance(file, str) else file.name)
        side_path = Path(side if isinstance(side, str) else side.name) if side else None
        return credentials.describe(credentials.check_file(settings, path, side_path))

    private = {"api_visibility": "private", "show_progress": "hidden"}
    ui.project.change(pick, [ui.project, asset], [asset], **private)
    for tab in tabs:
        tab.select(pick, [ui.project, asset], [asset], **private)
    show.click(do_show, [asset], [share, graph, nodes, manifest], api_name="lineage")
    export.click(do_export, [asset], [files], api_name="export_credentials")
    check.click(do_check, [to_check, sidecar], [report], api_name="check_file")
