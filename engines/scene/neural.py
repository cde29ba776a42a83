"""Scene images with a diffusion model through diffusers (text-to-image, and image-to-image with an init image).

Everything heavy (torch, diffusers, transformers) is imported inside ``load()`` / ``run()``; importing this module
costs nothing. The pipeline is loaded once per (model, device, dtype) through the process-wide model cache and
shared by every engine instance; ``unload()`` only drops this instance's reference (Settings → "Unload models"
clears the cache).

Choices, and why:

* ``AutoPipelineForText2Image.from_pretrained(model_id)`` picks the right pipeline class from the model's
  ``model_index.json`` (SD 1.x/2.x/Turbo, SDXL, ...). ``model_id`` is a Hugging Face id or a local folder. With
  ``HF_HUB_OFFLINE=1`` (or ``options["local_files_only"]``) only the local cache is used. Any failure becomes a
  ``ModelLoadError`` that suggests a local folder.
* CUDA: float16 (the ``fp16`` weight variant is tried first, then the full weights); CPU: float32.
  Attention: with torch 2 diffusers already installs ``AttnProcessor2_0`` (PyTorch SDPA, flash/memory-efficient
  kernels) on every attention layer, so nothing is set here; ``set_attn_processor`` would only matter for a
  pipeline that was given another processor.
* Image-to-image reuses the loaded weights: ``AutoPipelineForImage2Image.from_pipe(pipe)`` (no second copy).
  ``strength`` means what it means in diffusers: how much of the init image is re-noised (0 keeps it, 1 ignores
  it); diffusers runs ``int(steps * strength)`` steps, so ``steps`` is raised to give at least one.
* Seeds: one ``torch.Generator(device).manual_seed(seed + i)`` per image of the batch, so image ``i`` of a batch
  is the image a batch of one with seed ``seed + i`` gives.
* Safety checker: when the model ships one (SD 1.x does; sd-turbo and SDXL do not) it is disabled
  (``safety_checker=None, requires_safety_checker=False``): on false positives it silently returns black frames,
  which in a storyboard tool look like a bug, and the studio's Responsibility tab handles content policy.
  ``options["safety_checker"] = True`` keeps it.
* Progress: ``callback_on_step_end`` reports each denoising step; cancellation sets the pipeline's interrupt flag
  (diffusers then skips the remaining steps) and ``Cancelled`` is raised after the call.
* Out of GPU memory: the CUDA cache is emptied and a ``ReelsmithError`` asks for a smaller size or batch.

``config.options``: ``local_files_only`` (bool), ``variant`` (e.g. "fp16"; default: "fp16" on CUDA, none on
the CPU), ``revision``, ``safety_checker`` (bool, default False).
"""
from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image

from ..base import Engine, EngineConfig
from ..context import Context
from ..device import torch_device, torch_dtype
from ..errors import Cancelled, ModelLoadError, ReelsmithError
from ..models import model_cache
from .types import SceneRequest, SceneResult, load_init_image

DEFAULT_MODEL_ID = "stabilityai/sd-turbo"


def _offline() -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    import sys

    constants = sys.modules.get("huggingface_hub.constants")
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def _looks_like_path(model_id: str) -> bool:
    return model_id.startswith(("/", "./", "../", "~", "\\")) or (len(model_id) > 1 and model_id[1] == ":") \
        or model_id.count("/") > 1


class LoadedPipeline:
    """A loaded text-to-image pipeline, its image-to-image twin (made on first use) and a lock for both."""

    def __init__(self, pipe: Any, device: str, dtype: Any, model_id: str) -> None:
        self.pipe = pipe
        self.device = device
        self.dtype = dtype
        self.model_id = model_id
        self.lock = threading.Lock()  # one generation at a time per pipeline (schedulers keep state)
        self._img2img: Any = None

    def image_to_image(self) -> Any:
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            self._img2img = AutoPipelineForImage2Image.from_pipe(self.pipe)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def unload(self) -> None:  # called by the model cache when it evicts or clears this entry
        self.pipe = None
        self._img2img = None


