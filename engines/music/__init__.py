"""Music beds for videos: loopable, exactly as long as asked, in a mood, key and tempo.

    result = REGISTRY.create().run(MusicRequest(prompt="tense strings", duration_s=20, seed=3), ctx)
    write_wav(Path("bed.wav"), result.clip); result.parameters  # key, mode, tempo, progression, instruments

Backends: ``lite`` (algorithmic composer and numpy synthesiser, CPU, no model) and ``neural`` (MusicGen through
transformers; heavy, wants the GPU queue). CLI: ``python -m engines.music compose --prompt ... --out bed.wav``.
"""
from __future__ import annotations

from ..registry import registry_for
from .lite import AlgorithmicComposer
from .types import MusicRequest, MusicResult, check_request, key_name, parse_key

REGISTRY = registry_for("music")
REGISTRY.register(
    "lite", AlgorithmicComposer,
    description="Composes a bed from the words (style, key, tempo, progression, bass, drums, melody) and "
                "synthesises it with numpy: CPU, no model, seamless loops of exact length.",
)
REGISTRY.register(
    "neural", "engines.music.neural:MusicGenComposer",
    description="MusicGen (facebook/musicgen-small by default, or a local folder) through transformers; "
                "MusicGen-Melody models also follow a melody file. Best on a GPU.",
    requires=("transformers", "torch"),
)

__all__ = ["REGISTRY", "AlgorithmicComposer", "MusicRequest", "MusicResult", "check_request", "key_name",
           "parse_key"]
