"""Edit in a real browser: upload a talking clip, detect shots, rough-cut its silences, untick nothing, export
EDL/FCPXML/OTIO/MP4 and play the cut, then stabilise and grade it with their metrics shown."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, create_project, studio_page, upload
from tests.media_factory import write_talk_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_shots_rough_cut_exports_and_enhancements(studio_server, tmp_path):
    clip = write_talk_clip(tmp_path / "interview.mp4", seconds=8.0, gaps=((2.0, 4.5),), size=(320, 180))
    with studio_page(studio_server.url) as page:
        create_project(page, "Interview")
        upload(page, clip)

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
        expect(downloads.get_by_role("cell", name="interview.mp4", exact=True)).to_have_count(0)  # not the source
        expect(downloads).to_contain_text("c2pa")  # the rendered MP4 comes with its signed credentials sidecar
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
