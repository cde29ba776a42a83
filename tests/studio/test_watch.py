"""The watch page and its endpoints through FastAPI's test client: validation, limits, escaping, concurrency."""
from __future__ import annotations

import json
import re
import threading

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from storage.audience_models import ViewSession
from storage.models import AssetKind
from storage.repo import assets, audience, projects, publications
from studio.services.viewing import TokenBucket, Viewing, device_from_user_agent, region_from_timezone
from studio.watch import make_router
from tests.media_factory import write_clip
# every test taking store or settings runs on SQLite and on PostgreSQL, as [sqlite] and [pg]
from tests.pgfixtures import database_url, db_backend, pytest_generate_tests, settings  # noqa: F401, E402

TOKEN = "tok-abcdefgh"


@pytest.fixture
def site(store, tmp_path):
    clip = write_clip(tmp_path / "c.mp4", seconds=2.0, audio=None)
    with store.session() as s:
        p = projects.create_project(session=s, name="Site")
        v = assets.add_asset(session=s, project_id=p.id, stored=store.media.put_file(clip), kind=AssetKind.video,
                             name="c.mp4", mime="video/mp4", duration_s=2.0)
        pub = publications.publish(session=s, project_id=p.id, asset_id=v.id,
                                   title="<script>alert(1)</script> Harbour", description="Line one\nLine two")
        publications.publish(session=s, project_id=p.id, asset_id=v.id, title="Secret", visibility="private")
        slug = pub.slug
    viewing = Viewing(store)
    yield TestClient(FastAPI(routes=make_router(viewing).routes)), slug, viewing
    viewing.close()


def _config(html: str) -> dict:
    return json.loads(re.search(r'id="rs-config" type="application/json">(.*?)</script>', html).group(1))


def _batch(slug, session, events, token=TOKEN, **extra):
    return {"video": slug, "session": session, "token": token, "tz": "Europe/Oslo", "events": events, **extra}


def test_page_escapes_user_text_and_reports_events(site, store):
    client, slug, viewing = site
    r = client.get(f"/watch/{slug}")
    assert r.status_code == 200 and "<script>alert(1)" not in r.text and "&lt;script&gt;" in r.text
    assert "Line one<br>Line two" in r.text and "Don't count my viewing" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    cfg = _config(r.text)
    ev = [{"type": "impression"}, {"type": "play", "position": 0}, {"type": "heartbeat", "position": 5, "watched": 5}]
    r = client.post("/api/watch/events", json=_batch(slug, cfg["session"], ev),
                    headers={"user-agent": "Mozilla/5.0 (Linux; Android 14; Pixel) Mobile Safari"})
    assert r.status_code == 202 and r.json() == {"accepted": 3}
    assert viewing.flush()  # events are buffered and written in batches
    with store.session() as s:
        row = s.query(ViewSession).one()
        assert (row.device, row.region, row.played, row.watched_s) == ("mobile", "Europe", True, 5.0)
        assert row.counted  # the clip is 2 s long: watching (nearly) all of it counts
        assert row.viewer != TOKEN and len(row.viewer) == 16


@pytest.mark.parametrize("payload, status, needle", [
    ({"events": [{"type": "explode"}]}, 400, "unknown type"),
    ({"events": [{"type": "play", "position": -3}]}, 400, "position"),
    ({"events": [{"type": "play", "position": "NaN"}]}, 400, "position"),
    ({"events": []}, 400, "non-empty"),
    ({"events": [{"type": "play"}] * 51}, 400, "at most 50"),
    ({"token": "x"}, 400, "token"),
    ({"session": "../../etc"}, 400, "session"),
    ({"video": "no-such-video"}, 404, "no such video"),
])
def test_malformed_events_are_rejected_with_4xx(site, payload, status, needle):
    client, slug, _ = site
    body = {**_batch(slug, "sess-12345678", [{"type": "play"}]), **payload}
    r = client.post("/api/watch/events", json=body)
    assert r.status_code == status and needle in r.json()["error"]


def test_oversized_and_non_json_bodies(site):
    client, _, _ = site
    assert client.post("/api/watch/events", content=b"{" * 20_000).status_code == 413
    assert client.post("/api/watch/events", content=b"not json").status_code == 400


