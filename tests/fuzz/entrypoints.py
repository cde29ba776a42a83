"""Every engine entry point that reads a media file, as ``fn(path, work) -> summary``.

Each takes the (possibly damaged) file at ``path`` and a scratch folder ``work`` for outputs, runs the engine with
its default backend the way the studio does, and returns a short description of the result. For bad input the
engine must raise a ``ReelsmithError`` with a message; anything else is a bug.

``COST`` says how heavy an entry point is on a file that decodes: the CI suite gives the cheap ones more cases.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from engines.context import NullContext

EntryPoint = Callable[[Path, Path], str]
ENTRY_POINTS: dict[str, EntryPoint] = {}
COST: dict[str, int] = {}  # 1 cheap (ms), 2 a decode pass, 3 a render/encode or a model


def entry(name: str, cost: int = 1, requires: tuple[str, ...] = ()):
    def register(fn: EntryPoint) -> EntryPoint:
        if all(importlib.util.find_spec(mod) is not None for mod in requires):
            ENTRY_POINTS[name] = fn
            COST[name] = cost
        return fn
    return register


def _ctx():
    return NullContext()


# --------------------------------------------------------------------------------------------------------------
# engines.media: probing and decoding
# --------------------------------------------------------------------------------------------------------------
@entry("probe")
def _probe(path: Path, work: Path) -> str:
    from engines.media import probe

    info = probe(path)
    return f"{info.kind} {info.container} {info.width}x{info.height} {info.duration_s}"


@entry("check_type")
def _check_type(path: Path, work: Path) -> str:
    from engines.media import check_type

    return check_type(path, path.name)


@entry("read_audio", cost=2)
def _read_audio(path: Path, work: Path) -> str:
    from engines.media import read_audio

    samples = read_audio(path, sample_rate=16000, mono=True, duration_s=120.0)
    return f"{samples.shape} samples"


@entry("read_wav", cost=2)
def _read_wav(path: Path, work: Path) -> str:
    from engines.audio_io import read_wav

    clip = read_wav(path)
    return f"{clip.channels}ch {clip.duration_s:.2f}s"


@entry("iter_frames", cost=2)
def _iter_frames(path: Path, work: Path) -> str:
    from engines.media import iter_frames

    n = 0
    for n, _ in enumerate(iter_frames(path, max_side=64, step_s=0.25, ctx=_ctx()), 1):
        if n >= 40:
            break
    return f"{n} frames"


@entry("frames_at", cost=2)
def _frames_at(path: Path, work: Path) -> str:
    from engines.media import frames_at

    frames = frames_at(path, [0.0, 0.4, 30.0], max_side=64, exact=True)
    return f"{len(frames)} frames {frames[0].image.shape}"


# --------------------------------------------------------------------------------------------------------------
# Analysis engines (registry kinds)
# --------------------------------------------------------------------------------------------------------------
def _engine(kind: str):
    import engines

    return engines.registries()[kind].create()


@entry("shots", cost=2)
def _shots(path: Path, work: Path) -> str:
    from engines.shots import ShotRequest

    result = _engine("shots").run(ShotRequest(media=path), _ctx())
    return f"{result.frames} frames, {len(result.transitions)} transitions"


@entry("autoedit", cost=2)
def _autoedit(path: Path, work: Path) -> str:
    from engines.autoedit import AutoEditRequest

    result = _engine("autoedit").run(AutoEditRequest(media=path), _ctx())
    return f"{len(result.timeline.clips)} clips"


@entry("thumbs", cost=2)
def _thumbs(path: Path, work: Path) -> str:
    from engines.thumbs import ThumbnailRequest

    result = _engine("thumbs").run(ThumbnailRequest(media=path, count=4, tile_width=64, poster_width=96), _ctx())
    return f"{len(result.thumbs)} thumbs, sheet {result.sheet.size}"


@entry("loudness", cost=2)
def _loudness(path: Path, work: Path) -> str:
    from engines.audio.loudness import LoudnessRequest

    result = _engine("loudness").run(LoudnessRequest(media=path, out=work / "loud.wav"), _ctx())
    return f"{result.integrated_lufs} LUFS"


@entry("denoise", cost=2)
def _denoise(path: Path, work: Path) -> str:
    from engines.audio.denoise import DenoiseRequest

    result = _engine("denoise").run(DenoiseRequest(media=path, out=work / "clean.wav"), _ctx())
    return f"{result.duration_s:.2f}s"


@entry("stems", cost=3)
def _stems(path: Path, work: Path) -> str:
    from engines.audio.stems import StemsRequest

    result = _engine("stems").run(StemsRequest(media=path, out_dir=work / "stems"), _ctx())
    return f"{sorted(result.stems)}"


@entry("stabilize", cost=3)
def _stabilize(path: Path, work: Path) -> str:
    from engines.video import StabilizeRequest

    result = _engine("stabilize").run(StabilizeRequest(media=path, out=work / "steady.mp4"), _ctx())
    return f"{result.frames} frames"


@entry("colour", cost=3)
def _colour(path: Path, work: Path) -> str:
    from engines.video import ColourRequest

    result = _engine("colour").run(ColourRequest(media=path, out=work / "graded.mp4"), _ctx())
    return f"{result.frames} frames"


@entry("colour_reference", cost=2)
def _colour_reference(path: Path, work: Path) -> str:
    from engines.video.colour import load_reference

    return f"{load_reference(path).shape}"


@entry("interpolate", cost=3)
def _interpolate(path: Path, work: Path) -> str:
    from engines.video import InterpolateRequest

    result = _engine("interpolate").run(InterpolateRequest(media=path, out=work / "smooth.mp4"), _ctx())
    return f"{result.frames_out} frames"


@entry("reframe", cost=3)
def _reframe(path: Path, work: Path) -> str:
    from engines.reframe import ReframeRequest

    result = _engine("reframe").run(ReframeRequest(media=path, aspect="9:16", out=work / "tall.mp4"), _ctx())
    return f"{result.frames} frames {result.output_size}"


@entry("diarize", cost=2, requires=("sklearn",))
def _diarize(path: Path, work: Path) -> str:
    from engines.transcript.diarize import DiarizeRequest

    result = _engine("diarize").run(DiarizeRequest(media=path), _ctx())
    return f"{len(result.segments)} turns, {result.speakers} speakers"


@entry("energy_curve", cost=2)
def _energy_curve(path: Path, work: Path) -> str:
    from engines.transcript import energy_curve

    return f"{energy_curve(path, 24.0).shape}"


@entry("shorts_propose", cost=2)
def _shorts(path: Path, work: Path) -> str:
    from engines.shorts import ShortsRequest

    words = [{"start": 0.1 * i, "end": 0.1 * i + 0.08, "text": w}
             for i, w in enumerate("So here is the thing. It works. Really well.".split())]
    found = _engine("shorts").propose_only(ShortsRequest(media=path, words=words, min_s=0.2, max_s=5.0), _ctx())
    return f"{len(found)} candidates"


@entry("captions_burn", cost=3)
def _captions_burn(path: Path, work: Path) -> str:
    from engines.captions import Cue, burn_captions

    out = burn_captions(path, [Cue(0.0, 0.5, "Hello there")], work / "burned.mp4", ctx=_ctx())
    return out.name


@entry("captions", cost=3, requires=("faster_whisper",))
def _captions(path: Path, work: Path) -> str:
    from engines.captions import CaptionRequest

    result = _engine("captions").run(CaptionRequest(media=path), _ctx())
    return f"{len(result.segments)} segments"


@entry("music_reference", cost=2)
def _music_reference(path: Path, work: Path) -> str:
    from engines.music.analysis import read_reference

    return f"{read_reference(path, 22050).shape}"


# --------------------------------------------------------------------------------------------------------------
# Responsibility: watermark, content credentials, PNG parameters
# --------------------------------------------------------------------------------------------------------------
@entry("watermark_detect", cost=2)
def _watermark(path: Path, work: Path) -> str:
    from engines.watermark import detect_file

    return f"found={detect_file(path).found}"


@entry("credentials_verify")
def _credentials_verify(path: Path, work: Path) -> str:
    from engines.credentials import verify

    return f"ok={verify(path).ok}"


@entry("credentials_embedded", requires=("c2pa",))
def _credentials_embedded(path: Path, work: Path) -> str:
    from engines.credentials import verify_embedded

    result = verify_embedded(path)
    return f"ok={result.ok} {result.problems[:1]}"


@entry("png_parameters")
def _png_parameters(path: Path, work: Path) -> str:
    from engines.scene.pnginfo import read_parameters

    return f"{sorted(read_parameters(path))[:3]}"


#: Entry points that need pictures moving (video) to do anything; they still get every kind of input.
VIDEO_ONLY = frozenset({"shots", "stabilize", "colour", "interpolate", "reframe", "captions_burn", "iter_frames",
                        "frames_at"})
