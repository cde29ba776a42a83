from __future__ import annotations

import pytest

from .harness import FuzzEnv

#: Wall-clock limit of one case in CI: generous (cases take milliseconds to a second), only there so a hang fails
#: the test instead of the whole run.
CASE_TIMEOUT_S = 30.0

#: What the session ran, for the summary line (engine runs in the sandbox, studio jobs).
TALLY = {"engine_runs": 0, "jobs": 0}


@pytest.fixture(scope="session")
def fuzz_env(tmp_path_factory):
    """Seeds, case files and the sandboxed worker, shared by the fuzz tests (the worker is forked here, before any
    job runner starts its threads)."""
    env = FuzzEnv(tmp_path_factory.mktemp("fuzz"), timeout_s=CASE_TIMEOUT_S)
    yield env
    TALLY["engine_runs"] = env.tried
    env.close()


def pytest_terminal_summary(terminalreporter):
    if TALLY["engine_runs"] or TALLY["jobs"]:
        terminalreporter.write_line(f"fuzz: {TALLY['engine_runs']} engine entry-point runs, {TALLY['jobs']} studio "
                                    "jobs on damaged or extreme files")
