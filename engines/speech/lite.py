"""Voice-over with eSpeak NG (CPU, no model): its C library through ctypes, from the ``espeakng-loader`` wheel.

The wheel ships ``libespeak-ng.so`` and ``espeak-ng-data`` (no system package needed). eSpeak NG is one global
synthesiser per process and is not thread-safe, so every call into it holds ``_LOCK``; it is initialised once, on
first use (never at import). It speaks at 22 050 Hz; the result is resampled to the request's rate.

Speech is made sentence by sentence (``split_sentences``): each sentence is synthesised, its leading and trailing
silence trimmed, and the sentences joined with a pause, so every ``SpeechSegment`` holds the real timing of its
sentence in the output. Cancellation is checked between sentences and, through the synthesis callback, while a
sentence is being spoken.

Voices are ids such as ``en-us``, ``en-gb``, ``en``, ``fr``, ``de``, ``es`` (any language eSpeak knows; see
``list_voices()``), optionally with one of eSpeak's variants: ``en-us+f3`` (female 3), ``en-gb+m1`` (male 1),
``de+klatt`` ... (see ``list_variants()``).
"""
from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..audio_io import AudioClip
from ..base import Engine
from ..context import Context
from ..errors import BackendUnavailable, Cancelled, InvalidInput
from . import _audio
from .types import SpeechRequest, SpeechResult, Voice, check_request, split_sentences

# speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_Synth returns when done; the callback gets the samples in this thread
espeakINITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit() when the data is missing
POS_CHARACTER = 1
espeakCHARS_UTF8 = 1
espeakRATE = 1
espeakVOLUME = 2
espeakPITCH = 3
EE_OK = 0

PAUSE_S = 0.3  # between sentences at 165 words per minute; scaled with the rate
MAX_CHARS = 220


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_void_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.POINTER(_Event))

_GENDERS = {1: "male", 2: "female"}


@dataclass(frozen=True)
class _VoiceEntry:
    voice: Voice
    identifier: str  # the file under espeak-ng-data/lang, what espeak_SetVoiceByName is given
    languages: tuple[tuple[int, str], ...]  # (priority, language); lower priority numbers are better matches


def _languages(address: int | None) -> tuple[tuple[int, str], ...]:
    """espeak_VOICE.languages: (priority byte, NUL-terminated name) pairs, ended by a zero byte."""
    out, offset = [], 0
    while address:
        priority = ctypes.string_at(address + offset, 1)[0]
        if priority == 0:
            break
        name = ctypes.string_at(address + offset + 1).decode("utf-8", "replace")
        out.append((priority, name.lower()))
        offset += len(name) + 2
    return tuple(out)


