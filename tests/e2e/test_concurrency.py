"""Ten API sessions at once on one studio (issue 11, requirement 12): each on its own project, every job finishes,
no cross-talk of state, no "database is locked". The scenario is ``bench/concurrency.py``'s, with the cheapest job
(a short voice line) after each upload."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from bench.concurrency import clip_for, job_counts, locked_lines, run_many
from tests.e2e.conftest import start_server, stop_server

SESSIONS = 10


@pytest.mark.slow
def test_ten_sessions_at_once_each_see_only_their_own_project(tmp_path):
    outside = Path(tempfile.mkdtemp(prefix="reelsmith-e2e-", dir="/var/tmp")) if Path("/var/tmp").is_dir() \
        else tmp_path
    server = start_server(outside / "data")
    try:
        clips = [clip_for(tmp_path, i, "ci") for i in range(SESSIONS)]
        results, wall = run_many(server.url, clips, "ci", ("speak",), concurrent=True)
        problems = [f"session {r.index}: {r.error or r.cross_talk}" for r in results if not r.ok]
        assert not problems, "\n".join(problems)
        jobs = job_counts(server.data_dir)
        assert jobs == {"done": 2 * SESSIONS}, jobs  # an upload and a voice line each, all finished
    finally:
        stop_server(server)
        locked = locked_lines(server.log)
        shutil.rmtree(outside, ignore_errors=True) if outside != tmp_path else None
    assert locked == 0, "'database is locked' in the studio's log"
    assert wall < 90
