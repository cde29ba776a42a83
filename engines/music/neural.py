"""MusicGen beds through transformers: text (and, with MusicGen-Melody, a melody) in, audio out.

    engine = MusicGenComposer(EngineConfig(backend="neural", model_id="facebook/musicgen-small"))
    result = engine.run(MusicRequest(prompt="tense strings", duration_s=20, seed=3), ctx)

What is supported:

* ``model_id`` is a hub id or a local folder holding a MusicGen checkpoint (``config.json``, weights, tokenizer
  and processor files, as ``save_pretrained`` writes them). With ``HF_HUB_OFFLINE=1`` (or a local folder) only
  local files are read; a model that cannot be found is a ``ModelLoadError`` that says to use a local folder.
* ``musicgen`` checkpoints (small/medium/large, mono or stereo) follow the text: the prompt, the mood and, as
  words, the requested key and tempo ("…, in F#m, 96 bpm"; MusicGen treats these as hints, not constraints).
  An empty prompt generates unconditionally.
* ``musicgen_melody`` checkpoints also follow ``request.melody`` (read with ``engines.media.read_audio`` at the
  processor's rate, at most 30 s; its feature extractor needs ``torchaudio``). A melody given to a model that
  cannot follow one is an ``InvalidInput``.
* Length: ``duration_s`` → ``max_new_tokens`` from the codec's frame rate (``audio_encoder.frame_rate``, 50 Hz
  for musicgen-small) plus the codebook delay; the audio is then cut to exactly ``round(duration_s · rate)``
  samples. Beds longer than ``options["max_chunk_s"]`` (default 30 s, what MusicGen was trained on) are made
  in windows, each continuing the last ``options["context_s"]`` (default 10 s) of audio as an audio prompt
  (text models only; a melody model is limited to one window).
* ``loop=True``: one extra second (a quarter of the bed at most) is generated and cross-faded (equal power)
  into the start, so the last sample flows into the first.
* Output: the model's sampling rate (32 kHz for MusicGen; ``request.sample_rate`` is not used), two channels
  (a mono model's channel is duplicated, like the lite backend's stereo), peak-normalised to −1 dBFS.
* Device: ``config.device`` through ``torch_device``; float16 on CUDA, float32 on the CPU. Sampling is seeded
  with ``torch.manual_seed(request.seed)``: the same request on the same device gives the same audio.
* Progress and cancellation: a ``StoppingCriteria`` reports generated tokens / tokens to generate and stops
  generation when ``ctx.cancelled()``, after which ``Cancelled`` is raised.

Other options: ``guidance_scale`` (3.0), ``top_k`` (250), ``temperature`` (1.0).
"""
from __future__ import annotations

import importlib.util
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..audio_io import AudioClip
from ..base import Engine, EngineConfig
from ..context import Context
from ..errors import Cancelled, InvalidInput, ModelLoadError
from ..models import model_cache
from .types import MusicRequest, MusicResult, check_request

DEFAULT_MODEL_ID = "facebook/musicgen-small"
PEAK_DBFS = -1.0
MAX_MELODY_S = 30.0
_SUPPORTED = ("musicgen", "musicgen_melody")


@dataclass
class MusicGenBundle:
    """What the model cache holds for one (model id, device): the model, its processor and facts about it."""

    model: Any
    processor: Any
    model_type: str
    device: str
    dtype: str
    sampling_rate: int
    frame_rate: float
    hop_length: int
    num_codebooks: int
    audio_channels: int
    max_positions: int

    def unload(self) -> None:
        self.model = None
        self.processor = None


def hub_offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _load_hint(model_id: str) -> str:
    return (f"Download it once where there is a network (e.g. `hf download {DEFAULT_MODEL_ID} --local-dir "
            f"models/musicgen-small`) and set the music model in Settings to that local path (a folder with "
            f"config.json, the weights and the tokenizer/processor files), or choose the lite backend."
            if not Path(model_id).expanduser().is_dir() else
            "Check that the folder holds a complete MusicGen checkpoint (config.json, the weights and the "
            "tokenizer/processor files, as save_pretrained writes them), or choose the lite backend.")


