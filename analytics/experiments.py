"""Thumbnail/title A/B/n tests as a Beta-Bernoulli bandit with Thompson sampling.

Each arm (version) has impressions and clicks; its click-through rate has a Beta(1 + clicks, 1 + misses)
posterior (uniform prior). Monte Carlo draws from the posteriors give each arm's probability of being best and the
expected loss (CTR given up on average) if it were picked now; the stop rule uses both.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.errors import InvalidData


@dataclass(frozen=True)
class Arm:
    """One version under test."""

    impressions: int
    clicks: int
    name: str = ""


ArmLike = Arm | tuple[int, int] | Sequence[int]


def _arms(arms: Sequence[ArmLike]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if arms is None or len(arms) == 0:
        raise InvalidData("An experiment needs at least one version (thumbnail or title) to test.")
    imp, clk, names = [], [], []
    for i, a in enumerate(arms):
        if isinstance(a, Arm):
            n, c, name = a.impressions, a.clicks, a.name
        else:
            try:
                n, c = a
            except (TypeError, ValueError):
                raise InvalidData(f"Version {i + 1} must be (impressions, clicks).") from None
            name = ""
        if not name:
            name = chr(ord("A") + i) if i < 26 else f"#{i + 1}"
        try:
            n_f, c_f = float(n), float(c)
        except (TypeError, ValueError):
            raise InvalidData(f"Version '{name}': impressions and clicks must be numbers.") from None
        if not (np.isfinite(n_f) and np.isfinite(c_f)) or n_f != int(n_f) or c_f != int(c_f):
            raise InvalidData(f"Version '{name}': impressions and clicks must be whole numbers.")
        if n_f < 0 or c_f < 0:
            raise InvalidData(f"Version '{name}': impressions and clicks cannot be negative.")
        if c_f > n_f:
            raise InvalidData(f"Version '{name}' has more clicks ({int(c_f)}) than impressions ({int(n_f)}).")
        imp.append(int(n_f))
        clk.append(int(c_f))
        names.append(name)
    return np.asarray(imp, dtype=np.int64), np.asarray(clk, dtype=np.int64), names


def _prob(p: float) -> str:
    return ">99%" if p >= 0.995 else f"{p:.0%}"


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def choose_arm(arms: Sequence[ArmLike], rng: np.random.Generator | int | None = None) -> int:
    """Thompson sampling: draw one CTR per arm from its posterior and show the arm with the highest draw."""
    n, c, _ = _arms(arms)
    return int(np.argmax(_rng(rng).beta(1 + c, 1 + n - c)))


@dataclass(frozen=True)
class ArmPosterior:
    name: str
    impressions: int
    clicks: int
    mean: float
    lower: float
    upper: float
    p_best: float
    expected_loss: float

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "impressions": self.impressions, "clicks": self.clicks, "mean": self.mean,
                "lower": self.lower, "upper": self.upper, "p_best": self.p_best,
                "expected_loss": self.expected_loss}


def posteriors(arms: Sequence[ArmLike], draws: int = 20000, rng: np.random.Generator | int | None = 0,
               level: float = 0.95) -> list[ArmPosterior]:
    """Posterior mean, equal-tailed credible interval, P(best) and expected loss per arm.

    ``rng`` defaults to a fixed seed so the same counts always give the same numbers.
    """
    from scipy import stats

    n, c, names = _arms(arms)
    if draws < 100:
        raise InvalidData("Use at least 100 posterior draws.")
    a, b = 1 + c, 1 + n - c
    samples = _rng(rng).beta(a, b, size=(draws, len(n)))
    best = samples.max(axis=1)
    p_best = np.bincount(samples.argmax(axis=1), minlength=len(n)) / draws
    loss = (best[:, None] - samples).mean(axis=0)
    tail = (1 - level) / 2
    lo, hi = stats.beta.ppf(tail, a, b), stats.beta.ppf(1 - tail, a, b)
    return [ArmPosterior(name=names[i], impressions=int(n[i]), clicks=int(c[i]), mean=float(a[i] / (a[i] + b[i])),
                         lower=float(lo[i]), upper=float(hi[i]), p_best=float(p_best[i]),
                         expected_loss=float(loss[i])) for i in range(len(n))]


@dataclass(frozen=True)
class Decision:
    """Whether to stop the test; ``winner`` is the arm index when stopping."""

    stop: bool
    winner: int | None
    leader: int
    p_best: float
    expected_loss: float
    reason: str
    arms: list[ArmPosterior]

    def as_dict(self) -> dict[str, Any]:
        return {"stop": self.stop, "winner": self.winner, "leader": self.leader, "p_best": self.p_best,
                "expected_loss": self.expected_loss, "reason": self.reason, "arms": [a.as_dict() for a in self.arms]}


def stop_rule(arms: Sequence[ArmLike], p_best: float = 0.95, max_loss: float = 0.001, min_impressions: int = 100,
              draws: int = 20000, rng: np.random.Generator | int | None = 0) -> Decision:
    """Stop with a winner when the leader has P(best) ≥ ``p_best``, expected loss < ``max_loss`` (absolute CTR;
    0.001 = 0.1 percentage points) and every arm has at least ``min_impressions``; otherwise keep testing."""
    n, _, _ = _arms(arms)
    if len(n) < 2:
        raise InvalidData("An A/B test needs at least two versions to compare.")
    post = posteriors(arms, draws=draws, rng=rng)
    lead = int(np.argmax([p.p_best for p in post]))
    top = post[lead]
    runner = max((p for i, p in enumerate(post) if i != lead), key=lambda p: p.mean)
    thin = [p for p in post if p.impressions < min_impressions]
    if thin:
        reason = (f"Keep testing: '{thin[0].name}' has only {thin[0].impressions} impressions; each version needs "
                  f"at least {min_impressions} before a winner is called.")
    elif top.p_best < p_best:
        reason = (f"Keep testing: the leader '{top.name}' is best with {_prob(top.p_best)} probability; "
                  f"a winner needs {p_best:.0%}.")
    elif top.expected_loss >= max_loss:
        reason = (f"Keep testing: picking '{top.name}' now could still cost {top.expected_loss:.2%} CTR on "
                  f"average; the limit is {max_loss:.2%}.")
    else:
        reason = (f"Stop: '{top.name}' wins with {_prob(top.p_best)} probability of the best click-through rate "
                  f"({top.mean:.2%} vs {runner.mean:.2%} for '{runner.name}'); expected loss "
                  f"{top.expected_loss:.3%} CTR.")
        return Decision(True, lead, lead, top.p_best, top.expected_loss, reason, post)
    return Decision(False, None, lead, top.p_best, top.expected_loss, reason, post)


@dataclass(frozen=True)
class DensityChart:
    """Posterior density of each arm's CTR on a shared grid, for a line chart."""

    x: np.ndarray
    names: list[str]
    pdf: np.ndarray  # shape (arms, points)

    def as_dict(self) -> dict[str, Any]:
        return {"x": self.x.tolist(), "series": [{"name": n, "pdf": row.tolist()} for n, row in
                                                 zip(self.names, self.pdf)]}


def posterior_density(arms: Sequence[ArmLike], points: int = 200) -> DensityChart:
    """Beta pdf per arm over a grid covering 99.9% of every posterior."""
    from scipy import stats

    n, c, names = _arms(arms)
    a, b = 1 + c, 1 + n - c
    lo = float(np.min(stats.beta.ppf(0.0005, a, b)))
    hi = float(np.max(stats.beta.ppf(0.9995, a, b)))
    x = np.linspace(lo, hi, max(int(points), 2))
    pdf = np.nan_to_num(stats.beta.pdf(x[None, :], a[:, None], b[:, None]), posinf=0.0)
    return DensityChart(x=x, names=names, pdf=pdf)
