"""Silence rough cut on real speech: ``engines.autoedit`` vs auto-editor's default method, on the same clip.

    .venv/bin/python bench/autoedit.py [--json]

The clip is built from the real utterances in ``../shared/data/speech`` (JFK, LJSpeech), joined by inserted
silences of known length (0.3 s, which must stay, and 0.8–2.5 s, which should go), with a light room-noise floor
(−55 dBFS) so "silence" is not digital zero, under a moving-pattern video (H.264/AAC, 24 fps).

Peer: auto-editor's default edit, ``--edit audio:threshold=0.04 --margin 0.2s``: a video frame is loud when its
largest absolute sample is at least 4 % of the file's largest, and loud frames are widened by 0.2 s each side.
The ``auto-editor`` pip package (29.x, the only release on the index) downloads a native binary at run time, which
this offline machine cannot do, so its documented default is re-implemented here (numpy, same decode).

Scores, from the known layout: **kept** (output duration), **ideal** (speech plus margins with the long inserted
silences removed), **long-silence removed** (share of inserted silences ≥ 0.8 s cut), **short pause kept**, **speech
clipped** (share of the utterances' voiced frames — RMS within 30 dB of the utterance's loudest — that were cut:
word endings lost), and wall time.
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

from engines.autoedit import REGISTRY, AutoEditRequest  # noqa: E402
from engines.media import read_audio  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "speech"
RATE = 48000
FPS = 24
GAPS = [0.8, 0.3, 2.5, 1.2, 2.0, 0.3]  # between utterances (and a short one inside the run)


def build(folder: Path) -> tuple[Path, list[tuple[float, float]], list[tuple[float, float]]]:
    """The test clip, the utterance spans and the inserted-silence spans (seconds)."""
    import av

    rows = list(csv.DictReader(open(DATA / "manifest.csv")))
    rng = np.random.default_rng(0)
    parts, spans, silences, t = [], [], [], 0.0
    lead = 1.0
    parts.append(np.zeros(int(lead * RATE), np.float32))
    silences.append((0.0, lead))
    t = lead
    for i, row in enumerate(rows):
        speech = read_audio(DATA / row["path"], sample_rate=RATE, mono=True).astype(np.float32)
        parts.append(speech)
        spans.append((t, t + speech.size / RATE))
        t += speech.size / RATE
        gap = GAPS[i % len(GAPS)]
        parts.append(np.zeros(int(gap * RATE), np.float32))
        silences.append((t, t + gap))
        t += gap
    sound = np.concatenate(parts)
    sound += (10 ** (-55 / 20) * rng.standard_normal(sound.size)).astype(np.float32)
    path = folder / "speech_with_gaps.mp4"
    n = int(np.ceil(sound.size / RATE * FPS))
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        y, x = np.mgrid[0:180, 0:320]
        for i in range(n):
            img = np.stack([(x + 3 * i) % 256, (y + i) % 256, np.full_like(x, 90)], -1).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in video.encode(frame):
                out.mux(p)
        for p in video.encode():
            out.mux(p)
        for s in range(0, sound.size, 1024):
            frame = av.AudioFrame.from_ndarray(sound[s:s + 1024].reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = RATE, s
            for p in audio.encode(frame):
                out.mux(p)
        for p in audio.encode():
            out.mux(p)
    return path, spans, silences


def peer_cut(path: Path, threshold: float = 0.04, margin_s: float = 0.2) -> list[tuple[float, float]]:
    """auto-editor's default: per frame, max |sample| / file max ≥ 4 %, widened by the margin."""
    sound = read_audio(path, sample_rate=RATE, mono=True)
    per = RATE // FPS
    n = sound.size // per
    level = np.abs(sound[: n * per]).reshape(n, per).max(axis=1)
    loud = level >= threshold * max(level.max(), 1e-9)
    m = int(round(margin_s * FPS))
    keep = loud.copy()
    for shift in range(1, m + 1):
        keep[:-shift] |= loud[shift:]
        keep[shift:] |= loud[:-shift]
    ranges, start = [], None
    for i, k in enumerate(np.append(keep, False)):
        if k and start is None:
            start = i
        elif not k and start is not None:
            ranges.append((start / FPS, i / FPS))
            start = None
    return ranges


def score(ranges, spans, silences, path) -> dict:
    sound = read_audio(path, sample_rate=RATE, mono=True)
    kept = sum(b - a for a, b in ranges)

    def covered(a, b):
        return sum(max(0.0, min(b, y) - max(a, x)) for x, y in ranges)

    long_sil = [(a, b) for a, b in silences if b - a >= 0.8]
    short_sil = [(a, b) for a, b in silences if b - a < 0.5]
    removed_long = sum((b - a) - covered(a, b) for a, b in long_sil) / sum(b - a for a, b in long_sil)
    short_kept = sum(covered(a, b) for a, b in short_sil) / max(1e-9, sum(b - a for a, b in short_sil))
    win = int(0.02 * RATE)
    voiced, lost = 0, 0
    for a, b in spans:
        seg = sound[int(a * RATE): int(b * RATE)]
        n = seg.size // win
        rms = np.sqrt((seg[: n * win].reshape(n, win) ** 2).mean(axis=1) + 1e-12)
        db = 20 * np.log10(rms)
        for j in np.flatnonzero(db > db.max() - 30):
            t = a + (j + 0.5) * win / RATE
            voiced += 1
            lost += not any(x <= t < y for x, y in ranges)
    ideal = sum(b - a for a, b in spans) + sum(b - a for a, b in silences if b - a < 0.8)
    return {"kept_s": round(kept, 2), "ideal_s": round(ideal, 2), "long_silence_removed": round(removed_long, 3),
            "short_pause_kept": round(short_kept, 3), "speech_clipped": round(lost / max(voiced, 1), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (DATA / "manifest.csv").exists():
        print(f"skipped: no speech data at {DATA}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path, spans, silences = build(Path(tmp))
        t0 = time.perf_counter()
        result = REGISTRY.create().run(AutoEditRequest(media=path, highlights=False))
        t_project = time.perf_counter() - t0
        ours = [(c.src_in, c.src_out) for c in result.timeline.clips]
        t0 = time.perf_counter()
        theirs = peer_cut(path)
        t_peer = time.perf_counter() - t0
        rows = {"project": {**score(ours, spans, silences, path), "seconds": round(t_project, 3)},
                "auto-editor default (re-implemented)": {**score(theirs, spans, silences, path),
                                                          "seconds": round(t_peer, 3)}}
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'method':<38} {'kept s':>7} {'ideal s':>7} {'long gaps cut':>13} {'short kept':>10} "
          f"{'speech clipped':>14} {'time s':>7}")
    for name, r in rows.items():
        print(f"{name:<38} {r['kept_s']:>7} {r['ideal_s']:>7} {r['long_silence_removed']:>13.1%} "
              f"{r['short_pause_kept']:>10.1%} {r['speech_clipped']:>14.2%} {r['seconds']:>7}")
    p, q = rows["project"], rows["auto-editor default (re-implemented)"]
    print(f"time ratio peer/project {q['seconds'] / p['seconds']:.2f}; kept-duration agreement with the ideal: "
          f"project {p['kept_s'] / p['ideal_s']:.3f}, peer {q['kept_s'] / q['ideal_s']:.3f}")


if __name__ == "__main__":
    main()
