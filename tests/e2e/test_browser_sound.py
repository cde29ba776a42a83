"""Edit → Sound in a real browser: upload a clip with (synthesised) speech over noise, transcribe it into editable
captions, fix a word in the table, export SRT/VTT and a burned-in MP4, clean the voice, split into stems (the
labelled lite split: no Demucs weights here) and normalise the loudness."""
from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from engines.speech import REGISTRY as SPEECH
from engines.speech.types import SpeechRequest
from tests.e2e.browser import ARTIFACTS, create_project, studio_page, upload
from tests.media_factory import write_av_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINES = "The harbour opens at dawn. Fishing boats leave before the sun comes up."


def _speech_clip(path):
    result = SPEECH.create().run(SpeechRequest(text=LINES, sample_rate=48000))
    voice = result.clip.samples[0]
    pad = np.zeros(24000, np.float32)
    sound = np.concatenate([pad, voice, pad])
    sound = 0.8 * sound / np.abs(sound).max() + np.random.default_rng(0).normal(0, 0.02, sound.size)
    return write_av_clip(path, sound.astype(np.float32), rate=48000, size=(320, 180))


def test_captions_cleanup_stems_and_loudness(studio_server, tmp_path):
    clip = _speech_clip(tmp_path / "harbour talk.mp4")
    with studio_page(studio_server.url) as page:
        create_project(page, "Sound check")
        upload(page, clip)
        page.get_by_role("tab", name="Edit").click()
        page.get_by_role("tab", name="Sound").click()
        expect(page.locator("#sound-source input")).to_have_value("harbour talk.mp4 (video)", timeout=15_000)

        page.get_by_role("button", name="Transcribe").click()
        expect(page.locator("#sound-status")).to_contain_text("caption", timeout=120_000)
        table = page.locator("#cue-table")
        expect(table).to_contain_text(re.compile(r"harbou?r", re.I), timeout=15_000)
        expect(table).to_contain_text("00:00:0")
        page.screenshot(path=str(ARTIFACTS / "studio-sound-captions.png"), full_page=True)

        page.get_by_role("button", name="Export SRT + VTT").click()
        files = page.locator("#cue-files")
        expect(files).to_contain_text(".srt", timeout=60_000)
        expect(files).to_contain_text(".vtt")
        page.get_by_role("button", name="Burn into the video").click()
        page.wait_for_function("() => { const v = document.querySelector('#burned-video video');"
                               " return v && v.readyState >= 1 && v.duration > 3; }", timeout=180_000)

        page.get_by_role("tab", name="Clean voice").click()
        page.get_by_role("button", name="Clean the voice").click()
        expect(page.locator("#sound-status")).to_contain_text("Cleaned", timeout=120_000)

        page.get_by_role("tab", name="Stems").click()
        page.get_by_role("button", name="Split into stems").click()
        expect(page.locator("#stems-note")).to_contain_text("Lite split", timeout=120_000)

        page.get_by_role("tab", name="Loudness").click()
        page.get_by_role("button", name="Measure and normalise").click()
        expect(page.locator("#loudness-metrics")).to_contain_text("-14.", timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / "studio-sound-loudness.png"), full_page=True)
