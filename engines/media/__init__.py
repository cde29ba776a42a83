"""Media probing and decoding through PyAV and Pillow (no ffmpeg binary): what a file is, and its frames/audio.

    info = probe(path)                                   # MediaInfo, or a ReelsmithError naming the file
    for frame in iter_frames(path, max_side=320, step_s=1.0): ...
    samples = read_audio(path, sample_rate=16000)        # float32 mono in [-1, 1]
"""
from .decode import Frame, frames_at, iter_audio, iter_frames, keyframe_times, read_audio
from .probe import (
    EXTENSIONS,
    AudioStreamInfo,
    MediaInfo,
    VideoStreamInfo,
    check_type,
    probe,
    sniff,
)

__all__ = [
    "EXTENSIONS",
    "AudioStreamInfo",
    "Frame",
    "MediaInfo",
    "VideoStreamInfo",
    "check_type",
    "frames_at",
    "iter_audio",
    "iter_frames",
    "keyframe_times",
    "probe",
    "read_audio",
    "sniff",
]
