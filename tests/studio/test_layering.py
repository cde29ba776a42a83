"""Dependencies point one way: studio → analytics, engines, storage. Engines and analytics never import Gradio or
storage; storage imports no engine; the UI imports no torch."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> dict[str, set[str]]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def _violations(package: str, forbidden: set[str]) -> list[str]:
    return [f"{file}: {sorted(names & forbidden)}" for file, names in _imports(package).items()
            if names & forbidden]


def test_engines_import_neither_gradio_nor_storage():
    assert _violations("engines", {"gradio", "storage", "studio", "analytics"}) == []


def test_storage_imports_no_ui_and_no_engine():
    assert _violations("storage", {"gradio", "studio", "engines", "torch"}) == []


def test_studio_never_imports_torch_and_services_never_import_gradio():
    assert _violations("studio", {"torch", "diffusers", "transformers"}) == []
    assert [v for v in _violations("studio", {"gradio"}) if "services" in v] == []


def test_analytics_import_neither_ui_nor_storage():
    assert _violations("analytics", {"gradio", "storage", "studio", "sqlalchemy"}) == []