class _Espeak:
    """The process's eSpeak NG: loaded and initialised once; every method must be called with ``_LOCK`` held."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise BackendUnavailable(
                "The 'lite' speech backend needs the espeakng-loader package (pip install espeakng-loader), "
                "which ships the eSpeak NG library and its data.") from exc
        library, data = espeakng_loader.get_library_path(), None
        try:
            data = espeakng_loader.get_data_path()
            lib = ctypes.CDLL(library)
        except (OSError, RuntimeError) as exc:
            raise BackendUnavailable(
                f"The eSpeak NG library could not be loaded on this platform ({exc}); reinstall espeakng-loader "
                "or choose the 'neural' speech backend in Settings.") from exc
        self.data_path = Path(data)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        # The folder that holds espeak-ng-data's files is accepted as the path (espeak_ng_InitializePath).
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(),
                                     espeakINITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise BackendUnavailable(f"eSpeak NG could not start with its data at {self.data_path}; reinstall "
                                     "espeakng-loader or choose the 'neural' speech backend in Settings.")
        self.lib = lib
        self.sample_rate = int(rate)
        # The callback collects into ``_sink``; it is set for the length of one synthesis (under the lock).
        self._sink: list[np.ndarray] | None = None
        self._abort: Callable[[], bool] | None = None
        self._callback = _SynthCallback(self._on_samples)  # kept referenced for as long as the library lives
        lib.espeak_SetSynthCallback(self._callback)
        self.voices = self._list_voices()
        self.variants = self._list_variants()

    # -- synthesis -------------------------------------------------------------------------------------------
    def _on_samples(self, wav, count, events) -> int:
        if count > 0 and wav and self._sink is not None:
            self._sink.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        if self._abort is not None and self._abort():
            return 1  # espeak stops this synthesis
        return 0

    def speak(self, text: str, voice: str, rate: int, pitch: int,
              abort: Callable[[], bool] | None = None) -> tuple[np.ndarray, bool]:
        """int16 samples (n,) of ``text`` at ``self.sample_rate`` and whether ``abort`` stopped it.

        Not bit-for-bit repeatable: the synthesiser keeps its waveform phase and pitch-flutter state from one call
        to the next, so the same text may differ by a few samples (well under a millisecond per sentence)."""
        lib = self.lib
        if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise InvalidInput(f"eSpeak NG has no voice '{voice}'.")
        # Set after the voice: loading a voice may reset them.
        lib.espeak_SetParameter(espeakRATE, int(rate), 0)
        lib.espeak_SetParameter(espeakPITCH, int(pitch), 0)
        lib.espeak_SetParameter(espeakVOLUME, 100, 0)
        data = text.encode("utf-8")
        self._sink, self._abort, stopped = [], abort, False
        try:
            status = lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            stopped = abort is not None and abort()
            if status != EE_OK and not stopped:
                raise RuntimeError(f"espeak_Synth failed with status {status}")
            chunks = self._sink
        finally:
            self._sink, self._abort = None, None
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return samples, stopped

    # -- voices ------------------------------------------------------------------------------------------------
    def _list_voices(self) -> list[_VoiceEntry]:
        listed = self.lib.espeak_ListVoices(None)
        entries: list[_VoiceEntry] = []
        taken: set[str] = set()
        i = 0
        while listed and listed[i]:
            v = listed[i].contents
            i += 1
            languages = _languages(v.languages)
            identifier = (v.identifier or b"").decode("utf-8", "replace")
            if not languages or not identifier or identifier.startswith("mb/"):  # mbrola needs other files
                continue
            vid = languages[0][1]
            if vid in taken:  # two voices for one language: the later one is known by its file name
                vid = identifier.rsplit("/", 1)[-1].lower()
            taken.add(vid)
            name = (v.name or b"").decode("utf-8", "replace")
            entries.append(_VoiceEntry(Voice(vid, name, languages[0][1], _GENDERS.get(v.gender)), identifier,
                                       languages))
        return entries

    def _list_variants(self) -> dict[str, Voice]:
        """espeak-ng-data/voices/!v: the variants that may follow a voice after '+', keyed by lower-case id."""
        folder = self.data_path / "voices" / "!v"
        out: dict[str, Voice] = {}
        for path in sorted(folder.iterdir()) if folder.is_dir() else ():
            if not path.is_file():
                continue
            name, gender = path.name, None
            try:
                for line in path.read_text("utf-8", "replace").splitlines():
                    key, _, value = line.strip().partition(" ")
                    if key == "name" and value.strip():
                        name = value.strip()
                    elif key == "gender" and value.strip().split()[0] in ("male", "female"):
                        gender = value.strip().split()[0]
            except OSError:
                continue
            out[path.name.lower()] = Voice(f"+{path.name}", name, "", gender)
        return out

    def resolve(self, voice: str) -> str:
        """The name to give espeak_SetVoiceByName for a voice id ("en-us", "en_GB", "fr+f2", "English (America)")."""
        base, _, variant = voice.strip().partition("+")
        key = base.strip().lower().replace("_", "-")
        entry = next((e for e in self.voices if e.voice.id == key), None)
        if entry is None:  # a language a voice speaks: the best (lowest) priority wins, then the list order
            ranked = [(p, n, e) for n, e in enumerate(self.voices) for p, lang in e.languages if lang == key]
            entry = min(ranked, key=lambda t: (t[0], t[1]))[2] if ranked else None
        if entry is None:
            entry = next((e for e in self.voices
                          if key in (e.voice.name.lower(), e.identifier.lower())), None)
        if entry is None:
            raise InvalidInput(f"Unknown voice '{voice}'. Try one of: {', '.join(_examples(self))}, or a "
                               f"variant such as en-us+f3 (python -m engines.speech voices lists all).")
        if not variant:
            return entry.identifier
        found = self.variants.get(variant.strip().lower())
        if found is None:
            some = ", ".join(v.id for k, v in self.variants.items() if k in ("f1", "f2", "f3", "m1", "m3", "klatt"))
            raise InvalidInput(f"Unknown voice variant '+{variant}' in '{voice}'. Try one of: {some}.")
        return f"{entry.identifier}{found.id}"


def _examples(espeak: _Espeak) -> list[str]:
    ids = [e.voice.id for e in espeak.voices]
    common = [v for v in ("en-us", "en-gb", "fr-fr", "de", "es", "it", "pt", "ja") if v in ids]
    return common or ids[:8]


_LOCK = threading.RLock()
_ESPEAK: _Espeak | None = None
_ESPEAK_ERROR: BackendUnavailable | None = None


def _espeak() -> _Espeak:
    """The process's eSpeak NG, initialised on first use. Call with ``_LOCK`` held."""
    global _ESPEAK, _ESPEAK_ERROR
    if _ESPEAK is None:
        if _ESPEAK_ERROR is not None:  # do not try (and print) again in every request
            raise _ESPEAK_ERROR
        try:
            _ESPEAK = _Espeak()
        except BackendUnavailable as exc:
            _ESPEAK_ERROR = exc
            raise
    return _ESPEAK


