"""Speech clean-up: the project's ``denoise`` engine (``lite``, ``neural``) against ``noisereduce`` (the peer).

    .venv/bin/python bench/denoise.py [--snrs 0 5 10] [--json]

Inputs: every file in ``../shared/data/speech/manifest.csv`` (skipped with a message when absent), as mono at
its own rate, mixed with four generated noises at each SNR (power over the whole file), fixed seeds: ``white``,
``pink`` and ``brown`` (1/f^β spectra, shelved below 50 Hz so they are not mostly sub-audio rumble) and
``nonstat`` (pink noise whose level swings ±70 % at 0.25 Hz, plus one 200 ms low-frequency thump a second).
SI-SDR (scale-invariant SDR, dB) of each output against the clean file; the figure is the gain over the noisy
input's SI-SDR, averaged over files and noises. The clean files are references as they are (jfk.flac has noise
of its own, which a denoiser removes and the score counts as error). ``clean`` row: the clean files themselves
as input, SI-SDR of the output against them (∞ = passed unchanged; higher is better).

Timing (RTF = processing time / audio duration, one run each): ours through ``engine.run`` on a 16-bit WAV (decode,
clean, write a float WAV; models loaded beforehand, DeepFilterNet's per-run states included); the peer,
``noisereduce.reduce_noise(y, sr)`` with its defaults (non-stationary) and with ``stationary=True``, on the array
in memory (no file I/O). The lite defaults were chosen on eSpeak sentences, not on these files.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.audio import DENOISE  # noqa: E402
from engines.audio.denoise import DenoiseRequest  # noqa: E402
from engines.audio_io import AudioClip, read_wav, write_wav  # noqa: E402
from engines.base import EngineConfig  # noqa: E402
from engines.media import probe, read_audio  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "speech"
KINDS = ("white", "pink", "brown", "nonstat")
TARGETS = {"gain_0db": 8.0, "gain_10db": 0.0, "rtf": 0.2}


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    estimate, reference = estimate - estimate.mean(), reference - reference.mean()
    target = np.dot(estimate, reference) / np.dot(reference, reference) * reference
    error = np.sum((estimate - target) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(np.sum(target ** 2) / error))


def coloured(n: int, rate: int, beta: float, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    y = np.fft.irfft(spectrum / np.maximum(np.fft.rfftfreq(n, 1 / rate), 50.0) ** (beta / 2), n)
    return y / y.std()


def make_noise(kind: str, n: int, rate: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "white":
        return rng.standard_normal(n)
    if kind in ("pink", "brown"):
        return coloured(n, rate, 1.0 if kind == "pink" else 2.0, rng)
    t = np.arange(n) / rate
    y = coloured(n, rate, 1.0, rng) * (1 + 0.7 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 2 * np.pi)))
    width = rate // 5
    for _ in range(int(n / rate)):  # one thump a second (files ≥ 1 s, so a thump always fits)
        start = int(rng.integers(0, n - width))
        y[start:start + width] += 3 * coloured(width, rate, 2.0, rng) * np.hanning(width)
    return y / y.std()


def load_clean() -> list[tuple[str, np.ndarray, int]]:
    with open(DATA / "manifest.csv", newline="") as fh:
        names = [row["path"] for row in csv.DictReader(fh)]
    out = []
    for name in names:
        rate = probe(DATA / name).audio.sample_rate
        out.append((name, read_audio(DATA / name, sample_rate=rate, mono=True).astype(np.float64), rate))
    return out


class Ours:
    def __init__(self, backend: str, folder: Path) -> None:
        self.name, self.folder = backend, folder
        self.engine = DENOISE.create(EngineConfig(backend=backend))
        self.engine.load()

    def __call__(self, noisy_wav: Path, y: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
        out = self.folder / f"out_{self.name}.wav"
        start = time.perf_counter()
        self.engine.run(DenoiseRequest(noisy_wav, out))
        seconds = time.perf_counter() - start
        return read_wav(out).samples[0].astype(np.float64), seconds


class Peer:
    def __init__(self, stationary: bool) -> None:
        import noisereduce

        self.reduce, self.stationary = noisereduce.reduce_noise, stationary
        self.name = "noisereduce " + ("stationary" if stationary else "non-stationary")

    def __call__(self, noisy_wav: Path, y: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        out = self.reduce(y=y.astype(np.float32), sr=rate, stationary=self.stationary)
        return np.asarray(out, np.float64)[: len(y)], time.perf_counter() - start


def run(snrs: list[float]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-denoise-") as tmp:
        return _run(snrs, Path(tmp))


def _run(snrs: list[float], folder: Path) -> dict:
    clean = load_clean()
    cases = []  # (file, kind, snr, path, noisy, clean, rate)
    for f, (name, x, rate) in enumerate(clean):
        for k, kind in enumerate(KINDS):
            for snr in snrs:
                noise = make_noise(kind, len(x), rate, seed=1000 * f + 100 * k + int(snr))
                noisy = x + noise * np.sqrt(np.mean(x ** 2) / 10 ** (snr / 10))
                path = write_wav(folder / f"{f}_{kind}_{snr:g}.wav", AudioClip(noisy.astype(np.float32), rate))
                noisy = read_wav(path).samples[0].astype(np.float64)  # what every method gets (16-bit)
                cases.append((name, kind, snr, path, noisy, x, rate))
        cases.append((name, "clean", None, write_wav(folder / f"{f}_clean.wav", AudioClip(x.astype(np.float32), rate)),
                      x, x, rate))
    methods = [Ours("lite", folder), Ours("neural", folder), Peer(False), Peer(True)]
    results = {}
    for method in methods:
        gains: dict[tuple[str, float], list[float]] = {}
        clean_scores, seconds, audio_s = [], 0.0, 0.0
        for name, kind, snr, path, noisy, x, rate in cases:
            out, took = method(path, noisy, rate)
            seconds, audio_s = seconds + took, audio_s + len(x) / rate
            if kind == "clean":
                clean_scores.append(si_sdr(out[: len(x)], x))
            else:
                gains.setdefault((kind, snr), []).append(si_sdr(out[: len(x)], x) - si_sdr(noisy, x))
        per_snr = {snr: float(np.mean([np.mean(v) for (k, s), v in gains.items() if s == snr])) for snr in snrs}
        results[method.name] = {
            "gain_by_snr": per_snr,
            "gain_by_kind": {f"{k}@{s:g}": round(float(np.mean(v)), 2) for (k, s), v in gains.items()},
            "clean_si_sdr": [round(c, 1) if np.isfinite(c) else "inf" for c in clean_scores],
            "rtf": seconds / audio_s}
        if isinstance(method, Ours):
            method.engine.unload()
    return {"files": [c[0] for c in clean], "snrs": snrs, "results": results}


def report(data: dict) -> None:
    snrs, res = data["snrs"], data["results"]
    print(f"files: {', '.join(data['files'])}; noises: {', '.join(KINDS)}; SI-SDR gain in dB (mean)")
    head = " | ".join(f"{s:g} dB in" for s in snrs)
    print(f"| method | {head} | " + " | ".join(f"{k}@0" for k in KINDS) + " | RTF | clean in → out SI-SDR |")
    print("|" + " --- |" * (len(snrs) + len(KINDS) + 3))
    for name, r in res.items():
        print(f"| {name} | " + " | ".join(f"{r['gain_by_snr'][s]:+.2f}" for s in snrs) + " | "
              + " | ".join(f"{r['gain_by_kind'].get(f'{k}@0', float('nan')):+.2f}" for k in KINDS)
              + f" | {r['rtf']:.3f} | {', '.join(map(str, r['clean_si_sdr']))} |")
    peer = max((n for n in res if n.startswith("noisereduce")), key=lambda n: res[n]["gain_by_snr"][snrs[0]])
    for ours in ("lite", "neural"):
        ratios = ", ".join(f"{s:g} dB: {res[ours]['gain_by_snr'][s] - res[peer]['gain_by_snr'][s]:+.2f} dB"
                           + (f" (×{res[ours]['gain_by_snr'][s] / res[peer]['gain_by_snr'][s]:.2f})"
                              if res[peer]["gain_by_snr"][s] > 0.5 else "") for s in snrs)
        print(f"{ours} vs {peer}, SI-SDR gain difference (ratio): {ratios}; RTF ours/peer "
              f"{res[ours]['rtf'] / res[peer]['rtf']:.2f}")
        r = res[ours]
        checks = [("gain at 0 dB ≥ +8", r["gain_by_snr"].get(0.0, r["gain_by_snr"][snrs[0]]) >= TARGETS["gain_0db"]),
                  ("no loss at 10 dB", r["gain_by_snr"].get(10.0, 0.0) >= TARGETS["gain_10db"]),
                  ("RTF ≤ 0.2", r["rtf"] <= TARGETS["rtf"])]
        print(f"  targets {ours}: " + ", ".join(f"{label} {'met' if ok else 'MISSED'}" for label, ok in checks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--snrs", type=float, nargs="+", default=[0.0, 5.0, 10.0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (DATA / "manifest.csv").is_file():
        print(f"skipped: no speech data at {DATA} (manifest.csv)")
        return 0
    data = run(args.snrs)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
