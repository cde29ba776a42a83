"""Stem separation: Demucs (``neural``) or a labelled lite split (``lite``), each stem written as a 16-bit WAV.

    result = STEMS.create(EngineConfig(backend="neural")).run(StemsRequest(Path("song.mp3"), Path("stems")), ctx)

* ``neural``: ``model_id`` is a Demucs name (``htdemucs`` by default; found offline in the torch hub or Hugging
  Face cache, downloaded only with ``options["download"]=True``), a ``.th``/``.safetensors`` checkpoint, or a folder
  with one checkpoint or a bag (``NAME.yaml`` + its checkpoints). The mix runs at the model's rate (resampled in and
  back out), ``apply_model(split=True, overlap=0.25, shifts=0)``; progress per segment; stems ``model.sources``.
  Mono is duplicated for the model and folded back; more than two channels are averaged to stereo (noted).
* ``lite`` (not neural, ``labelled_lite=True``): median-filter HPSS on the STFT (a percussive stem "drums") and,
  for stereo, a centre-channel estimate of the harmonic part (L and R in phase and level, 120 Hz–10 kHz) as
  "vocals"; the rest is "other". Stems sum back to the mix. Processed in 10 s blocks with margins (bounded memory).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..audio_io import AudioClip, write_wav
from ..base import Engine, EngineConfig
from ..context import Context
from ..errors import Cancelled, InvalidInput, InvalidMedia, ModelLoadError
from ..models import model_cache
from .wavio import WavSink

DEFAULT_MODEL = "htdemucs"
LITE_LABELS = {"vocals": "vocals (centre estimate)", "drums": "drums (percussive)", "other": "harmonic (rest)"}
BLOCK_S, KERNEL = 10.0, 17  # lite: block length; median kernel in frames (time) and bins (frequency)


@dataclass(frozen=True)
class StemsRequest:
    media: Path
    out_dir: Path


@dataclass
class StemsResult:
    stems: dict[str, Path]
    backend: str
    model: str
    labelled_lite: bool
    seconds: float
    labels: dict[str, str] = field(default_factory=dict)
    sample_rate: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"stems": {k: str(v) for k, v in self.stems.items()}, "backend": self.backend, "model": self.model,
                "labelled_lite": self.labelled_lite, "seconds": round(self.seconds, 3), "labels": self.labels,
                "sample_rate": self.sample_rate, "notes": self.notes}


def _inspect(request: StemsRequest):
    from ..media import probe

    media, out_dir = Path(request.media), Path(request.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(f"{out_dir} is a file; give a folder for the stems.")
    info = probe(media)
    if info.audio is None:
        raise InvalidMedia(f"{media.name} has no audio track.")
    return media, out_dir, info


# --------------------------------------------------------------------------------------------------------------
# Lite: HPSS + centre estimate
# --------------------------------------------------------------------------------------------------------------
def _fft_size(rate: int) -> int:
    return 1 << max(8, int(round(math.log2(rate * 0.046))))  # ≈ 46 ms: 2048 at 44.1/48 kHz


def split_block(x: np.ndarray, rate: int) -> dict[str, np.ndarray]:
    """One block (channels, n) → {"drums", "other"} (+ "vocals" for stereo), each (channels, n), summing to x."""
    from scipy.ndimage import median_filter, uniform_filter1d
    from scipy.signal import istft, stft

    n_fft, length = _fft_size(rate), x.shape[1]
    hop = n_fft // 4
    x = np.pad(x, ((0, 0), (0, max(0, n_fft - length))))  # a tiny file still gets one whole frame
    _, _, spec = stft(x, fs=rate, nperseg=n_fft, noverlap=n_fft - hop)  # (channels, bins, frames)
    mag = np.abs(spec).mean(axis=0)
    harm = median_filter(mag, size=(1, KERNEL), mode="nearest")
    perc = median_filter(mag, size=(KERNEL, 1), mode="nearest")
    mask_h = harm ** 2 / (harm ** 2 + perc ** 2 + 1e-12)
    parts = {"drums": spec * (1 - mask_h), "other": spec * mask_h}
    if x.shape[0] == 2:
        left, right = parts["other"]
        agree = 2 * np.real(left * np.conj(right)) / (np.abs(left) ** 2 + np.abs(right) ** 2 + 1e-12)
        agree = uniform_filter1d(np.clip(agree, 0, 1) ** 4, size=3, axis=1)
        freqs = np.fft.rfftfreq(n_fft, 1 / rate)
        band = np.clip((freqs - 60) / 60, 0, 1) * np.clip((12000 - freqs) / 2000, 0, 1)
        mask_v = agree * band[:, None]
        parts["vocals"] = parts["other"] * mask_v
        parts["other"] = parts["other"] * (1 - mask_v)
    return {k: istft(v, fs=rate, nperseg=n_fft, noverlap=n_fft - hop)[1][:, :length].astype(np.float32)
            for k, v in parts.items()}


class LiteStemSplitter(Engine[StemsRequest, StemsResult]):
    """Harmonic/percussive + centre-channel split (CPU, no model) — labelled as not a neural separation."""

    kind = "stems"
    name = "lite"

    def run(self, request: StemsRequest, ctx: Context | None = None) -> StemsResult:
        from ..media import iter_audio

        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        media, out_dir, info = _inspect(request)
        rate, channels = info.audio.sample_rate, info.audio.channels
        total = max(1, int((info.duration_s or 0) * rate))
        notes = ["Lite split (median-filter HPSS + centre-channel estimate), not a neural separation."]
        fold = channels >= 8  # PyAV cannot hand over 8 or more planar channels: fold those to mono
        if fold:
            notes.append(f"{channels} channels folded to mono.")
            channels = 1
        if channels != 2:
            notes.append(f"{channels}-channel input: no centre-channel vocal estimate (it needs stereo).")
        keys = ["vocals", "drums", "other"] if channels == 2 else ["drums", "other"]

        # 2. Decode and split block by block, with a margin each side so the joins are seamless
        hop = _fft_size(rate) // 4
        block, margin = max(1, int(BLOCK_S * rate) // hop) * hop, (4 + KERNEL) * hop
        sinks = {k: WavSink(out_dir / f"{media.stem}-{k}-lite.wav", channels, rate, "s16") for k in keys}
        buf, start, done = np.zeros((channels, 0), np.float32), 0, 0  # buf[:, 0] is sample `start`
        pending: list[np.ndarray] = []

        def step(stop: int) -> None:
            nonlocal buf, start, done
            w0, w1 = max(start, done - margin), min(start + buf.shape[1], stop + margin)
            out = split_block(buf[:, w0 - start:w1 - start], rate)
            for k in keys:
                sinks[k].write(out[k][:, done - w0:stop - w0])
            done = stop
            keep = max(start, done - margin)
            buf, start = buf[:, keep - start:], keep
            ctx.check()
            ctx.report(min(0.99, done / total), f"split {done / rate:.0f} s")

        try:
            for chunk in iter_audio(media, sample_rate=rate, mono=fold, ctx=ctx):
                pending.append(chunk[None] if fold else chunk)
                if start + buf.shape[1] + sum(p.shape[1] for p in pending) - done >= block + margin:
                    buf, pending = np.concatenate([buf, *pending], axis=1), []
                    while start + buf.shape[1] - done >= block + margin:
                        step(done + block)
            buf = np.concatenate([buf, *pending], axis=1)
            while done < start + buf.shape[1]:
                step(min(start + buf.shape[1], done + block))
        except BaseException:
            for sink in sinks.values():
                sink.close(keep=False)
            raise
        for sink in sinks.values():
            sink.close()
        ctx.report(1.0, "done")
        return StemsResult({k: sinks[k].path for k in keys}, "lite", "hpss+centre", True,
                           time.perf_counter() - started, {k: LITE_LABELS[k] for k in keys}, rate, notes)


# --------------------------------------------------------------------------------------------------------------
# Neural: Demucs
# --------------------------------------------------------------------------------------------------------------
def _no_weights(name: str, where: str) -> ModelLoadError:
    return ModelLoadError(
        f"No weights for the Demucs model '{name}' are available offline ({where}). Run Demucs once where there "
        f"is a network (e.g. `python -m demucs -n {name} song.wav`) to fill that cache, or set the stems model "
        f"in Settings to a local .th/.safetensors file or a folder with one, or allow downloading (option "
        f"download=true), or use the lite stem split (labelled: harmonic/percussive + centre, not neural).")


def _load_named(name: str, download: bool) -> Any:
    """A named Demucs model from the torch hub cache or the Hugging Face cache, without touching the network."""
    import torch
    import yaml
    from demucs import pretrained
    from demucs.apply import BagOfModels
    from demucs.repo import AnyModelRepo, BagOnlyRepo, RemoteRepo

    urls = pretrained._parse_remote_files(pretrained.REMOTE_ROOT / "files.txt")
    bag_file = pretrained.REMOTE_ROOT / f"{name}.yaml"
    sigs = yaml.safe_load(bag_file.read_text())["models"] if bag_file.is_file() else [name] if name in urls else None
    if sigs is None and "/" not in name:
        raise ModelLoadError(f"'{name}' is neither a Demucs model name (htdemucs, htdemucs_ft, htdemucs_6s, "
                             f"mdx_extra, ...) nor an existing file or folder.")
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    if sigs and all((cache / urls[s].rsplit("/", 1)[-1]).is_file() for s in sigs):
        repo = RemoteRepo(urls)  # the files are cached: torch.hub loads them without downloading
        return AnyModelRepo(repo, BagOnlyRepo(pretrained.REMOTE_ROOT, repo)).get_model(name)
    try:  # demucs ≥ 4.1 keeps its weights on the Hugging Face hub: look in that cache, offline
        from demucs.hf import DEFAULT_NAMESPACE, hf_repo_name, load_safetensors_model
        from huggingface_hub import hf_hub_download

        space, short = name.split("/", 1) if "/" in name else (DEFAULT_NAMESPACE, name)
        repo_id = f"{space}/{hf_repo_name(short)}"
        bag = yaml.safe_load(Path(hf_hub_download(repo_id, f"{short}.yaml", local_files_only=True)).read_text())
        models = [load_safetensors_model(hf_hub_download(repo_id, f"{s}.safetensors", local_files_only=True))
                  for s in bag["models"]]
        return BagOfModels(models, bag.get("weights"), bag.get("segment"))
    except (ImportError, OSError, ValueError, KeyError):
        pass
    if download:
        return pretrained.get_model(name)
    raise _no_weights(name, f"not in the torch hub cache {cache} nor the Hugging Face cache")


def _load_local(path: Path) -> Any:
    from demucs.apply import BagOfModels
    from demucs.states import load_model

    def one(file: Path) -> Any:
        if file.suffix == ".safetensors":
            from demucs.hf import load_safetensors_model

            return load_safetensors_model(file)
        return load_model(file)

    if path.is_file():
        return one(path)
    files = sorted([*path.glob("*.th"), *path.glob("*.safetensors")])
    bags = sorted(path.glob("*.yaml"))
    if len(bags) == 1:
        import yaml

        bag = yaml.safe_load(bags[0].read_text())
        by_sig = {f.stem.split("-")[0]: f for f in files}
        missing = [s for s in bag["models"] if s not in by_sig]
        if missing:
            raise ModelLoadError(f"{bags[0].name} lists {', '.join(missing)}, which {path} does not hold.")
        return BagOfModels([one(by_sig[s]) for s in bag["models"]], bag.get("weights"), bag.get("segment"))
    if len(files) == 1:
        return one(files[0])
    raise ModelLoadError(f"{path} holds {len(files)} Demucs checkpoints and {len(bags)} .yaml bags; it needs one "
                         "checkpoint (.th/.safetensors), or one bag .yaml with the checkpoints it lists.")


def load_demucs(model_id: str, *, download: bool = False) -> Any:
    """A Demucs model (or bag) from a name, a checkpoint file or a folder; errors become ``ModelLoadError``."""
    path = Path(model_id).expanduser()
    try:
        if path.exists():
            model = _load_local(path)
        elif model_id.startswith(("/", ".", "~")) or model_id.endswith((".th", ".safetensors")):
            raise ModelLoadError(f"There is no Demucs checkpoint at {model_id}.")
        else:
            model = _load_named(model_id, download)
    except ModelLoadError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, ImportError, SystemExit) as exc:
        raise ModelLoadError(f"Could not load the Demucs model '{model_id}': {exc}") from exc
    model.eval()
    return model


class DemucsStemSplitter(Engine[StemsRequest, StemsResult]):
    """Demucs source separation (heavy: wants the GPU queue)."""

    kind = "stems"
    name = "neural"
    heavy = True

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        self._model: Any = None
        self._device = "cpu"

    @property
    def model_id(self) -> str:
        return self.config.model_id or DEFAULT_MODEL

    def load(self) -> Any:
        if self._model is None:
            from ..device import torch_device

            self._device = torch_device(self.config.device)
            download = bool(self.config.options.get("download", False))
            self._model = model_cache().get(("stems", self.name, self.model_id, self._device),
                                            lambda: load_demucs(self.model_id, download=download))
        return self._model

    def unload(self) -> None:
        self._model = None

    def run(self, request: StemsRequest, ctx: Context | None = None) -> StemsResult:
        import torch
        from demucs.apply import apply_model
        from scipy.signal import resample_poly

        from ..media import read_audio

        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        media, out_dir, info = _inspect(request)
        in_rate, channels = info.audio.sample_rate, info.audio.channels
        notes = [] if channels <= 2 else [f"{channels} channels folded to one for Demucs (stems are mono)."]

        # 2. Load the model (cached) and decode at its rate, normalised as Demucs' own CLI does
        ctx.report(0.0, f"loading {self.model_id}")
        model = self.load()
        rate = int(model.samplerate)
        ctx.check()
        wav = read_audio(media, sample_rate=rate, mono=channels != 2, ctx=ctx)
        wav = np.repeat(wav[None], 2, axis=0) if wav.ndim == 1 else wav
        ref_mean, ref_std = float(wav.mean()), float(wav.mean(axis=0).std()) or 1.0
        mix = torch.from_numpy((wav - ref_mean) / ref_std).float()

        # 3. Separate, segment by segment
        subs = getattr(model, "models", [model])
        seg = [int(rate * float(getattr(m, "segment", BLOCK_S))) for m in subs]
        total = sum(math.ceil(mix.shape[1] / max(1, int(0.75 * s))) for s in seg)
        done = 0

        def progress(state: dict) -> None:
            nonlocal done
            if state.get("state") == "end":
                done += 1
                ctx.report(0.05 + 0.85 * min(1.0, done / total), f"separated {done}/{total} segments")
            if ctx.cancelled():
                raise Cancelled()

        with torch.no_grad():
            out = apply_model(model, mix[None], device=self._device, shifts=0, split=True, overlap=0.25,
                              progress=False, callback=progress)[0]
        ctx.check()
        out = (out * ref_std + ref_mean).cpu().numpy()

        # 4. Write each stem at the input's rate (temp name, then renamed)
        ctx.report(0.92, "writing stems")
        n_in = int(round(mix.shape[1] * in_rate / rate))
        g = math.gcd(in_rate, rate)
        stems: dict[str, Path] = {}
        for k, source in enumerate(model.sources):
            y = out[k] if channels == 2 else out[k].mean(axis=0, keepdims=True)
            if in_rate != rate:
                y = resample_poly(y, in_rate // g, rate // g, axis=1)
            y = np.pad(y[:, :n_in], ((0, 0), (0, max(0, n_in - y.shape[1]))))
            stems[source] = write_wav(out_dir / f"{media.stem}-{source}.wav", AudioClip(y, in_rate))
        ctx.report(1.0, "done")
        return StemsResult(stems, "neural", self.model_id, False, time.perf_counter() - started,
                           {s: s for s in model.sources}, in_rate, notes)


# --------------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------------
def add_cli(sub) -> None:
    """``stems IN --out-dir DIR [--backend lite|neural] [--model htdemucs] [--json] [--progress]``."""
    p: argparse.ArgumentParser = sub.add_parser("stems", help="split a mix into stems (Demucs, or a lite split)")
    p.add_argument("media", type=Path, help="audio or video file")
    p.add_argument("--out-dir", type=Path, required=True, help="folder for the stem WAVs")
    p.add_argument("--backend", choices=("lite", "neural"), default="lite")
    p.add_argument("--model", default=None, help="Demucs name, checkpoint file or folder (default htdemucs)")
    p.add_argument("--download", action="store_true", help="allow Demucs to download missing weights")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--progress", action="store_true", help="print progress to stderr")
    p.set_defaults(func=cli_stems)


def cli_stems(args: argparse.Namespace) -> int:
    from ..cli import fail, progress_context, run_once
    from ..errors import ReelsmithError
    from . import STEMS

    config = EngineConfig(backend=args.backend, model_id=args.model, options={"download": args.download})
    try:
        result = run_once(STEMS, config, StemsRequest(args.media, args.out_dir), progress_context(args.progress))
    except ReelsmithError as exc:
        return fail(exc)
    d = result.as_dict()
    print(json.dumps(d, indent=2) if args.json else "\n".join(
        [f"{d['labels'].get(k, k)}: {v}" for k, v in d["stems"].items()] + d["notes"]))
    return 0
