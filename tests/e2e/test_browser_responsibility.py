"""Responsibility in a real browser on a team instance (three users, separate browser sessions):
the two-person review gate, lineage and manifest of a generated picture, the watermark found on a re-encoded
copy, fairness of the recommender with mitigation, and a SHAP explanation of one video."""
from __future__ import annotations

import io
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.browser import ARGS, ARTIFACTS, CHROMIUM, create_project, upload
from tests.e2e.conftest import start_server, stop_server
from tests.media_factory import write_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]
USERS = "ann:ann-pass-1,bob:bob-pass-1,cat:cat-pass-1"  # ann is the instance admin (listed first)


@pytest.fixture(scope="module")
def team_server():
    outside = Path(tempfile.mkdtemp(prefix="reelsmith-team-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    server = start_server(outside / "data", "--users", USERS)
    yield server
    stop_server(server)
    shutil.rmtree(outside, ignore_errors=True)


def login(browser: Browser, url: str, name: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(url)
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(f"{name}-pass-1")
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#project-picker")).to_be_visible(timeout=30_000)
    return page


def text_field(page: Page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def check_settled(page: Page, selector: str) -> None:
    """Tick a box that a refresh (fired by selecting the tab) may still reset: tick again until it stays."""
    box = page.locator(selector)
    for _ in range(10):
        if not box.is_checked():
            box.click()
        page.wait_for_timeout(400)
        if box.is_checked():
            return
    expect(box).to_be_checked()


def open_responsibility(page: Page, sub: str) -> None:
    page.get_by_role("tab", name="Responsibility").click()
    page.get_by_role("tab", name=sub).click()


def pick_project(page: Page, name: str) -> None:
    page.locator("#project-picker input").click()
    page.get_by_role("option", name=name).click()
    expect(page.locator("#project-picker input")).to_have_value(name)


def test_review_gate_provenance_watermark_fairness_and_explanations(team_server, tmp_path):
    clip = write_clip(tmp_path / "pier.mp4", seconds=3.0, size=(320, 180), audio=None, faststart=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            # --- bob creates a project, requires review, makes cat an editor, asks to publish -----------------
            bob = login(browser, team_server.url, "bob")
            create_project(bob, "Pier film")
            upload(bob, clip)
            open_responsibility(bob, "Governance")
            expect(bob.locator("#gov-whoami")).to_contain_text("bob", timeout=15_000)
            expect(bob.locator("#gov-whoami")).to_contain_text("owner")
            check_settled(bob, "#gov-review-required input")
            bob.locator("#gov-review-save").click()
            expect(bob.locator("#gov-status")).to_contain_text("needs a second person", timeout=15_000)
            text_field(bob, "gov-member-name").fill("cat")
            bob.locator("#gov-member-save").click()
            expect(bob.locator("#gov-members")).to_contain_text("cat", timeout=15_000)
            bob.get_by_role("tab", name="Publish").click()
            expect(bob.locator("#publish-video input")).to_have_value("pier.mp4", timeout=15_000)
            bob.locator("#publish-title textarea, #publish-title input").first.fill("The pier at noon")
            bob.get_by_role("button", name="Publish", exact=True).click()
            expect(bob.locator("#publish-status")).to_contain_text("requires review", timeout=15_000)
            # bob cannot approve his own request
            open_responsibility(bob, "Governance")
            expect(bob.locator("#gov-pending input")).to_have_value(re.compile("The pier at noon"), timeout=15_000)
            bob.locator("#gov-approve").click()
            expect(bob.get_by_text("cannot approve or reject your own").first).to_be_visible(timeout=15_000)
            for close in bob.locator("button.toast-close").all():  # dismiss it before later screenshots
                close.click()

            # --- cat, in her own browser session, approves -------------------------------------------------
            cat = login(browser, team_server.url, "cat")
            pick_project(cat, "Pier film")
            open_responsibility(cat, "Governance")
            expect(cat.locator("#gov-whoami")).to_contain_text("editor", timeout=15_000)
            expect(cat.locator("#gov-pending input")).to_have_value(re.compile("The pier at noon"), timeout=15_000)
            text_field(cat, "gov-note").fill("Checked the credits.")
            cat.locator("#gov-approve").click()
            expect(cat.locator("#gov-status")).to_contain_text("/watch/the-pier-at-noon", timeout=15_000)
            audit = cat.locator("#gov-audit")
            for needle in ("publish_requested", "approved", "published", "uploaded"):
                expect(audit).to_contain_text(needle, timeout=15_000)
            cat.screenshot(path=str(ARTIFACTS / "studio-responsibility-governance.png"), full_page=True)
            watch = cat.context.new_page()
            watch.goto(team_server.url.rstrip("/") + "/watch/the-pier-at-noon")
            expect(watch.locator("h1#title")).to_have_text("The pier at noon")
            expect(watch.locator("#ai-disclosure")).to_have_count(0)  # a camera upload: no AI label
            watch.close()

            # --- bob generates a picture; its lineage, manifest and exported credentials ------------------
            bob.get_by_role("tab", name="Create").click()
            bob.get_by_role("tab", name="Image").click()
            text_field(bob, "image-prompt").fill("EXT. PIER - NOON. Gulls over the water")
            bob.locator("#image-seed input").fill("7")
            bob.locator("#image-width input").fill("768")
            bob.locator("#image-height input").fill("432")
            bob.get_by_role("button", name="Generate", exact=True).click()
            expect(bob.locator("#create-status")).to_contain_text("Made 1 image", timeout=120_000)
            open_responsibility(bob, "Provenance")
            bob.locator("#prov-asset input").click()
            bob.get_by_role("option", name=re.compile("EXT. PIER")).click()
            bob.locator("#prov-show").click()
            expect(bob.locator("#prov-share")).to_contain_text("100% of the picture and sound comes from AI",
                                                               timeout=30_000)
            expect(bob.locator("#prov-nodes")).to_contain_text("generated")
            bob.locator("#prov-export").click()
            expect(bob.locator("#prov-files")).to_contain_text(re.compile(r"\.png\.c2pa\s*\.json"), timeout=30_000)
            bob.screenshot(path=str(ARTIFACTS / "studio-responsibility-provenance.png"), full_page=True)

            # someone re-posts the picture as a 75 % JPEG (quality 90); the checker finds the mark
            pngs = sorted((team_server.data_dir / "media").rglob("*.png"), key=lambda q: q.stat().st_mtime)
            marked = next(q for q in reversed(pngs) if Image.open(q).size == (768, 432))
            img = Image.open(marked).convert("RGB").resize((576, 324), Image.LANCZOS)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90)
            repost = tmp_path / "repost.jpg"
            repost.write_bytes(buf.getvalue())
            bob.locator("#prov-check-file input[type=file]").set_input_files(str(repost))
            bob.locator("#prov-check").click()
            expect(bob.locator("#prov-report")).to_contain_text("AI-generated mark found", timeout=60_000)
            expect(bob.locator("#prov-report")).to_contain_text("made by this studio")

            # --- ann (admin) makes the sample channel; fairness of the recommender and an explanation ------
            ann = login(browser, team_server.url, "ann")
            ann.get_by_role("tab", name="Publish").click()
            ann.get_by_text("Audience data: platform exports and sample data").click()
            ann.locator("#sample-btn").click()
            expect(ann.locator("#publish-status")).to_contain_text("Sample channel ready", timeout=180_000)
            open_responsibility(ann, "Fairness")
            ann.locator("#fair-model input").click()
            ann.get_by_role("option", name="Recommender (exposure)").click()
            ann.locator("#fair-run").click()
            expect(ann.locator("#fair-summary")).to_contain_text("Largest gap to the fair share", timeout=120_000)
            ann.locator("#fair-mitigate").click()
            expect(ann.locator("#fair-mitigation")).to_contain_text("Exposure gap", timeout=60_000)
            expect(ann.locator("#fair-mitigation")).to_contain_text("NDCG")
            ann.screenshot(path=str(ARTIFACTS / "studio-responsibility-fairness.png"), full_page=True)
            open_responsibility(ann, "Explanations")
            ann.locator("#exp-fit").click()
            expect(ann.locator("#exp-sentence")).to_contain_text("Predicted watch time", timeout=120_000)
            ann.screenshot(path=str(ARTIFACTS / "studio-responsibility-explanations.png"), full_page=True)
        finally:
            browser.close()
