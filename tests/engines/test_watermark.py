"""engines.watermark: framed dwtDctSvd mark — round trip, JPEG q80, 0.75× resize, clean pictures, files, CLI."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from engines.errors import InvalidInput, InvalidMedia
from engines.watermark import detect, detect_file, embed, embed_file
from engines.watermark.__main__ import main as cli_main
from engines.watermark.dwtdct import (
    FRAME_BITS,
    _grid,
    _layout,
    _read,
    frame_bits,
    parse_frame,
)

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = bytes.fromhex("00c0ffee")


def photo(seed: int, width: int = 512, height: int = 512) -> np.ndarray:
    """Photo-like RGB: smooth random colour field, a few soft shapes and a little sensor noise."""
    rng = np.random.default_rng(seed)
    field = rng.random((height // 32 + 1, width // 32 + 1, 3)).astype(np.float32)
    image = (np.clip(cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1) * 200 + 20)
    image = image.astype(np.uint8)
    for _ in range(8):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(image, centre, int(rng.integers(10, 120)), colour, -1)
    image = cv2.GaussianBlur(image, (0, 0), 1.2)
    return np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)


def gradient(width: int = 640, height: int = 480) -> np.ndarray:
    """A natural-ish sky-to-ground gradient with a soft sun."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([90 + 100 * y / height, 140 + 60 * y / height, 230 - 120 * y / height], axis=-1)
    sun = 60 * np.exp(-((x - width * 0.7) ** 2 + (y - height * 0.3) ** 2) / (2 * 40.0 ** 2))
    return np.clip(sky + sun[..., None], 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def resized(image: np.ndarray, factor: float) -> np.ndarray:
    height, width = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((round(width * factor), round(height * factor)), Image.LANCZOS))


@pytest.fixture(scope="module")
def marked() -> dict[int, np.ndarray]:
    return {seed: embed(photo(seed), PAYLOAD) for seed in (0, 1)}


# --------------------------------------------------------------------------------------------------------------
# Frame and bit layout
# --------------------------------------------------------------------------------------------------------------
def test_frame_round_trip_and_crc():
    bits = frame_bits(b"\x01\x02\x03")
    assert bits.size == FRAME_BITS and parse_frame(bits) == b"\x01\x02\x03"
    for i in (0, 20, 40, FRAME_BITS - 1):  # any single flipped bit is rejected
        broken = bits.copy()
        broken[i] ^= 1
        assert parse_frame(broken) is None
    assert parse_frame(np.zeros(FRAME_BITS, np.uint8)) is None and parse_frame(np.ones(FRAME_BITS, np.uint8)) is None
    with pytest.raises(InvalidInput):
        frame_bits(b"")
    with pytest.raises(InvalidInput):
        frame_bits(b"1234567")


def test_reader_matches_imwatermark_decoder(marked):
    """The vectorised reader sees exactly the per-block bits imwatermark's own decoder sees."""
    from imwatermark import WatermarkDecoder

    image = marked[0]
    rows, cols = _grid(*image.shape[:2])
    library = np.asarray(WatermarkDecoder("bits", rows * cols).decode(np.ascontiguousarray(image[..., ::-1]),
                                                                       "dwtDctSvd"), np.uint8)
    assign, whiten = _layout(rows, cols)
    bits, agreement, _ = _read(image, 36)
    assert agreement == 1.0 and np.array_equal(library ^ whiten, bits[assign])


# --------------------------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_payload_round_trip_numpy_and_pil(marked, seed):
    original = photo(seed)
    assert marked[seed].shape == original.shape and marked[seed].dtype == np.uint8
    assert cv2.PSNR(marked[seed], original) > 34
    found = detect(marked[seed])
    assert found.found and found.payload == PAYLOAD and found.scale == 1.0 and found.bit_agreement > 0.98
    pil = embed(Image.fromarray(photo(seed, 600, 400)).convert("RGBA"), b"\x2a")
    assert isinstance(pil, Image.Image) and pil.mode == "RGBA" and detect(pil).payload == b"\x2a"


@pytest.mark.parametrize("seed", [0, 1])
def test_survives_jpeg_80(marked, seed):
    found = detect(jpeg(marked[seed], 80))
    assert found.found and found.payload == PAYLOAD and found.scale == 1.0 and found.bit_agreement > 0.7