def load_bundle(model_id: str, device: str) -> MusicGenBundle:
    """Load a MusicGen (or MusicGen-Melody) checkpoint and its processor; errors become ``ModelLoadError``."""
    import torch  # noqa: F401 - heavy imports only here
    from transformers import AutoConfig, AutoProcessor

    from ..device import torch_dtype

    local = Path(model_id).expanduser().is_dir()
    if not local and (model_id.startswith(("/", ".", "~")) or "\\" in model_id or model_id.count("/") > 1):
        raise ModelLoadError(f"There is no folder at {model_id} for the music model. {_load_hint(model_id)}")
    source = str(Path(model_id).expanduser()) if local else model_id
    kwargs: dict[str, Any] = {"local_files_only": True} if (local or hub_offline()) else {}
    where = "the local folder" if local else ("the local Hugging Face cache (offline mode)" if kwargs else
                                               "the Hugging Face hub")
    try:
        config = AutoConfig.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"Could not load the music model '{model_id}' from {where}: "
                             f"{_first_line(exc)}. {_load_hint(model_id)}") from exc
    model_type = getattr(config, "model_type", "")
    if model_type not in _SUPPORTED:
        raise ModelLoadError(f"'{model_id}' is a {model_type or 'unknown'} model, not MusicGen; the neural music "
                             f"backend needs a MusicGen or MusicGen-Melody checkpoint.")
    if model_type == "musicgen_melody" and importlib.util.find_spec("torchaudio") is None:
        raise ModelLoadError(f"'{model_id}' is a MusicGen-Melody model, whose processor needs torchaudio: "
                             f"pip install torchaudio, or use a text-only MusicGen model.")
    if model_type == "musicgen":
        from transformers import MusicgenForConditionalGeneration as model_class
    else:
        from transformers import MusicgenMelodyForConditionalGeneration as model_class
    dtype = torch_dtype(device)
    try:
        model = model_class.from_pretrained(source, dtype=dtype, **kwargs)
        processor = AutoProcessor.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"Could not load the music model '{model_id}' from {where}: "
                             f"{_first_line(exc)}. {_load_hint(model_id)}") from exc
    model.to(device)
    model.eval()
    audio_cfg = model.config.audio_encoder
    hop = int(getattr(audio_cfg, "hop_length", 0) or int(np.prod(audio_cfg.upsampling_ratios)))
    return MusicGenBundle(
        model=model, processor=processor, model_type=model_type, device=device, dtype=str(dtype).replace("torch.", ""),
        sampling_rate=int(audio_cfg.sampling_rate), frame_rate=float(audio_cfg.frame_rate), hop_length=hop,
        num_codebooks=int(model.config.decoder.num_codebooks),
        audio_channels=int(getattr(model.config.decoder, "audio_channels", 1)),
        max_positions=int(model.config.decoder.max_position_embeddings))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else exc.__class__.__name__


