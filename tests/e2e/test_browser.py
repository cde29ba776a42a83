"""A person's path in a real browser: Debian's chromium driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.media_factory import write_clip

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_create_project_upload_clip_and_see_its_thumbnail(studio_server, tmp_path):
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run tests/system-deps.sh (make test does)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    clip = write_clip(tmp_path / "harbour walk.mp4", size=(320, 180), seconds=3.0)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(studio_server.url)
        for tab in ("Projects", "Write", "Create", "Edit", "Publish", "Audience", "Responsibility", "Settings"):
            expect(page.get_by_role("tab", name=tab)).to_be_visible(timeout=30_000)

        page.get_by_label("New project").fill("Harbour documentary")
        page.get_by_role("button", name="Create project").click()
        expect(page.locator("#project-picker input")).to_have_value("Harbour documentary", timeout=15_000)

        page.locator("#upload input[type=file]").set_input_files(str(clip))
        expect(page.locator("#upload-status")).to_contain_text("Added harbour walk.mp4", timeout=90_000)
        thumb = page.locator("#assets-gallery img").first
        expect(thumb).to_be_visible(timeout=30_000)
        width = thumb.evaluate("img => img.naturalWidth")
        assert width >= 320  # the poster image, really loaded from the server

        thumb.click()
        expect(page.get_by_text("Media info and provenance")).to_be_visible(timeout=15_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "studio-projects.png"), full_page=True)

        page.locator("#jobs-panel").get_by_text("Jobs").first.click()
        job_row = page.locator("#jobs-panel").get_by_role("row").filter(has_text="Added harbour walk.mp4").first
        expect(job_row).to_contain_text("ingest", timeout=15_000)
        expect(job_row).to_contain_text("done")
        expect(job_row).to_contain_text("100%")
        job_row.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "studio-jobs.png"), full_page=True)

        page.get_by_role("tab", name="Publish").click()
        expect(page.get_by_text("Not built yet")).to_be_visible()
        page.get_by_role("tab", name="Settings").click()
        expect(page.get_by_text("Device:")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "studio-settings.png"), full_page=True)
        browser.close()
