"""Loudness normalisation: the project's ``loudness`` engine (``lite``) against plain pyloudnorm.

    .venv/bin/python bench/loudness.py [--target -14] [--true-peak -1] [--json]

Inputs: every ``../shared/data/music/*.ogg`` (skipped with a message when there are none), decoded once at its own
rate. Project: ``LoudnessNormaliser`` to ``--target`` LUFS / ``--true-peak`` dBTP, timed around ``run()`` (decode,
measurement, gain + true-peak limiter, 16-bit WAV write and re-measurement). Peer: ``pyloudnorm.Meter.
integrated_loudness`` + ``pyloudnorm.normalize.loudness`` on the decoded samples (a gain only: no limiter), timed
around those two calls (its decode is not counted). Both outputs are measured with the same code: integrated
loudness with pyloudnorm, true peak 4× oversampled; ``over 0 dBFS`` is the share of the peer's samples that a
fixed-point file would clip.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.audio.loudness import LoudnessNormaliser, LoudnessRequest, true_peak  # noqa: E402
from engines.audio_io import read_wav  # noqa: E402

MUSIC = ROOT.parent / "shared" / "data" / "music"


def pyln(x: np.ndarray, rate: int) -> float:
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(x.T.astype(np.float64)))


def bench_file(path: Path, target: float, ceiling: float, tmp: Path) -> dict:
    import pyloudnorm

    clip = read_wav(path)
    x, rate = clip.samples, clip.sample_rate
    started = time.perf_counter()
    result = LoudnessNormaliser().run(LoudnessRequest(path, tmp / f"{path.stem}.wav", target, ceiling))
    project_s = time.perf_counter() - started
    out = read_wav(tmp / f"{path.stem}.wav").samples
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Possible clipped samples in output."
        plain = pyloudnorm.normalize.loudness(x.T.astype(np.float64), pyln(x, rate), target).T
    peer_s = time.perf_counter() - started
    return {
        "file": path.name, "seconds_of_audio": round(x.shape[1] / rate, 1), "rate": rate,
        "in_lufs": round(pyln(x, rate), 2), "in_dbtp": round(true_peak(x), 2),
        "project_lufs": round(pyln(out, rate), 2), "project_dbtp": round(true_peak(out), 2),
        "project_gain_db": round(result.gain_db, 2), "project_limited": result.limited,
        "project_s": round(project_s, 2),
        "peer_lufs": round(pyln(plain, rate), 2), "peer_dbtp": round(true_peak(plain), 2),
        "peer_over_0dbfs_pct": round(100 * float(np.mean(np.abs(plain) > 1.0)), 3), "peer_s": round(peer_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=-14.0)
    parser.add_argument("--true-peak", type=float, default=-1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    files = sorted(MUSIC.glob("*.ogg"))
    if not files:
        print(f"skipped: no .ogg files in {MUSIC}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rows = [bench_file(f, args.target, args.true_peak, Path(tmp)) for f in files]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"target {args.target:g} LUFS, ceiling {args.true_peak:g} dBTP")
    print(f"{'file':40} {'in LUFS/dBTP':>14} {'project LUFS/dBTP':>18} {'time':>6} {'peer LUFS/dBTP':>15} "
          f"{'>0dBFS':>7} {'time':>6}")
    for r in rows:
        print(f"{r['file'][:40]:40} {r['in_lufs']:6.2f}/{r['in_dbtp']:6.2f} {r['project_lufs']:9.2f}/"
              f"{r['project_dbtp']:6.2f}{'*' if r['project_limited'] else ' '} {r['project_s']:5.2f}s "
              f"{r['peer_lufs']:7.2f}/{r['peer_dbtp']:6.2f} {r['peer_over_0dbfs_pct']:6.2f}% {r['peer_s']:5.2f}s")
    print("* = the true-peak limiter acted. Peer time excludes decoding; project time includes decode and write.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
