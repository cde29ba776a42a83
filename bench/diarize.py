"""Speaker diarization: DER and real-time factor of ``lite`` and ``neural`` vs a plain VAD → embed → AHC baseline.

    .venv/bin/python bench/diarize.py                # 4 conversations per set, table + ratios
    .venv/bin/python bench/diarize.py --json         # the same rows as JSON; --conversations N, --snr DB

Inputs, built from ``../shared/data/speech`` (skipped with a message when absent): its two real voices, JFK
(jfk.flac) and the LJSpeech reader (LJ001-000*.wav), decoded at 16 kHz mono and chopped at pauses (clean-file
energy: 10 ms frames under both peak − 35 dB and noise floor + 6 dB for ≥ 0.12 s) into sentence-sized pieces
of 0.4–5 s, each trimmed to its speech. A conversation plays every piece once, shuffled, the next speaker drawn
at random (seeded) with weight by the pieces they have left, pauses uniform in 0.15–0.4 s, room noise (pink
noise low-passed at 4 kHz plus a 50 Hz hum) mixed in at 20 dB SNR over the speech. Two sets, reported apart:

* ``real``: JFK + LJSpeech (2 speakers, ~36 s each conversation);
* ``mixed``: the same plus two **synthetic** eSpeak NG voices (en-gb+f2, en-us+m3; 4 speakers).

Reference: each piece's span is one turn of its speaker. DER with ``pyannote.metrics`` (``DiarizationErrorRate
(collar=0.5)``: pyannote's collar is the total width, so this is ±0.25 s around every reference boundary, the
NIST md-eval "collar 0.25"), overlaps scored, accumulated over the conversations of a set; also its missed /
false alarm / confusion parts. RTF = wall time of ``run`` (decoding the WAV included, model loaded beforehand)
/ audio duration, after one untimed warm-up call. Methods: ours ``lite`` and ``neural`` with the number of
speakers estimated and given (``--speakers``); ``baseline``: webrtcvad segments (mode 2, py-webrtcvad's 300 ms
ring-buffer collector) → Resemblyzer ``embed_utterance`` per segment (after its ``preprocess_wav``) →
scikit-learn agglomerative clustering (cosine, average linkage) cut at a fixed distance threshold of 0.35, and
with the number given.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.audio_io import AudioClip, write_wav  # noqa: E402
from engines.base import EngineConfig  # noqa: E402
from engines.media import read_audio  # noqa: E402
from engines.transcript.diarize import REGISTRY, DiarizeRequest  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "speech"
SR = 16_000
BASELINE_THRESHOLD = 0.35
SYNTHETIC = {"espeak-f (synthetic)": "en-gb+f2", "espeak-m (synthetic)": "en-us+m3"}
SENTENCES = ["The weather turned cold on the way to the harbour.", "Could you send me the numbers by Friday?",
             "I think we should start the meeting again.", "Nobody expected the film to run that long.",
             "Let us keep the second take, it sounds warmer.", "The train leaves at seven in the morning.",
             "Please move the camera a little to the left.", "We will need more light for the last scene."]
Turns = list[tuple[float, float, str]]


def chop(samples: np.ndarray, min_s: float = 0.8, max_s: float = 5.0) -> list[np.ndarray]:
    """Sentence-sized pieces of a clean recording, cut in the middle of pauses, each trimmed to its speech."""
    hop = SR // 100
    frames = samples[: samples.size // hop * hop].reshape(-1, hop)
    db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    loud = db > max(db.max() - 35, np.percentile(db, 10) + 6)  # JFK's pauses hold crowd noise
    first, last = np.flatnonzero(loud)[[0, -1]]
    pauses, run = [], 0
    for i in range(first, last + 1):
        run = run + 1 if not loud[i] else 0
        if run == 12:  # 0.12 s of quiet
            j = i
            while j + 1 <= last and not loud[j + 1]:
                j += 1
            pauses.append((i - 11 + j) // 2)
    cuts, start = [], first
    for p in pauses + [last + 1]:
        if (p - start) / 100 >= min_s or p == last + 1:
            cuts.append((start, p))
            start = p
    pieces = []
    for a, b in cuts:
        while (b - a) / 100 > max_s:  # no pause in reach: cut at the quietest frame near the limit
            m = a + int(max_s * 60) + int(np.argmin(db[a + int(max_s * 60): a + int(max_s * 100)]))
            pieces.append((a, m))
            a = m
        pieces.append((a, b))
    out = []
    for a, b in pieces:
        idx = np.flatnonzero(loud[a:b])
        if len(idx) and (idx[-1] - idx[0]) / 100 >= 0.4:
            out.append(samples[(a + idx[0]) * hop: (a + idx[-1] + 1) * hop].copy())
    return out


def speakers(data: Path, synthetic: bool) -> dict[str, list[np.ndarray]]:
    voices = {"jfk": chop(read_audio(data / "jfk.flac", sample_rate=SR)),
              "ljspeech": [p for f in sorted(data.glob("LJ001-*.wav")) for p in chop(read_audio(f, sample_rate=SR))]}
    if synthetic:
        from engines.speech import REGISTRY as SPEECH, SpeechRequest

        engine = SPEECH.create()
        for k, (name, voice) in enumerate(SYNTHETIC.items()):
            voices[name] = [engine.run(SpeechRequest(text=t, voice=voice, sample_rate=SR)).clip.mono()
                            for t in SENTENCES[k::2]]
            voices[name] = [p / max(1e-6, np.abs(p).max()) * 0.5 for p in voices[name]]
    return voices


def conversation(voices: dict[str, list[np.ndarray]], seed: int, snr_db: float) -> tuple[np.ndarray, Turns]:
    rng = np.random.default_rng(seed)
    left = {name: [pieces[i] for i in rng.permutation(len(pieces))] for name, pieces in voices.items()}
    parts, ref, t = [np.zeros(int(0.5 * SR), np.float32)], [], 0.5
    while any(left.values()):
        names = [n for n in left if left[n]]
        weights = np.array([len(left[n]) for n in names], dtype=float)
        name = names[rng.choice(len(names), p=weights / weights.sum())]
        piece = left[name].pop()
        ref.append((t, t + piece.size / SR, name))
        pause = np.zeros(int(rng.uniform(0.15, 0.4) * SR), np.float32)
        parts += [piece.astype(np.float32), pause]
        t += (piece.size + pause.size) / SR
    parts.append(np.zeros(int(0.5 * SR), np.float32))
    audio = np.concatenate(parts)
    speech = np.concatenate([audio[int(s * SR): int(e * SR)] for s, e, _ in ref])
    spectrum = np.fft.rfft(rng.standard_normal(audio.size))
    freqs = np.fft.rfftfreq(audio.size, 1 / SR)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0)) * (1 + (freqs / 4000) ** 4)  # pink, low-passed at 4 kHz
    noise = np.fft.irfft(spectrum, audio.size)
    noise /= noise.std()
    noise += 0.1 * np.sin(2 * np.pi * 50 * np.arange(audio.size) / SR)
    noise *= np.sqrt(np.mean(speech ** 2) / 10 ** (snr_db / 10) / np.mean(noise ** 2))
    mixed = audio + noise
    return (mixed / max(1.0, float(np.abs(mixed).max()) / 0.95)).astype(np.float32), ref


def ours(backend: str, oracle: bool):
    engine = REGISTRY.create(EngineConfig(backend=backend))
    engine.load()

    def run(path: Path, k: int) -> Turns:
        result = engine.run(DiarizeRequest(media=path, speakers=k if oracle else None))
        return [(t.start, t.end, t.speaker) for t in result.segments]
    return run


def baseline(oracle: bool):
    """webrtcvad segments → Resemblyzer embed_utterance → AHC at a fixed threshold (or the given count)."""
    import collections
    import warnings

    import webrtcvad
    from sklearn.cluster import AgglomerativeClustering

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer import VoiceEncoder, preprocess_wav
    encoder, vad = VoiceEncoder("cpu", verbose=False), webrtcvad.Vad(2)

    def segments(audio: np.ndarray) -> list[tuple[int, int]]:  # py-webrtcvad example.py's vad_collector
        frame, ring, voiced, out, start = 480, collections.deque(maxlen=10), False, [], 0
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
        for i in range(0, pcm.size - frame + 1, frame):
            ring.append((i, vad.is_speech(pcm[i:i + frame].tobytes(), SR)))
            n = sum(v for _, v in ring)
            if not voiced and n > 0.9 * ring.maxlen:
                voiced, start = True, ring[0][0]
                ring.clear()
            elif voiced and len(ring) - n > 0.9 * ring.maxlen:
                voiced = False
                out.append((start, i + frame))
                ring.clear()
        if voiced:
            out.append((start, pcm.size))
        return out

    def run(path: Path, k: int) -> Turns:
        audio = read_audio(path, sample_rate=SR)
        segs = segments(audio)
        if not segs:
            return []
        emb = np.stack([encoder.embed_utterance(preprocess_wav(audio[s:e])) for s, e in segs])
        if len(segs) == 1:
            labels = np.zeros(1, int)
        else:
            labels = AgglomerativeClustering(n_clusters=k if oracle else None, metric="cosine", linkage="average",
                                             distance_threshold=None if oracle else BASELINE_THRESHOLD
                                             ).fit_predict(emb)
        return [(s / SR, e / SR, f"B{label}") for (s, e), label in zip(segs, labels)]
    return run


METHODS = {"ours:lite": lambda: ours("lite", False), "ours:lite k given": lambda: ours("lite", True),
           "ours:neural": lambda: ours("neural", False), "ours:neural k given": lambda: ours("neural", True),
           "baseline": lambda: baseline(False), "baseline k given": lambda: baseline(True)}


def annotation(turns: Turns):
    from pyannote.core import Annotation, Segment

    ann = Annotation()
    for i, (s, e, who) in enumerate(turns):
        ann[Segment(s, e), i] = who
    return ann


def measure(name: str, items: list[tuple[Path, Turns, float]]) -> dict:
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    t0 = time.perf_counter()
    run = METHODS[name]()
    load = time.perf_counter() - t0
    run(items[0][0], 2)  # warm-up (first-call costs: imports, allocator), not timed
    metric, wall, found = DiarizationErrorRate(collar=0.5, skip_overlap=False), 0.0, []
    for path, ref, duration in items:
        k = len({who for *_, who in ref})
        t = time.perf_counter()
        hyp = run(path, k)
        wall += time.perf_counter() - t
        metric(annotation(ref), annotation(hyp), uem=Timeline([Segment(0.0, duration)]))
        found.append(len({who for *_, who in hyp}))
    parts = metric[:]
    total = parts["total"]
    duration = sum(d for *_, d in items)
    return {"method": name, "der": abs(metric), "missed": parts["missed detection"] / total,
            "false_alarm": parts["false alarm"] / total, "confusion": parts["confusion"] / total,
            "rtf": wall / duration, "load_s": load, "speakers_found": found, "audio_s": duration}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--conversations", type=int, default=4)
    parser.add_argument("--snr", type=float, default=20.0)
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / "jfk.flac").is_file():
        print(f"skipped: no {args.data / 'jfk.flac'} (the shared speech data is not here)")
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for set_name, synthetic in (("real", False), ("mixed", True)):
            voices = speakers(args.data, synthetic)
            items = []
            for c in range(args.conversations):
                audio, ref = conversation(voices, seed=c, snr_db=args.snr)
                path = write_wav(Path(tmp) / f"{set_name}-{c}.wav", AudioClip(audio, SR))
                items.append((path, ref, audio.size / SR))
            for name in args.methods.split(","):
                rows.append({"set": set_name, "speakers": len(voices), **measure(name, items)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for set_name in ("real", "mixed"):
        sel = [r for r in rows if r["set"] == set_name]
        print(f"\n{set_name}: {args.conversations} conversations, {sel[0]['speakers']} speakers, "
              f"{sel[0]['audio_s']:.1f} s, room noise at {args.snr:g} dB SNR, collar ±0.25 s")
        print(f"{'method':22s} {'DER':>7s} {'miss':>6s} {'FA':>6s} {'conf':>6s} {'RTF':>7s} {'load s':>7s}  speakers")
        for r in sel:
            print(f"{r['method']:22s} {r['der']:7.2%} {r['missed']:6.1%} {r['false_alarm']:6.1%} "
                  f"{r['confusion']:6.1%} {r['rtf']:7.4f} {r['load_s']:7.2f}  {r['speakers_found']}")
        by = {r["method"]: r for r in sel}
        for ours_name in ("ours:lite", "ours:neural"):
            if ours_name in by and "baseline" in by:
                o, b = by[ours_name], by["baseline"]
                print(f"{ours_name} vs baseline: DER {o['der']:.2%} vs {b['der']:.2%} "
                      f"(ratio {o['der'] / max(b['der'], 1e-9):.2f}), RTF ratio ours/baseline "
                      f"{o['rtf'] / max(b['rtf'], 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
