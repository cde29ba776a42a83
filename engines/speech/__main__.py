"""Command line: ``python -m engines.speech say "TEXT" --out vo.wav [--voice en-gb] [--rate 170] [--json]`` and
``python -m engines.speech voices [--backend neural --model PATH]``.

``say`` writes a 16-bit WAV and prints the sentence timings; ``--backend neural`` uses Bark (``--model`` a hub id
or a local folder, ``--preset v2/en_speaker_6``). Exits with status 2 and a one-line message when the input or
the backend cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..audio_io import write_wav
from ..base import EngineConfig
from ..context import CallbackContext
from ..errors import ReelsmithError
from . import REGISTRY
from .types import SpeechRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.speech", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    say = commands.add_parser("say", help="speak TEXT into a WAV file")
    say.add_argument("text", help="what to say (use - to read it from stdin)")
    say.add_argument("--out", type=Path, required=True, help="the WAV file to write")
    say.add_argument("--voice", default="en-us", help="lite voice id: en-us, en-gb, fr, de, es, en-us+f3 ...")
    say.add_argument("--rate", type=int, default=165, help="words per minute, 80-450 (lite; default 165)")
    say.add_argument("--pitch", type=int, default=50, help="0-99 (lite; default 50)")
    say.add_argument("--preset", help="Bark speaker preset, e.g. v2/en_speaker_6 (neural)")
    say.add_argument("--seed", type=int, default=0, help="random seed (neural; default 0)")
    say.add_argument("--sample-rate", type=int, default=24_000, help="output rate in Hz (default 24000)")
    say.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    say.add_argument("--progress", action="store_true", help="print progress to stderr")
    voices = commands.add_parser("voices", help="list the voices of a backend")
    voices.add_argument("--json", action="store_true", help="print JSON instead of text")
    for sub in (say, voices):
        sub.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
        sub.add_argument("--model", help="neural: hub id or local folder (default suno/bark-small)")
        sub.add_argument("--device", default="auto", help="neural: auto, cpu, cuda, cuda:N")
    return parser


def _engine(args):
    return REGISTRY.create(EngineConfig(backend=args.backend, model_id=args.model, device=args.device))


def _voices(args) -> int:
    engine = _engine(args)
    found = engine.voices()
    if args.json:
        print(json.dumps([v.as_dict() for v in found], indent=2))
        return 0
    for v in found:
        print(f"{v.id:24} {v.name}" + (f" ({v.gender})" if v.gender else ""))
    if args.backend == "lite":
        from .lite import list_variants

        print("\nVariants (add to any voice, e.g. en-us+f3): "
              + ", ".join(v.id[1:] for v in list_variants()))
    return 0


def _say(args) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    ctx = CallbackContext(
        (lambda f, msg: print(f"{f:6.1%} {msg}", file=sys.stderr)) if args.progress else None)
    request = SpeechRequest(text=text, voice=args.voice, rate_wpm=args.rate, pitch=args.pitch, seed=args.seed,
                            preset=args.preset, sample_rate=args.sample_rate)
    engine = _engine(args)
    engine.load()
    try:
        result = engine.run(request, ctx)
    finally:
        engine.unload()
    try:
        write_wav(args.out, result.clip)
    except OSError as exc:
        print(f"error: could not write {args.out}: {exc}", file=sys.stderr)
        return 2
    summary = result.summary() | {"out": str(args.out)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{args.out}: {result.clip.duration_s:.2f} s at {result.clip.sample_rate} Hz, "
              f"{len(result.segments)} sentence(s), made in {result.seconds:.2f} s ({result.backend})")
        for s in result.segments:
            print(f"  {s.start_s:7.2f} - {s.end_s:7.2f}  {s.text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _voices(args) if args.command == "voices" else _say(args)
    except ReelsmithError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