class MusicGenComposer(Engine[MusicRequest, MusicResult]):
    """MusicGen through transformers (heavy: wants the GPU queue)."""

    kind = "music"
    name = "neural"
    heavy = True

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        self._bundle: MusicGenBundle | None = None

    @property
    def model_id(self) -> str:
        return self.config.model_id or DEFAULT_MODEL_ID

    def cache_key(self, device: str) -> tuple:
        return ("music", self.name, self.model_id, device)

    def load(self) -> MusicGenBundle:
        """Load (once per process, through the model cache) and keep a reference for this engine."""
        if self._bundle is None or self._bundle.model is None:
            from ..device import torch_device

            device = torch_device(self.config.device)
            self._bundle = model_cache().get(self.cache_key(device), lambda: load_bundle(self.model_id, device))
        return self._bundle

    def unload(self) -> None:
        """Drop this engine's reference; the model cache decides when the weights leave memory."""
        self._bundle = None

    def run(self, request: MusicRequest, ctx: Context | None = None) -> MusicResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        check_request(request)
        ctx.check()

        # 2. Load the model (cached)
        ctx.report(0.0, f"loading {self.model_id}")
        bundle = self.load()
        if request.melody is not None and bundle.model_type != "musicgen_melody":
            raise InvalidInput(f"The music model '{self.model_id}' cannot follow a melody; choose a MusicGen-Melody "
                               f"model (e.g. facebook/musicgen-melody) or leave the melody out.")
        options = self.config.options
        max_chunk_s = float(options.get("max_chunk_s", 30.0))
        context_s = float(options.get("context_s", 10.0))
        ctx.check()

        # 3. Plan the windows
        sr = bundle.sampling_rate
        length = request.num_samples(sr)
        fade = int(round(min(1.0, float(request.duration_s) / 4.0) * sr)) if request.loop else 0
        needed = length + fade
        max_chunk = max(1, int(max_chunk_s * sr))
        if bundle.model_type == "musicgen_melody" and needed > max_chunk:
            raise InvalidInput(f"A melody-conditioned bed can be at most {max_chunk_s:g} s long with "
                               f"'{self.model_id}'.")
        context = min(int(context_s * bundle.frame_rate), int(0.5 * max_chunk_s * bundle.frame_rate))
        context *= bundle.hop_length  # whole codec frames
        windows = _windows(needed, max_chunk, context)
        total_tokens = sum(self._tokens(bundle, new) for _, new in windows)

        # 4. Generate
        description = describe(request)
        melody = None
        if request.melody is not None:
            from .analysis import read_reference

            melody = read_reference(request.melody, sr, ctx, max_s=MAX_MELODY_S)
        import torch

        torch.manual_seed(int(request.seed))
        audio: np.ndarray | None = None
        done = 0
        for index, (ctx_len, new) in enumerate(windows):
            prompt_audio = audio[:, -ctx_len:] if (audio is not None and ctx_len) else None
            tokens = self._tokens(bundle, new)
            piece = self._generate(bundle, description, melody, prompt_audio, tokens, ctx, done, total_tokens,
                                   f"window {index + 1}/{len(windows)}" if len(windows) > 1 else "")
            done += tokens
            if prompt_audio is None:
                audio = piece
            else:
                audio = _join(audio, piece, prompt_audio.shape[1], int(0.05 * sr))
        assert audio is not None
        ctx.check()

        # 5. Length, loop seam, level
        ctx.report(0.95, "finishing")
        audio = _fit(audio, needed)
        if request.loop:
            audio = _loop_crossfade(audio, length, fade)
        else:
            audio = audio[:, :length]
            tail = min(int(0.05 * sr), length // 4)
            if tail > 1:
                audio[:, -tail:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32)
        if audio.shape[0] == 1:
            audio = np.repeat(audio, 2, axis=0)
        audio = _peak_normalise(audio, PEAK_DBFS)
        ctx.report(1.0, "done")

        parameters = {
            "description": description,
            "model_type": bundle.model_type,
            "sample_rate": sr,
            "frame_rate": bundle.frame_rate,
            "tokens": total_tokens,
            "windows": len(windows),
            "guidance_scale": float(options.get("guidance_scale", 3.0)),
            "top_k": int(options.get("top_k", 250)),
            "temperature": float(options.get("temperature", 1.0)),
            "melody": request.melody is not None,
            "key": request.key,
            "tempo_bpm": request.tempo_bpm,
            "mood": request.mood,
            "loop": request.loop,
            "seed": request.seed,
            "device": bundle.device,
            "dtype": bundle.dtype,
            "samples": length,
            "duration_s": length / sr,
        }
        return MusicResult(clip=AudioClip(audio, sr), parameters=parameters, backend=self.name,
                           model_id=self.model_id, seconds=time.perf_counter() - started,
                           request=request.as_dict())

    # ----------------------------------------------------------------------------------------------------------
    @staticmethod
    def _tokens(bundle: MusicGenBundle, samples: int) -> int:
        """Decoder steps for ``samples`` of new audio: one per codec frame plus the codebook delay pattern."""
        frames = int(math.ceil(samples / bundle.hop_length))
        return frames + bundle.num_codebooks - 1

    def _generate(self, bundle: MusicGenBundle, description: str, melody: np.ndarray | None,
                  prompt_audio: np.ndarray | None, tokens: int, ctx: Context, done: int, total: int,
                  label: str) -> np.ndarray:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class Progress(StoppingCriteria):
            """Reports tokens generated / to generate; stops every sequence once the job is cancelled."""

            def __init__(self) -> None:
                self.start: int | None = None
                self.cancelled = False

            def __call__(self, input_ids, scores, **kwargs):
                if self.start is None:
                    self.start = input_ids.shape[-1] - 1
                generated = input_ids.shape[-1] - self.start
                ctx.report(0.02 + 0.92 * min(1.0, (done + generated) / max(1, total)),
                           f"generating {label + ': ' if label else ''}{done + generated}/{total} tokens")
                if ctx.cancelled():
                    self.cancelled = True
                return torch.full((input_ids.shape[0],), self.cancelled, dtype=torch.bool,
                                  device=input_ids.device)

        options = self.config.options
        model, processor = bundle.model, bundle.processor
        if melody is not None:
            inputs = processor(audio=melody, sampling_rate=bundle.sampling_rate, text=[description or ""],
                               padding=True, return_tensors="pt")
        elif prompt_audio is not None:
            audio_in = prompt_audio[0] if prompt_audio.shape[0] == 1 else prompt_audio
            inputs = processor(audio=[audio_in], sampling_rate=bundle.sampling_rate,
                               text=[description or ""], padding=True, return_tensors="pt")
        elif description:
            inputs = processor(text=[description], padding=True, return_tensors="pt")
        else:
            inputs = model.get_unconditional_inputs(num_samples=1)
        inputs = dict(inputs)
        guidance = float(options.get("guidance_scale", 3.0))
        if "guidance_scale" in inputs:  # unconditional inputs carry their own (1.0)
            guidance = float(inputs.pop("guidance_scale"))
        for name, value in list(inputs.items()):
            if hasattr(value, "to"):
                value = value.to(bundle.device)
                if value.is_floating_point():
                    value = value.to(model.dtype)
                inputs[name] = value
            elif name == "encoder_outputs":  # a tuple (hidden states,) from get_unconditional_inputs
                inputs[name] = tuple(v.to(bundle.device, model.dtype) for v in value)
        progress = Progress()
        try:
            with torch.inference_mode():
                out = model.generate(**inputs, do_sample=True, guidance_scale=guidance,
                                     top_k=int(options.get("top_k", 250)),
                                     temperature=float(options.get("temperature", 1.0)),
                                     max_new_tokens=tokens, stopping_criteria=StoppingCriteriaList([progress]))
        except Exception:
            # Stopping early leaves MusicGen's codebook delay pattern incomplete, which its post-processing
            # may fail on; when we asked it to stop, that is a cancellation, not an error.
            if progress.cancelled:
                raise Cancelled() from None
            raise
        if progress.cancelled or ctx.cancelled():
            raise Cancelled()
        values = out.audio_values if hasattr(out, "audio_values") else out
        return values[0].float().cpu().numpy().astype(np.float32)


def describe(request: MusicRequest) -> str:
    """The text MusicGen is conditioned on: prompt, mood, and the key and tempo as words."""
    parts = [request.prompt.strip()]
    if request.mood and request.mood.strip():
        parts.append(request.mood.strip())
    if request.key:
        parts.append(f"in {request.key.strip()}")
    if request.tempo_bpm:
        parts.append(f"{int(round(request.tempo_bpm))} bpm")
    return ", ".join(p for p in parts if p)


def _windows(needed: int, max_chunk: int, context: int) -> list[tuple[int, int]]:
    """(context samples, new samples) per generate call: the first has no context, later ones continue the last
    ``context`` samples of what came before."""
    if needed <= max_chunk:
        return [(0, needed)]
    windows = [(0, max_chunk)]
    made = max_chunk
    step = max(1, max_chunk - context)
    while made < needed:
        new = min(step, needed - made)
        windows.append((context, new))
        made += new
    return windows


def _join(audio: np.ndarray, piece: np.ndarray, prompt_len: int, xfade: int) -> np.ndarray:
    """Append ``piece`` (which starts with the codec's re-creation of the last ``prompt_len`` samples of
    ``audio``) after ``audio``, cross-fading over the last ``xfade`` samples of the prompt."""
    channels = min(audio.shape[0], piece.shape[0])
    audio, piece = audio[:channels], piece[:channels]
    xfade = max(0, min(xfade, prompt_len, audio.shape[1]))
    new = piece[:, prompt_len:]
    if xfade:
        ramp = np.linspace(0.0, 1.0, xfade, dtype=np.float32)
        head = audio[:, -xfade:] * (1.0 - ramp) + piece[:, prompt_len - xfade:prompt_len] * ramp
        return np.concatenate([audio[:, :-xfade], head, new], axis=1)
    return np.concatenate([audio, new], axis=1)


def _fit(audio: np.ndarray, length: int) -> np.ndarray:
    if audio.shape[1] >= length:
        return np.array(audio[:, :length], dtype=np.float32)
    return np.pad(audio, ((0, 0), (0, length - audio.shape[1]))).astype(np.float32)


def _loop_crossfade(audio: np.ndarray, length: int, fade: int) -> np.ndarray:
    """``audio`` is ``length + fade`` long: fold its last ``fade`` samples over its first ones (equal power), so
    that sample ``length - 1`` is followed, on the next pass, by what originally followed it."""
    out = np.array(audio[:, :length], dtype=np.float32)
    if fade <= 0:
        return out
    theta = np.linspace(0.0, math.pi / 2.0, fade, endpoint=False, dtype=np.float32)
    tail = audio[:, length:length + fade]
    out[:, :fade] = out[:, :fade] * np.sin(theta) + tail * np.cos(theta)
    return out


def _peak_normalise(audio: np.ndarray, peak_dbfs: float) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 1e-9 or not math.isfinite(peak):
        return np.nan_to_num(audio).astype(np.float32)
    return (audio * (10 ** (peak_dbfs / 20.0) / peak)).astype(np.float32)
