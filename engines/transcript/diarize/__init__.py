"""Speaker diarization — who speaks when — for interviews, podcasts and dialogue scenes.

    result = REGISTRY.create().run(DiarizeRequest(media=Path("talk.wav")), ctx)       # DiarizeResult
    result.as_dict()  # {"segments": [{"start": 0.52, "end": 3.1, "speaker": "S1"}, ...], "speakers": 2, ...}

Pipeline (``pipeline.WindowDiarizer``): 16 kHz mono → Silero VAD (webrtcvad or an energy gate when it is not
installed) → sliding windows inside the speech → one vector per window (the backend) → agglomerative clustering
by cosine distance into the number of speakers given (``speakers=``) or estimated between ``min_speakers`` and
``max_speakers`` (silhouette of believable partitions, ``cluster.estimate_speakers``) → mode filter → turns
named S1, S2 ... in order of first appearance.

Backends (``registry_for("diarize")``, default ``lite``; also in ``BACKENDS``):

* ``lite``: MFCC mean + standard deviation over 1.5 s windows (NumPy/SciPy, no model). Estimates the number
  of speakers only for clearly different voices; on real recordings give ``speakers=`` (see bench/README.md).
* ``neural``: Resemblyzer's GE2E voice encoder (weights shipped in its wheel), CPU or CUDA.

CLI: ``python -m engines.transcript diarize MEDIA [--speakers N] [--backend lite|neural] [--json]``.
Importing this package imports neither torch nor scikit-learn.
"""
from __future__ import annotations

from ...base import Engine
from ...registry import registry_for
from .lite import LiteDiarizer
from .neural import NeuralDiarizer
from .types import DiarizeRequest, DiarizeResult, Turn

BACKENDS: dict[str, type[Engine]] = {"lite": LiteDiarizer, "neural": NeuralDiarizer}

REGISTRY = registry_for("diarize")
REGISTRY.register("lite", LiteDiarizer, requires=("sklearn",),
                  description="MFCC statistics per 1.5 s window, agglomerative clustering; no model (CPU).")
REGISTRY.register("neural", NeuralDiarizer, requires=("sklearn", "torch", "resemblyzer", "librosa", "webrtcvad"),
                  description="Resemblyzer GE2E speaker embeddings (bundled weights), agglomerative clustering; "
                              "CPU or CUDA.")

__all__ = ["BACKENDS", "REGISTRY", "DiarizeRequest", "DiarizeResult", "LiteDiarizer", "NeuralDiarizer", "Turn"]
