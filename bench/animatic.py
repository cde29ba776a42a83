"""Animatic rendering speed: the ``animatic`` engine (``lite``) on a 5-scene storyboard made on the fly.

    .venv/bin/python bench/animatic.py                 # 1280×720, 24 fps: wall time, film length, time per second
    .venv/bin/python bench/animatic.py --json          # the same as JSON
    .venv/bin/python bench/animatic.py --width 1920 --height 1080 --fps 30 --keep out.mp4

Inputs are made in a temp folder: five 1600×1000 procedural pictures (gradients, rings, stripes and shapes drawn
with numpy and Pillow, each a different palette), five speech-like WAVs of 3 to 6 s (band-limited noise bursts
shaped like syllables and words, 22.05 kHz mono, as a TTS engine writes them) with two captions each, and a 30 s
music bed (a chord with a pulse, 44.1 kHz stereo), so resampling, looping/trimming, ducking, Ken Burns moves,
crossfades and burnt-in captions are all exercised. The timed call is ``REGISTRY.create().run(request)``: decoding
and mixing the sound, rendering every frame, H.264 (libx264 veryfast, crf 23) and AAC encoding, muxing.

Prints total wall time, the film's duration, wall time per output second (below 1.0: faster than real time) and
the process's peak resident memory (``resource.getrusage``; it includes the Python interpreter and libraries).
There is no peer here: FFmpeg's ``zoompan`` + ``xfade`` + ``sidechaincompress`` graph would be the natural one, but
no ffmpeg binary may be assumed and PyAV's filter graphs do not expose multi-input filters conveniently.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from engines.animatic import REGISTRY, AnimaticRequest, AnimaticScene, Caption  # noqa: E402
from engines.audio_io import AudioClip, write_wav  # noqa: E402
from engines.media import probe  # noqa: E402

SPEECH_S = (3.2, 4.5, 6.0, 3.8, 5.1)
PALETTES = [((255, 120, 40), (30, 20, 90)), ((40, 200, 180), (10, 40, 60)), ((250, 220, 90), (120, 30, 60)),
            ((140, 90, 255), (20, 20, 30)), ((90, 230, 90), (40, 60, 20))]
LINES = ["Every story starts with a single frame and a voice that carries it forward.",
         "Here the camera drifts slowly while the narrator sets the scene for the audience.",
         "A storyboard lets the whole team see the pacing before anything is shot or animated.",
         "Music sits underneath, stepping back whenever someone speaks.",
         "And when the last words fade, the music takes us out."]


def picture(i: int, size: tuple[int, int] = (1600, 1000)) -> Image.Image:
    width, height = size
    a, b = (np.array(c, np.float32) for c in PALETTES[i])
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (x / width * 0.6 + y / height * 0.4)[..., None]
    rings = (0.5 + 0.5 * np.sin(np.hypot(x - width * 0.6, y - height * 0.4) / (18 + 6 * i)))[..., None]
    stripes = (0.5 + 0.5 * np.sin((x + y * (i - 2)) / 40.0))[..., None]
    mix = np.clip(ramp * 0.6 + rings * 0.25 + stripes * 0.15, 0, 1)
    image = Image.fromarray((a * mix + b * (1 - mix)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(i)
    for _ in range(12):
        cx, cy, r = rng.integers(0, width), rng.integers(0, height), rng.integers(30, 160)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=int(rng.integers(3, 12)))
    draw.rectangle((width * 0.1, height * 0.7, width * 0.45, height * 0.9), fill=tuple(int(v) for v in a[::-1]))
    return image


def speech(seconds: float, seed: int, rate: int = 22050) -> AudioClip:
    """Band-limited noise shaped into ~0.25 s syllables grouped in words, with short pauses: speech-like levels."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    noise = sosfilt(butter(4, [150, 4000], btype="band", fs=rate, output="sos"), rng.standard_normal(n))
    envelope = np.zeros(n)
    t = 0.0
    while t < seconds - 0.3:
        for _ in range(int(rng.integers(1, 4))):  # syllables of one word
            k0, k1 = int(t * rate), int(min(seconds, t + 0.22) * rate)
            envelope[k0:k1] = np.hanning(k1 - k0)
            t += 0.25
        t += float(rng.uniform(0.08, 0.3))  # gap between words
    samples = noise * envelope
    return AudioClip((0.5 * samples / np.abs(samples).max()).astype(np.float32), rate)


def music(seconds: float = 30.0, rate: int = 44100) -> AudioClip:
    t = np.arange(int(seconds * rate)) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    pulse = 0.6 + 0.4 * (np.sin(2 * np.pi * 2 * t) > 0)
    left, right = 0.5 * chord * pulse, 0.5 * np.roll(chord, 200) * pulse
    return AudioClip(np.stack([left, right]).astype(np.float32), rate)


def build(folder: Path, out: Path, width: int, height: int, fps: int) -> AnimaticRequest:
    scenes = []
    for i, seconds in enumerate(SPEECH_S):
        image = folder / f"scene{i + 1}.png"
        picture(i).save(image)
        voice = write_wav(folder / f"scene{i + 1}.wav", speech(seconds, seed=i))
        words = LINES[i].split()
        half = len(words) // 2
        captions = (Caption(0.6, 0.6 + seconds / 2, " ".join(words[:half])),
                    Caption(0.6 + seconds / 2, 0.6 + seconds, " ".join(words[half:])))
        scenes.append(AnimaticScene(image=image, title=f"Scene {i + 1}", speech=voice, captions=captions))
    bed = write_wav(folder / "music.wav", music())
    return AnimaticRequest(scenes=tuple(scenes), out=out, music=bed, width=width, height=height, fps=fps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--keep", type=Path, help="copy the rendered film here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="animatic-bench-") as tmp:
        folder = Path(tmp)
        request = build(folder, folder / "film.mp4", args.width, args.height, args.fps)
        engine = REGISTRY.create()
        started = time.perf_counter()
        result = engine.run(request)
        wall = time.perf_counter() - started
        info = probe(result.path)
        if args.keep:
            args.keep.write_bytes(result.path.read_bytes())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    report = {"size": f"{args.width}x{args.height}", "fps": args.fps, "scenes": len(SPEECH_S),
              "wall_s": round(wall, 2), "film_s": round(info.duration_s or result.duration_s, 2),
              "wall_per_output_s": round(wall / result.duration_s, 3), "peak_rss_mb": round(peak_mb, 1),
              "file_mb": round(info.size_bytes / 1e6, 2), "video": info.video.codec if info.video else None,
              "audio": info.audio.codec if info.audio else None}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"animatic lite, {report['size']} @ {args.fps} fps, {report['scenes']} scenes")
        print(f"  wall time            {report['wall_s']:8.2f} s")
        print(f"  output duration      {report['film_s']:8.2f} s   ({report['video']} + {report['audio']}, "
              f"{report['file_mb']} MB)")
        print(f"  wall per output sec  {report['wall_per_output_s']:8.3f}")
        print(f"  peak RSS             {report['peak_rss_mb']:8.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
