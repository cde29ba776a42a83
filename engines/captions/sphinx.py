"""Speech → timed words with PocketSphinx (CMU Sphinx, its bundled US-English model): the ``sphinx`` backend.

A small, old-fashioned HMM recogniser: much less accurate than Whisper, but tiny, CPU-only and deterministic.
Each window of speech (Silero VAD when faster-whisper is installed, else 20 s windows) is decoded as one
utterance; word times come from the decoder's segmentation (frames of 10 ms). Fillers (``<sil>``, ``[NOISE]``)
are dropped, alternative pronunciations (``the(2)``) are folded, and each window becomes one ``Segment``.
"""
from __future__ import annotations

import re
import time
from typing import ClassVar

import numpy as np

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput
from ._audio import SAMPLE_RATE, load_speech, speech_regions, speech_windows
from .types import CaptionRequest, CaptionResult, Segment, Word

_VARIANT = re.compile(r"\(\d+\)$")


class SphinxCaptioner(Engine[CaptionRequest, CaptionResult]):
    kind: ClassVar[str] = "captions"
    name: ClassVar[str] = "sphinx"

    def __init__(self, config=None) -> None:
        super().__init__(config)
        self._decoder = None

    def load(self) -> None:
        if self._decoder is None:
            from pocketsphinx import Decoder

            self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def unload(self) -> None:
        self._decoder = None

    def run(self, request: CaptionRequest, ctx: Context | None = None) -> CaptionResult:
        ctx = self._ctx(ctx)
        t0 = time.perf_counter()
        # 1. Check inputs.
        if request.language not in (None, "en"):
            raise InvalidInput(f"The sphinx backend knows only English, not '{request.language}'; use 'lite'.")
        self.load()
        decoder = self._decoder
        # 2. Decode the audio and find the speech.
        audio = load_speech(request.media, ctx.sub(0.0, 0.05), self.config.options.get("max_duration_s"))
        duration = audio.size / SAMPLE_RATE
        regions = speech_regions(audio) if request.vad else None
        windows = speech_windows(audio, regions, max_s=20.0, pad_s=1.0)  # its CMN wants some silence around
        frate = float(decoder.config["frate"] or 100)
        # 3. One utterance per window.
        segments: list[Segment] = []
        for s, e in windows:
            ctx.check()
            pcm = (np.clip(audio[s:e], -1.0, 1.0) * 32767).astype(np.int16).tobytes()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            offset = s / SAMPLE_RATE
            words = []
            for seg in decoder.seg():
                token = _VARIANT.sub("", seg.word)
                if token.startswith(("<", "[", "+")) or not token:
                    continue
                start = offset + seg.start_frame / frate
                end = offset + (seg.end_frame + 1) / frate
                words.append(Word(start, min(end, duration), token, float(seg.prob)))
            if words:
                segments.append(Segment(words[0].start, words[-1].end, " ".join(w.word for w in words), words))
            ctx.report(0.05 + 0.95 * e / audio.size, "Transcribing")
        seconds = time.perf_counter() - t0
        return CaptionResult(language="en", text=" ".join(s.text for s in segments), segments=segments,
                             model="pocketsphinx en-us", seconds=seconds, rtf=seconds / max(duration, 1e-9),
                             duration_s=duration, backend=self.name)
