"""Requests and results of the script engine, their checks, and the subtitle-size rule for dialogue.

Every backend calls ``check_draft`` / ``check_rewrite`` / ``check_dialogue`` first; they raise ``InvalidInput``
with a message fit for the user. Dialogue lines are "subtitle-ready": at most ``SUBTITLE_MAX`` characters and
no more than two lines of ``SUBTITLE_LINE`` characters when wrapped (``fits_subtitle``); ``subtitle_chunks``
splits longer speech at sentence, then clause, then word boundaries.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InvalidInput
from .fountain import DialogueLine, Screenplay, parse

#: The documented default suggestion for the neural backend (a small chat model, ~360M parameters).
DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-360M-Instruct"

MAX_LOGLINE = 2000
MAX_SCENES = 40
MAX_CHARACTERS = 20
MAX_NAME = 40
MAX_INSTRUCTION = 500
MAX_SITUATION = 2000
MAX_DIALOGUE_LINES = 200
MAX_FOUNTAIN = 2_000_000
SUBTITLE_LINE = 42
SUBTITLE_MAX = 84


@dataclass(frozen=True)
class DraftRequest:
    """A screenplay to draft from a logline. ``scenes`` 1..40; ``characters`` (optional) are, in order, the
    protagonist, the ally, the antagonist and extras. ``max_new_tokens`` is for neural backends (0: their
    default)."""

    logline: str
    genre: str = "drama"
    tone: str = "hopeful"
    scenes: int = 5
    characters: tuple[str, ...] = ()
    seed: int = 0
    title: str = ""
    max_new_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["characters"] = list(self.characters)
        return data


@dataclass
class Beat:
    """One beat of the outline: its name (``"Catalyst"``) and what happens."""

    name: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Beat":
        return cls(name=data["name"], description=data["description"])


@dataclass
class DraftResult:
    outline: list[Beat]
    fountain: str
    backend: str
    model_id: str | None
    seconds: float
    #: The request's settings (JSON-safe) plus what the backend chose (template, genre used, ...).
    parameters: dict[str, Any] = field(default_factory=dict)

    def screenplay(self) -> Screenplay:
        return parse(self.fountain)

    def as_dict(self) -> dict[str, Any]:
        return {"outline": [b.as_dict() for b in self.outline], "fountain": self.fountain, "backend": self.backend,
                "model_id": self.model_id, "seconds": self.seconds, "parameters": dict(self.parameters)}


@dataclass(frozen=True)
class RewriteRequest:
    """Rewrite scene ``scene_index`` (its index in ``parse(fountain).scenes``) following ``instruction``."""

    fountain: str
    scene_index: int
    instruction: str = ""
    seed: int = 0
    max_new_tokens: int = 0


@dataclass
class RewriteResult:
    #: The whole script with the scene replaced.
    fountain: str
    #: The new scene alone.
    scene_text: str
    backend: str = ""
    model_id: str | None = None
    seconds: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DialogueRequest:
    """``lines`` subtitle-ready lines of dialogue between ``characters`` (two are made up when none are given)."""

    situation: str
    characters: tuple[str, ...] = ()
    lines: int = 6
    seed: int = 0
    max_new_tokens: int = 0


@dataclass
class DialogueResult:
    lines: list[DialogueLine]
    #: The lines as Fountain dialogue blocks (a cue per line, ``(CONT'D)`` when a speaker goes on).
    fountain: str
    backend: str = ""
    model_id: str | None = None
    seconds: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"lines": [d.as_dict() for d in self.lines], "fountain": self.fountain, "backend": self.backend,
                "model_id": self.model_id, "seconds": self.seconds, "parameters": dict(self.parameters)}


# ---------------------------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------------------------
def _check_int(value: Any, name: str, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be a whole number from {lo} to {hi}, not {value!r}.")
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be from {lo} to {hi}; got {value}.")


def _check_names(names: Any, what: str = "Character names") -> None:
    if isinstance(names, str) or not isinstance(names, (tuple, list)):
        raise InvalidInput(f"{what} must be a list of names.")
    if len(names) > MAX_CHARACTERS:
        raise InvalidInput(f"At most {MAX_CHARACTERS} characters, please; got {len(names)}.")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"{what} cannot be empty.")
        if len(name.strip()) > MAX_NAME:
            raise InvalidInput(f"The character name '{name[:MAX_NAME]}…' is longer than {MAX_NAME} characters.")
        if not any(c.isalpha() for c in name):
            raise InvalidInput(f"The character name '{name}' has no letters.")


def check_draft(request: DraftRequest) -> None:
    if not isinstance(request.logline, str) or not request.logline.strip():
        raise InvalidInput("The logline is empty: describe the story in a sentence or two.")
    if len(request.logline) > MAX_LOGLINE:
        raise InvalidInput(f"The logline is {len(request.logline)} characters long; keep it under {MAX_LOGLINE} "
                           "(a logline is a sentence or two, not a treatment).")
    _check_int(request.scenes, "The number of scenes", 1, MAX_SCENES)
    _check_int(request.seed, "The seed", -(2 ** 63), 2 ** 63 - 1)
    _check_names(request.characters)
    if not isinstance(request.genre, str) or not isinstance(request.tone, str):
        raise InvalidInput("Genre and tone must be words like 'thriller' and 'tense'.")
    if not isinstance(request.title, str) or len(request.title) > 200:
        raise InvalidInput("The title must be text of at most 200 characters.")
    _check_int(request.max_new_tokens, "max_new_tokens", 0, 32768)


def check_rewrite(request: RewriteRequest) -> Screenplay:
    """Checks the request and returns the parsed script."""
    if not isinstance(request.fountain, str) or not request.fountain.strip():
        raise InvalidInput("The script is empty: write or draft something first.")
    if len(request.fountain) > MAX_FOUNTAIN:
        raise InvalidInput(f"The script is over {MAX_FOUNTAIN // 1_000_000} million characters; split it first.")
    if not isinstance(request.instruction, str) or len(request.instruction) > MAX_INSTRUCTION:
        raise InvalidInput(f"The instruction must be text of at most {MAX_INSTRUCTION} characters.")
    _check_int(request.seed, "The seed", -(2 ** 63), 2 ** 63 - 1)
    _check_int(request.max_new_tokens, "max_new_tokens", 0, 32768)
    play = parse(request.fountain)
    if not play.scenes:
        raise InvalidInput("The script has no scenes yet: add scene headings like 'INT. KITCHEN - DAY'.")
    if isinstance(request.scene_index, bool) or not isinstance(request.scene_index, int) \
            or not 0 <= request.scene_index < len(play.scenes):
        raise InvalidInput(f"There is no scene {request.scene_index}: the script has scenes 0 to "
                           f"{len(play.scenes) - 1}.")
    if not play.scenes[request.scene_index].heading:
        raise InvalidInput("Scene 0 is the text before the first scene heading; give it a heading "
                           "(like 'INT. KITCHEN - DAY') to rewrite it.")
    return play


def check_dialogue(request: DialogueRequest) -> None:
    if not isinstance(request.situation, str) or not request.situation.strip():
        raise InvalidInput("Describe the situation: who wants what, and what stands in the way.")
    if len(request.situation) > MAX_SITUATION:
        raise InvalidInput(f"The situation is {len(request.situation)} characters long; keep it under "
                           f"{MAX_SITUATION}.")
    _check_names(request.characters)
    _check_int(request.lines, "The number of lines", 1, MAX_DIALOGUE_LINES)
    _check_int(request.seed, "The seed", -(2 ** 63), 2 ** 63 - 1)
    _check_int(request.max_new_tokens, "max_new_tokens", 0, 32768)


# ---------------------------------------------------------------------------------------------------------------
# Subtitle-size speech
# ---------------------------------------------------------------------------------------------------------------
def fits_subtitle(text: str) -> bool:
    """At most ``SUBTITLE_MAX`` characters and at most two lines of ``SUBTITLE_LINE`` when wrapped."""
    return len(text) <= SUBTITLE_MAX and len(textwrap.wrap(text, SUBTITLE_LINE, break_long_words=True)) <= 2


def _pack(pieces: list[str], joiner: str = " ") -> list[str]:
    chunks: list[str] = []
    for piece in pieces:
        if chunks and fits_subtitle(chunks[-1] + joiner + piece):
            chunks[-1] = chunks[-1] + joiner + piece
        else:
            chunks.append(piece)
    return chunks


def subtitle_chunks(text: str) -> list[str]:
    """``text`` (whitespace collapsed) cut into subtitle-size pieces, at sentence ends where possible, then at
    commas/semicolons/dashes, then between words (a word longer than a subtitle is cut)."""
    text = " ".join(text.split())
    if not text:
        return []
    if fits_subtitle(text):
        return [text]
    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?…])\s+", text):
        if fits_subtitle(sentence):
            out.append(sentence)
            continue
        for clause in re.split(r"(?<=[,;:])\s+|\s+(?=[\u2014\u2013-]{1,2}\s)", sentence):
            if fits_subtitle(clause):
                out.append(clause)
                continue
            words: list[str] = []
            for word in clause.split():
                while len(word) > SUBTITLE_LINE:
                    words.append(word[:SUBTITLE_LINE])
                    word = word[SUBTITLE_LINE:]
                words.append(word)
            out.extend(_pack(words))
    return _pack(out)
