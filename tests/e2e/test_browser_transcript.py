"""Edit by transcript in a real browser: transcribe a two-voice clip, strike words in its text, the filler and the
earlier take, see them struck through, cut and export; then find and render a vertical short."""
from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, create_project, studio_page, upload
from tests.media_factory import write_av_clip
from tests.studio.test_transcribing import LINES, RATE, _say

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_edit_by_transcript_and_shorts(studio_server, tmp_path):
    gap = np.zeros(int(0.35 * RATE), np.float32)
    parts = [np.zeros(int(0.5 * RATE), np.float32)]
    for voice, pitch, text in LINES:
        parts += [_say(voice, pitch, text), gap]
    clip = write_av_clip(tmp_path / "harbour talk.mp4", np.concatenate(parts), rate=RATE, size=(320, 180))
    with studio_page(studio_server.url) as page:
        create_project(page, "Harbour talk")
        upload(page, clip)
        page.get_by_role("tab", name="Edit").click()
        expect(page.locator("#edit-source input")).to_have_value("harbour talk.mp4", timeout=15_000)
        page.get_by_role("tab", name="Transcript").click()
        page.get_by_label("Speakers (0 = estimate)").fill("2")
        page.locator("#tx-run").click()
        expect(page.locator("#edit-status")).to_contain_text("Transcript:", timeout=180_000)
        expect(page.locator("#edit-status")).to_contain_text("2 speaker(s)")
        box = page.locator("#tx-text textarea")
        text = box.input_value()
        assert "three summers" in text
        box.fill(text.replace("three summers ", ""))
        page.locator("#tx-preview-btn").click()
        preview = page.locator("#tx-preview")
        expect(preview.locator("del").first).to_have_text("three summers", timeout=15_000)
        page.locator("#tx-fillers-btn").click()
        expect(preview).to_contain_text("pause(s) struck", timeout=15_000)
        expect(preview.locator("del", has_text=re.compile(r"^\s*Um\b"))).to_have_count(1)
        page.locator("#tx-retakes-btn").click()
        expect(preview.locator("del", has_text="restoration")).to_have_count(1, timeout=15_000)
        expect(preview).to_contain_text("S1:")
        page.locator("#tx-cut").click()
        expect(page.locator("#edit-status")).to_contain_text("Transcript cut: keeps", timeout=180_000)
        expect(page.locator("#tx-downloads")).to_contain_text(".fcpxml")
        page.wait_for_function("() => { const v = document.querySelector('#tx-video video');"
                               " return v && v.readyState >= 1 && v.duration > 5; }", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "studio-edit-transcript.png"), full_page=True)

        page.get_by_role("tab", name="Reframe and shorts").click()
        # shorts are cut from the transcribed clip (the exported cut is a new video with no transcript yet)
        expect(page.locator("#edit-source input")).to_have_value("harbour talk.mp4")
        page.get_by_label("Shortest (s)").fill("4")
        page.get_by_label("Longest (s)").fill("12")
        page.locator("#sh-find").click()
        try:
            expect(page.locator("#edit-status")).to_contain_text("short(s) proposed", timeout=120_000)
        except AssertionError:
            raise AssertionError(page.locator(".toast-body").all_inner_texts()) from None
        expect(page.locator("#sh-table")).to_contain_text("score", timeout=15_000)
        page.locator("#sh-render").click()
        expect(page.locator("#edit-status")).to_contain_text(re.compile(r"Rendered \d+ short\(s\) in"),
                                                             timeout=300_000)
        expect(page.locator("#sh-downloads")).to_contain_text(".edl", timeout=15_000)
        expect(page.locator("#sh-gallery img, #sh-gallery video").first).to_be_visible(timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "studio-edit-shorts.png"), full_page=True)
