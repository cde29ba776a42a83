"""Tabs whose capabilities are not built yet. Each says what it will hold; none shows a control that does nothing."""
from __future__ import annotations

from .common import UI, coming_soon


def publish(ui: UI) -> None:
    coming_soon("Publish", [
        "A watch page served by this studio whose player reports real viewing events",
        "Titles, descriptions and thumbnails, with A/B tests",
    ], "the Publish and Audience issue")


def audience(ui: UI) -> None:
    coming_soon("Audience", [
        "Watch time, CTR, retention curves, segments and comment sentiment (Plotly dashboards)",
        "Recommendations and import of platform exports",
    ], "the Publish and Audience issue")


def responsibility(ui: UI) -> None:
    coming_soon("Responsibility", [
        "Fairness dashboards (statistical parity, exposure) and SHAP explanations",
        "Provenance of every AI-made asset as a lineage graph, content-credential manifests, review gates",
    ], "the Responsibility issue")