def _load_error(model_id: str, exc: BaseException, offline: bool) -> ModelLoadError:
    hint = ("set the scene model in Settings to a local folder that contains model_index.json "
            "(for example one saved with pipeline.save_pretrained(...) or downloaded with huggingface-cli), "
            "or choose the 'lite' backend")
    if offline:
        return ModelLoadError(f"Model '{model_id}' is not available offline (HF_HUB_OFFLINE is set and it is not "
                              f"in the local Hugging Face cache): {hint}.")
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelLoadError(f"Could not load model '{model_id}' ({type(exc).__name__}: {detail[:300]}). To work "
                          f"without the network, {hint}.")


def load_pipeline(model_id: str, device: str, dtype: Any, options: dict[str, Any] | None = None) -> LoadedPipeline:
    """Load ``model_id`` (hub id or local folder) as a text-to-image pipeline on ``device``; errors are
    ``ModelLoadError`` with a message fit for a user."""
    import torch
    from diffusers import AutoPipelineForText2Image, DiffusionPipeline

    options = options or {}
    folder = Path(model_id).expanduser()
    local = folder.is_dir()
    if not local and _looks_like_path(model_id):
        raise ModelLoadError(f"Model folder not found: {model_id}. Point the scene model in Settings at a folder "
                             f"that contains model_index.json, or use a Hugging Face model id.")
    if local and not (folder / "model_index.json").is_file():
        raise ModelLoadError(f"{model_id} is not a diffusers model folder (no model_index.json in it).")
    source = str(folder) if local else model_id
    offline = not local and (_offline() or bool(options.get("local_files_only", False)))
    kwargs: dict[str, Any] = {}
    if not local:
        kwargs["local_files_only"] = offline
        if options.get("revision"):
            kwargs["revision"] = options["revision"]
    try:
        index = DiffusionPipeline.load_config(source, **kwargs)
    except Exception as exc:  # hub errors, missing files, bad JSON: all mean "this model cannot be used"
        raise _load_error(model_id, exc, offline) from exc

    entry = index.get("safety_checker") if isinstance(index, dict) else None
    if isinstance(entry, (list, tuple)) and entry and entry[0] is not None \
            and not options.get("safety_checker", False):
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    # diffusers 0.36+ calls the argument ``dtype`` (``torch_dtype`` still works there, with a warning).
    kwargs["dtype" if _diffusers_takes_dtype() else "torch_dtype"] = dtype
    variant = options.get("variant", "fp16" if dtype == torch.float16 else None)

    def attempt(with_variant: str | None) -> Any:
        extra = {"variant": with_variant} if with_variant else {}
        return AutoPipelineForText2Image.from_pretrained(source, **kwargs, **extra)

    try:
        try:
            pipe = attempt(variant)
        except (OSError, ValueError):
            if not variant:
                raise
            pipe = attempt(None)  # no fp16 files in this model: load the full weights and cast them
        pipe = pipe.to(device)
    except ReelsmithError:
        raise
    except torch.cuda.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        raise ModelLoadError(f"Model '{model_id}' does not fit in GPU memory; choose a smaller model.") from exc
    except Exception as exc:
        raise _load_error(model_id, exc, offline) from exc
    pipe.set_progress_bar_config(disable=True)
    return LoadedPipeline(pipe, device, dtype, model_id)


def _diffusers_takes_dtype() -> bool:
    try:
        from diffusers.utils import deprecation_utils
    except ImportError:
        return False
    return hasattr(deprecation_utils, "_resolve_dtype")


