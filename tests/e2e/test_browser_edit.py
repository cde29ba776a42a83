"""Edit in a real browser: upload a talking clip, detect shots, rough-cut its silences, untick nothing, export
EDL/FCPXML/OTIO/MP4 and play the cut, then stabilise and grade it with their metrics shown."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.test_browser import ARGS, ARTIFACTS, CHROMIUM
from tests.media_factory import write_talk_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_shots_rough_cut_exports_and_enhancements(studio_server, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    clip = write_talk_clip(tmp_path / "interview.mp4", seconds=8.0, gaps=((2.0, 4.5),), size=(320, 180))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(studio_server.url)
        page.get_by_label("New project").fill("Interview")
        page.get_by_role("button", name="Create project").click()
        expect(page.locator("#project-picker input")).to_have_value("Interview", timeout=15_000)
        page.locator("#upload input[type=file]").set_input_files(str(clip))
        expect(page.locator("#upload-status")).to_contain_text("Added interview.mp4", timeout=90_000)

        page.get_by_role("tab", name="Edit").click()
        expect(page.locator("#edit-source input")).to_have_value("interview.mp4", timeout=15_000)
        page.get_by_role("button", name="Detect shots").click()
        expect(page.locator("#edit-status")).to_contain_text("transition(s)", timeout=60_000)
        page.get_by_role("button", name="Rough cut (remove silences)").click()
        expect(page.locator("#edit-status")).to_contain_text("Rough cut: keeps", timeout=60_000)
        expect(page.locator("#clip-toggles input[type=checkbox]")).to_have_count(2, timeout=15_000)
        expect(page.locator("#timeline-plot .plot-container")).to_have_count(1, timeout=15_000)
        page.get_by_role("button", name="Export", exact=True).click()
        expect(page.locator("#edit-status")).to_contain_text("Exported EDL, FCPXML, OTIO, MP4", timeout=120_000)
        downloads = page.locator("#edit-downloads")
        expect(downloads).to_contain_text("Rough cut of interview")
        for ext in (".edl", ".fcpxml", ".otio", ".mp4"):
            expect(downloads).to_contain_text(ext)
        expect(downloads).not_to_contain_text("interview.mp4")
        page.wait_for_function("() => { const v = document.querySelector('#roughcut-video video');"
                               " return v && v.readyState >= 1 && v.duration > 4 && v.duration < 7; }",
                               timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "studio-edit.png"), full_page=True)

        page.get_by_role("tab", name="Stabilise").click()
        page.get_by_role("button", name="Stabilise", exact=True).click()
        expect(page.locator("#edit-status")).to_contain_text("Stabilised: done", timeout=120_000)
        expect(page.get_by_text("jitter_before")).to_be_visible()
        page.get_by_role("tab", name="Colour").click()
        page.get_by_role("button", name="Grade").click()
        expect(page.locator("#edit-status")).to_contain_text("Graded: done", timeout=120_000)
        expect(page.get_by_text("psnr_vs_source")).to_be_visible()
        page.get_by_role("tab", name="Interpolate").click()
        page.get_by_role("button", name="Interpolate", exact=True).click()
        expect(page.locator("#edit-status")).to_contain_text("Interpolated: done", timeout=120_000)
        expect(page.get_by_text("quality_flow_psnr")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "studio-edit-interpolate.png"), full_page=True)
        browser.close()
