"""What the CI tests and ``bench/fuzz.py`` share: the seeds, the case files and the sandbox that runs them.

    env = FuzzEnv(root)                       # seeds built under root/seeds, cases written under root/cases
    outcome = env.run("probe", Case("clip.mp4", "bitflip", 7))
    outcome = env.run_file("probe", env.seeds_dir / "huge.png")
"""
from __future__ import annotations

from pathlib import Path

from .mutate import Case, apply
from .sandbox import Outcome, Sandbox
from .seeds import SEED_NAMES, build_seeds, load


class FuzzEnv:
    def __init__(self, root: Path, *, timeout_s: float = 30.0, memory_gb: float = 6.0, hour_long: bool = True
                 ) -> None:
        import engines

        engines.registries()  # import every engine kind before forking the worker
        self.root = Path(root)
        self.seeds_dir = build_seeds(self.root / "seeds", hour_long=hour_long)
        self.seeds = load(self.seeds_dir, SEED_NAMES)
        self.cases_dir = self.root / "cases"
        self.cases_dir.mkdir(parents=True, exist_ok=True)
        self.work = self.root / "work"
        self.sandbox = Sandbox(timeout_s=timeout_s, memory_gb=memory_gb)
        self.tried = 0

    def close(self) -> None:
        self.sandbox.close()

    def write(self, case: Case) -> Path:
        """The case's file (named as the mutation says, in a folder of its own)."""
        data, name = apply(case, self.seeds)
        folder = self.cases_dir / f"{case.seed_name}-{case.op}-{case.rng_seed}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (name or "noname")
        path.write_bytes(data)
        return path

    def run(self, entry: str, case: Case, *, timeout_s: float | None = None) -> Outcome:
        return self.run_file(entry, self.write(case), timeout_s=timeout_s)

    def run_file(self, entry: str, path: Path, *, timeout_s: float | None = None) -> Outcome:
        self.tried += 1
        return self.sandbox.run(entry, path, self.work, timeout_s=timeout_s)
