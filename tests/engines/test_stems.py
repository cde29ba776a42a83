"""engines.audio.stems: the labelled lite split on a synthetic mix, and Demucs on a tiny random-weight HTDemucs.

The HTDemucs is built here (a few thousand parameters), saved as a Demucs checkpoint (``klass``/``args``/``kwargs``/
``state``, as ``demucs.states`` loads it) and loaded through the local-path route exactly as a user's file would be.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from engines.audio import STEMS
from engines.audio.stems import StemsRequest, add_cli, load_demucs, split_block
from engines.audio_io import AudioClip, read_wav, write_wav
from engines.base import EngineConfig
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidMedia, ModelLoadError

RATE = 22050
SOURCES = ["drums", "bass", "other", "vocals"]


def synthetic_mix(seconds: float = 12.0) -> dict[str, np.ndarray]:
    """A sustained chord on the side channel, a click track and a centred vibrato "voice" (each (2, n))."""
    n = int(RATE * seconds)
    t = np.arange(n) / RATE
    chord = 0.08 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    clicks = np.zeros(n)
    rng = np.random.default_rng(0)
    for start in range(0, n - 200, RATE // 4):
        clicks[start:start + 100] = 0.25 * rng.standard_normal(100) * np.exp(-np.arange(100) / 20)
    voice = 0.15 * np.sin(2 * np.pi * 600 * t + 3 * np.sin(2 * np.pi * 5 * t))
    return {"other": np.stack([chord, -chord]), "drums": np.stack([clicks, clicks]), "vocals": np.stack([voice, voice])}


def share(stem: np.ndarray, source: np.ndarray) -> float:
    """How much of ``source`` is in ``stem`` (projection coefficient: 1 = all of it)."""
    return float((stem * source).sum() / (source * source).sum())


@pytest.fixture(scope="module")
def mix_wav(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    sources = synthetic_mix()
    path = tmp_path_factory.mktemp("stems") / "mix.wav"
    write_wav(path, AudioClip(sum(sources.values()), RATE))
    return path, sources


def test_lite_split_separates_clicks_chord_and_centre(mix_wav, tmp_path):
    path, sources = mix_wav
    result = STEMS.create().run(StemsRequest(path, tmp_path / "out"))
    assert result.labelled_lite and result.backend == "lite" and "not a neural" in result.notes[0]
    assert result.labels["vocals"] == "vocals (centre estimate)" and set(result.stems) == {"vocals", "drums", "other"}
    stems = {k: read_wav(p) for k, p in result.stems.items()}
    mix = read_wav(path).samples
    for name, clip in stems.items():
        assert clip.sample_rate == RATE and clip.samples.shape == mix.shape
        assert share(clip.samples, sources[name]) > 0.9, name  # each stem holds its own source...
        for other in set(sources) - {name}:
            assert abs(share(clip.samples, sources[other])) < 0.05, (name, other)  # ...and little of the others
    assert np.abs(sum(c.samples for c in stems.values()) - mix).max() < 1e-3  # the stems add back up to the mix
    # 10 s blocks with margins give the same result as one pass over the whole file (no seams)
    whole = split_block(mix, RATE)
    assert max(np.abs(whole[k] - stems[k].samples).max() for k in stems) < 2e-3


def test_lite_mono_has_no_vocal_estimate(tmp_path):
    path = write_wav(tmp_path / "mono.wav", AudioClip(synthetic_mix(3.0)["drums"][0], RATE))
    result = STEMS.create().run(StemsRequest(path, tmp_path / "out"))
    assert set(result.stems) == {"drums", "other"} and any("no centre-channel" in n for n in result.notes)
    assert read_wav(result.stems["drums"]).channels == 1


def test_bad_inputs(tmp_path, clip_mp4):
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(InvalidMedia):
        STEMS.create().run(StemsRequest(tmp_path / "notes.wav", tmp_path / "out"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="is a file"):
        STEMS.create().run(StemsRequest(clip_mp4, tmp_path / "file"))


# --------------------------------------------------------------------------------------------------------------
# Demucs on a tiny random HTDemucs
# --------------------------------------------------------------------------------------------------------------
TINY = dict(sources=SOURCES, channels=4, depth=2, nfft=512, t_layers=1, t_heads=1, t_hidden_scale=1.0,
            dconv_comp=2, norm_groups=1, samplerate=8000, segment=1)


def save_tiny(path: Path) -> Path:
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(0)
    model = HTDemucs(**TINY)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"klass": HTDemucs, "args": (), "kwargs": TINY, "state": model.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def tiny_th(tmp_path_factory) -> Path:
    pytest.importorskip("demucs")
    return save_tiny(tmp_path_factory.mktemp("tiny-demucs") / "tiny.th")


def neural(model_id: str):
    return STEMS.create(EngineConfig(backend="neural", model_id=model_id, device="cpu"))


def test_demucs_from_a_local_checkpoint(mix_wav, tiny_th, tmp_path):
    path, _ = mix_wav
    seen: list[tuple[float, str]] = []
    result = neural(str(tiny_th)).run(StemsRequest(path, tmp_path / "out"),
                                      CallbackContext(lambda f, m: seen.append((f, m))))
    assert result.backend == "neural" and not result.labelled_lite and list(result.stems) == SOURCES
    mix = read_wav(path).samples
    stems = [read_wav(p) for p in result.stems.values()]
    assert all(s.sample_rate == RATE and s.samples.shape == mix.shape for s in stems)  # resampled 8 kHz → 22.05
    assert sum(s.samples for s in stems).shape == mix.shape
    fractions = [f for f, m in seen if "segments" in m]
    assert len(fractions) > 3 and fractions == sorted(fractions) and seen[-1][0] == 1.0


def test_demucs_mono_cancel_and_folder_routes(tiny_th, tmp_path):
    mono = write_wav(tmp_path / "mono.wav", AudioClip(synthetic_mix(2.0)["vocals"][0], 16000))
    result = neural(str(tiny_th)).run(StemsRequest(mono, tmp_path / "out"))
    assert all(read_wav(p).samples.shape == (1, 44100) for p in result.stems.values())
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        neural(str(tiny_th)).run(StemsRequest(mono, tmp_path / "cancelled"), ctx)
    assert not list((tmp_path / "cancelled").glob("*.wav"))
    single = save_tiny(tmp_path / "one" / "model.th")  # a folder with one checkpoint
    assert load_demucs(str(single.parent)).sources == SOURCES
    bag = tmp_path / "bag"  # a folder with a bag: NAME.yaml listing signatures, SIG-xxxx.th files
    save_tiny(bag / "abcd1234-00000000.th")
    (bag / "mybag.yaml").write_text("models: ['abcd1234']\n")
    assert type(load_demucs(str(bag))).__name__ == "BagOfModels"
    with pytest.raises(ModelLoadError, match="no Demucs checkpoint"):
        load_demucs(str(tmp_path / "missing.th"))


def test_named_model_offline(tmp_path, monkeypatch, tiny_th):
    import huggingface_hub.constants

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(ModelLoadError, match="No weights .* available offline.*lite"):
        load_demucs("htdemucs")
    with pytest.raises(ModelLoadError, match="not a Demucs model name|neither a Demucs model name"):
        load_demucs("no_such_model")
    # once the checkpoint is in the torch hub cache, the name resolves without any network
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / "955717e8-8726e21a.th").write_bytes(tiny_th.read_bytes())
    assert load_demucs("htdemucs").sources == SOURCES


def test_cli(mix_wav, tmp_path, capsys, monkeypatch):
    import huggingface_hub.constants

    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers(dest="command"))
    path, _ = mix_wav
    args = parser.parse_args(["stems", str(path), "--out-dir", str(tmp_path / "s"), "--backend", "lite", "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["labelled_lite"] is True
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    args = parser.parse_args(["stems", str(path), "--out-dir", str(tmp_path / "n"), "--backend", "neural",
                              "--model", "htdemucs_ft"])
    assert args.func(args) == 2 and "available offline" in capsys.readouterr().err
