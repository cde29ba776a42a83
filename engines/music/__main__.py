"""Command line: ``python -m engines.music compose --prompt "tense strings" --duration 20 --seed 3 --out bed.wav``.

Options: ``--mood``, ``--key`` ("F#m"), ``--tempo`` (BPM), ``--melody FILE``, ``--no-loop``, ``--sample-rate``,
``--backend lite|neural``, ``--model`` (hub id or local folder, neural), ``--device``, ``--json``, ``--progress``.
Prints what was chosen (key, tempo, progression, instruments); exits with status 2 and a one-line message when
the request cannot be served.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import fail, progress_context, run_once
from ..audio_io import write_wav
from ..base import EngineConfig
from ..errors import ReelsmithError
from . import REGISTRY
from .types import MusicRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.music", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("compose", help="make a music bed and write it as a WAV file")
    c.add_argument("--prompt", default="", help="what it should sound like ('hopeful acoustic', 'tense strings')")
    c.add_argument("--mood", help="a mood word or two (weighs more than the prompt)")
    c.add_argument("--duration", type=float, default=30.0, help="seconds, 1-600 (default 30)")
    c.add_argument("--seed", type=int, default=0, help="same seed, same bed (default 0)")
    c.add_argument("--key", help="key such as C, F#m, Bb, 'D dorian'")
    c.add_argument("--tempo", type=int, help="tempo in BPM, 40-220")
    c.add_argument("--melody", type=Path, help="reference melody file")
    c.add_argument("--no-loop", action="store_true", help="end the bed instead of making a seamless loop")
    c.add_argument("--sample-rate", type=int, default=32000, help="output rate in Hz for lite (default 32000)")
    c.add_argument("--out", type=Path, help="write the bed here (WAV)")
    c.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
    c.add_argument("--model", help="model id or local folder for the neural backend")
    c.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (neural)")
    c.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    c.add_argument("--progress", action="store_true", help="print progress to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = progress_context(args.progress)
    request = MusicRequest(prompt=args.prompt, duration_s=args.duration, seed=args.seed, mood=args.mood,
                           key=args.key, tempo_bpm=args.tempo, melody=args.melody, loop=not args.no_loop,
                           sample_rate=args.sample_rate)
    try:
        config = EngineConfig(backend=args.backend, model_id=args.model, device=args.device)
        result = run_once(REGISTRY, config, request, ctx)
    except ReelsmithError as exc:
        return fail(exc)
    if args.out:
        try:
            write_wav(args.out, result.clip)
        except OSError as exc:
            print(f"error: could not write {args.out}: {exc}", file=sys.stderr)
            return 2

    summary = result.summary()
    if args.out:
        summary["out"] = str(args.out)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        p = result.parameters
        described = ", ".join(str(x) for x in (
            p.get("style"), p.get("key"),
            f"{p['tempo_bpm']:g} BPM" if p.get("tempo_bpm") else None,
            f"{p['bars']} bars" if p.get("bars") else None) if x)
        print(f"{result.clip.duration_s:.2f} s at {result.clip.sample_rate} Hz ({result.backend}"
              f"{', ' + result.model_id if result.model_id else ''}): {described}")
        if p.get("progression"):
            print(f"progression: {p['progression']} ({' '.join(p.get('progression_chords', []))})")
        if p.get("instruments"):
            print("instruments: " + ", ".join(f"{k} {v or 'none'}" for k, v in p["instruments"].items()))
        print(f"peak {summary['peak_dbfs']} dBFS, RMS {summary['rms_dbfs']} dBFS, made in {result.seconds:.2f} s")
        if args.out:
            print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
