"""The neural music engine on a tiny random-weight MusicGen built here (no download, a few seconds on a CPU).

The tiny checkpoint: a 1-layer T5 text encoder (d_model 32) with a Unigram tokenizer made from a word list, an
8 kHz EnCodec with a 160-sample hop (50 frames/s, like musicgen-small's) and two 64-entry codebooks (filled with
random vectors: EnCodec initialises them to zeros, which would make every code decode to the same sound), and a
2-layer, 2-head decoder of width 32. Saved with ``save_pretrained`` and loaded back through ``model_id``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from engines.audio_io import AudioClip, write_wav  # noqa: E402
from engines.base import EngineConfig  # noqa: E402
from engines.context import CallbackContext  # noqa: E402
from engines.errors import Cancelled, InvalidInput, ModelLoadError  # noqa: E402
from engines.models import model_cache  # noqa: E402
from engines.music import REGISTRY, MusicRequest  # noqa: E402
from engines.music.neural import DEFAULT_MODEL_ID, MusicGenComposer, describe  # noqa: E402

RATE = 8000
WORDS = "tense strings happy piano calm drums dark warm hopeful a the with in bpm".split()


def build_tiny_musicgen(folder: Path) -> Path:
    import torch
    from transformers import (EncodecConfig, EncodecFeatureExtractor, MusicgenConfig, MusicgenDecoderConfig,
                              MusicgenForConditionalGeneration, MusicgenProcessor, T5Config, T5Tokenizer)

    vocab = ["<pad>", "</s>", "<unk>"] + ["▁" + w for w in WORDS] + ["▁"] + list("abcdefghijklmnopqrstuvwxyz0123456789,#")
    tokenizer = T5Tokenizer(vocab=[(piece, -float(i)) for i, piece in enumerate(vocab)], extra_ids=0)
    text = T5Config(vocab_size=len(vocab), d_model=32, d_kv=8, d_ff=37, num_layers=1, num_decoder_layers=1,
                    num_heads=2, pad_token_id=0, eos_token_id=1)
    audio = EncodecConfig(sampling_rate=RATE, upsampling_ratios=[8, 5, 4], hidden_size=8, num_filters=4,
                          num_lstm_layers=1, num_residual_layers=1, codebook_size=64, target_bandwidths=[0.6],
                          audio_channels=1)
    decoder = MusicgenDecoderConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                    ffn_dim=37, num_codebooks=2, pad_token_id=64, bos_token_id=64,
                                    max_position_embeddings=512)
    config = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    assert config.audio_encoder.frame_rate == 50 and config.audio_encoder.num_quantizers == 2
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config)
    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
    processor = MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=RATE),
                                  tokenizer=tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_musicgen(tmp_path_factory.mktemp("tiny-musicgen"))


def engine(model: Path, **options) -> MusicGenComposer:
    made = REGISTRY.create(EngineConfig(backend="neural", model_id=str(model), device="cpu", options=options))
    assert isinstance(made, MusicGenComposer)
    return made


def test_generates_the_requested_length_seeded_and_loads_once(tiny_model):
    loads = model_cache().loads
    seen: list[tuple[float, str]] = []
    first = engine(tiny_model).run(MusicRequest(prompt="tense strings", duration_s=1.0, seed=1),
                                   CallbackContext(lambda f, m: seen.append((f, m))))
    again = engine(tiny_model).run(MusicRequest(prompt="tense strings", duration_s=1.0, seed=1))
    other = engine(tiny_model).run(MusicRequest(prompt="tense strings", duration_s=1.0, seed=2))
    assert model_cache().loads == loads + 1  # three engines, three runs, one load

    clip = first.clip
    assert isinstance(clip, AudioClip) and clip.sample_rate == RATE  # the model's rate, not request.sample_rate
    assert clip.samples.shape == (2, 8000) and clip.samples.dtype == np.float32
    assert 20 * np.log10(np.abs(clip.samples).max()) == pytest.approx(-1.0, abs=0.01)
    assert np.array_equal(first.clip.samples, again.clip.samples)
    assert not np.allclose(first.clip.samples, other.clip.samples)

    p = first.parameters
    assert first.backend == "neural" and first.model_id == str(tiny_model)
    # 1 s + a 0.25 s loop cross-fade = 10000 samples = 63 frames of 160, + 1 step of codebook delay
    assert p["frame_rate"] == 50 and p["tokens"] == 64
    assert p["description"] == "tense strings" and p["device"] == "cpu" and p["dtype"] == "float32"
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m == "generating 32/64 tokens" for _, m in seen)


def test_loop_seam_flows_into_the_start(tiny_model):
    result = engine(tiny_model).run(MusicRequest(prompt="calm piano", duration_s=1.2, seed=3, loop=True))
    x = result.clip.samples.astype(np.float64)
    assert x.shape == (2, 9600)
    body = np.abs(np.diff(x, axis=1)).max(axis=0)
    assert np.abs(x[:, 0] - x[:, -1]).max() <= np.percentile(body, 99.5)


def test_cancel_stops_generation(tiny_model):
    ctx = CallbackContext()
    reports: list[str] = []

    def on_report(fraction, message):
        reports.append(message)
        if message.startswith("generating 5/"):
            ctx.cancel()

    ctx._on_report = on_report
    with pytest.raises(Cancelled):
        engine(tiny_model).run(MusicRequest(prompt="dark drums", duration_s=2.0, seed=1), ctx)
    assert not any(m.startswith("generating 7/") for m in reports)  # stopped at the next step

    cancelled = CallbackContext()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        engine(tiny_model).run(MusicRequest(prompt="dark", duration_s=1.0), cancelled)


def test_offline_hub_id_is_a_model_load_error_naming_a_local_path(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    composer = REGISTRY.create(EngineConfig(backend="neural", device="cpu"))
    assert composer.model_id == DEFAULT_MODEL_ID
    with pytest.raises(ModelLoadError, match="local path") as info:
        composer.run(MusicRequest(prompt="calm", duration_s=1.0))
    assert DEFAULT_MODEL_ID in str(info.value)
    with pytest.raises(ModelLoadError, match="no folder at /nonexistent/musicgen.*local path"):
        REGISTRY.create(EngineConfig(backend="neural", model_id="/nonexistent/musicgen", device="cpu")).run(
            MusicRequest(prompt="calm", duration_s=1.0))
    with pytest.raises(ModelLoadError, match="MusicGen checkpoint"):
        REGISTRY.create(EngineConfig(backend="neural", model_id=str(tmp_path), device="cpu")).run(
            MusicRequest(prompt="calm", duration_s=1.0))


def test_inputs_are_checked_before_loading(tiny_model, tmp_path):
    loads = model_cache().loads
    with pytest.raises(InvalidInput, match="Duration"):
        engine(Path("/nonexistent/model")).run(MusicRequest(duration_s=0.1))
    assert model_cache().loads == loads
    t = np.arange(RATE) / RATE
    melody = write_wav(tmp_path / "tune.wav", AudioClip(0.3 * np.sin(2 * np.pi * 440 * t), RATE))
    with pytest.raises(InvalidInput, match="cannot follow a melody"):
        engine(tiny_model).run(MusicRequest(prompt="calm", duration_s=1.0, melody=melody))


def test_description_carries_mood_key_and_tempo():
    request = MusicRequest(prompt=" tense strings ", mood="dark", key="F#m", tempo_bpm=96)
    assert describe(request) == "tense strings, dark, in F#m, 96 bpm"
    assert describe(MusicRequest()) == ""


@pytest.mark.slow
def test_long_beds_are_made_in_windows_and_unconditional_works(tiny_model):
    composer = engine(tiny_model, max_chunk_s=1.0, context_s=0.4)
    result = composer.run(MusicRequest(prompt="", duration_s=2.5, seed=1, loop=False))
    assert result.clip.samples.shape == (2, 20000)
    assert result.parameters["windows"] == 4 and result.parameters["description"] == ""
    x = result.clip.samples.astype(np.float64)
    assert np.sqrt(np.mean(x[:, -400:] ** 2)) < np.sqrt(np.mean(x ** 2))  # faded out at the end
    seeded = composer.run(MusicRequest(prompt="", duration_s=2.5, seed=1, loop=False))
    assert np.array_equal(seeded.clip.samples, result.clip.samples)


def test_every_backend_keeps_the_same_contract(tiny_model):
    """Lite and neural through the same assertions: exact length, stereo float32, −1 dBFS peak, JSON-safe."""
    import json

    from engines.music import MusicResult

    for config in (EngineConfig(backend="lite"),
                   EngineConfig(backend="neural", model_id=str(tiny_model), device="cpu")):
        request = MusicRequest(prompt="warm piano", duration_s=1.5, seed=4)
        result = REGISTRY.create(config).run(request)
        assert isinstance(result, MusicResult) and result.backend == config.backend
        clip = result.clip
        assert clip.samples.shape == (2, request.num_samples(clip.sample_rate))
        assert clip.samples.dtype == np.float32
        assert 20 * np.log10(np.abs(clip.samples).max()) == pytest.approx(-1.0, abs=0.05)
        assert result.seconds > 0 and result.request == request.as_dict()
        json.dumps(result.summary())


@pytest.mark.slow
def test_cli_with_the_neural_backend(tiny_model, tmp_path, capsys, monkeypatch):
    from engines.audio_io import read_wav
    from engines.music.__main__ import main as cli

    out = tmp_path / "bed.wav"
    assert cli(["compose", "--backend", "neural", "--model", str(tiny_model), "--device", "cpu",
                "--prompt", "happy drums", "--duration", "1", "--out", str(out)]) == 0
    assert "neural" in capsys.readouterr().out
    assert read_wav(out).samples.shape == (2, RATE)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert cli(["compose", "--backend", "neural", "--duration", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: Could not load the music model") and "local path" in err[-1]
