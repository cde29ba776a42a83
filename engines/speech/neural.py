"""Voice-over with Bark (transformers ``BarkModel`` + ``AutoProcessor``): natural voices, on the GPU queue.

The model comes from ``config.model_id`` (a hub id such as ``suno/bark-small``, the default, or a local folder)
and is loaded once per process through the model cache, on ``config.device`` (fp16 on CUDA, fp32 on the CPU).
With ``HF_HUB_OFFLINE=1``, or when the id is a local folder, nothing is downloaded.

Bark makes about 13 s of audio per generation, so the text is split into sentences (``split_sentences``) and
each is generated on its own, with ``torch.manual_seed(request.seed)`` before each so a run is reproducible and
the voice stays the same across sentences; they are joined with short pauses and timed in ``segments``.
``request.preset`` picks a speaker ("v2/en_speaker_6"); ``None`` lets the model pick (varies with the seed).
Bark has no rate or pitch control: ``voice``, ``rate_wpm`` and ``pitch`` are ignored.

``config.options``:
    ``max_chars`` (default 180)  longest sentence piece given to one generation
    ``pause_s`` (default 0.25)    silence between sentences
    ``do_sample`` (default True)  sampling (Bark's greedy output is poor); ``temperature`` for all three stages
    ``min_new_tokens`` (default 4) fewest semantic tokens per sentence (an immediate end would decode to nothing)
    ``semantic_*``, ``coarse_*``, ``fine_*`` passed to ``BarkModel.generate`` as they are, e.g.
        ``semantic_max_new_tokens`` (768 in Bark's config ≈ 15 s), ``coarse_temperature``, ``fine_temperature``
    ``generate``: a dict of further ``BarkModel.generate`` keyword arguments
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..audio_io import AudioClip
from ..base import Engine
from ..context import Context
from ..errors import Cancelled, InvalidInput, ModelLoadError
from ..models import model_cache
from . import _audio
from .types import SpeechRequest, SpeechResult, Voice, check_request, split_sentences

DEFAULT_MODEL_ID = "suno/bark-small"
MAX_CHARS = 180  # ~13 s of speech at a normal pace, Bark's limit per generation
PAUSE_S = 0.25
MIN_NEW_TOKENS = 4  # semantic tokens (~50 per second)
_PASSED_ON = ("semantic_", "coarse_", "fine_")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class _Bark:
    """What the cache holds: the processor, the model and where it runs."""

    processor: Any
    model: Any
    device: str
    sample_rate: int

    @property
    def presets(self) -> list[str]:
        return sorted(self.processor.available_voice_presets)

    def unload(self) -> None:
        self.model = None
        self.processor = None


def _load_bark(model_id: str, device: str) -> _Bark:
    import torch  # noqa: F401 - heavy: only here and in run()
    from transformers import AutoProcessor, BarkModel

    from ..device import torch_dtype

    local = Path(model_id).expanduser()
    local_only = _offline() or local.is_dir()
    source = str(local) if local.is_dir() else model_id
    try:
        processor = AutoProcessor.from_pretrained(source, local_files_only=local_only)
        model = BarkModel.from_pretrained(source, dtype=torch_dtype(device), local_files_only=local_only)
    except (OSError, ValueError) as exc:
        where = ("it is not a folder with a saved Bark model" if local.is_dir() or model_id.startswith(("/", "."))
                 else "it is not in the local Hugging Face cache and downloading is off (HF_HUB_OFFLINE=1)"
                 if local_only else "it could not be downloaded")
        raise ModelLoadError(
            f"Could not load the Bark model '{model_id}': {where}. Download it once on a connected machine "
            f"(or copy it) and set the model to its local folder path in Settings. ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc
    model = model.to(device).eval()
    rate = int(getattr(model.generation_config, "sample_rate", 0) or 24_000)
    return _Bark(processor=processor, model=model, device=device, sample_rate=rate)


class BarkSpeaker(Engine[SpeechRequest, SpeechResult]):
    """Bark voice-over; see the module docstring for ``config.options``."""

    kind = "speech"
    name = "neural"
    heavy = True

    def __init__(self, config=None) -> None:
        super().__init__(config)
        self._bark: _Bark | None = None

    @property
    def model_id(self) -> str:
        return self.config.model_id or DEFAULT_MODEL_ID

    def load(self) -> None:
        if self._bark is not None and self._bark.model is not None:
            return
        from ..device import torch_device

        device = torch_device(self.config.device)
        key = ("speech", self.name, self.model_id, device)
        self._bark = model_cache().get(key, lambda: _load_bark(self.model_id, device))

    def unload(self) -> None:
        """Forget this engine's handle; the model stays in the shared cache until it is evicted or cleared."""
        self._bark = None

    def voices(self) -> list[Voice]:
        """The model's speaker presets as voices ("v2/en_speaker_6" → language "en")."""
        self.load()
        out = []
        for preset in self._bark.presets:
            stem = preset.rsplit("/", 1)[-1]
            language = stem.split("_", 1)[0] if "_speaker_" in stem else ""
            out.append(Voice(preset, preset, language, None))
        return out

    def _check_preset(self, preset: str | None) -> str | None:
        if preset is None or preset == "":
            return None
        presets = self._bark.presets
        if preset in presets:
            return preset
        path = Path(preset).expanduser()
        if path.suffix == ".npz" and path.is_file():  # a voice prompt file of one's own
            return str(path)
        if not presets:
            raise InvalidInput(f"The model '{self.model_id}' has no speaker presets; leave the preset empty for "
                               "its default voice.")
        shown = [p for p in presets if p.startswith("v2/en_")][:10] or presets[:10]
        raise InvalidInput(f"Unknown speaker preset '{preset}' for '{self.model_id}'. Try one of: "
                           f"{', '.join(shown)}{' ...' if len(presets) > len(shown) else ''} "
                           "(or none for the default voice).")

    def _generate_kwargs(self, stop) -> dict[str, Any]:
        options = self.config.options
        # At least a few semantic tokens: an immediate end-of-speech token leaves EnCodec nothing to decode.
        kwargs: dict[str, Any] = {"do_sample": bool(options.get("do_sample", True)),
                                  "semantic_min_new_tokens": int(options.get("min_new_tokens", MIN_NEW_TOKENS))}
        if "temperature" in options:
            kwargs["temperature"] = float(options["temperature"])
        kwargs.update({k: v for k, v in options.items() if k.startswith(_PASSED_ON)})
        kwargs.update(options.get("generate") or {})
        # Only the semantic stage can stop early: the coarse one must end on whole codebook pairs. Stopping it
        # leaves a short semantic sequence, so the later stages of that sentence are quick.
        from transformers import StoppingCriteriaList

        kwargs["semantic_stopping_criteria"] = StoppingCriteriaList([stop])
        return kwargs

    def run(self, request: SpeechRequest, ctx: Context | None = None) -> SpeechResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs (the preset needs the processor: load first)
        ctx.check()
        check_request(request)
        ctx.report(0.0, "Loading Bark")
        self.load()
        bark = self._bark
        preset = self._check_preset(request.preset)
        options = self.config.options

        # 2. Split into sentences Bark can say in one generation
        sentences = split_sentences(request.text, max_chars=int(options.get("max_chars", MAX_CHARS)))
        if not sentences:
            raise InvalidInput("There is no text to speak.")

        # 3. Generate sentence by sentence
        import torch
        from transformers import StoppingCriteria

        class _Stop(StoppingCriteria):
            """Ends the semantic stage early when the job is cancelled (checked after every token)."""

            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), ctx.cancelled(), dtype=torch.bool,
                                  device=input_ids.device)

        kwargs = self._generate_kwargs(_Stop())
        pieces: list[np.ndarray] = []
        for i, sentence in enumerate(sentences):
            ctx.check()
            ctx.report(0.05 + 0.9 * i / len(sentences), f"Generating sentence {i + 1} of {len(sentences)}")
            inputs = bark.processor(sentence, voice_preset=preset, return_tensors="pt")
            history = inputs.pop("history_prompt", None)
            if history is not None:
                history = {k: v.to(bark.device) for k, v in history.items()}
            inputs = {k: v.to(bark.device) for k, v in inputs.items()}
            torch.manual_seed(request.seed)
            try:
                with torch.inference_mode():
                    audio = bark.model.generate(**inputs, history_prompt=history, **kwargs)
            except RuntimeError:
                if ctx.cancelled():  # stopped after a token or two: too short for the later stages
                    raise Cancelled() from None
                raise
            if ctx.cancelled():
                raise Cancelled()
            samples = audio.detach().float().cpu().numpy().reshape(-1)
            pieces.append(_audio.trim(np.nan_to_num(samples).clip(-1.0, 1.0), bark.sample_rate))

        # 4. Join with pauses, resample to the requested rate
        ctx.report(0.97, "Joining sentences")
        joined, segments = _audio.join(pieces, sentences, bark.sample_rate, float(options.get("pause_s", PAUSE_S)))
        samples = _audio.resample(joined, bark.sample_rate, request.sample_rate)
        segments = _audio.retime(segments, samples.size, request.sample_rate)
        ctx.report(1.0, "Voice-over ready")
        parameters = request.as_dict() | {"model_rate": bark.sample_rate, "device": bark.device}
        return SpeechResult(clip=AudioClip(samples[None, :], request.sample_rate), segments=segments,
                            parameters=parameters, backend=self.name, model_id=self.model_id,
                            seconds=time.perf_counter() - started)
