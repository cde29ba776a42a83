"""Shared steps of the browser tests: Debian's chromium through Playwright (never a downloaded browser)."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Iterator

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def studio_page(url: str) -> Iterator[Page]:
    """A 1280×1000 page on the studio at ``url``; screenshots go to ``ARTIFACTS``."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run tests/system-deps.sh (make test does)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            yield page
        finally:
            browser.close()


def create_project(page: Page, name: str) -> None:
    page.get_by_label("New project").fill(name)
    page.get_by_role("button", name="Create project").click()
    expect(page.locator("#project-picker input")).to_have_value(name, timeout=15_000)


def upload(page: Page, path: Path) -> None:
    page.locator("#upload input[type=file]").set_input_files(str(path))
    expect(page.locator("#upload-status")).to_contain_text(f"Added {path.name}", timeout=90_000)
