"""Command line: ``python -m engines.scene render "PROMPT" --out frame.png [options]``.

Writes the PNG with its generation parameters inside (A1111 ``parameters`` text and ``reelsmith`` JSON); with
``--batch N`` the files are ``frame-1.png`` ... ``frame-N.png``. ``python -m engines.scene info frame.png`` prints
the parameters stored in a PNG. Exits with status 2 and a one-line message when the input cannot be used.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import fail, progress_context, run_once
from ..base import EngineConfig
from ..errors import ReelsmithError
from . import REGISTRY
from .pnginfo import read_parameters
from .types import SceneRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.scene", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="draw one scene (or a batch) to PNG")
    render.add_argument("prompt", help='the scene, e.g. "EXT. HARBOUR - NIGHT — Mara waits by the water"')
    render.add_argument("--out", type=Path, default=Path("frame.png"), help="PNG to write (default frame.png)")
    render.add_argument("--seed", type=int, default=0)
    render.add_argument("--width", type=int, default=512)
    render.add_argument("--height", type=int, default=512)
    render.add_argument("--steps", type=int, default=2, help="denoising steps (neural backend)")
    render.add_argument("--guidance", type=float, default=0.0, help="CFG scale (neural backend)")
    render.add_argument("--negative", default="", help="negative prompt (neural backend)")
    render.add_argument("--batch", type=int, default=1, help="images, seeds SEED, SEED+1, ... (1-8)")
    render.add_argument("--init", type=Path, help="init image (image-to-image)")
    render.add_argument("--strength", type=float, default=0.6,
                        help="with --init: how much the render replaces the init image, 0..1 (default 0.6)")
    render.add_argument("--caption", help='caption bar text (lite backend; "" for no bar)')
    render.add_argument("--character", action="append", default=[], dest="characters", metavar="NAME",
                        help="a character to place in the frame (repeat for several)")
    render.add_argument("--mood", help="mood words, e.g. 'tense' or 'warm hopeful'")
    render.add_argument("--time", dest="time_of_day", choices=("dawn", "day", "dusk", "night"))
    place = render.add_mutually_exclusive_group()
    place.add_argument("--interior", dest="interior", action="store_true", default=None)
    place.add_argument("--exterior", dest="interior", action="store_false")
    render.add_argument("--backend", default=REGISTRY.default, choices=REGISTRY.names())
    render.add_argument("--model", help="model id or local folder (neural backend)")
    render.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (neural backend)")
    render.add_argument("--json", action="store_true", help="print a JSON summary")
    render.add_argument("--progress", action="store_true", help="print progress to stderr")
    info = commands.add_parser("info", help="print the parameters stored in a PNG")
    info.add_argument("png", type=Path)
    return parser


def _paths(out: Path, count: int) -> list[Path]:
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{i + 1}{out.suffix or '.png'}") for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "info":
        try:
            print(json.dumps(read_parameters(args.png), indent=2, ensure_ascii=False))
        except ReelsmithError as exc:
            return fail(exc)
        return 0

    ctx = progress_context(args.progress)
    try:
        request = SceneRequest(
            prompt=args.prompt, negative_prompt=args.negative, seed=args.seed, steps=args.steps,
            guidance=args.guidance, width=args.width, height=args.height, batch=args.batch, init_image=args.init,
            strength=args.strength, caption=args.caption, characters=tuple(args.characters), mood=args.mood,
            interior=args.interior, time_of_day=args.time_of_day)
        config = EngineConfig(backend=args.backend, model_id=args.model, device=args.device)
        result = run_once(REGISTRY, config, request, ctx)
    except ReelsmithError as exc:
        return fail(exc)
    paths = _paths(args.out, len(result.images))
    try:
        for i, path in enumerate(paths):
            path.write_bytes(result.png(i))
    except OSError as exc:
        print(f"error: could not write {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if args.json:
        summary = result.summary()
        summary["files"] = [str(p) for p in paths]
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        for path, seed in zip(paths, result.seeds):
            print(f"{path}  seed {seed}")
        print(f"{result.backend} ({result.model_id or 'procedural'}), {result.seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
