"""Idea to animatic in a real browser, on the lite backends with no downloads: draft a 5-scene script, make the
storyboard, a music bed and the voice-over, render the animatic and play it in the page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, create_project, studio_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_draft_storyboard_music_voice_and_animatic(studio_server):
    with studio_page(studio_server.url) as page:
        create_project(page, "Storm film")

        # Write: a new script, drafted from a logline, with its live breakdown
        page.get_by_role("tab", name="Write").click()
        page.get_by_label("New script").fill("Storm")
        page.get_by_role("button", name="Create script").click()
        expect(page.locator("#script-picker input")).to_have_value("Storm", timeout=15_000)
        page.get_by_text("Draft with AI").click()
        page.get_by_label("Logline").fill("A harbour pilot must guide a stranger's boat through a storm")
        page.get_by_role("button", name="Draft screenplay").click()
        expect(page.locator("#write-status")).to_contain_text("saved as version 2", timeout=60_000)
        expect(page.locator("#breakdown-summary")).to_contain_text("5 scene(s)", timeout=15_000)
        assert "EXT." in page.locator("#fountain-editor textarea").input_value() or \
            "INT." in page.locator("#fountain-editor textarea").input_value()
        page.screenshot(path=str(ARTIFACTS / "studio-write.png"), full_page=True)

        # Create: storyboard, music, voice-over, animatic
        page.get_by_role("tab", name="Create").click()
        expect(page.locator("#create-script input")).to_have_value("Storm", timeout=15_000)
        page.get_by_role("button", name="Generate a frame for every scene").click()
        expect(page.locator("#create-status")).to_contain_text("Storyboard: 5 frame(s)", timeout=120_000)
        expect(page.locator("#storyboard-gallery img")).to_have_count(5, timeout=15_000)
        page.get_by_role("tab", name="Music").click()
        page.get_by_role("button", name="Compose").click()
        expect(page.locator("#create-status")).to_contain_text("Composed", timeout=120_000)
        page.get_by_role("tab", name="Voice-over").click()
        page.get_by_role("button", name=re.compile("Voice the whole script")).click()
        expect(page.locator("#create-status")).to_contain_text("Voice-over for 5 scene(s)", timeout=180_000)
        page.get_by_role("tab", name="Animatic").click()
        page.locator("#animatic-size input").click()
        page.get_by_role("option", name="640×360 (draft)").click()
        page.get_by_role("button", name="Render animatic").click()
        expect(page.locator("#create-status")).to_contain_text("Animatic:", timeout=300_000)
        video = page.locator("#animatic-video video")
        expect(video).to_have_count(1, timeout=15_000)
        page.wait_for_function("() => { const v = document.querySelector('#animatic-video video');"
                               " return v && v.readyState >= 1 && v.duration > 10; }", timeout=30_000)
        width = video.evaluate("v => v.videoWidth")
        assert width == 640
        video.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function("() => document.querySelector('#animatic-video video').currentTime > 0.3",
                               timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "studio-create-animatic.png"), full_page=True)

        # Every generated asset is in the project with its provenance
        page.get_by_role("tab", name="Projects").click()
        page.locator("#tab-projects").get_by_role("button", name="Refresh").click()
        table = page.locator("#tab-projects").get_by_role("row")
        expect(table.filter(has_text=re.compile(r"Animatic: .*\.mp4"))).to_have_count(1, timeout=15_000)
        expect(table.filter(has_text="Storyboard 4")).to_have_count(1)
        expect(table.filter(has_text="Voice-over 4")).to_have_count(1)
        expect(table.filter(has_text="Music: hopeful")).to_have_count(1)
