"""Exports of a ``Timeline``, one function per format, and readers of our own EDL / FCPXML (for tests).

* ``write_edl``    CMX3600, NON-DROP FRAME, reel ``AX`` (a file, not a tape), one ``AA/V`` (audio+video) cut
                   event per enabled clip, ``* FROM CLIP NAME:`` and ``* SOURCE FILE:`` comments. The record
                   side starts at 01:00:00:00 as NLEs do; sources start at 00:00:00:00 (no source timecode).
* ``write_fcpxml`` FCPXML 1.9: format + asset (with a ``media-rep`` pointing at the ``file://`` URL) and a
                   project/sequence/spine of ``asset-clip``s. Every time is an integer number of frames written
                   as a rational of the frame duration (``k*1001/30000s``), as FCP and Resolve require.
* ``write_otio``   OpenTimelineIO JSON: one video and one audio track of clips with ``ExternalReference``s.
* ``render_mp4``   PyAV decode of each enabled range and re-encode to H.264 (libx264 veryfast, CRF 20,
                   yuv420p) + AAC 48 kHz stereo, into a temporary file renamed into place (removed on failure
                   or cancel). Re-encoding was chosen over stream copy: copy can only cut on keyframes, and a
                   silence cut must be frame-accurate. Audio is cut sample-accurately and padded/trimmed so
                   each clip's audio is exactly as long as its video (no drift over many cuts).
"""
from __future__ import annotations

import os
import re
import uuid
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..context import Context, NullContext
from ..errors import InvalidInput, ReelsmithError
from ..media import iter_audio, iter_frames, probe
from .timeline import Timeline, frame_duration, frame_rate, frames_to_tc, tc_to_frames

RECORD_START_TC = "01:00:00:00"


def _require_clips(timeline: Timeline) -> None:
    if not timeline.enabled_clips:
        raise InvalidInput(f"'{timeline.name}' has no enabled clips to export.")