def list_voices() -> list[Voice]:
    """The voices eSpeak NG offers (one per language/accent), sorted by id."""
    with _LOCK:
        return sorted((e.voice for e in _espeak().voices), key=lambda v: v.id)


def list_variants() -> list[Voice]:
    """The variants that can follow any voice after '+' (``id`` is "+f3", "+m1", ...), with their gender."""
    with _LOCK:
        return list(_espeak().variants.values())


def resolve_voice(voice: str) -> str:
    """eSpeak's own name for ``voice`` (``InvalidInput`` listing a few valid ids when it is unknown)."""
    with _LOCK:
        return _espeak().resolve(voice)


class EspeakSpeaker(Engine[SpeechRequest, SpeechResult]):
    """eSpeak NG voice-over. ``config.options`` may set ``pause_s`` (silence between sentences at 165 words per
    minute, default 0.3, scaled inversely with the rate) and ``max_chars`` (longest sentence piece, default 220)."""

    kind = "speech"
    name = "lite"

    def load(self) -> None:
        with _LOCK:
            _espeak()

    def voices(self) -> list[Voice]:
        return list_voices()

    def run(self, request: SpeechRequest, ctx: Context | None = None) -> SpeechResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        ctx.check()
        check_request(request)
        espeak_voice = resolve_voice(request.voice)
        options = self.config.options
        max_chars = int(options.get("max_chars", MAX_CHARS))
        pause_s = float(options.get("pause_s", PAUSE_S)) * 165.0 / request.rate_wpm

        # 2. Split into sentences
        sentences = split_sentences(request.text, max_chars=max_chars)
        if not sentences:
            raise InvalidInput("There is no text to speak.")
        ctx.report(0.0, f"{len(sentences)} sentence{'s' if len(sentences) != 1 else ''}")

        # 3. Speak them one by one (the lock is taken per sentence, so other jobs interleave)
        pieces: list[np.ndarray] = []
        native = 22_050
        for i, sentence in enumerate(sentences):
            ctx.check()
            with _LOCK:
                espeak = _espeak()
                native = espeak.sample_rate
                samples, stopped = espeak.speak(sentence, espeak_voice, request.rate_wpm, request.pitch,
                                                abort=ctx.cancelled)
            if stopped:
                raise Cancelled()
            pieces.append(_audio.trim(samples.astype(np.float32) / 32768.0, native))
            ctx.report((i + 1) / len(sentences) * 0.95, f"Spoke sentence {i + 1} of {len(sentences)}")

        # 4. Join with pauses, resample to the requested rate
        ctx.check()
        joined, segments = _audio.join(pieces, sentences, native, pause_s)
        samples = _audio.resample(joined, native, request.sample_rate)
        segments = _audio.retime(segments, samples.size, request.sample_rate)
        ctx.report(1.0, "Voice-over ready")
        parameters = request.as_dict() | {"espeak_voice": espeak_voice}
        return SpeechResult(clip=AudioClip(samples[None, :], request.sample_rate), segments=segments,
                            parameters=parameters, backend=self.name, model_id=None,
                            seconds=time.perf_counter() - started)
