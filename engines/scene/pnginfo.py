"""Generation parameters inside PNG files, readable by other tools and by us.

Two text chunks are written:

* ``parameters`` (tEXt): the AUTOMATIC1111 web UI format that image viewers, Civitai and ComfyUI importers read::

      <prompt>
      Negative prompt: <negative prompt>          (line left out when empty, as A1111 does)
      Steps: 2, Sampler: Euler, CFG scale: 0.0, Seed: 42, Size: 512x512, Model: sd-turbo, Backend: neural

* ``reelsmith`` (iTXt, UTF-8): the full parameters as JSON, read back by ``read_parameters``.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from ..errors import InvalidMedia, MediaTooLarge

#: Largest picture whose metadata is read (as ``engines.media.probe``'s default limit).
MAX_PIXELS = 8192 * 8192

A1111_KEY = "parameters"
JSON_KEY = "reelsmith"

# (A1111 label, parameters key) in the order A1111 writes them; Size is assembled from width and height.
_FIELDS = (
    ("Steps", "steps"), ("Sampler", "sampler"), ("CFG scale", "guidance"), ("Seed", "seed"), ("Size", None),
    ("Model", "model"), ("Denoising strength", "denoising_strength"), ("Backend", "backend"),
)


def _quote(value: Any) -> str:
    """A1111 quotes values that contain the separators (``,``, ``:``, newlines) as JSON strings."""
    text = str(value)
    if any(ch in text for ch in ",:\n\""):
        return json.dumps(text, ensure_ascii=False)
    return text


def parameters_text(params: dict[str, Any]) -> str:
    """``params`` (the engine's parameters dict) as AUTOMATIC1111's ``parameters`` text."""
    lines = [str(params.get("prompt", "")).strip()]
    negative = str(params.get("negative_prompt") or "").strip()
    if negative:
        lines.append(f"Negative prompt: {negative}")
    values = dict(params)
    if values.get("model") is None:
        values["model"] = values.get("model_id")
    if values.get("init_image") and values.get("denoising_strength") is None:
        values["denoising_strength"] = values.get("strength")
    parts = []
    for label, key in _FIELDS:
        if key is None:
            if values.get("width") and values.get("height"):
                parts.append(f"Size: {values['width']}x{values['height']}")
            continue
        value = values.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, float):
            value = f"{value:g}" if label != "CFG scale" else f"{value:.1f}"
        parts.append(f"{label}: {_quote(value)}")
    lines.append(", ".join(parts))
    return "\n".join(lines)


def parse_parameters_text(text: str) -> dict[str, Any]:
    """Best-effort reading of A1111 ``parameters`` text (for PNGs made elsewhere) into our keys."""
    lines = text.strip().split("\n")
    settings = lines.pop() if lines and re.match(r"^\s*Steps:\s*\d", lines[-1]) else ""
    negative, prompt = "", []
    for line in lines:
        if line.startswith("Negative prompt:"):
            negative = line[len("Negative prompt:"):].strip()
        elif negative:
            negative += "\n" + line
        else:
            prompt.append(line)
    result: dict[str, Any] = {"prompt": "\n".join(prompt).strip(), "negative_prompt": negative}
    keys = {label: key for label, key in _FIELDS if key}
    for label, raw in re.findall(r'\s*([\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)', settings):
        label = label.strip()
        value: Any = json.loads(raw) if raw.startswith('"') else raw.strip()
        if label == "Size" and "x" in str(value):
            w, _, h = str(value).partition("x")
            result["width"], result["height"] = int(w), int(h)
            continue
        key = keys.get(label, label.lower().replace(" ", "_"))
        if key in ("steps", "seed"):
            value = int(value)
        elif key in ("guidance", "denoising_strength"):
            value = float(value)
        result[key] = value
    return result


def png_bytes(image: Image.Image, parameters: dict[str, Any]) -> bytes:
    """``image`` encoded as PNG with both parameter chunks."""
    info = PngImagePlugin.PngInfo()
    info.add_text(A1111_KEY, parameters_text(parameters))  # tEXt (Pillow switches to iTXt for non-Latin-1 text)
    info.add_itxt(JSON_KEY, json.dumps(parameters, ensure_ascii=False, sort_keys=True, default=str))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_parameters(source: str | Path | bytes) -> dict[str, Any]:
    """The parameters stored in a PNG: our JSON when present, else the parsed A1111 text, else ``{}``."""
    what = "The picture" if isinstance(source, (bytes, bytearray)) else Path(source).name
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source)) as img:
            if img.width * img.height > MAX_PIXELS:  # PNG text after the pixels is read by decoding them all
                raise MediaTooLarge(f"{what} is {img.width}×{img.height} pixels; the limit is "
                                    f"{MAX_PIXELS / 1e6:.1f} megapixels.")
            chunks = dict(getattr(img, "text", {}) or {})
    except FileNotFoundError as exc:
        raise InvalidMedia(f"{Path(str(source)).name}: file not found") from exc
    except Image.DecompressionBombError:
        raise MediaTooLarge(f"{what} has too many pixels to open safely.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidMedia(f"Cannot read the picture's metadata: {exc}") from exc
    if JSON_KEY in chunks:
        try:
            return json.loads(chunks[JSON_KEY])
        except json.JSONDecodeError:
            pass
    if A1111_KEY in chunks:
        return parse_parameters_text(chunks[A1111_KEY])
    return {}
