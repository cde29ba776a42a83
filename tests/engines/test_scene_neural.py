"""engines.scene neural backend on a tiny random-weight Stable Diffusion pipeline built here (no download).

The pipeline is assembled from configs the way diffusers' own fast tests do (``get_dummy_components``), saved to a
temporary folder and loaded back through ``DiffusersRenderer`` exactly as a local model folder would be.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from engines.base import EngineConfig  # noqa: E402
from engines.context import CallbackContext  # noqa: E402
from engines.errors import Cancelled, InvalidInput, ModelLoadError  # noqa: E402
from engines.models import model_cache  # noqa: E402
from engines.scene import REGISTRY, SceneRequest, read_parameters  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def get_dummy_components() -> dict:
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2, attention_head_dim=2)
    vae = AutoencoderKL(
        block_out_channels=(4, 8), in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=2,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), sample_size=32)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="trailing", steps_offset=1)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=32, intermediate_size=37, layer_norm_eps=1e-5,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=100, max_position_embeddings=77))
    # A character-level CLIP BPE vocabulary: every letter, alone and word-final; no merges.
    vocab = {"<|startoftext|>": 0, "!": 1, "<|endoftext|>": 2}
    for ch in "abcdefghijklmnopqrstuvwxyz.,-":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    return {"unet": unet, "vae": vae, "scheduler": scheduler, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    from diffusers import StableDiffusionPipeline

    folder = tmp_path_factory.mktemp("tiny-sd")
    StableDiffusionPipeline(**get_dummy_components()).save_pretrained(folder)
    return str(folder)


def engine_for(model: str):
    return REGISTRY.create(EngineConfig(backend="neural", model_id=model, device="cpu"))


def request(**fields) -> SceneRequest:
    fields.setdefault("prompt", "a harbour at night, tense")
    fields.setdefault("width", 64)
    fields.setdefault("height", 64)
    fields.setdefault("steps", 2)
    return SceneRequest(**fields)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def test_text_to_image_batch_seeds_progress_and_cache(tiny_model):
    engine = engine_for(tiny_model)
    assert engine.heavy and engine.name == "neural" and type(engine).__name__ == "DiffusersRenderer"
    cache = model_cache()
    cache.unload(engine.cache_key())
    loads = cache.loads
    seen = []
    result = engine.run(request(seed=3, batch=2), CallbackContext(lambda f, m: seen.append((round(f, 3), m))))
    assert [im.size for im in result.images] == [(64, 64), (64, 64)] and result.seeds == [3, 4]
    assert [m for _, m in seen if m.startswith("Step")] == ["Step 1/2", "Step 2/2"]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    p = result.parameters
    assert p["backend"] == "neural" and p["model_id"] == tiny_model and p["sampler"] == "EulerDiscrete"
    assert p["pipeline"] == "StableDiffusionPipeline" and p["dtype"] == "float32" and p["steps_run"] == 2
    assert result.model_id == tiny_model and result.backend == "neural"
    # Same seed, same picture, from another engine instance sharing the cached pipeline (loaded once).
    again = engine_for(tiny_model).run(request(seed=4))
    assert cache.loads - loads == 1
    assert np.array_equal(pixels(again.images[0]), pixels(result.images[1]))
    other = engine_for(tiny_model).run(request(seed=5))
    assert not np.array_equal(pixels(other.images[0]), pixels(again.images[0]))
    # The PNG carries the parameters of its own image.
    params = read_parameters(result.png(1))
    assert params["seed"] == 4 and params["model_id"] == tiny_model and params["sampler"] == "EulerDiscrete"


def test_image_to_image_shares_the_weights(tiny_model, tmp_path):
    init = tmp_path / "init.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)).save(init)
    engine = engine_for(tiny_model)
    loads = model_cache().loads
    seen = []
    result = engine.run(request(init_image=init, strength=0.5, seed=1),
                        CallbackContext(lambda f, m: seen.append(m)))
    assert result.images[0].size == (64, 64)
    assert result.parameters["pipeline"] == "StableDiffusionImg2ImgPipeline"
    assert result.parameters["denoising_strength"] == 0.5
    assert [m for m in seen if m.startswith("Step")] == ["Step 1/1"]  # int(2 steps × 0.5)
    # A low strength still runs one step (steps are raised), and strength 0 returns the init image itself.
    low = engine.run(request(init_image=init, strength=0.2, seed=1))
    assert low.parameters["steps"] == 5 and low.parameters["steps_run"] == 1
    keep = engine.run(request(init_image=init, strength=0.0))
    from engines.scene.types import load_init_image

    assert np.array_equal(pixels(keep.images[0]), pixels(load_init_image(init, (64, 64))))
    assert model_cache().loads - loads <= 1  # at most the text-to-image load (if another test evicted it)


def test_cancel_after_the_first_step(tiny_model):
    engine = engine_for(tiny_model)
    seen = []

    def on_report(fraction, message):
        seen.append(message)
        if message.startswith("Step 1"):
            ctx.cancel()

    ctx = CallbackContext(on_report)
    with pytest.raises(Cancelled):
        engine.run(request(steps=4), ctx)
    assert [m for m in seen if m.startswith("Step")] == ["Step 1/4"]
    # The pipeline is usable again afterwards (diffusers resets its interrupt flag on each call).
    assert len(engine.run(request(steps=2)).images) == 1


def test_invalid_request_fails_before_loading(tiny_model):
    engine = engine_for("/nonexistent/model/folder")
    with pytest.raises(InvalidInput, match="multiple of 8"):
        engine.run(request(width=60))
    with pytest.raises(ModelLoadError, match="Model folder not found"):
        engine.run(request())


def test_offline_hub_id_is_a_readable_load_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    engine = engine_for("reelsmith-tests/no-such-model")
    with pytest.raises(ModelLoadError) as info:
        engine.run(request())
    message = str(info.value)
    assert "reelsmith-tests/no-such-model" in message and "local folder" in message and "offline" in message
    not_a_model = tmp_path / "empty-folder"
    not_a_model.mkdir()
    with pytest.raises(ModelLoadError, match="no model_index.json"):
        engine_for(str(not_a_model)).run(request())


@pytest.mark.slow
def test_cli_renders_with_the_neural_backend(tiny_model, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "engines.scene", "render", "a boat", "--backend", "neural", "--model", tiny_model,
         "--width", "64", "--height", "64", "--device", "cpu", "--out", str(tmp_path / "n.png")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    params = read_parameters(tmp_path / "n.png")
    assert params["backend"] == "neural" and params["pipeline"] == "StableDiffusionPipeline"
