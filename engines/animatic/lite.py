"""Animatic renderer on the CPU: stills with Ken Burns moves, crossfades, burnt-in captions, voice-over ducking
the music; H.264 + AAC in an MP4 written with PyAV (no ffmpeg binary).

Memory does not grow with the film's length on the picture side: one frame is rendered, encoded and dropped at a
time, and only the pictures of the (at most two) scenes on screen are held, pre-scaled. The soundtrack is mixed
whole in memory (48 kHz stereo float32: about 23 MB per minute).

The file is written to a hidden temporary name next to ``out`` and renamed into place at the end, so ``out`` is
never half-written; on an error or a cancel the temporary file is removed.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput, InvalidMedia, ReelsmithError
from ..media import probe
from . import audio, motion
from .subtitles import CaptionTrack, SubtitleBurner, split_captions, title_overlay, write_srt
from .timing import Timeline, fit_duration, place_captions, plan, seconds_to_samples
from .types import AnimaticRequest, AnimaticResult, AnimaticScene

log = logging.getLogger(__name__)

#: The AAC encoder can overshoot the PCM it is given by a few tenths of a dB; the limiter leaves this much more
#: room so that the decoded file, not just the mix, stays under −1 dBFS.
CODEC_MARGIN_DB = 0.3
#: ``ctx.check()`` every this many frames.
CHECK_EVERY = 4
AUDIO_BITRATE = 192_000
#: Keyframe at least every this many seconds (for seeking in the browser and the editor).
KEYFRAME_S = 2.0


class AnimaticRenderer(Engine[AnimaticRequest, AnimaticResult]):
    """``EngineConfig.options``: ``crf`` (default 23), ``preset`` (x264, default "veryfast"), ``font`` (path of
    a TrueType font for captions and titles; Pillow's bundled font otherwise)."""

    kind = "animatic"
    name = "lite"

    def run(self, request: AnimaticRequest, ctx: Context | None = None) -> AnimaticResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()
        options = dict(self.config.options or {})

        # 1. Check inputs
        ctx.report(0.0, "Checking the pictures and sound")
        request.validate()
        out = Path(request.out)
        if out.is_dir():
            raise InvalidInput(f"{out.name} is a folder; give the path of the .mp4 file to write.")
        crf, preset = _encoder_options(options)
        for i, scene in enumerate(request.scenes, start=1):
            _check_picture(i, scene.image)
            if i % 8 == 0:
                ctx.check()
        speech: list[np.ndarray | None] = []
        for i, scene in enumerate(request.scenes, start=1):
            speech.append(None if scene.speech is None else _load_speech(i, scene.speech))
            ctx.check()
        if request.music is not None:
            _check_sound("Music", request.music)

        # 2. Timing
        speech_s = [None if s is None else s.shape[1] / audio.RATE for s in speech]
        durations = [fit_duration(scene.min_duration_s, s, request.speech_pad_s)
                     for scene, s in zip(request.scenes, speech_s)]
        timeline = plan(durations, request.crossfade_s, speech_s=speech_s, pad_s=request.speech_pad_s)
        n_frames = timeline.frame_count(request.fps)
        film_s = n_frames / request.fps
        n_samples = seconds_to_samples(film_s, audio.RATE)
        captions = split_captions(place_captions(timeline, [s.captions for s in request.scenes]))
        ctx.report(0.03, f"{len(request.scenes)} scenes, {film_s:.1f} s")

        # 3. Audio mix
        music = None
        if request.music is not None:
            music = _guard("Music", lambda: audio.load_track(request.music, duration_s=film_s + 1.0))
        ctx.check()
        tracks = [(s, start) for s, start in zip(speech, timeline.speech_starts) if s is not None and start is not None]
        soundtrack = audio.mix(n_samples, speech=tracks, music=music, duck_db=request.duck_db,
                               music_db=request.music_db, ceiling_db=audio.CEILING_DB - CODEC_MARGIN_DB)
        del speech, tracks, music
        ctx.report(0.08, "Sound mixed")

        # 4. Video frames + encode (one frame at a time; the sound is interleaved, a frame's worth at a time)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".part.mp4")
        os.close(fd)
        tmp = Path(tmp_name)
        writer: _Mp4Writer | None = None
        try:
            frames = _FrameSource(request, timeline, captions if request.burn_subtitles else [],
                                  font_path=options.get("font"))
            writer = _Mp4Writer(tmp, (request.width, request.height), request.fps, crf=crf, preset=preset)
            report_every = max(1, request.fps // 2)
            position = 0
            for k in range(n_frames):
                if k % CHECK_EVERY == 0:
                    ctx.check()
                writer.add_video(frames.frame(k), k)
                end = min(n_samples, seconds_to_samples((k + 1) / request.fps, audio.RATE))
                if end > position:
                    writer.add_audio(soundtrack[:, position:end], position)
                    position = end
                if k % report_every == 0 or k == n_frames - 1:
                    ctx.report(0.08 + 0.9 * (k + 1) / n_frames, f"Frame {k + 1} of {n_frames}")
            ctx.check()

            # 5. Mux: flush both encoders, write the index at the front (faststart), then take the real name
            writer.finish()
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the film is an ordinary file like any other
            os.replace(tmp, out)
        except BaseException:
            if writer is not None:
                writer.abort()
            tmp.unlink(missing_ok=True)
            raise
        srt = write_srt(captions, out.with_suffix(".srt")) if captions else None
        ctx.report(1.0, "Done")
        return AnimaticResult(path=out, duration_s=film_s, scene_spans=list(timeline.spans),
                              parameters=request.as_dict(), backend=self.name,
                              seconds=time.perf_counter() - started, srt=srt, captions=captions)


# --------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------
def _guard(label: str, fn):
    """Run ``fn``; a ``ReelsmithError`` comes back with ``label`` in front (same class, so the UI's handling holds)."""
    try:
        return fn()
    except ReelsmithError as exc:
        raise type(exc)(f"{label}: {exc.message}") from None


X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


def _encoder_options(options: dict) -> tuple[int, str]:
    crf, preset = options.get("crf", 23), str(options.get("preset", "veryfast"))
    if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
        raise InvalidInput(f"The animatic's crf option must be a whole number from 0 to 51, not {crf!r}.")
    if preset not in X264_PRESETS:
        raise InvalidInput(f"The animatic's preset option must be one of {', '.join(X264_PRESETS)}, not '{preset}'.")
    return crf, preset


def _check_picture(index: int, path: Path) -> None:
    info = _guard(f"Scene {index}", lambda: probe(Path(path)))
    if info.kind != "image":
        raise InvalidMedia(f"Scene {index}: {Path(path).name} is {info.kind}, not a picture.")


def _check_sound(label: str, path: Path) -> None:
    info = _guard(label, lambda: probe(Path(path)))
    if info.audio is None:
        raise InvalidMedia(f"{label}: {Path(path).name} has no sound.")


def _load_speech(index: int, path: Path) -> np.ndarray:
    _check_sound(f"Scene {index}", path)
    return _guard(f"Scene {index}", lambda: audio.load_track(path))


# --------------------------------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------------------------------
class _Scene:
    """One scene on screen: its pre-scaled picture, its camera move and its title card."""

    def __init__(self, scene: AnimaticScene, index: int, move: str, size: tuple[int, int], seed: int,
                 font_path: str | None) -> None:
        self.picture = _guard(f"Scene {index + 1}", lambda: motion.load_picture(scene.image, size))
        height, width = self.picture.shape[:2]
        self.plan = motion.plan_motion(move, (width, height), size, seed=seed, index=index)
        self.title = title_overlay(scene.title, *size, font_path=font_path) if scene.title.strip() else None


class _FrameSource:
    """Frames of the film in order: the scene(s) on screen at each frame's time, crossfaded, captioned."""

    def __init__(self, request: AnimaticRequest, timeline: Timeline, captions, font_path: str | None) -> None:
        self.request, self.timeline = request, timeline
        self.size = (request.width, request.height)
        self.moves = motion.choose_moves([s.motion for s in request.scenes], request.seed)
        self.captions = CaptionTrack(captions)
        self.burner = SubtitleBurner(request.width, request.height, font_path=font_path)
        self.font_path = font_path
        self._loaded: dict[int, _Scene] = {}
        self._first = 0
        shape = (request.height, request.width, 3)
        self._buffers = [np.empty(shape, np.uint8) for _ in range(3)]

    def _scene(self, i: int) -> _Scene:
        found = self._loaded.get(i)
        if found is None:
            scene = self.request.scenes[i]
            found = _Scene(scene, i, self.moves[i], self.size, self.request.seed, self.font_path)
            self._loaded[i] = found
        return found

    def _picture(self, i: int, time_s: float, buffer: np.ndarray) -> np.ndarray:
        start, end = self.timeline.spans[i]
        scene = self._scene(i)
        frame = motion.render(scene.picture, scene.plan.rect_at((time_s - start) / (end - start)), self.size,
                              dst=buffer)
        if scene.title is not None:
            scene.title.apply(frame)
        return frame

    def frame(self, k: int) -> np.ndarray:
        time_s = k / self.request.fps
        active = self.timeline.active(time_s, self._first)
        if active[0] > self._first:  # scenes before it are over: let their pictures go
            for i in [i for i in self._loaded if i < active[0]]:
                del self._loaded[i]
            self._first = active[0]
        frame = self._picture(active[0], time_s, self._buffers[0])
        if len(active) == 2:
            weight = (time_s - self.timeline.spans[active[1]][0]) / max(self.timeline.crossfade_s, 1e-9)
            weight = min(1.0, max(0.0, weight))
            incoming = self._picture(active[1], time_s, self._buffers[1])
            frame = cv2.addWeighted(frame, 1.0 - weight, incoming, weight, 0.0, dst=self._buffers[2])
        caption = self.captions.at(time_s)
        if caption is not None:
            self.burner.apply(frame, caption.text)
        return frame


# --------------------------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------------------------
class _Mp4Writer:
    """H.264 (yuv420p, BT.709, limited range) + AAC in an MP4 whose index is moved to the front (``+faststart``),
    so a browser can start playing it while it loads."""

    def __init__(self, path: Path, size: tuple[int, int], fps: int, *, crf: int, preset: str) -> None:
        self.path = path
        self.container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            video = self.container.add_stream("libx264", rate=Fraction(fps, 1))
            video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
            video.options = {"crf": str(crf), "preset": preset}
            cc = video.codec_context
            cc.gop_size = max(1, int(round(KEYFRAME_S * fps)))
            cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709
            cc.color_range = 1  # limited ("TV") range, what players expect of H.264
            sound = self.container.add_stream("aac", rate=audio.RATE, layout="stereo")
            sound.bit_rate = AUDIO_BITRATE
        except BaseException:
            self.abort()
            raise
        self.video, self.sound = video, sound

    def add_video(self, rgb: np.ndarray, index: int) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709")
        frame.colorspace, frame.color_range = 1, 1
        frame.pts = index
        for packet in self.video.encode(frame):
            self.container.mux(packet)

    def add_audio(self, samples: np.ndarray, position: int) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32), format="fltp",
                                           layout="stereo")
        frame.sample_rate, frame.pts = audio.RATE, position
        for packet in self.sound.encode(frame):
            self.container.mux(packet)

    def finish(self) -> None:
        for packet in self.video.encode():
            self.container.mux(packet)
        for packet in self.sound.encode():
            self.container.mux(packet)
        self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the first error is the one to report; the file is deleted anyway
            log.debug("closing the unfinished %s failed", self.path, exc_info=True)
