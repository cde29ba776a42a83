"""engines.speech neural backend: a tiny random-weight Bark built here from configs (no download) runs end to end.

The tiny model keeps Bark's structure and token layout (text offset, semantic vocabulary and its pad/EOS,
two coarse codebooks offset after the semantic vocabulary, eight fine codebooks, an EnCodec decoder at 24 kHz
with 320 samples per frame) at toy sizes: hidden 16, one layer, two heads, 20 semantic tokens, codebooks of 16.
Its speech is noise, but every stage of ``BarkModel.generate`` runs, so loading, presets, splitting, seeding,
joining, timing, cancellation and errors are the real ones.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from engines.audio_io import AudioClip  # noqa: E402
from engines.base import EngineConfig  # noqa: E402
from engines.context import CallbackContext  # noqa: E402
from engines.errors import Cancelled, InvalidInput, ModelLoadError  # noqa: E402
from engines.models import model_cache  # noqa: E402
from engines.speech import REGISTRY, SpeechRequest  # noqa: E402
from engines.speech.neural import DEFAULT_MODEL_ID, BarkSpeaker  # noqa: E402

SEMANTIC = 20  # semantic vocabulary; its EOS/pad token is SEMANTIC
CODEBOOK = 16
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz.,!?'",
         "hello", "world", "the", "a", "is", "this", "test", "second", "sentence", "##s", "##ing"]
PRESETS = ("v2/en_speaker_0", "v2/en_speaker_1")
# Short generations: a few semantic tokens → ~10 coarse frames → a few thousand samples per sentence.
OPTIONS = {"semantic_max_new_tokens": 8}


def build_tiny_bark(folder: Path) -> Path:
    """Save a tiny random Bark (model, generation config, BERT tokenizer, two speaker presets) to ``folder``."""
    import torch
    from transformers import (BarkCoarseConfig, BarkConfig, BarkFineConfig, BarkModel, BarkProcessor,
                              BarkSemanticConfig, BertTokenizer, EncodecConfig)
    from transformers.models.bark.generation_configuration_bark import (BarkCoarseGenerationConfig,
                                                                         BarkFineGenerationConfig,
                                                                         BarkGenerationConfig,
                                                                         BarkSemanticGenerationConfig)

    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)})
    text_offset = SEMANTIC + 4
    n_text = len(tokenizer)
    semantic_gen = BarkSemanticGenerationConfig(
        eos_token_id=SEMANTIC, semantic_vocab_size=SEMANTIC, text_encoding_offset=text_offset,
        text_pad_token=text_offset + n_text, semantic_infer_token=text_offset + n_text + 1,
        max_input_semantic_length=16, max_new_tokens=12)
    coarse_gen = BarkCoarseGenerationConfig(
        coarse_semantic_pad_token=SEMANTIC + 2 * CODEBOOK, coarse_infer_token=SEMANTIC + 2 * CODEBOOK + 1,
        n_coarse_codebooks=2, max_coarse_input_length=16, max_coarse_history=24, sliding_window_len=8)
    fine_gen = BarkFineGenerationConfig(max_fine_history_length=8, max_fine_input_length=16, n_fine_codebooks=8)
    small = dict(num_layers=1, num_heads=2, hidden_size=16, block_size=64)
    config = BarkConfig(
        semantic_config=BarkSemanticConfig(input_vocab_size=text_offset + n_text + 2,
                                           output_vocab_size=SEMANTIC + 4, **small).to_dict(),
        coarse_acoustics_config=BarkCoarseConfig(input_vocab_size=SEMANTIC + 2 * CODEBOOK + 2,
                                                 output_vocab_size=SEMANTIC + 2 * CODEBOOK + 2, **small).to_dict(),
        fine_acoustics_config=BarkFineConfig(input_vocab_size=CODEBOOK + 1, output_vocab_size=CODEBOOK + 1,
                                             n_codes_total=8, n_codes_given=1, **small).to_dict(),
        # 8 quantizers of 16 codes at 75 frames/s: 2.4 kbps.
        codec_config=EncodecConfig(codebook_size=CODEBOOK, codebook_dim=8, target_bandwidths=[2.4],
                                   hidden_size=8, num_filters=2, num_lstm_layers=1, sampling_rate=24_000).to_dict(),
    )
    torch.manual_seed(0)
    BarkModel(config).save_pretrained(folder)
    # BarkGenerationConfig does not survive GenerationConfig.save_pretrained's validation in transformers 5
    # (no early_stopping attribute): write it the way the hub's Bark repos hold it.
    generation = BarkGenerationConfig.from_sub_model_configs(semantic_gen, coarse_gen, fine_gen,
                                                             sample_rate=24_000, codebook_size=CODEBOOK)
    (folder / "generation_config.json").write_text(json.dumps(generation.to_dict()))

    rng = np.random.default_rng(0)
    embeddings: dict = {"repo_or_path": str(folder)}
    (folder / "speaker_embeddings" / "v2").mkdir(parents=True)
    for preset in PRESETS:
        paths = {}
        for key, array in (("semantic_prompt", rng.integers(0, SEMANTIC, 24)),
                           ("coarse_prompt", rng.integers(0, CODEBOOK, (2, 36))),
                           ("fine_prompt", rng.integers(0, CODEBOOK, (8, 36)))):
            relative = f"speaker_embeddings/{preset}_{key}.npy"
            np.save(folder / relative, array)
            paths[key] = relative
        embeddings[preset] = paths
    (folder / "speaker_embeddings_path.json").write_text(json.dumps(embeddings))
    BarkProcessor(tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_bark(tmp_path_factory) -> Path:
    return build_tiny_bark(tmp_path_factory.mktemp("tiny-bark"))


@pytest.fixture
def fresh_cache():
    model_cache().clear()
    yield model_cache()
    model_cache().clear()


def speaker(folder: Path, **options) -> BarkSpeaker:
    return REGISTRY.create(EngineConfig(backend="neural", model_id=str(folder), device="cpu",
                                        options={**OPTIONS, **options}))


def test_registry_has_neural_on_the_gpu_queue():
    assert "neural" in REGISTRY.names() and "neural" in REGISTRY.available()
    assert BarkSpeaker.heavy and BarkSpeaker.kind == "speech"
    assert BarkSpeaker().model_id == DEFAULT_MODEL_ID == "suno/bark-small"


def test_tiny_bark_speaks_two_sentences_loaded_once(tiny_bark, fresh_cache):
    seen, loads = [], fresh_cache.loads
    engine = speaker(tiny_bark)
    request = SpeechRequest(text="Hello world. This is a second sentence!", preset="v2/en_speaker_1", seed=3)
    result = engine.run(request, CallbackContext(lambda f, m: seen.append((f, m))))

    assert isinstance(result.clip, AudioClip) and result.clip.sample_rate == 24_000 == request.sample_rate
    assert result.parameters["model_rate"] == 24_000
    assert result.clip.channels == 1 and result.clip.samples.dtype == np.float32
    assert np.isfinite(result.clip.samples).all() and np.abs(result.clip.samples).max() <= 1.0
    assert [s.text for s in result.segments] == ["Hello world.", "This is a second sentence!"]
    first, second = result.segments
    assert first.start_s == 0.0 < first.end_s < second.start_s < second.end_s
    assert second.end_s == pytest.approx(result.clip.duration_s, abs=1e-3)
    assert second.start_s - first.end_s == pytest.approx(0.25, abs=1e-3)  # the pause
    assert result.backend == "neural" and result.model_id == str(tiny_bark)
    assert [m for _, m in seen if m.startswith("Generating")] == ["Generating sentence 1 of 2",
                                                                   "Generating sentence 2 of 2"]
    assert seen[-1][0] == 1.0 and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))

    # The same request again (new engine, same model): no second load, and the same audio (seeded).
    again = speaker(tiny_bark).run(request)
    assert fresh_cache.loads == loads + 1
    np.testing.assert_array_equal(again.clip.samples, result.clip.samples)
    # Another rate is resampled from the model's 24 kHz.
    resampled = speaker(tiny_bark).run(SpeechRequest(text="Hello world.", preset="v2/en_speaker_1", seed=3,
                                                     sample_rate=16_000))
    assert resampled.clip.sample_rate == 16_000
    assert resampled.clip.duration_s == pytest.approx(first.end_s, abs=2e-3)


def test_presets_are_checked_against_the_processor(tiny_bark, fresh_cache):
    engine = speaker(tiny_bark)
    assert [v.id for v in engine.voices()] == list(PRESETS)
    assert engine.voices()[0].language == "en"
    with pytest.raises(InvalidInput, match=r"v2/en_speaker_0, v2/en_speaker_1"):
        engine.run(SpeechRequest(text="Hello.", preset="v2/en_speaker_9"))
    # The preset's prompts reach every stage of generation (with random weights the audio barely depends on
    # them, so look at what generate() is given); None: the model's default voice, no prompt.
    engine.load()
    real, given = engine._bark.model.generate, []
    engine._bark.model.generate = lambda *a, **kw: given.append(kw.get("history_prompt")) or real(*a, **kw)
    try:
        engine.run(SpeechRequest(text="Hello.", preset="v2/en_speaker_1"))
        assert engine.run(SpeechRequest(text="Hello.", preset=None)).clip.duration_s > 0
    finally:
        engine._bark.model.generate = real
    saved = np.load(tiny_bark / "speaker_embeddings" / "v2" / "en_speaker_1_semantic_prompt.npy")
    assert sorted(given[0]) == ["coarse_prompt", "fine_prompt", "semantic_prompt"]
    np.testing.assert_array_equal(given[0]["semantic_prompt"].numpy(), saved)
    assert given[1] is None


def test_long_text_is_split_for_bark(tiny_bark, fresh_cache):
    text = "this is a test, " * 30  # one 480-character sentence with no full stop
    result = speaker(tiny_bark, max_chars=100).run(SpeechRequest(text=text, preset="v2/en_speaker_0"))
    assert len(result.segments) >= 5 and all(len(s.text) <= 100 for s in result.segments)
    assert " ".join(s.text for s in result.segments) == " ".join(text.split())
    assert all(a.end_s <= b.start_s for a, b in zip(result.segments, result.segments[1:]))


def test_cancel_between_and_inside_sentences(tiny_bark, fresh_cache):
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        speaker(tiny_bark).run(SpeechRequest(text="Hello world. Second sentence."), ctx)

    # Cancelled while the first sentence generates: the stopping criterion ends it, no second sentence runs.
    messages = []
    ctx = CallbackContext(lambda f, m: messages.append(m))
    engine = speaker(tiny_bark)
    engine.load()
    real = engine._bark.model.generate

    def generate(*args, **kwargs):
        ctx.cancel()
        return real(*args, **kwargs)

    engine._bark.model.generate = generate
    try:
        with pytest.raises(Cancelled):
            engine.run(SpeechRequest(text="Hello world. Second sentence."), ctx)
    finally:
        engine._bark.model.generate = real
    assert "Generating sentence 2 of 2" not in messages


def test_invalid_requests(tiny_bark, fresh_cache):
    engine = speaker(tiny_bark)
    with pytest.raises(InvalidInput):
        engine.run(SpeechRequest(text="   "))
    with pytest.raises(InvalidInput):
        engine.run(SpeechRequest(text="hello", sample_rate=100))


def test_offline_hub_id_is_a_clear_model_load_error(monkeypatch, fresh_cache, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loads = fresh_cache.loads
    with pytest.raises(ModelLoadError, match="local folder path"):
        REGISTRY.create(EngineConfig(backend="neural", model_id="suno/bark-small", device="cpu")).run(
            SpeechRequest(text="Hello."))
    with pytest.raises(ModelLoadError, match="not a folder with a saved Bark model"):
        speaker(tmp_path).run(SpeechRequest(text="Hello."))
    assert fresh_cache.loads == loads and fresh_cache.keys() == []
