"""Tabs whose capabilities are not built yet. Each says what it will hold; none shows a control that does nothing."""
from __future__ import annotations

from .common import UI, coming_soon


def responsibility(ui: UI) -> None:
    coming_soon("Responsibility", [
        "Fairness dashboards (statistical parity, exposure) and SHAP explanations",
        "Provenance of every AI-made asset as a lineage graph, content-credential manifests, review gates",
    ], "the Responsibility issue")
