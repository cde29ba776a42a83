"""Request and result of the music engine: a bed of a given length, mood and key, and what was chosen for it."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..audio_io import AudioClip
from ..errors import InvalidInput

#: Limits checked by ``check_request`` (and so by every backend before it does any work).
MIN_DURATION_S, MAX_DURATION_S = 1.0, 600.0
MIN_TEMPO, MAX_TEMPO = 40, 220
MAX_PROMPT_CHARS = 1000
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000

#: Pitch class of each note letter.
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
#: Mode names accepted after the tonic ("F#m", "D dorian", "Eb major", "Bbmin").
_MODE_WORDS = {"": "major", "maj": "major", "major": "major", "ionian": "major",
               "m": "minor", "min": "minor", "minor": "minor", "aeolian": "minor",
               "dorian": "dorian", "mixolydian": "mixolydian", "mix": "mixolydian"}
_KEY_RE = re.compile(r"^\s*([A-Ga-g])\s*(#|♯|b|♭)?\s*([A-Za-z]*)\s*$")

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def parse_key(key: str) -> tuple[int, str]:
    """``"F#m"`` → ``(6, "minor")``; ``"Bb"`` → ``(10, "major")``; ``"D dorian"`` → ``(2, "dorian")``.

    Raises ``InvalidInput`` for anything else.
    """
    match = _KEY_RE.match(key or "")
    mode = _MODE_WORDS.get(match.group(3).lower()) if match else None
    if match and match.group(3) == "M":  # "CM" is C major in the usual shorthand
        mode = "major"
    if not match or mode is None:
        raise InvalidInput(f"Key {key!r} is not a key like 'C', 'F#m', 'Bb' or 'D dorian'.")
    tonic = (_LETTERS[match.group(1).upper()] + _ACCIDENTALS[match.group(2) or ""]) % 12
    return tonic, mode


def key_name(tonic: int, mode: str, flats: bool | None = None) -> str:
    """``(9, "minor")`` → ``"Am"``; ``(2, "dorian")`` → ``"D dorian"`` (the inverse of ``parse_key``)."""
    if flats is None:
        flats = prefers_flats(tonic, mode)
    name = (FLAT_NAMES if flats else SHARP_NAMES)[tonic % 12]
    return {"major": name, "minor": name + "m"}.get(mode, f"{name} {mode}")


def prefers_flats(tonic: int, mode: str) -> bool:
    """Whether the key signature of ``tonic``/``mode`` is written with flats (F major, D minor, G dorian ...)."""
    # Shift to the relative major: minor +3, dorian -2, mixolydian +5 semitones.
    major = (tonic + {"major": 0, "minor": 3, "dorian": -2, "mixolydian": 5}.get(mode, 0)) % 12
    return major in (5, 10, 3, 8, 1)  # F, Bb, Eb, Ab, Db (Gb/F# written with sharps)


@dataclass(frozen=True)
class MusicRequest:
    """What bed to make.

    ``prompt`` and ``mood`` are free text ("tense strings", "hopeful"); ``key`` ("C", "F#m", "Bb", "D dorian")
    and ``tempo_bpm`` (40-220) override what the words suggest. ``melody`` is a reference audio file: the
    neural backend conditions on it when its model supports melody (MusicGen-Melody); the lite backend takes
    its key and tempo from it when the request does not set them. With ``loop`` the bed is a seamless loop
    (its end flows into its start); either way it is exactly ``round(duration_s * sample_rate)`` samples long.
    """

    prompt: str = ""
    duration_s: float = 30.0
    seed: int = 0
    mood: str | None = None
    key: str | None = None
    tempo_bpm: int | None = None
    melody: Path | None = None
    loop: bool = True
    sample_rate: int = 32000

    def as_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "duration_s": self.duration_s, "seed": self.seed, "mood": self.mood,
                "key": self.key, "tempo_bpm": self.tempo_bpm,
                "melody": str(self.melody) if self.melody is not None else None,
                "loop": self.loop, "sample_rate": self.sample_rate}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MusicRequest":
        data = dict(data)
        if data.get("melody") is not None:
            data["melody"] = Path(data["melody"])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def num_samples(self, sample_rate: int | None = None) -> int:
        """The exact length of the bed in samples at ``sample_rate`` (default: the request's)."""
        return int(round(float(self.duration_s) * (sample_rate or self.sample_rate)))


@dataclass
class MusicResult:
    """The bed and everything chosen for it: ``parameters`` holds key, mode, tempo, progression, instruments
    (JSON-safe, for provenance and the UI)."""

    clip: AudioClip
    parameters: dict[str, Any]
    backend: str
    model_id: str | None
    seconds: float
    request: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-safe description without the samples (for logs, job rows and the CLI)."""
        samples = self.clip.samples
        peak = float(abs(samples).max()) if samples.size else 0.0
        rms = float(math.sqrt(float((samples.astype("float64") ** 2).mean()))) if samples.size else 0.0
        return {
            "backend": self.backend,
            "model_id": self.model_id,
            "seconds": round(self.seconds, 3),
            "duration_s": round(self.clip.duration_s, 4),
            "sample_rate": self.clip.sample_rate,
            "channels": self.clip.channels,
            "peak_dbfs": round(20 * math.log10(peak), 2) if peak > 0 else None,
            "rms_dbfs": round(20 * math.log10(rms), 2) if rms > 0 else None,
            "parameters": self.parameters,
            "request": self.request,
        }


def check_request(request: MusicRequest) -> None:
    """Raise ``InvalidInput`` naming the first thing wrong with ``request``."""
    if not isinstance(request, MusicRequest):
        raise InvalidInput("Expected a MusicRequest.")
    if not isinstance(request.prompt, str):
        raise InvalidInput("The prompt must be text.")
    if len(request.prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(f"The prompt is {len(request.prompt)} characters long; keep it under "
                           f"{MAX_PROMPT_CHARS}.")
    if request.mood is not None and (not isinstance(request.mood, str) or len(request.mood) > 200):
        raise InvalidInput("The mood must be a few words of text (at most 200 characters).")
    try:
        duration = float(request.duration_s)
    except (TypeError, ValueError):
        raise InvalidInput(f"Duration {request.duration_s!r} is not a number of seconds.") from None
    if not math.isfinite(duration) or not MIN_DURATION_S <= duration <= MAX_DURATION_S:
        raise InvalidInput(f"Duration must be between {MIN_DURATION_S:g} and {MAX_DURATION_S:g} seconds "
                           f"(got {request.duration_s}).")
    if isinstance(request.seed, bool) or not isinstance(request.seed, int) or not 0 <= request.seed < 2 ** 32:
        raise InvalidInput(f"Seed must be a whole number from 0 to {2 ** 32 - 1} (got {request.seed!r}).")
    if request.tempo_bpm is not None:
        if isinstance(request.tempo_bpm, bool) or not isinstance(request.tempo_bpm, (int, float)) \
                or not MIN_TEMPO <= request.tempo_bpm <= MAX_TEMPO:
            raise InvalidInput(f"Tempo must be between {MIN_TEMPO} and {MAX_TEMPO} BPM "
                               f"(got {request.tempo_bpm!r}).")
    if request.key is not None:
        if not isinstance(request.key, str):
            raise InvalidInput(f"Key {request.key!r} is not a key like 'C', 'F#m' or 'Bb'.")
        parse_key(request.key)
    if isinstance(request.sample_rate, bool) or not isinstance(request.sample_rate, int) \
            or not MIN_SAMPLE_RATE <= request.sample_rate <= MAX_SAMPLE_RATE:
        raise InvalidInput(f"Sample rate must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz "
                           f"(got {request.sample_rate!r}).")
    if request.melody is not None:
        path = Path(request.melody)
        if not path.exists():
            raise InvalidInput(f"Melody file {path.name} does not exist.")
        if not path.is_file():
            raise InvalidInput(f"Melody {path.name} is not a file.")
        if not os.access(path, os.R_OK):
            raise InvalidInput(f"Melody file {path.name} cannot be read (permission denied).")
        if path.stat().st_size == 0:
            raise InvalidInput(f"Melody file {path.name} is empty.")