def _write_text(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------------------
# EDL
# --------------------------------------------------------------------------------------------------------------
def write_edl(timeline: Timeline, path: Path) -> None:
    _require_clips(timeline)
    fps = timeline.fps
    rec0 = tc_to_frames(RECORD_START_TC, fps)
    title = re.sub(r"[^\x20-\x7e]", "_", timeline.name)[:70]
    lines = [f"TITLE: {title}", "FCM: NON-DROP FRAME", ""]
    for n, (clip, (s_in, s_out), (r_in, r_out)) in enumerate(
            zip(timeline.enabled_clips, timeline.frame_ranges(), timeline.record_frames()), start=1):
        lines.append(f"{n:03d}  {'AX':<8} {'AA/V':<5} C        {frames_to_tc(s_in, fps)} {frames_to_tc(s_out, fps)} "
                     f"{frames_to_tc(rec0 + r_in, fps)} {frames_to_tc(rec0 + r_out, fps)}")
        lines.append(f"* FROM CLIP NAME: {Path(clip.source).name}")
        lines.append(f"* SOURCE FILE: {clip.source}")
        lines.append("")
    _write_text(path, "\n".join(lines))


_EVENT = re.compile(r"^(\d{3,})\s+(\S+)\s+(\S+)\s+C\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


def read_edl(path: Path, fps: float = 25.0) -> list[tuple[int, int]]:
    """Source ``(in, out)`` frames of each cut event of a CMX3600 EDL (timecodes counted at ``fps``'s
    non-drop timebase: pass the timeline's fps for anything but 25)."""
    events = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = _EVENT.match(line.strip())
        if m:
            events.append((tc_to_frames(m.group(4), fps), tc_to_frames(m.group(5), fps)))
    return events


# --------------------------------------------------------------------------------------------------------------
# FCPXML
# --------------------------------------------------------------------------------------------------------------
def _rational(frames: int, fps: float) -> str:
    """``frames`` frames as FCPXML time: a multiple of the frame duration, e.g. ``3003/30000s``, ``0s``."""
    if frames == 0:
        return "0s"
    d = frame_duration(fps)
    return f"{frames * d.numerator}/{d.denominator}s"


def _parse_time(value: str) -> Fraction:
    value = value.rstrip("s")
    return Fraction(value) if value else Fraction(0)


def write_fcpxml(timeline: Timeline, path: Path) -> None:
    _require_clips(timeline)
    fps = timeline.fps
    d = frame_duration(fps)
    root = ET.Element("fcpxml", version="1.9")
    resources = ET.SubElement(root, "resources")
    # No ``name``: a custom format is described by its size and rate (FCP rejects made-up FFVideoFormat names).
    ET.SubElement(resources, "format", id="r1", frameDuration=f"{d.numerator}/{d.denominator}s",
                  width=str(timeline.width), height=str(timeline.height))
    assets: dict[str, str] = {}
    for clip in timeline.enabled_clips:
        if clip.source in assets:
            continue
        asset_id = f"r{len(assets) + 2}"
        assets[clip.source] = asset_id
        try:
            info = probe(clip.source)
            length = int(round((info.duration_s or clip.src_out) / d))
            has_audio = info.audio is not None
            audio_channels = info.audio.channels if info.audio else 0
            audio_rate = info.audio.sample_rate if info.audio else timeline.sample_rate
        except ReelsmithError:  # a moved source still exports; the NLE will ask to relink it
            length, has_audio, audio_channels = int(round(clip.src_out / d)), True, 2
            audio_rate = timeline.sample_rate
        asset = ET.SubElement(resources, "asset", id=asset_id, name=Path(clip.source).stem, start="0s",
                              duration=_rational(length, fps), hasVideo="1", hasAudio="1" if has_audio else "0",
                              format="r1")
        if has_audio:
            asset.set("audioSources", "1")
            asset.set("audioChannels", str(max(1, audio_channels)))
            asset.set("audioRate", str(audio_rate))
        ET.SubElement(asset, "media-rep", kind="original-media", src=Path(clip.source).resolve().as_uri())
    library = ET.SubElement(root, "library")
    event = ET.SubElement(library, "event", name="Reelsmith")
    project = ET.SubElement(event, "project", name=timeline.name)
    sequence = ET.SubElement(project, "sequence", format="r1", duration=_rational(timeline.duration_frames, fps),
                             tcStart="0s", tcFormat="NDF", audioLayout="stereo", audioRate="48k")
    spine = ET.SubElement(sequence, "spine")
    for clip, (s_in, s_out), (r_in, _) in zip(timeline.enabled_clips, timeline.frame_ranges(),
                                              timeline.record_frames()):
        ET.SubElement(spine, "asset-clip", ref=assets[clip.source], name=clip.label or Path(clip.source).stem,
                      offset=_rational(r_in, fps), start=_rational(s_in, fps), duration=_rational(s_out - s_in, fps),
                      format="r1", tcFormat="NDF")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    _write_text(path, f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{body}\n')


def read_fcpxml(path: Path) -> dict[str, Any]:
    """``{"version", "frame_duration": Fraction, "assets": {id: src}, "clips": [{ref, name, offset, start,
    duration (Fractions of seconds)}], "sequence_duration"}`` of an FCPXML file we wrote."""
    root = ET.parse(path).getroot()
    fmt = root.find("resources/format")
    assets = {}
    for asset in root.iter("asset"):
        rep = asset.find("media-rep")
        assets[asset.get("id")] = rep.get("src") if rep is not None else asset.get("src")
    sequence = root.find(".//sequence")
    clips = [{"ref": c.get("ref"), "name": c.get("name"), "offset": _parse_time(c.get("offset", "0s")),
              "start": _parse_time(c.get("start", "0s")), "duration": _parse_time(c.get("duration", "0s"))}
             for c in root.iter("asset-clip")]
    return {"version": root.get("version"), "frame_duration": _parse_time(fmt.get("frameDuration")),
            "assets": assets, "clips": clips,
            "sequence_duration": _parse_time(sequence.get("duration", "0s")) if sequence is not None else None}


# --------------------------------------------------------------------------------------------------------------
# OTIO
# --------------------------------------------------------------------------------------------------------------
def write_otio(timeline: Timeline, path: Path) -> None:
    import opentimelineio as otio  # optional-ish dependency: only this exporter needs it

    _require_clips(timeline)
    rate = float(frame_rate(timeline.fps))
    tl = otio.schema.Timeline(name=timeline.name)
    tl.global_start_time = otio.opentime.RationalTime(0, rate)
    for kind in (otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio):
        track = otio.schema.Track(name="V1" if kind == otio.schema.TrackKind.Video else "A1", kind=kind)
        for clip, (s_in, s_out) in zip(timeline.enabled_clips, timeline.frame_ranges()):
            ref = otio.schema.ExternalReference(target_url=Path(clip.source).resolve().as_uri())
            track.append(otio.schema.Clip(
                name=clip.label or Path(clip.source).stem, media_reference=ref,
                source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(s_in, rate),
                                                     otio.opentime.RationalTime(s_out - s_in, rate)),
                metadata={"reelsmith": {"reason": clip.reason, "score": clip.score}}))
        tl.tracks.append(track)
    tmp = Path(path).with_name(f".{Path(path).stem}.{uuid.uuid4().hex[:8]}.otio")
    try:
        otio.adapters.write_to_file(tl, str(tmp), adapter_name="otio_json")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------------------
# MP4 render
# --------------------------------------------------------------------------------------------------------------
AUDIO_RATE = 48000
AAC_FRAME = 1024


def render_mp4(timeline: Timeline, path: Path, ctx: Context | None = None) -> None:
    """Render the enabled clips to H.264/AAC MP4 at ``path`` (see module notes)."""
    import av

    ctx = ctx or NullContext()
    _require_clips(timeline)
    path = Path(path)
    fps = timeline.fps
    rate = frame_rate(fps)
    width, height = max(2, timeline.width - timeline.width % 2), max(2, timeline.height - timeline.height % 2)
    total_frames = timeline.duration_frames
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part.mp4")
    ok = False
    try:
        with av.open(str(tmp), "w", format="mp4") as out:
            vs = out.add_stream("libx264", rate=rate)
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            vs.options = {"preset": "veryfast", "crf": "20"}
            vs.codec_context.time_base = 1 / rate
            aus = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            fifo = av.AudioFifo()
            done_frames = 0
            audio_written = 0  # samples handed to the fifo
            for clip, (s_in, s_out), (r_in, r_out) in zip(timeline.enabled_clips, timeline.frame_ranges(),
                                                         timeline.record_frames()):
                ctx.check()
                # video: exactly (s_out - s_in) frames; repeat the last one if the source runs short
                want = s_out - s_in
                last = None
                got = 0
                for frame in iter_frames(clip.source, start_s=max(0.0, float((s_in - Fraction(1, 2)) / rate)),
                                         end_s=float((s_out - Fraction(1, 2)) / rate), ctx=ctx):
                    if got >= want:
                        break
                    last = frame.image
                    _encode_video(out, vs, last, width, height, r_in + got, av)
                    got += 1
                    done_frames += 1
                    if done_frames % 12 == 0:
                        ctx.report(done_frames / max(1, total_frames), "Rendering")
                while got < want:
                    image = last if last is not None else np.zeros((height, width, 3), np.uint8)
                    _encode_video(out, vs, image, width, height, r_in + got, av)
                    got += 1
                # audio: sample-exact, as long as the record range of this clip
                n_samples = int(round(r_out * AUDIO_RATE / rate)) - audio_written
                pieces = _clip_audio(clip.source, float(s_in / rate), n_samples, ctx)
                frame = av.AudioFrame.from_ndarray(pieces, format="fltp", layout="stereo")
                frame.sample_rate = AUDIO_RATE
                frame.pts, frame.time_base = audio_written, Fraction(1, AUDIO_RATE)
                fifo.write(frame)
                audio_written += n_samples
                _drain_audio(out, aus, fifo, final=False)
            ctx.check()
            _drain_audio(out, aus, fifo, final=True)
            for packet in vs.encode():
                out.mux(packet)
            for packet in aus.encode():
                out.mux(packet)
        os.replace(tmp, path)
        ok = True
        ctx.report(1.0, "Rendered")
    finally:
        if not ok:
            tmp.unlink(missing_ok=True)


def _encode_video(out, vs, image: np.ndarray, width: int, height: int, pts: int, av) -> None:
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    frame = frame.reformat(width=width, height=height, format="yuv420p")
    frame.pts = pts
    for packet in vs.encode(frame):
        out.mux(packet)


def _clip_audio(source: str, start_s: float, n_samples: int, ctx: Context) -> np.ndarray:
    """``(2, n_samples)`` float32 stereo of ``source`` from ``start_s``; silence where it has no audio."""
    data = np.zeros((2, n_samples), np.float32)
    if n_samples <= 0:
        return data
    try:
        channels = probe(source).audio.channels
    except AttributeError:  # no audio track
        return data
    at = 0
    for chunk in iter_audio(source, sample_rate=AUDIO_RATE, mono=channels != 2, start_s=start_s,
                            duration_s=n_samples / AUDIO_RATE, ctx=ctx):
        chunk = np.atleast_2d(chunk)
        take = min(chunk.shape[1], n_samples - at)
        data[:, at:at + take] = chunk[:, :take]  # mono broadcasts to both channels
        at += take
        if at >= n_samples:
            break
    return data


def _drain_audio(out, aus, fifo, *, final: bool) -> None:
    while fifo.samples >= AAC_FRAME or (final and fifo.samples > 0):
        frame = fifo.read(min(AAC_FRAME, fifo.samples))
        for packet in aus.encode(frame):
            out.mux(packet)
