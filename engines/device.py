"""Device choice: CUDA when present, else CPU.

``detect_cuda()`` asks the CUDA driver directly through ctypes, so the Settings tab can show the device without
importing torch. ``torch_device()`` and ``torch_dtype()`` are for neural backends and import torch only when called
(inside ``load()``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class DeviceInfo:
    cuda: bool
    names: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.cuda:
            return f"CUDA: {', '.join(self.names)}"
        return "CPU only (no CUDA device found): neural backends run on the CPU, lite backends are unaffected."


@lru_cache(maxsize=1)
def detect_cuda() -> DeviceInfo:
    """Count CUDA devices through the driver library (no torch import, no network)."""
    path = ctypes.util.find_library("cuda") or "libcuda.so.1"
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return DeviceInfo(cuda=False)
    try:
        if lib.cuInit(0) != 0:
            return DeviceInfo(cuda=False)
        count = ctypes.c_int(0)
        if lib.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
            return DeviceInfo(cuda=False)
        names = []
        for i in range(count.value):
            dev = ctypes.c_int(0)
            buf = ctypes.create_string_buffer(128)
            if lib.cuDeviceGet(ctypes.byref(dev), i) == 0 and lib.cuDeviceGetName(buf, 128, dev) == 0:
                names.append(buf.value.decode(errors="replace"))
        return DeviceInfo(cuda=True, names=tuple(names))
    except (AttributeError, OSError):
        return DeviceInfo(cuda=False)


def torch_device(preference: str = "auto") -> str:
    """The torch device string for ``preference`` ("auto", "cpu", "cuda", "cuda:1").

    "auto" picks CUDA when torch sees a GPU. Asking for CUDA where there is none falls back to the CPU rather than
    failing, since settings may travel between machines.
    """
    import torch  # heavy: only neural backends call this, from load()

    if preference == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda" if preference == "auto" else preference
    return "cpu"


def torch_dtype(device: str):
    """float16 on CUDA, float32 on the CPU."""
    import torch

    return torch.float16 if device.startswith("cuda") else torch.float32