class DiffusersRenderer(Engine[SceneRequest, SceneResult]):
    """Text-to-image / image-to-image with a diffusers pipeline (default ``stabilityai/sd-turbo``)."""

    kind = "scene"
    name = "neural"
    heavy = True

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        self._loaded: LoadedPipeline | None = None

    @property
    def model_id(self) -> str:
        return self.config.model_id or DEFAULT_MODEL_ID

    def cache_key(self) -> tuple[str, str, str, str, str]:
        device = torch_device(self.config.device)
        return ("scene", "neural", self.model_id, device, str(torch_dtype(device)).replace("torch.", ""))

    def load(self) -> None:
        if self._loaded is not None and self._loaded.pipe is not None:
            return
        key = self.cache_key()
        device = key[3]
        dtype = torch_dtype(device)
        self._loaded = model_cache().get(
            key, lambda: load_pipeline(self.model_id, device, dtype, dict(self.config.options)))

    def unload(self) -> None:
        self._loaded = None  # the cache owns the weights; Settings → "Unload models" frees them

    def run(self, request: SceneRequest, ctx: Context | None = None) -> SceneResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()
        # 1. Check inputs.
        request.validate()
        ctx.check()
        size = (request.width, request.height)
        init = load_init_image(request.init_image, size) if request.init_image is not None else None
        # 2. Load the model (once per process).
        ctx.report(0.0, f"Loading {self.model_id}")
        self.load()
        ctx.check()
        loaded = self._loaded
        assert loaded is not None and loaded.pipe is not None
        import torch

        seeds = [request.seed + i for i in range(request.batch)]
        steps = request.steps
        kwargs: dict[str, Any] = {}
        if init is not None:
            strength = float(request.strength)
            if strength <= 0.0:  # nothing to re-noise: the init image is the answer
                return self._result(request, [init.copy() for _ in seeds], seeds, steps, 0, loaded, None, started)
            pipe = loaded.image_to_image()
            steps = max(steps, math.ceil(1.0 / strength - 1e-9))
            kwargs.update(image=init, strength=strength)
            planned = max(1, min(int(steps * strength), steps))
        else:
            pipe = loaded.pipe
            kwargs.update(width=request.width, height=request.height)
            planned = steps
        done = [0]

        # 3. Denoise, reporting each step and stopping when asked.
        def on_step_end(p: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            total = getattr(p, "num_timesteps", None) or planned
            done[0] = step + 1
            ctx.report(0.05 + 0.9 * min(1.0, (step + 1) / total), f"Step {step + 1}/{total}")
            if ctx.cancelled():
                p._interrupt = True  # diffusers skips the remaining steps (it resets the flag on each call)
            return tensors

        generators = [torch.Generator(loaded.device).manual_seed(s) for s in seeds]
        with loaded.lock:
            try:
                with torch.inference_mode():
                    output = pipe(prompt=request.prompt, negative_prompt=request.negative_prompt or None,
                                  num_inference_steps=steps, guidance_scale=float(request.guidance),
                                  num_images_per_prompt=request.batch, generator=generators,
                                  callback_on_step_end=on_step_end, output_type="pil", **kwargs)
            except torch.cuda.OutOfMemoryError as exc:
                output = None
                torch.cuda.empty_cache()
                raise ReelsmithError("Out of GPU memory: try a smaller size or batch.") from exc
        if ctx.cancelled():
            raise Cancelled()
        images = [im.convert("RGB") for im in output.images]
        ctx.report(1.0, f"{len(images)} image{'s' if len(images) != 1 else ''} done")
        return self._result(request, images, seeds, steps, done[0], loaded, pipe, started)

    def _result(self, request: SceneRequest, images: list[Image.Image], seeds: list[int], steps: int,
                steps_run: int, loaded: LoadedPipeline, pipe: Any, started: float) -> SceneResult:
        # 4. Parameters for provenance and the PNG chunks (``pipe``: the pipeline that ran, None when none did).
        params = request.as_dict()
        model = Path(self.model_id).name if Path(self.model_id).expanduser().is_dir() else self.model_id
        params.update(backend=self.name, model=model, model_id=self.model_id,
                      sampler=type(pipe.scheduler).__name__.replace("Scheduler", "") if pipe is not None else None,
                      pipeline=type(pipe).__name__ if pipe is not None else None, steps=steps,
                      steps_run=steps_run, device=loaded.device, dtype=str(loaded.dtype).replace("torch.", ""))
        if request.init_image is not None:
            params["denoising_strength"] = float(request.strength)
        return SceneResult(images=images, seeds=seeds, parameters=params, backend=self.name,
                           model_id=self.model_id, seconds=time.perf_counter() - started)
