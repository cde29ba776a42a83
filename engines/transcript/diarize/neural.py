"""``neural`` diarization: Resemblyzer's GE2E voice encoder (its ``pretrained.pt`` ships in the wheel).

Each window becomes a 256-d speaker embedding from the encoder's LSTM over 40-band mel frames (Resemblyzer's
own mel code, so features match what the encoder was trained on). Windows are 1.6 s (the encoder's "partial
utterance") every 0.4 s, batched. ``EngineConfig.model_id`` may name another Resemblyzer checkpoint (.pt);
the device is ``EngineConfig.device`` ("auto": CUDA when torch sees one, else the CPU).
"""
from __future__ import annotations

import bisect
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...context import Context
from ...errors import BackendUnavailable, ModelLoadError
from .pipeline import Window, WindowDiarizer

#: Resemblyzer's preprocessing level (``audio_norm_target_dBFS``): quieter speech is raised to it.
TARGET_DBFS = -30.0
BATCH = 64


class NeuralDiarizer(WindowDiarizer):
    """Resemblyzer (GE2E, Apache-2.0) embeddings per window, clustered by cosine distance."""

    name = "neural"
    window_s = 1.6
    hop_s = 0.4
    smooth = 3

    def __init__(self, config=None) -> None:
        super().__init__(config)
        self._encoder: Any = None
        self._mel: Any = None

    def load(self) -> None:
        if self._encoder is not None:
            return
        try:
            import torch  # noqa: F401
            with warnings.catch_warnings():  # resemblyzer imports scipy.ndimage.morphology (deprecated)
                warnings.simplefilter("ignore", DeprecationWarning)
                from resemblyzer import VoiceEncoder
                from resemblyzer.audio import wav_to_mel_spectrogram
        except ImportError as exc:
            raise BackendUnavailable(f"The neural diarizer needs resemblyzer ({exc.name} is missing): "
                                     "pip install --no-deps resemblyzer==0.1.4 librosa webrtcvad-wheels") from exc
        from ...device import torch_device

        weights = self.config.model_id
        if weights and not Path(weights).is_file():
            raise ModelLoadError(f"No Resemblyzer checkpoint at {weights}.")
        try:
            self._encoder = VoiceEncoder(device=torch_device(self.config.device), verbose=False,
                                         weights_fpath=weights or None).eval()
        except (OSError, RuntimeError, KeyError) as exc:
            raise ModelLoadError(f"Could not load the Resemblyzer voice encoder: {exc}") from exc
        self._mel = wav_to_mel_spectrogram

    def unload(self) -> None:
        self._encoder = self._mel = None

    def embed(self, samples: np.ndarray, windows: list[Window], ctx: Context) -> np.ndarray:
        import torch

        self.load()
        spans = _spans(windows)
        # Level: the encoder sees linear mel power, so raise quiet speech to Resemblyzer's -30 dBFS as its
        # preprocessing does (measured on the speech only, not the silences).
        energy = sum(float(np.dot(samples[s:e], samples[s:e])) for s, e in spans)
        dbfs = 10 * np.log10(energy / max(1, sum(e - s for s, e in spans)) + 1e-12)
        gain = 10 ** (max(0.0, TARGET_DBFS - dbfs) / 20)
        ctx.report(0.0, "Mel spectrograms")
        # One mel spectrogram per stretch of overlapping windows (frame i centred on sample start + 160·i).
        mels = [self._mel((samples[s:e] * gain).astype(np.float32)) for s, e in spans]
        starts = [s for s, _ in spans]
        by_length: dict[int, list[int]] = {}
        where = []
        for i, (s, e) in enumerate(windows):
            k = bisect.bisect_right(starts, s) - 1
            first = (s - starts[k]) // 160
            n = max(1, min((e - s) // 160, len(mels[k]) - first))
            where.append((k, first))
            by_length.setdefault(n, []).append(i)
        out = np.zeros((len(windows), 256), dtype=np.float32)
        done = 0
        with torch.inference_mode():
            for n, idx in by_length.items():
                for b in range(0, len(idx), BATCH):
                    ctx.check()
                    chunk = idx[b:b + BATCH]
                    batch = np.stack([mels[where[i][0]][where[i][1]:where[i][1] + n] for i in chunk])
                    out[chunk] = self._encoder(torch.from_numpy(batch).to(self._encoder.device)).cpu().numpy()
                    done += len(chunk)
                    ctx.report(done / len(windows), f"{done}/{len(windows)} windows")
        return out


def _spans(windows: list[Window]) -> list[tuple[int, int]]:
    """The union of the windows as sorted, disjoint sample ranges."""
    out: list[list[int]] = []
    for s, e in sorted(windows):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]
