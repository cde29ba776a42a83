"""Invisible watermark: the project's ``engines.watermark.dwtdct`` against ``invisible-watermark`` as diffusers uses it.

    .venv/bin/python bench/watermark.py [--limit N] [--json out.json]

Images (skipped with a message when absent): 8 real frames decoded with PyAV from ``../shared/data/video`` —
``testvideo.mp4`` (3 shots), ``goldeneye-vfr-drop3.mp4`` (3), ``small-shaky-5.avi`` (2, upscaled from 320×180) —
each centre-cropped to the aspect and resized to 512×512, 768×432 and 1024×576: 24 pictures (``--limit`` keeps the
first N). Ours: ``embed(rgb, PAYLOAD)`` / ``detect(rgb)``, detected = ``found`` with the right payload; bit accuracy
= ``Detection.bit_agreement``. PAYLOAD is diffusers' 48-bit SDXL message as 6 bytes, so both carry the same bits.
Peer (diffusers' ``StableDiffusionXLWatermarker``): ``WatermarkEncoder().set_watermark("bits", WATERMARK_BITS)``,
``encode(bgr, "dwtDct")`` on float32 BGR, rounded to uint8 (as its pipeline does), read back with
``WatermarkDecoder("bits", 48).decode(bgr, "dwtDct")``, detected when bit accuracy against WATERMARK_BITS >= 0.85.
False positives: the same detection on the unmarked pictures after the same attack. Times: embed, and detect
alone (the attack is applied before the clock starts), mean ms per picture on marked and on unmarked pictures.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.watermark import dwtdct  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "video"
CLIPS: list[tuple[str, tuple[int, ...]]] = [
    ("testvideo.mp4", (100, 280, 620)), ("goldeneye-vfr-drop3.mp4", (30, 100, 150)), ("small-shaky-5.avi", (50, 150))]
SIZES = [(512, 512), (768, 432), (1024, 576)]  # (width, height)
WATERMARK_MESSAGE = 0b101100111110110010010000011110111011000110011110  # diffusers' SDXL watermark
WATERMARK_BITS = [int(b) for b in bin(WATERMARK_MESSAGE)[2:]]
PAYLOAD = WATERMARK_MESSAGE.to_bytes(6, "big")
PEER_THRESHOLD = 0.85

Rgb = np.ndarray


def load_images(limit: int | None) -> list[tuple[str, Rgb]]:
    """(name, RGB uint8) for every frame × size, frame by frame (so ``--limit`` keeps all three sizes)."""
    frames: list[tuple[str, Rgb]] = []
    for clip, wanted in CLIPS:
        with av.open(str(DATA / clip)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in wanted:
                    frames.append((f"{clip.split('.')[0]}#{index}", frame.to_ndarray(format="rgb24")))
                if index >= max(wanted):
                    break
    out: list[tuple[str, Rgb]] = []
    for name, rgb in frames:
        for (w, h) in SIZES:
            fh, fw = rgb.shape[:2]
            cw, ch = (fw, round(fw * h / w)) if fw * h / w <= fh else (round(fh * w / h), fh)
            y, x = (fh - ch) // 2, (fw - cw) // 2
            crop = np.ascontiguousarray(rgb[y:y + ch, x:x + cw])
            out.append((f"{name}@{w}x{h}", cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if w <= cw
                                                       else cv2.INTER_CUBIC)))
    return out[:limit] if limit else out


def jpeg(rgb: Rgb, quality: int) -> Rgb:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def png(rgb: Rgb) -> Rgb:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def resize(rgb: Rgb, factor: float) -> Rgb:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)


def crop_border(rgb: Rgb, share: float = 0.10) -> Rgb:
    """Cut ``share`` of each dimension, half from each side (5 % per edge)."""
    h, w = rgb.shape[:2]
    dy, dx = round(h * share / 2), round(w * share / 2)
    return np.ascontiguousarray(rgb[dy:h - dy, dx:w - dx])


ATTACKS: dict[str, Callable[[Rgb], Rgb]] = {
    "none": lambda x: x,
    "jpeg q90": lambda x: jpeg(x, 90),
    "jpeg q80": lambda x: jpeg(x, 80),
    "jpeg q70": lambda x: jpeg(x, 70),
    "resize 0.75 (png)": lambda x: png(resize(x, 0.75)),
    "resize 0.75 + jpeg q90": lambda x: jpeg(resize(x, 0.75), 90),
    "resize 0.5": lambda x: png(resize(x, 0.5)),
    "crop 10% border": crop_border,
    "brightness +10%": lambda x: np.clip(x.astype(np.float32) * 1.1 + 0.5, 0, 255).astype(np.uint8),
}


def ours_embed(rgb: Rgb) -> Rgb:
    return dwtdct.embed(rgb, PAYLOAD)


def ours_detect(rgb: Rgb) -> tuple[bool, float | None]:
    found = dwtdct.detect(rgb)
    return found.found and found.payload == PAYLOAD, found.bit_agreement


def peer_embed(rgb: Rgb) -> Rgb:
    from imwatermark import WatermarkEncoder  # imports torch: only when used

    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", WATERMARK_BITS)
    # as diffusers: float32 0..255 BGR in; its postprocess later rounds to uint8
    bgr = encoder.encode(np.ascontiguousarray(rgb[..., ::-1], dtype=np.float32), "dwtDct")
    return np.ascontiguousarray(np.clip(np.round(bgr), 0, 255).astype(np.uint8)[..., ::-1])


def peer_detect(rgb: Rgb) -> tuple[bool, float | None]:
    from imwatermark import WatermarkDecoder

    try:
        bits = WatermarkDecoder("bits", 48).decode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDct")
    except RuntimeError:  # "image too small, should be larger than 256x256"
        return False, None
    accuracy = float(np.mean(np.asarray(bits, dtype=np.uint8) == np.asarray(WATERMARK_BITS, dtype=np.uint8)))
    return accuracy >= PEER_THRESHOLD, accuracy


def psnr(a: Rgb, b: Rgb) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def run_method(embed: Callable[[Rgb], Rgb], detect: Callable[[Rgb], tuple[bool, float | None]],
               images: list[tuple[str, Rgb]]) -> dict[str, Any]:
    embed_s: list[float] = []
    psnrs: list[float] = []
    per: dict[str, dict[str, list[Any]]] = {a: {"hit": [], "acc": [], "fp": [], "t": [], "t_clean": []}
                                           for a in ATTACKS}
    for _, rgb in images:
        start = time.perf_counter()
        marked = embed(rgb)
        embed_s.append(time.perf_counter() - start)
        psnrs.append(psnr(rgb, marked))
        for name, attack in ATTACKS.items():
            row = per[name]
            attacked, clean = attack(marked), attack(rgb)
            start = time.perf_counter()
            hit, acc = detect(attacked)
            row["t"].append(time.perf_counter() - start)
            row["hit"].append(hit)
            if acc is not None:
                row["acc"].append(acc)
            start = time.perf_counter()
            row["fp"].append(detect(clean)[0])
            row["t_clean"].append(time.perf_counter() - start)
    attacks = {name: {"detection_rate": float(np.mean(r["hit"])),
                      "mean_bit_accuracy": float(np.mean(r["acc"])) if r["acc"] else None,
                      "unreadable": len(r["hit"]) - len(r["acc"]),
                      "false_positives": int(np.sum(r["fp"])), "unmarked": len(r["fp"]),
                      "detect_ms": 1000 * float(np.mean(r["t"])),
                      "detect_clean_ms": 1000 * float(np.mean(r["t_clean"]))}
               for name, r in per.items()}
    return {"psnr_db": float(np.mean(psnrs)), "psnr_min_db": float(np.min(psnrs)),
            "embed_ms": 1000 * float(np.mean(embed_s)), "attacks": attacks}


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def fmt(x: float | None, spec: str = ".2f") -> str:
    return "–" if x is None else format(x, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use the first N of the 24 pictures")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the results here")
    args = parser.parse_args()
    missing = [clip for clip, _ in CLIPS if not (DATA / clip).exists()]
    if missing:
        print(f"skip: {', '.join(missing)} not found in {DATA}")
        return 0
    t0 = time.perf_counter()
    images = load_images(args.limit)
    cv2.setNumThreads(2)
    peer_embed(images[0][1])  # load imwatermark (and torch) outside the timings
    ours = run_method(ours_embed, ours_detect, images)
    peer = run_method(peer_embed, peer_detect, images)
    n = len(images)
    head = (f"{'attack':24} | {'ours det':>8} {'bitacc':>6} {'FP':>5} {'ms':>6} | {'peer det':>8} {'bitacc':>6} "
            f"{'FP':>5} {'ms':>6} | {'det ours/peer':>13} {'ms ours/peer':>12}")
    print(f"{n} pictures ({', '.join(f'{w}x{h}' for w, h in SIZES)}); FP = detections on the {n} unmarked pictures "
          f"after the same attack; peer detected = bit accuracy >= {PEER_THRESHOLD}")
    print(head)
    print("-" * len(head))
    ratios: dict[str, dict[str, float | None]] = {}
    for name in ATTACKS:
        o, p = ours["attacks"][name], peer["attacks"][name]
        ratios[name] = {"detection": ratio(o["detection_rate"], p["detection_rate"]),
                        "detect_time": ratio(o["detect_ms"], p["detect_ms"])}
        print(f"{name:24} | {o['detection_rate']:8.1%} {fmt(o['mean_bit_accuracy'], '.3f'):>6} "
              f"{o['false_positives']:>2}/{n:<2} {o['detect_ms']:6.0f} | {p['detection_rate']:8.1%} "
              f"{fmt(p['mean_bit_accuracy'], '.3f'):>6} {p['false_positives']:>2}/{n:<2} {p['detect_ms']:6.0f} | "
              f"{fmt(ratios[name]['detection']):>13} {fmt(ratios[name]['detect_time']):>12}")
    o_det = float(np.mean([a["detection_rate"] for a in ours["attacks"].values()]))
    p_det = float(np.mean([a["detection_rate"] for a in peer["attacks"].values()]))
    o_ms = float(np.mean([a["detect_ms"] for a in ours["attacks"].values()]))
    p_ms = float(np.mean([a["detect_ms"] for a in peer["attacks"].values()]))
    o_clean = float(np.mean([a["detect_clean_ms"] for a in ours["attacks"].values()]))
    p_clean = float(np.mean([a["detect_clean_ms"] for a in peer["attacks"].values()]))
    summary = {"mean_detection_ours": o_det, "mean_detection_peer": p_det, "detection_ratio": ratio(o_det, p_det),
               "embed_time_ratio": ratio(ours["embed_ms"], peer["embed_ms"]),
               "detect_time_ratio": ratio(o_ms, p_ms), "detect_clean_time_ratio": ratio(o_clean, p_clean)}
    print(f"PSNR marked vs original: ours {ours['psnr_db']:.2f} dB (min {ours['psnr_min_db']:.2f}), "
          f"peer {peer['psnr_db']:.2f} dB (min {peer['psnr_min_db']:.2f})")
    print(f"embed ms/picture: ours {ours['embed_ms']:.0f}, peer {peer['embed_ms']:.0f} "
          f"(ratio ours/peer {fmt(summary['embed_time_ratio'])}); detect ms, marked: ours "
          f"{o_ms:.0f}, peer {p_ms:.0f} (ratio {fmt(summary['detect_time_ratio'])}); unmarked: ours {o_clean:.0f}, "
          f"peer {p_clean:.0f} (ratio {fmt(summary['detect_clean_time_ratio'])})")
    print(f"mean detection over the {len(ATTACKS)} attacks: ours {o_det:.1%}, peer {p_det:.1%} "
          f"(ratio {fmt(summary['detection_ratio'])}); total run {time.perf_counter() - t0:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"pictures": [name for name, _ in images], "peer_threshold": PEER_THRESHOLD,
                                         "ours": ours, "peer": peer, "ratios": ratios, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
