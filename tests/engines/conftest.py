"""Tiny media generated in the tests (PyAV, OpenCV, wave, Pillow): no network, no files kept in the repo."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_factory import (FPS, frame_for, textured, write_clip, write_cv2_clip, write_png,  # noqa: F401
                                 write_rotated_jpeg, write_wav)


# --------------------------------------------------------------------------------------------------------------
# Fixtures (session scope: each file is made once per run)
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip_mp4(media_dir) -> Path:
    """160×120, 24 fps, 2 s H.264 with a 440 Hz AAC mono track."""
    return write_clip(media_dir / "clip.mp4")


@pytest.fixture(scope="session")
def black_then_content_mp4(media_dir) -> Path:
    return write_clip(media_dir / "black then content.mp4", seconds=3.0, pattern="black_then_content", audio=None)


@pytest.fixture(scope="session")
def mostly_black_mp4(media_dir) -> Path:
    return write_clip(media_dir / "mostly_black.mp4", seconds=2.0, pattern="mostly_black", audio=None)


@pytest.fixture(scope="session")
def blur_odd_mp4(media_dir) -> Path:
    return write_clip(media_dir / "blur_odd.mp4", seconds=2.0, pattern="blur_odd", audio=None)


@pytest.fixture(scope="session")
def long_mp4(media_dir) -> Path:
    """12 s, tiny, a keyframe every second: for the seek-based sampling path."""
    return write_clip(media_dir / "long.mp4", size=(64, 48), seconds=12.0, gop=FPS, audio=None,
                      pattern="black_then_content")


@pytest.fixture(scope="session")
def clip_mkv(media_dir) -> Path:
    """MPEG-4 part 2 video with PCM audio in Matroska (no frame count in the header)."""
    return write_clip(media_dir / "clip.mkv", codec="mpeg4", audio="pcm_s16le", seconds=2.0)


@pytest.fixture(scope="session")
def cv2_mp4(media_dir) -> Path:
    return write_cv2_clip(media_dir / "opencv.mp4", fourcc="mp4v")


@pytest.fixture(scope="session")
def cv2_avi(media_dir) -> Path:
    return write_cv2_clip(media_dir / "opencv.avi", fourcc="MJPG")


@pytest.fixture(scope="session")
def tone_wav(media_dir) -> Path:
    return write_wav(media_dir / "tone.wav")


@pytest.fixture(scope="session")
def stereo_wav(media_dir) -> Path:
    return write_wav(media_dir / "stereo.wav", freqs=(440.0, 1000.0), seconds=1.0)


@pytest.fixture(scope="session")
def png_file(media_dir) -> Path:
    return write_png(media_dir / "picture.png")


@pytest.fixture(scope="session")
def rotated_jpeg(media_dir) -> Path:
    return write_rotated_jpeg(media_dir / "rotated.jpg")


@pytest.fixture(scope="session")
def make_clip():
    """``write_clip`` for tests that need a clip of their own (helpers are shared as fixtures, not imports)."""
    return write_clip


@pytest.fixture(scope="session")
def make_wav():
    return write_wav
