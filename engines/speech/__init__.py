"""Voice-over: text → speech as an ``AudioClip`` with one timed segment per sentence.

    result = REGISTRY.create().run(SpeechRequest(text="Hello there. Welcome back!", voice="en-gb"), ctx)
    write_wav(Path("vo.wav"), result.clip); [(s.text, s.start_s, s.end_s) for s in result.segments]

Backends: ``lite`` (eSpeak NG through ctypes, CPU, no model) and ``neural`` (Bark through transformers, GPU queue).
``cast.assign_voices`` gives each character of a script its own stable voice. CLI: ``python -m engines.speech``.
"""
from __future__ import annotations


from ..registry import registry_for
from .lite import EspeakSpeaker, list_variants, list_voices
from .types import SpeechRequest, SpeechResult, SpeechSegment, Voice, split_sentences

REGISTRY = registry_for("speech")
REGISTRY.register(
    "lite", EspeakSpeaker,
    description="eSpeak NG: clear, robotic, instant; 100+ languages and accents, rate and pitch control (CPU, "
                "no model).",
    requires=("espeakng_loader",),
)
REGISTRY.register(
    "neural", "engines.speech.neural:BarkSpeaker",
    description="Bark (suno/bark-small by default): natural, expressive voices from speaker presets; slow on a "
                "CPU, best on a GPU.",
    requires=("transformers", "torch"),
)

__all__ = ["REGISTRY", "EspeakSpeaker", "SpeechRequest", "SpeechResult", "SpeechSegment", "Voice",
           "split_sentences", "list_voices", "list_variants"]
