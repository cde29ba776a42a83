"""The engine contract: registry, lazy model cache, device choice, contexts, and no heavy import at import time."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engines.base import Engine, EngineConfig
from engines.context import CallbackContext, NullContext
from engines.device import detect_cuda
from engines.errors import BackendUnavailable, Cancelled, ModelLoadError
from engines.models import ModelCache
from engines.registry import Registry

ROOT = Path(__file__).resolve().parents[2]


class Echo(Engine):
    kind, name = "echo", "lite"

    def run(self, request, ctx=None):
        ctx = self._ctx(ctx)
        for i in range(3):
            ctx.check()
            ctx.report((i + 1) / 3, f"step {i + 1}")
        return request.upper()


def test_registry_creates_backends_and_explains_missing_ones():
    reg = Registry("echo")
    reg.register("lite", Echo, description="offline")
    reg.register("neural", "engines.nonexistent_module:Nope", requires=("surely_not_installed_pkg",))
    assert reg.names() == ["lite", "neural"]
    assert reg.available() == ["lite"]
    assert reg.create().run("abc") == "ABC"
    with pytest.raises(BackendUnavailable, match="surely_not_installed_pkg"):
        reg.create(EngineConfig(backend="neural"))
    with pytest.raises(BackendUnavailable, match="choose one of: lite, neural"):
        reg.create(EngineConfig(backend="quantum"))


def test_lazy_string_targets_are_imported_on_first_use_only(tmp_path, monkeypatch):
    (tmp_path / "lazy_backend_mod.py").write_text(
        "from engines.base import Engine\n"
        "class Heavy(Engine):\n"
        "    kind, name = 'echo', 'neural'\n"
        "    def run(self, request, ctx=None):\n"
        "        return request * 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("echo")
    reg.register("neural", "lazy_backend_mod:Heavy")
    assert "lazy_backend_mod" not in sys.modules
    engine = reg.create(EngineConfig(backend="neural", model_id="some/model"))
    assert "lazy_backend_mod" in sys.modules
    assert engine.run("ab") == "abab" and engine.config.model_id == "some/model"


def test_contexts_report_and_cancel():
    seen = []
    ctx = CallbackContext(lambda f, m: seen.append((round(f, 3), m)))
    Echo().run("x", ctx.sub(0.5, 1.0))
    assert seen == [(0.667, "step 1"), (0.833, "step 2"), (1.0, "step 3")]
    ctx.cancel()
    with pytest.raises(Cancelled):
        Echo().run("x", ctx)
    assert Echo().run("y", NullContext()) == "Y"


def test_model_cache_loads_once_evicts_lru_and_unloads():
    unloaded = []

    class Model:
        def __init__(self, name):
            self.name = name

        def unload(self):
            unloaded.append(self.name)

    cache = ModelCache(max_items=2)
    calls = []

    def loader(name):
        def load():
            calls.append(name)
            time.sleep(0.05)
            return Model(name)
        return load

    threads = [threading.Thread(target=cache.get, args=("a", loader("a"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"]  # four concurrent requests, one load
    cache.get("b", loader("b"))
    cache.get("a", loader("a"))  # touch a: b is now least recently used
    cache.get("c", loader("c"))
    assert unloaded == ["b"] and set(cache.keys()) == {"a", "c"}
    assert cache.unload("a") and unloaded == ["b", "a"]
    assert not cache.unload("a")
    cache.clear()
    assert cache.keys() == [] and cache.loads == 3


def test_model_load_failure_becomes_a_readable_error():
    cache = ModelCache()

    def broken():
        raise OSError("stabilityai/does-not-exist is not a local folder and no network is available")

    with pytest.raises(ModelLoadError, match="does-not-exist"):
        cache.get(("scene", "neural", "stabilityai/does-not-exist"), broken)


def test_device_detection_needs_no_torch():
    code = ("import sys; from engines.device import detect_cuda; d = detect_cuda(); "
            "print(d.cuda, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    cuda, torch_loaded = out.stdout.split()
    assert torch_loaded == "False"
    assert cuda == str(detect_cuda().cuda)


def test_torch_device_falls_back_to_cpu_without_cuda():
    pytest.importorskip("torch")
    from engines.device import torch_device, torch_dtype

    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch_device("auto") == expected
    assert torch_device("cpu") == "cpu"
    assert torch_dtype("cpu") == torch.float32


def test_importing_the_app_loads_no_torch_and_no_model():
    code = ("import sys, socket\n"
            "opened = []\n"
            "real = socket.socket.connect\n"
            "socket.socket.connect = lambda self, addr: opened.append(addr) or real(self, addr)\n"
            "import app\n"
            "import engines; engines.registries()\n"
            "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'demucs') if m in sys.modules]\n"
            "print(heavy, opened)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[] []"


def test_app_help_lists_the_options():
    out = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    for flag in ("--host", "--port", "--data-dir", "--share", "--users", "--max-upload-mb"):
        assert flag in out.stdout
