"""engines.scene: the procedural storyboard renderer, the request checks, PNG parameters and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from engines.base import EngineConfig
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput
from engines.registry import registry_for
from engines.scene import (REGISTRY, ProceduralRenderer, SceneRequest, SceneResult, parameters_text, png_bytes,
                           read_parameters, read_scene)
from engines.scene.pnginfo import parse_parameters_text

ROOT = Path(__file__).resolve().parents[2]


def render(options: dict | None = None, ctx=None, **fields) -> SceneResult:
    fields.setdefault("width", 256)
    fields.setdefault("height", 256)
    engine = REGISTRY.create(EngineConfig(backend="lite", options=options or {}))
    return engine.run(SceneRequest(**fields), ctx)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def luma(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L"), dtype=np.float32).mean())


# --------------------------------------------------------------------------------------------------------------
# Registry and import cost
# --------------------------------------------------------------------------------------------------------------
def test_registry_has_lite_and_a_lazy_neural_backend():
    reg = registry_for("scene")
    assert reg is REGISTRY and reg.names() == ["lite", "neural"]
    assert isinstance(REGISTRY.create(), ProceduralRenderer)
    assert REGISTRY.info("neural").requires == ("diffusers", "torch", "transformers")


def test_importing_the_package_loads_no_heavy_library():
    code = ("import sys, engines.scene, engines.scene.__main__\n"
            "print([m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------------------------
# Frames: size, batch, seeds, determinism
# --------------------------------------------------------------------------------------------------------------
def test_size_batch_and_seeds():
    result = render(prompt="EXT. HARBOUR - NIGHT", seed=5, batch=3, width=320, height=192)
    assert result.backend == "lite" and result.model_id is None and result.seconds > 0
    assert result.seeds == [5, 6, 7]
    assert [im.size for im in result.images] == [(320, 192)] * 3
    assert all(im.mode == "RGB" for im in result.images)
    # Image i of a batch is the batch-of-one image at seed + i.
    single = render(prompt="EXT. HARBOUR - NIGHT", seed=6, width=320, height=192)
    assert np.array_equal(pixels(single.images[0]), pixels(result.images[1]))
    assert result.parameters["seed"] == 5 and result.parameters["batch"] == 3
    assert result.image_parameters(2)["seed"] == 7
    json.dumps(result.summary())


def test_same_seed_same_pixels_other_seed_other_pixels():
    fields = dict(prompt="EXT. FOREST - DUSK — Lea runs", characters=("LEA",))
    a, b, c = (render(seed=s, **fields).images[0] for s in (42, 42, 43))
    assert np.array_equal(pixels(a), pixels(b))
    assert np.abs(pixels(a) - pixels(c)).mean() > 3


def test_every_size_from_tiny_to_wide_renders():
    for w, h in ((64, 64), (1024, 576), (136, 512)):
        result = render(prompt="EXT. CITY STREET - NIGHT — rain, MARA and JONAS run", width=w, height=h)
        assert result.images[0].size == (w, h)


def test_a_512_frame_renders_well_under_a_second():
    engine = REGISTRY.create()
    request = SceneRequest("EXT. HARBOUR - NIGHT — Mara waits by the water, tense", characters=("MARA", "JONAS"))
    engine.run(request)  # warm the font cache
    started = time.perf_counter()
    engine.run(request)
    assert time.perf_counter() - started < 1.0


# --------------------------------------------------------------------------------------------------------------
# What the words change
# --------------------------------------------------------------------------------------------------------------
def test_reading_the_scene():
    scene = read_scene(SceneRequest("EXT. HARBOUR - NIGHT — Mara waits by the water, tense"))
    assert scene.slugline == "EXT. HARBOUR - NIGHT" and scene.location == "HARBOUR"
    assert not scene.interior and scene.time_of_day == "night" and scene.palette == "cold"
    assert {"water", "dock"} <= set(scene.features)
    kitchen = read_scene(SceneRequest("INT. KITCHEN - DAY. Warm light; JONAS pours coffee for MARA."))
    assert kitchen.interior and kitchen.room == "kitchen" and kitchen.time_of_day == "day"
    assert kitchen.palette == "golden" and kitchen.characters == ["Jonas", "Mara"]
    # Request fields win over the words; a mood field outweighs the prompt.
    forced = read_scene(SceneRequest("INT. KITCHEN - DAY, warm", interior=False, time_of_day="dusk",
                                     mood="eerie", characters=("A",)))
    assert not forced.interior and forced.time_of_day == "dusk" and forced.palette == "eerie"
    assert forced.characters == ["A"]
    plain = read_scene(SceneRequest("a quiet office at sunset"))
    assert plain.slugline is None and plain.interior and plain.time_of_day == "dusk"
    assert read_scene(SceneRequest("EXT. ROAD - DAY — THE CAR SPEEDS AWAY")).characters == []  # all caps


def test_night_is_darker_than_dusk_and_day():
    for seed in (0, 1, 2):
        day, dusk, night = (luma(render(prompt=f"EXT. OPEN FIELD - {t}", seed=seed, caption="").images[0])
                            for t in ("DAY", "DUSK", "NIGHT"))
        assert day > dusk + 10 and dusk > night + 10, (seed, day, dusk, night)
    inside_day = luma(render(prompt="INT. LIVING ROOM - DAY", caption="").images[0])
    inside_night = luma(render(prompt="INT. LIVING ROOM - NIGHT", caption="").images[0])
    assert inside_day > inside_night + 15


def test_warm_and_cold_moods_flip_the_colour_balance():
    def red_minus_blue(image: Image.Image) -> float:
        p = pixels(image)
        return float((p[..., 0] - p[..., 2]).mean())

    for seed in (0, 1, 2):
        for place in ("EXT. OPEN FIELD - DAY", "INT. OFFICE - DAY"):
            warm = render(prompt=place, mood="warm hopeful", seed=seed, caption="")
            cold = render(prompt=place, mood="tense cold", seed=seed, caption="")
            assert warm.parameters["scene"]["palette"] == "golden"
            assert cold.parameters["scene"]["palette"] == "cold"
            assert red_minus_blue(warm.images[0]) > 5 > -5 > red_minus_blue(cold.images[0]), (seed, place)
    eerie = pixels(render(prompt="EXT. MOOR - NIGHT, eerie", seed=3, caption="").images[0])
    assert eerie[..., 1].mean() > eerie[..., 0].mean()  # green-teal


def test_interior_and_exterior_differ():
    inside = render(prompt="Mara waits", interior=True, seed=4, caption="")
    outside = render(prompt="Mara waits", interior=False, seed=4, caption="")
    assert inside.parameters["scene"]["interior"] and not outside.parameters["scene"]["interior"]
    assert "vanishing_point" in inside.extras[0]["stage"] and "horizon" in outside.extras[0]["stage"]
    assert np.abs(pixels(inside.images[0]) - pixels(outside.images[0])).mean() > 20


@pytest.mark.parametrize("prompt", ["EXT. HARBOUR - NIGHT — they wait by the water",
                                    "INT. KITCHEN - DAY — breakfast", "EXT. CITY STREET - DUSK — rain",
                                    "EXT. MOUNTAIN FOREST - DAWN, misty"])
@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_each_character_gets_one_silhouette(prompt, count):
    names = tuple(f"P{i}" for i in range(count))
    fields = dict(prompt=prompt, seed=count, caption="", width=384, height=256)
    options = {"labels": False, "grain": 0.0}
    empty = render(options=options, **fields)
    cast = render(options=options, characters=names, **fields)
    figures = cast.extras[0]["figures"]
    assert [f["name"] for f in figures] == list(names)
    # The set is the same with and without people: what changed is the figures (and their contact shadows).
    # Count the separate shapes across the upper bodies (heads to hips), where shadows cannot join them.
    changed = (np.abs(pixels(cast.images[0]) - pixels(empty.images[0])).max(axis=2) > 12).astype(np.uint8)
    top = min(f["box"][1] for f in figures)
    hips = int(np.median([(f["box"][1] + f["box"][3]) / 2 for f in figures]))
    n, _, stats, _ = cv2.connectedComponentsWithStats(changed[top:hips], connectivity=8)
    big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] > 0.001 * changed.size]
    assert len(big) == count
    for f in figures:
        x0, y0, x1, y1 = f["box"]
        assert 0 <= x0 < x1 <= 384 and 0 <= y0 < y1 <= 256
        assert changed[y0:y1, x0:x1].mean() > 0.3  # the box is filled by its figure
        assert (y1 - y0) > 1.5 * (x1 - x0)  # a standing person
    boxes = sorted(f["box"] for f in figures)
    assert all(a[2] <= b[0] + 2 for a, b in zip(boxes, boxes[1:])), "figures overlap"


def test_names_are_written_over_the_figures():
    fields = dict(prompt="EXT. OPEN FIELD - DAY", characters=("MARA",), seed=2, caption="")
    labelled = pixels(render(**fields).images[0])
    plain = pixels(render(options={"labels": False}, **fields).images[0])
    box = render(**fields).extras[0]["figures"][0]["box"]
    above = slice(max(0, box[1] - 20), box[1])
    assert np.abs(labelled[above] - plain[above]).max() > 100
    assert np.array_equal(labelled[box[3]:], plain[box[3]:])


def test_caption_bar_shows_the_caption_and_the_slugline():
    base = dict(prompt="a lighthouse on a cliff", seed=1, width=320, height=240)
    none = render(caption="", **base).images[0]
    auto = render(**base).images[0]  # no slugline, no caption: no bar
    captioned = render(caption="Mara climbs the stairs.", **base).images[0]
    assert np.array_equal(pixels(none), pixels(auto))
    p_none, p_cap = pixels(none), pixels(captioned)
    bar = slice(int(240 * 0.88), 240)
    assert np.array_equal(p_none[: int(240 * 0.8)], p_cap[: int(240 * 0.8)])  # only the bottom changes
    assert np.abs(p_none[bar] - p_cap[bar]).mean() > 10
    text = p_cap[bar].max(axis=2)
    assert (text > 200).sum() > 30 and np.median(text) < 60  # light letters on a dark bar
    slug = render(prompt="EXT. HARBOUR - NIGHT — waiting", seed=1, width=320, height=240)
    both = render(prompt="EXT. HARBOUR - NIGHT — waiting", seed=1, width=320, height=240, caption="Mara waits.")
    slug_bar = pixels(slug.images[0])[int(240 * 0.9):].max(axis=2)
    assert (slug_bar > 200).sum() > 30  # the slugline alone fills a bar
    top_of_two_lines = int(240 * 0.8)
    assert np.abs(pixels(both.images[0])[top_of_two_lines:] - pixels(slug.images[0])[top_of_two_lines:]).mean() > 5


# --------------------------------------------------------------------------------------------------------------
# Image to image
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture
def init_png(tmp_path) -> Path:
    y, x = np.mgrid[0:300, 0:400]
    rgb = np.stack([(x * 255 / 400), (y * 255 / 300), np.full_like(x, 128)], axis=2).astype(np.uint8)
    rgb[100:200, 150:250] = (250, 30, 30)
    path = tmp_path / "init.png"
    Image.fromarray(rgb).save(path)
    return path


def test_init_image_blends_by_strength(init_png):
    fields = dict(prompt="EXT. OPEN FIELD - NIGHT", characters=("MARA",), seed=3, caption="")
    procedural = pixels(render(**fields).images[0])
    init = pixels(Image.open(init_png).convert("RGB").resize((256, 256)))  # fit: 400x300 centre-cropped
    from engines.scene.types import load_init_image

    fitted = pixels(load_init_image(init_png, (256, 256)))
    keep = pixels(render(init_image=init_png, strength=0.0, **fields).images[0])
    replace = pixels(render(init_image=init_png, strength=1.0, **fields).images[0])
    half = pixels(render(init_image=str(init_png), strength=0.5, **fields).images[0])
    assert np.abs(keep - fitted).mean() < 1.0  # strength 0: the init image
    assert np.abs(keep - init).mean() > 1.0  # (cropped to the frame's aspect, not squashed)
    assert np.abs(replace - procedural).mean() < 1.0  # strength 1: the procedural frame
    assert np.abs(half - (fitted + procedural) / 2).mean() < 1.5
    assert render(init_image=init_png, **fields).parameters["init_image"] == str(init_png)


# --------------------------------------------------------------------------------------------------------------
# PNG parameters
# --------------------------------------------------------------------------------------------------------------
def test_png_parameters_round_trip(tmp_path):
    result = render(prompt="EXT. HARBOUR - NIGHT — Mara waits", negative_prompt="blurry", seed=42,
                    characters=("MARA",), batch=2)
    data = result.png(1)
    params = read_parameters(data)
    assert params["seed"] == 43 and params["prompt"] == "EXT. HARBOUR - NIGHT — Mara waits"
    assert params["backend"] == "lite" and params["figures"][0]["name"] == "MARA"
    path = tmp_path / "frame.png"
    path.write_bytes(data)
    assert read_parameters(path) == params
    with Image.open(path) as img:
        text = img.text["parameters"]
        assert np.array_equal(pixels(img.convert("RGB")), pixels(result.images[1]))
    assert text.splitlines()[0] == "EXT. HARBOUR - NIGHT — Mara waits"
    assert "Negative prompt: blurry" in text and "Seed: 43" in text and "Size: 256x256" in text


def test_a1111_text_format_and_parsing():
    params = {"prompt": "a cat, at night", "negative_prompt": "", "steps": 2, "sampler": "EulerDiscrete",
              "guidance": 0.0, "seed": 42, "width": 512, "height": 512, "model": "sd-turbo", "backend": "neural"}
    text = parameters_text(params)
    assert text == ("a cat, at night\nSteps: 2, Sampler: EulerDiscrete, CFG scale: 0.0, Seed: 42, Size: 512x512, "
                    "Model: sd-turbo, Backend: neural")
    params2 = dict(params, negative_prompt="dogs", model="my, model", init_image="x.png", strength=0.4)
    text2 = parameters_text(params2)
    assert 'Model: "my, model"' in text2 and "Denoising strength: 0.4" in text2
    back = parse_parameters_text(text2)
    assert back["prompt"] == "a cat, at night" and back["negative_prompt"] == "dogs"
    assert back["seed"] == 42 and back["steps"] == 2 and back["width"] == 512 and back["model"] == "my, model"
    # A PNG written by another tool with only the A1111 chunk is still read.
    from PIL import PngImagePlugin
    import io

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG", pnginfo=info)
    assert read_parameters(buf.getvalue())["sampler"] == "EulerDiscrete"
    assert read_parameters(png_bytes(Image.new("RGB", (8, 8)), {"prompt": "ü ✓"}))["prompt"] == "ü ✓"


# --------------------------------------------------------------------------------------------------------------
# Errors and cancellation
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fields, message", [
    (dict(prompt=""), "prompt is empty"),
    (dict(prompt="   "), "prompt is empty"),
    (dict(prompt="x" * 2001), "limit is 2000"),
    (dict(prompt="x", width=500), "multiple of 8"),
    (dict(prompt="x", height=56), "between 64 and 2048"),
    (dict(prompt="x", width=2056), "between 64 and 2048"),
    (dict(prompt="x", batch=0), "Batch"),
    (dict(prompt="x", batch=9), "Batch"),
    (dict(prompt="x", steps=0), "Steps"),
    (dict(prompt="x", steps=151), "Steps"),
    (dict(prompt="x", strength=1.5), "Strength"),
    (dict(prompt="x", strength=-0.1), "Strength"),
    (dict(prompt="x", seed=-1), "Seed"),
    (dict(prompt="x", time_of_day="teatime"), "Time of day"),
    (dict(prompt="x", init_image=Path("/nonexistent/init.png")), "not found"),
])
def test_invalid_requests(fields, message):
    fields.setdefault("width", 256)
    fields.setdefault("height", 256)
    with pytest.raises(InvalidInput, match=message):
        REGISTRY.create().run(SceneRequest(**fields))


def test_unreadable_init_image(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a picture at all")
    with pytest.raises(InvalidInput, match="broken.png cannot be read"):
        render(prompt="x", init_image=bad)


def test_cancellation():
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        render(prompt="EXT. FIELD - DAY", ctx=ctx)
    seen = []
    ctx = CallbackContext(lambda f, m: (seen.append((f, m)), ctx.cancel()))
    with pytest.raises(Cancelled):
        render(prompt="EXT. FIELD - DAY", batch=4, ctx=ctx)
    assert seen == [(0.25, "Frame 1/4")]


def test_progress_per_frame():
    seen = []
    render(prompt="EXT. FIELD - DAY", batch=3, ctx=CallbackContext(lambda f, m: seen.append(round(f, 3))))
    assert seen == [0.333, 0.667, 1.0]


# --------------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env_path = str(ROOT)
    return subprocess.run([sys.executable, "-m", "engines.scene", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})


def test_cli_render_writes_a_png_with_its_parameters(tmp_path):
    out = _cli("render", "EXT. HARBOUR - NIGHT — Mara waits by the water, tense", "--out", "frame.png",
               "--seed", "7", "--width", "320", "--height", "192", "--character", "MARA", "--batch", "2",
               "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["files"] == ["frame-1.png", "frame-2.png"] and summary["seeds"] == [7, 8]
    with Image.open(tmp_path / "frame-2.png") as img:
        assert img.size == (320, 192) and "Seed: 8" in img.text["parameters"]
    assert read_parameters(tmp_path / "frame-1.png")["characters"] == ["MARA"]
    info = _cli("info", "frame-1.png", cwd=tmp_path)
    assert info.returncode == 0 and json.loads(info.stdout)["seed"] == 7


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    out = _cli("render", "x", "--width", "500", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and out.stderr.startswith("error: Width must be a multiple of 8")
