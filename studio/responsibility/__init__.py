"""Responsibility tab: fairness of the models, explanations, provenance and content credentials, governance."""
from __future__ import annotations

import gradio as gr

from ..common import UI
from . import fairness, governance, provenance


def build(ui: UI) -> None:
    with gr.Tab("Fairness", elem_id="resp-fairness"):
        fairness.build_fairness(ui)
    with gr.Tab("Explanations", elem_id="resp-explanations"):
        fairness.build_explanations(ui)
    # each sub-tab refreshes when it or the Responsibility tab itself is selected
    tabs = [ui.tab] if ui.tab is not None else []
    with gr.Tab("Provenance", elem_id="resp-provenance") as tab:
        provenance.build(ui, [*tabs, tab])
    with gr.Tab("Governance", elem_id="resp-governance") as tab:
        governance.build(ui, [*tabs, tab])
