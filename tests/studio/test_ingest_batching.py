"""Event ingest under load (issue 11, requirement 10): accepted requests are buffered and written by one thread in
transactions of many requests; nothing accepted is lost; a full buffer is refused with 503 + Retry-After; close()
writes what is left. Bounded: a few hundred requests, every wait has a timeout."""
from __future__ import annotations

import threading
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from storage.audience_models import ViewEvent, ViewSession
from storage.models import AssetKind
from storage.repo import assets, audience, projects, publications
from studio.services.viewing import Busy, TokenBucket, Viewing
from studio.watch import make_router
# every test taking store or settings runs on SQLite and on PostgreSQL, as [sqlite] and [pg]
from tests.pgfixtures import database_url, db_backend, pytest_generate_tests, settings  # noqa: F401, E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture
def slugs(store):
    with store.session() as s:
        p = projects.create_project(session=s, name="Load")
        v = assets.add_asset(session=s, project_id=p.id, stored=store.media.put_bytes(b"v" * 64, ext=".mp4"),
                             kind=AssetKind.video, name="v.mp4", mime="video/mp4", duration_s=60.0)
        return [publications.publish(session=s, project_id=p.id, asset_id=v.id, title=t).slug for t in ("A", "B")]


def _payload(slug, key, n=5, token="tok-load-0000"):
    return {"video": slug, "session": key, "token": token, "tz": "Europe/Oslo",
            "events": [{"type": "heartbeat", "position": float(k), "watched": 1.0} for k in range(n)]}


def _stored(store) -> tuple[int, int]:
    with store.session() as s:
        return s.query(ViewEvent).count(), s.query(ViewSession).count()


def test_concurrent_requests_are_written_in_few_transactions_and_none_lost(store, slugs):
    viewing = Viewing(store, flush_interval_s=0.25)
    threads_n, per_thread, batch = 16, 40, 5
    accepted, errors, lock = [0], [], threading.Lock()

    def client(n):
        for j in range(per_thread):
            try:  # one address and browser per thread; ten requests per page view, like the player
                got = viewing.ingest(_payload(slugs[n % 2], f"load-{n:03d}-{j // 10:03d}", batch,
                                              token=f"tok-load-{n:04d}"),
                                     client_ip=f"198.51.100.{n}", user_agent=f"{UA} c{n}")
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                accepted[0] += got
    threads = [threading.Thread(target=client, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and accepted[0] == threads_n * per_thread * batch
    assert viewing.flush(timeout=60)
    requests = threads_n * per_thread
    w = viewing.writer
    assert (w.written_requests, w.written_events, w.failed_events) == (requests, accepted[0], 0)
    assert _stored(store) == (accepted[0], threads_n * per_thread // 10)  # stored == accepted
    assert 1 <= w.transactions <= requests // 10, w.transactions  # many requests per transaction
    with store.session() as s:
        assert audience.summary(session=s)["watch_time_s"] == pytest.approx(accepted[0] * 1.0)
    viewing.close()


def test_dashboards_see_events_shortly_after_without_an_explicit_flush(store, slugs):
    viewing = Viewing(store, flush_interval_s=0.2)
    for n in range(1, 4):  # each request arrives while the writer is idle: it must wake up for it
        assert viewing.ingest(_payload(slugs[0], "soon-0001"), client_ip="198.51.100.1", user_agent=UA) == 5
        deadline = time.monotonic() + 5
        while _stored(store)[0] < 5 * n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _stored(store) == (5 * n, 1)
    viewing.close()


def test_a_full_buffer_answers_503_with_retry_after_and_nothing_is_dropped(store, slugs):
    # the writer waits up to 30 s between writes and the buffer holds 10 events: the third request does not fit
    viewing = Viewing(store, max_buffered_events=10, flush_interval_s=30.0)
    client = TestClient(FastAPI(routes=make_router(viewing).routes))
    codes = [client.post("/api/watch/events", json=_payload(slugs[0], f"full-{n:04d}"),
                         headers={"user-agent": UA}) for n in range(3)]
    assert [r.status_code for r in codes] == [202, 202, 503]
    assert codes[2].headers["retry-after"] == "1" and "busy" in codes[2].json()["error"]
    with pytest.raises(Busy):
        viewing.ingest(_payload(slugs[0], "full-0009"), client_ip="198.51.100.1", user_agent=UA)
    assert viewing.writer.pending_events == 10
    assert viewing.flush(timeout=30)  # written: room again
    assert _stored(store) == (10, 2)
    again = client.post("/api/watch/events", json=_payload(slugs[0], "full-0002"), headers={"user-agent": UA})
    assert again.status_code == 202
    viewing.close()  # close() writes what is still buffered ...
    assert _stored(store) == (15, 3)
    after = client.post("/api/watch/events", json=_payload(slugs[0], "full-0003"), headers={"user-agent": UA})
    assert after.status_code == 503  # ... and refuses new requests (the studio is stopping)


def test_one_refused_request_does_not_sink_the_others_in_its_transaction(store, slugs):
    viewing = Viewing(store, flush_interval_s=30.0)
    viewing.ip_limiter = viewing.limiter = TokenBucket(rate=1000.0, burst=1000.0)
    viewing.ingest(_payload(slugs[0], "mine-0001"), client_ip="198.51.100.1", user_agent=UA)
    assert viewing.flush(timeout=30)
    for n in range(5):
        viewing.ingest(_payload(slugs[0], f"good-{n:04d}"), client_ip="198.51.100.1", user_agent=UA)
    # a page view's key replayed for another video: refused when written, alone
    viewing.ingest(_payload(slugs[1], "mine-0001"), client_ip="198.51.100.1", user_agent=UA)
    assert viewing.flush(timeout=30)
    assert _stored(store) == (30, 6) and viewing.writer.failed_events == 5
    viewing.close()


def test_a_database_outage_is_retried_without_losing_events(store, slugs, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from storage.repo import audience as repo

    real, calls = repo.record_many, []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))
        return real(**kwargs)
    monkeypatch.setattr(repo, "record_many", flaky)
    viewing = Viewing(store, flush_interval_s=30.0)
    for n in range(4):
        viewing.ingest(_payload(slugs[0], f"outage-{n:04d}"), client_ip="198.51.100.1", user_agent=UA)
    assert viewing.flush(timeout=30)
    assert len(calls) == 3 and _stored(store) == (20, 4) and viewing.writer.failed_events == 0
    viewing.close()
