"""A person's path in a real browser: Debian's chromium driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, create_project, studio_page, upload
from tests.media_factory import write_clip

pytestmark = pytest.mark.browser


def test_create_project_upload_clip_and_see_its_thumbnail(studio_server, tmp_path):
    clip = write_clip(tmp_path / "harbour walk.mp4", size=(320, 180), seconds=3.0)
    with studio_page(studio_server.url) as page:
        for tab in ("Projects", "Write", "Create", "Edit", "Publish", "Audience", "Responsibility", "Settings"):
            expect(page.get_by_role("tab", name=tab)).to_be_visible(timeout=30_000)

        create_project(page, "Harbour documentary")
        upload(page, clip)
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

        page.get_by_role("tab", name="Responsibility").click()
        expect(page.locator("#fair-run")).to_be_visible()
        page.get_by_role("tab", name="Settings").click()
        expect(page.get_by_text("Device:")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "studio-settings.png"), full_page=True)
