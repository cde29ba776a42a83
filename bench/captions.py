"""Captions: word error rate and real-time factor of our backends vs plain faster-whisper and PocketSphinx.

    .venv/bin/python bench/captions.py              # ../shared/data/speech (manifest.csv: path, transcript)
    .venv/bin/python bench/captions.py --snr 5      # the same clips with pink noise mixed in at 5 dB SNR
    .venv/bin/python bench/captions.py --data DIR   # any folder with such a manifest.csv; --json for JSON

Methods, one run each over every clip, all from the file on disk (decoding is part of the time):

* ``ours:lite`` / ``ours:sphinx``: ``engines.captions`` as the studio runs it (``REGISTRY.create().run``);
  ``ours:lite+tiny.en`` is the same pipeline with the bundled tiny.en model.
* ``fw:tiny.en`` / ``fw:base``: plain faster-whisper, ``WhisperModel(path, device="cpu", compute_type="int8")``
  and ``transcribe(path, beam_size=5)`` with every other setting at its default (base detects the language).
* ``pocketsphinx``: ``pocketsphinx.Decoder()`` with its defaults, the whole clip as one utterance.

Scoring as in the Whisper paper: ``EnglishTextNormalizer`` on reference and hypothesis, then corpus WER with
jiwer. RTF = transcription wall time / audio duration; model loading is timed apart (``load s``) and also
shown folded in (``RTF+load``).
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

from engines.base import EngineConfig  # noqa: E402
from engines.captions import REGISTRY, CaptionRequest  # noqa: E402
from engines.media import read_audio  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "speech"
TARGET_WER, TARGET_RTF = 0.055, 0.25


def clips(folder: Path, snr: float | None, tmp: Path) -> list[tuple[Path, str, float]]:
    rows = list(csv.DictReader((folder / "manifest.csv").open(newline="", encoding="utf-8")))
    out = []
    rng = np.random.default_rng(0)
    for row in rows:
        path = folder / row["path"]
        audio = read_audio(path)
        if snr is not None:  # pink noise (1/f, by filtering white noise in the frequency domain)
            spectrum = np.fft.rfft(rng.standard_normal(audio.size))
            spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
            noise = np.fft.irfft(spectrum, audio.size)
            noise *= np.sqrt(np.mean(audio ** 2) / 10 ** (snr / 10) / np.mean(noise ** 2))
            mixed = audio + noise
            audio = (mixed / max(1.0, float(np.abs(mixed).max()))).astype(np.float32)
            path = tmp / (Path(row["path"]).stem + f"-snr{snr:g}.wav")
            from engines.audio_io import AudioClip, write_wav

            write_wav(path, AudioClip(audio, 16000))
        out.append((path, row["transcript"], audio.size / 16000))
    return out


def ours(backend: str, model: str | None = None):
    engine = REGISTRY.create(EngineConfig(backend=backend, model_id=model))
    engine.load()
    return lambda path: engine.run(CaptionRequest(media=path)).text


def plain_whisper(model: str):
    from faster_whisper import WhisperModel

    from engines.captions.models import resolve_model

    m = WhisperModel(resolve_model(model)[0], device="cpu", compute_type="int8")
    return lambda path: " ".join(s.text.strip() for s in m.transcribe(str(path), beam_size=5)[0])


def plain_sphinx():
    from pocketsphinx import Decoder

    decoder = Decoder()

    def run(path: Path) -> str:
        pcm = (np.clip(read_audio(path), -1, 1) * 32767).astype(np.int16).tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr if hyp is not None else ""
    return run


METHODS = {"ours:lite": lambda: ours("lite"), "ours:lite+tiny.en": lambda: ours("lite", "tiny.en"),
           "ours:sphinx": lambda: ours("sphinx"), "fw:tiny.en": lambda: plain_whisper("tiny.en"),
           "fw:base": lambda: plain_whisper("base"), "pocketsphinx": plain_sphinx}


def measure(name: str, items: list[tuple[Path, str, float]]) -> dict:
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    t0 = time.perf_counter()
    run = METHODS[name]()
    load = time.perf_counter() - t0
    refs, hyps, wall = [], [], 0.0
    for path, transcript, _ in items:
        t = time.perf_counter()
        hyp = run(path)
        wall += time.perf_counter() - t
        refs.append(norm(transcript))
        hyps.append(norm(hyp))
    duration = sum(d for *_, d in items)
    out = jiwer.process_words(refs, hyps)
    return {"method": name, "wer": out.wer, "rtf": wall / duration, "rtf_load": (wall + load) / duration,
            "load_s": load, "sub": out.substitutions, "del": out.deletions, "ins": out.insertions,
            "words": sum(len(r.split()) for r in refs), "audio_s": duration}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--snr", type=float, help="mix pink noise in at this SNR (dB)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        print(f"skipped: no {args.data / 'manifest.csv'} (the shared speech data is not here)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        items = clips(args.data, args.snr, Path(tmp))
        rows = [measure(name, items) for name in args.methods.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{len(items)} clips, {rows[0]['words']} words, {rows[0]['audio_s']:.1f} s of audio"
          + (f", pink noise at {args.snr:g} dB SNR" if args.snr is not None else ""))
    print(f"{'method':20s} {'WER':>7s} {'S/D/I':>9s} {'RTF':>7s} {'RTF+load':>9s} {'load s':>7s}")
    for r in rows:
        print(f"{r['method']:20s} {r['wer']:7.4f} {r['sub']:>3d}/{r['del']}/{r['ins']:<3d} {r['rtf']:7.3f} "
              f"{r['rtf_load']:9.3f} {r['load_s']:7.2f}")
    by = {r["method"]: r for r in rows}
    if "ours:lite" in by:
        lite = by["ours:lite"]
        for peer in ("fw:tiny.en", "fw:base", "pocketsphinx"):
            if peer in by:
                p = by[peer]
                print(f"ours:lite vs {peer}: WER {lite['wer']:.4f} vs {p['wer']:.4f}, "
                      f"RTF ratio ours/peer {lite['rtf'] / p['rtf']:.2f} (with load {lite['rtf_load'] / p['rtf_load']:.2f})")
        met = lite["wer"] <= TARGET_WER and lite["rtf"] <= TARGET_RTF
        print(f"target WER <= {TARGET_WER} at RTF <= {TARGET_RTF} on ours:lite: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
