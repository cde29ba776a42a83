"""storage.paths.contained: request paths stay inside their folder, however they are spelt."""
from __future__ import annotations

import os

import pytest

from storage.errors import StoreError
from storage.paths import PathRefused, contained, contained_in_any


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "uploads"
    (r / "abc").mkdir(parents=True)
    (r / "abc" / "clip.mp4").write_bytes(b"x")
    (tmp_path / "reelsmith.db").write_bytes(b"SQLite format 3\x00")
    return r


def test_paths_inside_are_returned_resolved(root):
    assert contained(root, "abc/clip.mp4") == (root / "abc" / "clip.mp4").resolve()
    assert contained(root, str(root / "abc" / "clip.mp4")) == (root / "abc" / "clip.mp4").resolve()
    assert contained(root, "abc/../abc/clip.mp4") == (root / "abc" / "clip.mp4").resolve()
    assert contained(root, "abc%2Fclip.mp4") == (root / "abc" / "clip.mp4").resolve()
    assert contained(root, "not-yet-there.mp4") == root.resolve() / "not-yet-there.mp4"


@pytest.mark.parametrize("attack", [
    "../reelsmith.db",
    "abc/../../reelsmith.db",
    "%2e%2e/reelsmith.db",
    "%2E%2e/reelsmith.db",                 # mixed-case encoding
    "..%2freelsmith.db",
    "..%5creelsmith.db",                   # encoded backslash
    "..\\reelsmith.db",
    "abc\\..\\..\\reelsmith.db",
    "%252e%252e%252freelsmith.db",         # encoded twice
    "%25252e%25252e/reelsmith.db",         # three times
    "/etc/passwd",
    "//server/share/x",
    "\\\\server\\share\\x",
    "C:\\Windows\\win.ini",
    "c:/windows/win.ini",
])
def test_climbing_out_is_refused(root, attack):
    with pytest.raises(PathRefused) as err:
        contained(root, attack)
    assert isinstance(err.value, StoreError) and err.value.message


def test_absolute_path_of_a_sibling_is_refused(root):
    with pytest.raises(PathRefused, match="outside the folder"):
        contained(root, root.parent / "reelsmith.db")
    # a folder whose name merely starts like the root's is not inside it
    (root.parent / "uploads-evil").mkdir()
    with pytest.raises(PathRefused):
        contained(root, root.parent / "uploads-evil" / "x")


def test_mixed_case_root_is_not_the_root(root):
    if os.path.normcase("A") == "a":  # pragma: no cover - a case-insensitive platform
        pytest.skip("case-insensitive file system")
    with pytest.raises(PathRefused):
        contained(root, str(root).upper() + "/abc/clip.mp4")


def test_nul_bytes_are_refused(root):
    with pytest.raises(PathRefused, match="NUL"):
        contained(root, "abc/clip.mp4\x00.png")
    with pytest.raises(PathRefused, match="NUL"):
        contained(root, "abc/clip.mp4%00.png")


def test_too_much_encoding_and_empty_paths_are_refused(root):
    with pytest.raises(PathRefused, match="too many times"):
        contained(root, "%25252525252e")
    with pytest.raises(PathRefused, match="empty"):
        contained(root, "  ")


def test_symlink_pointing_out_is_refused(root):
    outside = root.parent / "reelsmith.db"
    (root / "abc" / "innocent.mp4").symlink_to(outside)
    (root / "escape").symlink_to(root.parent, target_is_directory=True)
    with pytest.raises(PathRefused):
        contained(root, "abc/innocent.mp4")
    with pytest.raises(PathRefused):
        contained(root, "escape/reelsmith.db")
    # a link that stays inside is fine
    (root / "abc" / "alias.mp4").symlink_to(root / "abc" / "clip.mp4")
    assert contained(root, "abc/alias.mp4") == (root / "abc" / "clip.mp4").resolve()


def test_root_reached_through_a_symlink_still_works(root, tmp_path):
    link = tmp_path / "link-to-uploads"
    link.symlink_to(root, target_is_directory=True)
    assert contained(link, str(root / "abc" / "clip.mp4")) == (root / "abc" / "clip.mp4").resolve()
    assert contained(root, str(link / "abc" / "clip.mp4")) == (root / "abc" / "clip.mp4").resolve()


def test_any_of_several_roots(root, tmp_path):
    other = tmp_path / "tmp"
    other.mkdir()
    (other / "a.csv").write_text("x")
    assert contained_in_any([root, other], other / "a.csv") == (other / "a.csv").resolve()
    with pytest.raises(PathRefused):
        contained_in_any([root, other], tmp_path / "reelsmith.db")