def test_private_pages_media_and_ranges(site):
    client, slug, _ = site
    assert client.get("/watch/secret").status_code == 404
    assert client.get("/watch/secret/video").status_code == 404
    full = client.get(f"/watch/{slug}/video")
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    part = client.get(f"/watch/{slug}/video", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == full.content[:100]
    assert "secret" not in client.get("/watch").text.lower()


def test_rate_limit_per_browser(store, site):
    client, slug, viewing = site
    viewing.limiter = TokenBucket(rate=0.001, burst=3)
    codes = [client.post("/api/watch/events", json=_batch(slug, "sess-rate0001", [{"type": "heartbeat"}])
                         ).status_code for _ in range(5)]
    assert codes == [202, 202, 202, 429, 429]
    other = client.post("/api/watch/events", json=_batch(slug, "sess-rate0002", [{"type": "heartbeat"}],
                                                         token="another-browser"))
    assert other.status_code == 202


def test_concurrent_clients_lose_no_event(site, store):
    client, slug, viewing = site
    errors = []

    def worker(n):
        for j in range(25):
            r = client.post("/api/watch/events", json=_batch(
                slug, f"conc-{n:03d}-{j:03d}", [{"type": "impression"}, {"type": "play"},
                                                {"type": "heartbeat", "position": 5, "watched": 5}],
                token=f"browser-{n:04d}"), headers={"user-agent": f"Mozilla/5.0 (X11; Linux) Browser/{n}"})
            if r.status_code != 202:
                errors.append(r.status_code)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert viewing.flush()
    with store.session() as s:
        assert audience.event_count(session=s) == 8 * 25 * 3
        m = audience.summary(session=s)
        # 8 viewers (user agents) each playing 25 times within the hour: 200 plays, one view each
        assert (m["plays"], m["views"], m["viewers"], m["watch_time_s"]) == (200, 8, 8, 1000.0)


def test_comments_are_stored_scored_and_shown_escaped(site):
    client, slug, _ = site
    r = client.post("/api/watch/comments", json={"video": slug, "token": TOKEN, "author": "Ana <b>",
                                                 "text": "I love this, wonderful <i>work</i>!"})
    assert r.status_code == 201
    assert client.post("/api/watch/comments", json={"video": slug, "token": TOKEN, "text": "   "}).status_code == 400
    page = client.get(f"/watch/{slug}").text
    assert "wonderful &lt;i&gt;work&lt;/i&gt;!" in page and "Ana &lt;b&gt;" in page


def test_device_and_region_parsing():
    assert device_from_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148") == "mobile"
    assert device_from_user_agent("Mozilla/5.0 (iPad; CPU OS 17_0)") == "tablet"
    assert device_from_user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/120") == "desktop"
    assert device_from_user_agent("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0)") == "tv"
    assert region_from_timezone("America/Sao_Paulo") == "America"
    assert region_from_timezone("Etc/UTC") == "unknown" and region_from_timezone(None) == "unknown"


def test_title_test_serves_variants_and_counts_their_plays(site, store):
    client, slug, viewing = site
    with store.session() as s:
        pub = publications.by_slug(session=s, slug=slug)
        exp = publications.start_experiment(session=s, publication_id=pub.id,
                                            variants=[{"title": "Dawn over the harbour"}, {"title": "Boats at 5am"}])
        arm_ids = {a.id: a.title for a in exp.arms}
    viewing.rng = np.random.default_rng(0)
    seen = {}
    for n in range(30):
        cfg = _config(html := client.get(f"/watch/{slug}").text)
        assert cfg["arm"] in arm_ids and f">{arm_ids[cfg['arm']]}</h1>" in html
        events = [{"type": "impression"}] + ([{"type": "play"}] if cfg["arm"] == min(arm_ids) else [])
        r = client.post("/api/watch/events", json=_batch(slug, cfg["session"], events, arm=cfg["arm"],
                                                         token=f"viewer-{n:04d}"))
        assert r.status_code == 202
        seen[cfg["arm"]] = seen.get(cfg["arm"], 0) + 1
    forged = client.post("/api/watch/events", json=_batch(slug, "sess-forged01", [{"type": "play"}], arm=999999))
    assert forged.status_code == 202  # counted as a view, but credited to no variant
    assert viewing.flush()
    with store.session() as s:
        arms = {a.id: (a.impressions, a.clicks) for a in
                publications.running_experiment(session=s, publication_id=pub.id).arms}
    assert sum(i for i, _ in arms.values()) == 30
    assert arms[min(arm_ids)] == (seen[min(arm_ids)], seen[min(arm_ids)]) and arms[max(arm_ids)][1] == 0
    # the variant that gets every play is shown more often by Thompson sampling
    assert seen[min(arm_ids)] > seen.get(max(arm_ids), 0)


def test_ai_disclosure_label_only_on_videos_with_ai_material(site, store):
    client, slug, _ = site
    assert 'id="ai-disclosure"' not in client.get(f"/watch/{slug}").text
    with store.session() as s:
        pub = publications.by_slug(session=s, slug=slug)
        pub.ai_generated, pub.ai_share = True, 0.6
    html = client.get(f"/watch/{slug}").text
    assert 'id="ai-disclosure"' in html and "AI-generated content" in html and "60%" in html
