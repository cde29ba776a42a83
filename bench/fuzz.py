"""Fuzzing every engine entry point at a large count: the generators and checks of ``tests/fuzz`` (no peer).

    .venv/bin/python bench/fuzz.py --minutes 5                       # as many cases as fit, every entry point
    .venv/bin/python bench/fuzz.py --cases 2000 --seed 7 --json out.json
    .venv/bin/python bench/fuzz.py --entry probe,shots --cases 500
    .venv/bin/python bench/fuzz.py --repro clip.mp4:bitflip:123 --entry probe   # rerun one case, show the trace

Each case is a damaged copy of a real seed file (``tests/fuzz/mutate.py``: bit flips, zeroed ranges, truncations,
empty files, header swaps, random bytes, splices, structure-aware field edits, wrong extensions, repeats), written
once and run through every selected entry point (``tests/fuzz/entrypoints.py``) in a forked worker with a
wall-clock limit (``--timeout``) and an address-space limit (``--memory-gb``). The hand-made extremes
(100000×100000 pictures, 12000² video frames, headers declaring an hour) and the real hour-long files run first.

A case passes when the entry point returns or raises a ``ReelsmithError`` with a message and leaves no files
behind; a failure is any other exception, an empty message, a crash of the worker, a timeout or leftover files.
The report gives, per entry point: cases tried, failures, distinct failure kinds (exception type and where) each
with a reproducer, and the time spent. Exit status 1 when anything failed.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fuzz.entrypoints import ENTRY_POINTS  # noqa: E402
from tests.fuzz.harness import FuzzEnv  # noqa: E402
from tests.fuzz.mutate import OPS, Case  # noqa: E402
from tests.fuzz.seeds import EXTREMES, HOUR_LONG, SEED_NAMES  # noqa: E402


def signature(entry: str, outcome) -> str:
    """What makes two failures "the same bug": entry point, status, exception type and the innermost frame."""
    where = ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', outcome.traceback or "")
    if frames:
        ours = [f for f in frames if "/site-packages/" not in f[0]] or frames
        path, _line, fn = ours[-1]
        where = f" at {Path(path).name}:{fn}"
    return f"{entry}: {outcome.status} {outcome.error_type}{where}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000, help="mutated files to make (each runs through every "
                                                                "selected entry point)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long (whichever comes first)")
    parser.add_argument("--entry", default="", help="comma-separated entry points (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one case may take")
    parser.add_argument("--memory-gb", type=float, default=6.0, help="address space a case may add")
    parser.add_argument("--no-extremes", action="store_true", help="skip the hand-made and hour-long inputs")
    parser.add_argument("--workdir", type=Path, default=None, help="keep seeds and cases here (default: temp)")
    parser.add_argument("--repro", default=None, help="run one case label (seed:op:rng) and print the outcome")
    args = parser.parse_args(argv)

    entries = [e for e in (args.entry.split(",") if args.entry else sorted(ENTRY_POINTS)) if e]
    unknown = [e for e in entries if e not in ENTRY_POINTS]
    if unknown:
        parser.error(f"unknown entry point(s) {unknown}; choose from {sorted(ENTRY_POINTS)}")

    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        env = FuzzEnv(args.workdir or Path(tmp), timeout_s=args.timeout, memory_gb=args.memory_gb)
        try:
            if args.repro:
                return _repro(env, entries, args.repro)
            report = _campaign(env, entries, args)
        finally:
            env.close()
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 1 if report["failures"] else 0


def _repro(env: FuzzEnv, entries: list[str], label: str) -> int:
    path = env.seeds_dir / label if (env.seeds_dir / label).is_file() else env.write(Case.parse(label))
    bad = 0
    for entry in entries:
        outcome = env.run_file(entry, path)
        bad += not outcome.acceptable
        print(f"{entry}: {outcome.describe()}\n  {outcome.summary}")
    print(f"file: {path}")
    return 1 if bad else 0


def _campaign(env: FuzzEnv, entries: list[str], args) -> dict:
    started = time.monotonic()
    deadline = started + args.minutes * 60 if args.minutes else None
    stats = {e: {"tried": 0, "failures": 0, "ok": 0, "clean": 0, "seconds": 0.0, "max_seconds": 0.0,
                 "slowest": ""}
             for e in entries}
    kinds: dict[str, dict] = {}
    by_op: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def record(entry: str, label: str, outcome, op: str) -> None:
        s = stats[entry]
        s["tried"] += 1
        s["seconds"] += outcome.seconds
        if outcome.seconds > s["max_seconds"]:
            s["max_seconds"], s["slowest"] = outcome.seconds, label
        by_op[op][0] += 1
        if outcome.acceptable:
            s[outcome.status] += 1
            return
        s["failures"] += 1
        by_op[op][1] += 1
        key = signature(entry, outcome)
        kind = kinds.setdefault(key, {"signature": key, "entry": entry, "status": outcome.status, "error_type": outcome.error_type,
                                      "message": outcome.message[:300], "count": 0, "repro": label,
                                      "traceback": outcome.traceback[-1500:], "leftovers": outcome.leftovers})
        kind["count"] += 1

    # 1. The hand-made extremes and the real hour-long files
    extremes = []
    if not args.no_extremes:
        for name in EXTREMES + HOUR_LONG:
            for entry in entries:
                if deadline and time.monotonic() > deadline:
                    break
                outcome = env.run_file(entry, env.seeds_dir / name)
                record(entry, name, outcome, "extreme")
                extremes.append({"file": name, "entry": entry, "status": outcome.status,
                                 "error_type": outcome.error_type, "seconds": round(outcome.seconds, 2)})

    # 2. Mutated files, each through every entry point
    rng = random.Random(args.seed)
    made = 0
    while made < args.cases and not (deadline and time.monotonic() > deadline):
        case = Case(rng.choice(SEED_NAMES), rng.choice(OPS), rng.randrange(1 << 32))
        path = env.write(case)
        for entry in entries:
            record(entry, case.label, env.run_file(entry, path), case.op)
        made += 1
        if made % 50 == 0:
            bad = sum(s["failures"] for s in stats.values())
            print(f"  {made} files, {sum(s['tried'] for s in stats.values())} runs, {bad} failures, "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        for child in path.parent.iterdir():
            child.unlink()
        path.parent.rmdir()

    return {"seed": args.seed, "files": made, "runs": sum(s["tried"] for s in stats.values()),
            "failures": sum(s["failures"] for s in stats.values()), "seconds": round(time.monotonic() - started, 1),
            "worker_restarts": env.sandbox.restarts, "per_entry": stats,
            "per_op": {op: {"runs": v[0], "failures": v[1]} for op, v in sorted(by_op.items())},
            "kinds": sorted(kinds.values(), key=lambda k: (k["entry"], -k["count"])), "extremes": extremes}


def _print(report: dict) -> None:
    print(f"\n{report['files']} mutated files, {report['runs']} runs, {report['failures']} failures, "
          f"{report['seconds']} s, worker restarts {report['worker_restarts']}\n")
    print(f"{'entry point':24s} {'tried':>6s} {'ok':>6s} {'clean':>6s} {'fail':>5s} {'time s':>8s} {'max s':>7s}")
    for entry, s in report["per_entry"].items():
        print(f"{entry:24s} {s['tried']:6d} {s['ok']:6d} {s['clean']:6d} {s['failures']:5d} {s['seconds']:8.1f} "
              f"{s['max_seconds']:7.2f}")
    slow = sorted((e for e in report["extremes"] if e["file"] in HOUR_LONG), key=lambda e: -e["seconds"])[:8]
    if slow:
        print("\nSlowest on the real hour-long files:")
        for e in slow:
            print(f"  {e['entry']:22s} {e['file']:18s} {e['status']:8s} {e['error_type'] or '':16s} {e['seconds']:7.1f} s")
    if report["kinds"]:
        print("\nFailure kinds (count, reproducer):")
        for k in report["kinds"]:
            print(f"  {k['entry']}: {k['status']} {k['error_type']} ×{k['count']}  --repro {k['repro']}\n"
                  f"      {k['message'][:160]}")


if __name__ == "__main__":
    raise SystemExit(main())
