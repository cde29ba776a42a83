"""Speech → timed words with faster-whisper (CTranslate2): the ``lite``/``whisper`` and ``neural`` backends.

Per file: check and decode the audio (16 kHz mono), find speech with Silero VAD, and decode each window of
speech (≤ 30 s, cut at pauses) with beam search, temperature fallback and word timestamps (cross-attention
DTW). Windows are decoded independently (no conditioning on earlier text, which can loop).

Speed without losing accuracy: the encoder runs on the window's audio plus 6 s of padding instead of a fixed
30 s (``models.AudioContextWhisper``). A window whose result looks unreliable under the trimmed window (the
decoder needed temperature fallback, a phrase repeats back to back, or words run past the audio) is decoded
again with the full 30 s window, and that result is kept.

Options (``EngineConfig.options``): ``beam_size`` (5), ``cpu_threads`` (all cores), ``compute_type`` (int8 on
CPU, float16 on CUDA), ``audio_context`` (True on CPU), ``cache_dir``, ``allow_download``, ``max_duration_s``.
"""
from __future__ import annotations

import os
import re
import time
from typing import Any, ClassVar

from ..base import Engine, EngineConfig
from ..context import Context
from ..errors import BackendUnavailable, InvalidInput
from ._audio import (
    SAMPLE_RATE,
    load_speech,
    snap_to_speech,
    speech_regions,
    speech_windows,
)
from .models import BUNDLED_BASE, BUNDLED_TINY, bundled_base_available, new_model
from .types import CaptionRequest, CaptionResult, Segment, Word

_WORD = re.compile(r"[^\w']+")


def _repeats(words: list[str]) -> bool:
    """True when a word or a phrase of up to 8 words is said twice in a row (a typical decoding loop; real
    speech does it too, which only costs a second, full-window pass)."""
    tokens = [t for t in (_WORD.sub("", w.lower()) for w in words) if t]
    for k in range(1, 9):
        for i in range(len(tokens) - 2 * k + 1):
            if tokens[i:i + k] == tokens[i + k:i + 2 * k]:
                return True
    return False


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


