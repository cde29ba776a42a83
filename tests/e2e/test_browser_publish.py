"""Publish → watch → Audience in a real browser: publish an uploaded video, open its watch page in a second tab,
play it for a few seconds, comment, and see the view, the watch time and the comment in the dashboards."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, create_project, studio_page, upload
from tests.media_factory import write_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# Debian's chromium runs --headless, whose user agent says "HeadlessChrome": the watch page drops such events as a
# bot's. The viewer tab presents itself as the desktop Chrome it is, so its viewing is counted.
VIEWER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
             "Safari/537.36")


def test_publish_watch_and_see_the_view_in_the_dashboard(studio_server, tmp_path):
    clip = write_clip(tmp_path / "harbour.mp4", seconds=15.0, size=(320, 180), audio=None, faststart=True)
    with studio_page(studio_server.url) as page:
        create_project(page, "Harbour channel")
        upload(page, clip)
        page.get_by_role("tab", name="Publish").click()
        expect(page.locator("#publish-video input")).to_have_value("harbour.mp4", timeout=15_000)
        page.locator("#publish-title textarea, #publish-title input").first.fill("Harbour at dawn")
        page.get_by_role("button", name="Publish", exact=True).click()
        expect(page.locator("#publish-status")).to_contain_text("/watch/harbour-at-dawn", timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "studio-publish.png"), full_page=True)

        watch = page.context.browser.new_page(viewport={"width": 1100, "height": 900}, user_agent=VIEWER_UA)
        watch.goto(studio_server.url.rstrip("/") + "/watch/harbour-at-dawn")
        expect(watch.locator("h1#title")).to_have_text("Harbour at dawn")
        expect(watch.locator("#consent")).to_contain_text("counts views anonymously")
        watch.wait_for_function("() => document.querySelector('#player').readyState >= 1", timeout=30_000)
        watch.evaluate("() => { const v = document.querySelector('#player'); v.muted = true; return v.play(); }")
        # two heartbeats (every 5 s) then pause, well past the 10 s watched that make a view (the player drops
        # time-update steps over 1.5 s, which a starved CI machine can produce)
        watch.wait_for_function("() => document.querySelector('#player').currentTime > 13", timeout=40_000)
        watch.evaluate("() => document.querySelector('#player').pause()")
        watch.locator("#comment-text").fill("Beautiful light, I love this harbour!")
        watch.get_by_role("button", name="Post comment").click()
        expect(watch.locator("#comment-status")).to_have_text("Posted.", timeout=15_000)
        watch.screenshot(path=str(ARTIFACTS / "watch-page.png"), full_page=True)
        watch.close()

        page.get_by_role("tab", name="Audience").click()
        page.get_by_role("button", name="Refresh").click()
        kpis = page.locator("#aud-kpis")
        expect(kpis).to_contain_text(re.compile(r"Views\s+1\b"), timeout=60_000)
        expect(kpis).to_contain_text(re.compile(r"Avg view\s+0:(09|1\d)"))
        expect(kpis).to_contain_text(re.compile(r"CTR\s+100\.0%"))
        page.get_by_role("tab", name="Comments", exact=True).click()
        expect(page.locator("#aud-comments")).to_contain_text("Beautiful light, I love this harbour!", timeout=30_000)
        page.get_by_role("tab", name="Retention", exact=True).click()
        expect(page.locator("#aud-retention .plot-container")).to_have_count(1, timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "studio-audience.png"), full_page=True)