@pytest.mark.parametrize("seed", [0, 1])
def test_survives_three_quarter_resize_then_jpeg_90(marked, seed):
    found = detect(jpeg(resized(marked[seed], 0.75), 90))
    assert found.found and found.payload == PAYLOAD and found.scale == pytest.approx(4 / 3, abs=0.01)
    assert found.size == (512, 512)


def test_survives_resize_of_odd_sized_frame():
    image = embed(photo(5, 1000, 750), PAYLOAD)
    found = detect(jpeg(resized(image, 0.75), 90))
    assert found.found and found.payload == PAYLOAD


@pytest.mark.parametrize("seed", range(6))
def test_clean_pictures_are_not_marked(seed):
    clean = photo(100 + seed, 640, 480) if seed % 2 else jpeg(photo(100 + seed), 85)
    result = detect(clean)
    assert not result.found and result.payload is None and result.checked > 5


def test_clean_gradient_and_flat_are_not_marked():
    for image in (gradient(), np.full((512, 512, 3), 128, np.uint8), resized(gradient(), 0.75)):
        assert not detect(image).found


def test_small_pictures():
    with pytest.raises(InvalidMedia, match="256"):
        embed(photo(0, 300, 200), PAYLOAD)
    unmarked = detect(photo(0, 300, 200))  # tried at the sizes it may have been shrunk from; nothing there
    assert not unmarked.found and unmarked.checked > 0
    tiny = detect(photo(0, 120, 100))
    assert not tiny.found and "too small" in tiny.reason and tiny.checked == 0


def test_a_mark_shrunk_below_the_embedding_minimum_is_still_found():
    marked = embed(photo(1, 512, 320), PAYLOAD)
    shrunk = resized(marked, 0.75)  # 384×240: below the 256 px needed to embed
    found = detect(shrunk)
    assert found.found and found.payload == PAYLOAD and found.scale == pytest.approx(1 / 0.75, rel=0.01)


# --------------------------------------------------------------------------------------------------------------
# Files, video and CLI
# --------------------------------------------------------------------------------------------------------------
def test_embed_file_keeps_png_text_and_detect_file(tmp_path):
    src = tmp_path / "gen.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a red fox, seed 7")
    Image.fromarray(photo(2)).save(src, pnginfo=info)
    out = embed_file(src, tmp_path / "marked.png", PAYLOAD)
    with Image.open(out) as reopened:
        assert reopened.format == "PNG" and reopened.text["parameters"] == "a red fox, seed 7"
    assert detect_file(out).payload == PAYLOAD
    assert not detect_file(src).found
    jpg = embed_file(src, tmp_path / "marked.jpg", PAYLOAD)
    assert detect_file(jpg).payload == PAYLOAD
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def _video(path: Path, payload: bytes | None) -> Path:
    base = photo(3, 384, 288)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 384, 288, "yuv420p"
        for i in range(10):
            image = np.roll(base, 3 * i, axis=1)
            frame = av.VideoFrame.from_ndarray(embed(image, payload) if payload else image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_detect_file_on_video(tmp_path):
    found = detect_file(_video(tmp_path / "marked.mp4", PAYLOAD))
    assert found.found and found.payload == PAYLOAD and found.time_s is not None
    clean = detect_file(_video(tmp_path / "clean.mp4", None))
    assert not clean.found and clean.checked == 6


def test_cli(tmp_path, capsys):
    src = tmp_path / "gen.png"
    Image.fromarray(photo(4)).save(src)
    assert cli_main(["embed", str(src), str(tmp_path / "m.png"), "--payload", "0102abcd"]) == 0
    assert cli_main(["detect", str(tmp_path / "m.png"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert report["found"] and report["payload"] == "0102abcd"
    assert cli_main(["detect", str(src)]) == 1
    assert cli_main(["embed", str(src), str(tmp_path / "x.png"), "--payload", "zz"]) == 2
    assert cli_main(["detect", str(tmp_path / "missing.png")]) == 2
    text = tmp_path / "notes.txt"
    text.write_text("not media")
    assert cli_main(["detect", str(text)]) == 2


def test_import_is_light():
    code = "import sys, engines.watermark; print(any(m in sys.modules for m in ('imwatermark', 'torch', 'gradio')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
