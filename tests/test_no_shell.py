"""No shell anywhere: media and database tools run from argument lists, never through /bin/sh; encoder settings come
from allowlists, with a clear error for anything else."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["engines", "studio", "storage", "analytics", "app.py"]

#: Calls that always go through a shell.
SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"),
               ("asyncio", "create_subprocess_shell"), ("pty", "spawn")}
SUBPROCESS_RUNNERS = {"run", "call", "check_call", "check_output", "Popen"}


def _sources() -> list[Path]:
    files = []
    for name in PACKAGES:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return files


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def shell_uses(source: str, filename: str = "<string>") -> list[str]:
    """Every place in ``source`` that runs a shell or a command string, as ``file:line: what``."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    imported: dict[str, tuple[str, str]] = {}  # local name -> (module, function) from "from os import system"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in SHELL_CALLS:
                    found.append(f"{filename}:{node.lineno}: imports {node.module}.{alias.name}")
                imported[alias.asname or alias.name] = (node.module, alias.name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if len(name) == 1 and name[0] in imported:
            name = imported[name[0]]
        key = tuple(name[-2:])
        if key in SHELL_CALLS:
            found.append(f"{filename}:{node.lineno}: {'.'.join(key)}()")
        for kw in node.keywords:
            if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                found.append(f"{filename}:{node.lineno}: shell={ast.unparse(kw.value)}")
        if len(key) == 2 and key[0] == "subprocess" and key[1] in SUBPROCESS_RUNNERS and node.args:
            first = node.args[0]
            if isinstance(first, (ast.JoinedStr, ast.BinOp)) or (isinstance(first, ast.Constant)
                                                                   and isinstance(first.value, str)):
                found.append(f"{filename}:{node.lineno}: subprocess.{key[1]}() with a command string")
    return found


def test_the_checker_finds_what_it_looks_for():
    snippet = """
import os, subprocess, asyncio
from os import system as run_it
os.system("ls")
os.popen("ls")
subprocess.run(["ls"], shell=True)
subprocess.Popen(f"ffmpeg -i {name}", shell=flag)
subprocess.getoutput("ls")
subprocess.check_output("ls -l")
asyncio.create_subprocess_shell("ls")
run_it("ls")
subprocess.run(["ffmpeg", "-i", name], shell=False)
"""
    found = shell_uses(snippet)
    lines = sorted({int(f.split(":")[1]) for f in found})
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 11], found


def test_no_shell_in_the_project():
    found = []
    for path in _sources():
        found += shell_uses(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "shell use found:\n" + "\n".join(found)
    assert len(_sources()) > 50  # the walk really covered the packages


def test_encoder_settings_outside_the_allowlist_are_refused(tmp_path):
    """The x264 preset and CRF of the animatic come from an allowlist: a value with shell syntax is refused."""
    from engines.animatic.lite import X264_PRESETS, _encoder_options
    from engines.errors import InvalidInput

    assert _encoder_options({"preset": "veryfast", "crf": 20}) == (20, "veryfast")
    with pytest.raises(InvalidInput, match="preset option must be one of") as err:
        _encoder_options({"preset": "veryfast; rm -rf ~"})
    assert all(p in str(err.value) for p in X264_PRESETS)
    with pytest.raises(InvalidInput, match="crf option must be a whole number"):
        _encoder_options({"crf": "23 -vf drawtext"})


def test_no_binary_path_or_codec_is_taken_from_settings_or_requests():
    """Settings hold no path of a program; no encoder is named from a variable (so none from what a request sent)."""
    from storage.config import Settings

    fields = {f.lower() for f in Settings.__dataclass_fields__}
    assert not {f for f in fields if any(w in f for w in ("ffmpeg", "binary", "executable", "codec", "_bin"))}
    pattern_hits = []
    for path in [*(ROOT / "studio").rglob("*.py"), *(ROOT / "engines").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func)[-1:] == ("add_stream",) and node.args:
                if not isinstance(node.args[0], ast.Constant):
                    pattern_hits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert pattern_hits == []