class WhisperCaptioner(Engine[CaptionRequest, CaptionResult]):
    """Whisper through faster-whisper; the default model is the bundled base (tiny.en when base is missing)."""

    kind: ClassVar[str] = "captions"
    name: ClassVar[str] = "lite"
    default_model: ClassVar[str | None] = None  # None: bundled base, else bundled tiny.en

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        self._model = None
        self.model_label = ""

    # ----------------------------------------------------------------------------------------------------------
    def _model_id(self) -> str:
        if self.config.model_id:
            return self.config.model_id
        if self.default_model:
            return self.default_model
        return BUNDLED_BASE if bundled_base_available() else BUNDLED_TINY

    def _device(self) -> tuple[str, str]:
        device = (self.config.device or "auto").split(":")[0]
        if device == "auto":
            device = "cpu"
            if self.heavy:
                import ctranslate2

                device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute = self.config.options.get("compute_type") or ("int8" if device == "cpu" else "float16")
        return device, compute

    def load(self) -> None:
        if self._model is not None:
            return
        options = self.config.options
        device, compute = self._device()
        threads = int(options.get("cpu_threads", min(os.cpu_count() or 1, 8)))
        self._model, self.model_label = new_model(self._model_id(), device=device, compute_type=compute,
                                                  cpu_threads=threads, options=options)
        self._model.full_context = not bool(options.get("audio_context", device == "cpu"))

    def unload(self) -> None:
        self._model = None

    # ----------------------------------------------------------------------------------------------------------
    def _decode(self, audio, offset: float, kwargs: dict[str, Any], ctx: Context,
                regions: list[tuple[int, int]]) -> tuple[list[Segment], bool]:
        """Segments of one window (times on the file's clock) and whether they look unreliable."""
        segments, suspicious = [], False
        limit = offset + audio.size / SAMPLE_RATE
        pieces, _ = self._model.transcribe(audio, **kwargs)
        for piece in pieces:
            ctx.check()
            suspicious |= piece.temperature > 0.0 or piece.compression_ratio > 2.4
            words = []
            for w in piece.words or []:
                start = min(max(offset + w.start, offset), limit)
                end = min(max(offset + w.end, start), limit)
                suspicious |= offset + w.end > limit + 0.5
                start, end = snap_to_speech(start, end, regions)
                words.append(Word(float(start), float(end), w.word.strip(), float(w.probability)))
            start = words[0].start if words else min(offset + piece.start, limit)
            end = words[-1].end if words else min(offset + piece.end, limit)
            text = piece.text.strip()
            if text:
                segments.append(Segment(start, max(end, start), text, words))
        suspicious |= _repeats([w.word for s in segments for w in s.words] or
                               " ".join(s.text for s in segments).split())
        return segments, suspicious

    def run(self, request: CaptionRequest, ctx: Context | None = None) -> CaptionResult:
        ctx = self._ctx(ctx)
        t0 = time.perf_counter()
        # 1. Check inputs.
        if not isinstance(request, CaptionRequest):
            raise InvalidInput("The captions engine needs a CaptionRequest.")
        self.load()
        model = self._model
        if request.language not in (None, "en") and not model.model.is_multilingual:
            raise InvalidInput(f"The model {self.model_label} knows only English; choose the 'base' model (or a "
                               f"multilingual one) for '{request.language}'.")
        # 2. Decode the audio and find the speech.
        ctx.report(0.0, "Reading the audio")
        audio = load_speech(request.media, ctx.sub(0.0, 0.05), self.config.options.get("max_duration_s"))
        duration = audio.size / SAMPLE_RATE
        regions = speech_regions(audio) if request.vad else None
        windows = speech_windows(audio, regions)
        language = request.language or "en"
        if request.language is None and model.model.is_multilingual and windows:
            s, e = windows[0]
            language = model.detect_language(audio[s:e])[0]
        # 3. Recognise each window; retry with the full 30 s window when the trimmed one looks unreliable.
        kwargs = dict(language=language, beam_size=int(request.beam_size or self.config.options.get("beam_size", 5)),
                      word_timestamps=request.word_timestamps, vad_filter=False, condition_on_previous_text=False,
                      initial_prompt=request.initial_prompt or self.config.options.get("initial_prompt"))
        segments: list[Segment] = []
        try:
            for s, e in windows:
                ctx.check()
                offset = s / SAMPLE_RATE
                found, suspicious = self._decode(audio[s:e], offset, kwargs, ctx, regions or [])
                if suspicious and not model.full_context:
                    model.full_context = True
                    try:
                        found, _ = self._decode(audio[s:e], offset, kwargs, ctx, regions or [])
                    finally:
                        model.full_context = False
                segments.extend(found)
                ctx.report(0.05 + 0.95 * e / audio.size,
                           f"Transcribed {_clock(e / SAMPLE_RATE)} of {_clock(duration)}")
        except RuntimeError as exc:  # CTranslate2 on a GPU without its CUDA libraries, or out of memory
            if self._device()[0] == "cpu":
                raise
            raise BackendUnavailable(f"Whisper failed on the GPU ({exc}); choose the CPU in Settings.") from exc
        # 4. Make the word times monotonic across windows and build the result.
        segments = _monotonic(segments)
        seconds = time.perf_counter() - t0
        ctx.report(1.0, "Done")
        return CaptionResult(language=language, text=" ".join(s.text for s in segments).strip(), segments=segments,
                             model=self.model_label, seconds=seconds, rtf=seconds / max(duration, 1e-9),
                             duration_s=duration, backend=self.config.backend or self.name)


def _monotonic(segments: list[Segment]) -> list[Segment]:
    out, last = [], 0.0
    for seg in segments:
        words = []
        for w in seg.words:
            start = max(w.start, last)
            end = max(w.end, start)
            words.append(Word(start, end, w.word, w.probability))
            last = end
        start = words[0].start if words else max(seg.start, last)
        end = max(words[-1].end if words else seg.end, start)
        out.append(Segment(start, end, seg.text, words))
    return out


class NeuralWhisperCaptioner(WhisperCaptioner):
    """Any faster-whisper model (``large-v3`` by default, from the local cache), on the GPU when there is one."""

    name: ClassVar[str] = "neural"
    heavy: ClassVar[bool] = True
    default_model: ClassVar[str | None] = "large-v3"
