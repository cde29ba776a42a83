"""Request and result of the speech (voice-over) engine, voices, and the sentence splitter both backends share."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..audio_io import AudioClip
from ..errors import InvalidInput

MAX_TEXT_CHARS = 20_000
RATE_WPM = (80, 450)  # espeak's own limits for words per minute
PITCH = (0, 99)  # espeak's pitch scale, 50 is the voice's normal pitch
SAMPLE_RATE = (8_000, 48_000)


@dataclass(frozen=True)
class SpeechRequest:
    """What to say and how. ``voice`` is a lite (espeak) voice id such as ``"en-us"``, ``"en-gb"`` or a variant
    ``"en-us+f3"``; ``preset`` a neural (Bark) speaker preset such as ``"v2/en_speaker_6"`` (``None``: the model's
    default voice). The lite backend uses ``voice``, ``rate_wpm`` and ``pitch``; the neural one ``preset`` and
    ``seed`` (Bark has no rate or pitch control). The result is at ``sample_rate`` Hz whatever the backend's own."""

    text: str
    voice: str = "en-us"
    rate_wpm: int = 165
    pitch: int = 50
    seed: int = 0
    preset: str | None = None
    sample_rate: int = 24_000

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "voice": self.voice, "rate_wpm": self.rate_wpm, "pitch": self.pitch,
                "seed": self.seed, "preset": self.preset, "sample_rate": self.sample_rate}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeechRequest":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class SpeechSegment:
    """One sentence (or piece of a long one) and where it is heard in the output, in seconds."""

    text: str
    start_s: float
    end_s: float

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4)}


@dataclass
class SpeechResult:
    clip: AudioClip
    segments: list[SpeechSegment]
    #: The request's settings (JSON-safe) for provenance.
    parameters: dict[str, Any] = field(default_factory=dict)
    backend: str = ""
    model_id: str | None = None
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-safe description without the samples (for logs, job rows and the CLI)."""
        return {"backend": self.backend, "model_id": self.model_id, "seconds": round(self.seconds, 3),
                "sample_rate": self.clip.sample_rate, "duration_s": round(self.clip.duration_s, 3),
                "parameters": self.parameters, "segments": [s.as_dict() for s in self.segments]}


@dataclass(frozen=True)
class Voice:
    """A voice a backend offers: ``id`` is what goes in ``SpeechRequest.voice`` (or ``preset``)."""

    id: str
    name: str
    language: str
    gender: str | None = None  # "male" | "female" | None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "language": self.language, "gender": self.gender}


def check_request(request: SpeechRequest) -> None:
    """The checks every backend shares (``InvalidInput``); the voice or preset is checked by the backend."""
    if not isinstance(request.text, str) or not request.text.strip():
        raise InvalidInput("There is no text to speak.")
    if len(request.text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"The text is {len(request.text):,} characters long; the limit is {MAX_TEXT_CHARS:,}. "
                           "Split it into several voice-overs.")
    for name, (low, high), unit in (("rate_wpm", RATE_WPM, " words per minute"), ("pitch", PITCH, ""),
                                    ("sample_rate", SAMPLE_RATE, " Hz")):
        value = getattr(request, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"{name} must be a whole number from {low} to {high}{unit}, not {value!r}.")
    if isinstance(request.seed, bool) or not isinstance(request.seed, int) or not 0 <= request.seed < 2 ** 32:
        raise InvalidInput(f"seed must be a whole number from 0 to {2 ** 32 - 1}, not {request.seed!r}.")
    if not isinstance(request.voice, str) or not request.voice.strip():
        raise InvalidInput("voice must be a voice id such as 'en-us'.")


# --------------------------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------------------------
#: Abbreviations after which a full stop never ends a sentence (titles and Latin shorthands).
_NEVER_END = {
    "mr", "mrs", "ms", "mx", "dr", "prof", "st", "mt", "ft", "rev", "hon", "gen", "col", "capt", "lt", "sgt", "gov",
    "sen", "pres", "e.g", "i.e", "cf", "vs", "viz", "approx",
}
#: Abbreviations that do not end a sentence when a number follows ("No. 5", "Fig. 3", "Jan. 12").
_BEFORE_NUMBER = {
    "no", "nos", "nr", "fig", "figs", "vol", "ch", "sec", "pp", "p", "ref", "eq", "art", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
#: Abbreviations that may also end a sentence: they end one when the next word is capitalised.
_MAYBE_END = {"etc", "inc", "ltd", "co", "corp", "jr", "sr", "a.m", "p.m", "u.s", "u.k", "u.s.a", "al", "ph.d"}

_BOUNDARY = re.compile(r"""[.!?…]+["'”’»)\]]*(?=\s+|$)""")
_CLAUSE = re.compile(r"""(?<=[,;:—–])\s+|\s+(?=[—–]\s)""")
_CLOSERS = "\"'”’»)]"


def _ends_sentence(text: str, end: int, punct: str) -> bool:
    """Does the terminal punctuation ``punct`` that ends at ``end`` close a sentence?"""
    rest = text[end:].lstrip()
    if not rest:
        return True
    if "!" in punct or "?" in punct or "…" in punct or punct.rstrip(_CLOSERS).endswith(".."):
        return not rest[0].islower()
    # A full stop: look at the word it ends.
    start = end - len(punct)
    word_start = start
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:start].lstrip("(\"'“‘«[").lower()
    if word in _NEVER_END or (word in _BEFORE_NUMBER and rest[0].isdigit()):
        return False
    if re.fullmatch(r"[a-z]", word) and rest[0].isupper():  # an initial: "J. K. Rowling"
        return False
    if rest[0].islower():  # "the U.S. army", "e.g. this": a lower-case word goes on with the sentence
        return False
    if word in _MAYBE_END:
        return rest[0].isupper() or rest[0] in "\"'“‘«("
    return True


def _sentences(paragraph: str) -> list[str]:
    out, start = [], 0
    for match in _BOUNDARY.finditer(paragraph):
        if _ends_sentence(paragraph, match.end(), match.group(0)):
            piece = paragraph[start:match.end()].strip()
            if piece:
                out.append(piece)
            start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Join consecutive pieces with spaces while they fit in ``max_chars``."""
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + 1 + len(piece) <= max_chars:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than ``max_chars``: at clause punctuation first, then between words, then anywhere."""
    if len(sentence) <= max_chars:
        return [sentence]
    out: list[str] = []
    for clause in _pack([c for c in _CLAUSE.split(sentence) if c], max_chars):
        if len(clause) <= max_chars:
            out.append(clause)
            continue
        words: list[str] = []
        for word in clause.split():
            words.extend(word[i:i + max_chars] for i in range(0, len(word), max_chars))
        out.extend(_pack(words, max_chars))
    return out


def split_sentences(text: str, max_chars: int = 220) -> list[str]:
    """Split ``text`` into sentences of at most ``max_chars`` characters, in order, losing no word.

    Boundaries are ``.``, ``!``, ``?`` and ``…`` (with closing quotes or brackets) followed by a space, and blank
    lines. A full stop after a title or shorthand ("Dr.", "Mr.", "e.g.", "vs."), before a number
    ("No. 5", "Fig. 3"), after an initial ("J. K."), or
    followed by a lower-case word does not end a sentence; decimals ("3.14") have no space after the point. A
    sentence longer than ``max_chars`` is cut at commas, semicolons, colons and dashes, then between words.
    Whitespace inside a sentence is collapsed to single spaces.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        for sentence in _sentences(paragraph):
            out.extend(_split_long(sentence, max_chars))
    return out
