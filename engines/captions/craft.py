"""Subtitle craft: text tidied, lines wrapped, and timed words turned into readable cues.

Rules (common broadcast/streaming style guides): at most ``MAX_LINES`` (2) lines of ``MAX_CHARS`` (42)
characters; each cue on screen 1–7 s; reading speed at most 17 characters per second (a cue is extended into
the following pause to reach it, or the words are split into more cues); breaks at sentence ends, then clause
punctuation, then pauses, never after "the", "of", "to" ... when avoidable; no one-word cue when avoidable; no
overlaps and at least 2 frames between cues (gaps under half a second are closed to those 2 frames, so the
text does not flicker). ``cues.cues_from_words`` chooses the breaks by dynamic programming over those costs.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence, TypeVar

MAX_CHARS = 42
MAX_LINES = 2
MIN_S, MAX_S = 1.0, 7.0
MAX_CPS = 17.0
FPS = 25.0
#: Gaps between cues shorter than this are closed to the minimum gap (2 frames).
CHAIN_GAP_S = 0.5
#: A pause this long inside a cue is a strong reason to break there.
LONG_PAUSE_S = 1.0

_FUNCTION = {"a", "an", "the", "of", "to", "in", "on", "at", "for", "with", "by", "from", "and", "or", "but",
             "nor", "as", "if", "that", "my", "your", "his", "her", "its", "our", "their", "this", "these",
             "those", "i", "we", "he", "she", "they", "not", "so"}
#: Good words to start a line or cue with (style guides: break before conjunctions and prepositions).
_STARTERS = {"and", "but", "or", "nor", "so", "yet", "because", "although", "though", "while", "when", "where",
             "which", "who", "whom", "whose", "that", "if", "unless", "until", "since", "after", "before", "as",
             "of", "to", "in", "on", "at", "for", "with", "by", "from", "into", "about", "than", "like"}
_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_SENTENCE_END = re.compile(r"[.!?…][\"'”)\]]*$")
_CLAUSE_END = re.compile(r"[,;:—–-][\"'”)\]]*$")

C = TypeVar("C")


# --------------------------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------------------------
def _number(token: str) -> str:
    """'3' → 'three' (one to ten spelled out), '25000' → '25,000'; others (years, 3.5, 10%, 9:30) unchanged."""
    m = re.fullmatch(r"(\d+)([.,!?;:]?)", token)
    if not m:
        return token
    digits, tail = m.groups()
    if len(digits) <= 2 and int(digits) <= 10 and not (len(digits) == 2 and digits[0] == "0"):
        return _NUMBERS[int(digits)] + tail
    if len(digits) >= 5 and digits[0] != "0":
        return f"{int(digits):,}" + tail
    return token


def style_token(token: str, sentence_start: bool) -> str:
    """One word styled: numbers (see ``_number``), lone "i" → "I", capitalised at the start of a sentence."""
    token = _number(token.strip())
    if re.fullmatch(r"i('\w+)?[,.!?;:]?", token):
        token = "I" + token[1:]
    if sentence_start:
        for k, ch in enumerate(token):
            if ch.isalpha():
                return token[:k] + ch.upper() + token[k + 1:]
            if ch.isdigit():
                break
    return token


def is_punctuation(token: str) -> bool:
    return bool(re.fullmatch(r"[,.;:!?%…)\]”]+", token))


def ends_sentence(token: str) -> bool:
    return bool(_SENTENCE_END.search(token))


def ends_clause(token: str) -> bool:
    return bool(_CLAUSE_END.search(token))


def is_function_word(token: str) -> bool:
    return token.lower().strip(",.;:!?\"'") in _FUNCTION


def starts_phrase(token: str) -> bool:
    return token.lower().strip(",.;:!?\"'") in _STARTERS


def _tidy_tokens(tokens: Iterable[str]) -> list[str]:
    """Word by word: styled (``style_token``), stray punctuation attached to the word before it."""
    out: list[str] = []
    for raw in tokens:
        token = raw.strip()
        if not token:
            continue
        if out and is_punctuation(token):
            out[-1] += token
            continue
        out.append(style_token(token, not out or ends_sentence(out[-1])))
    return out


def tidy_text(text: str) -> str:
    """One caption's text tidied: spaces collapsed, none before , . ! ? ; :, sentence starts capitalised,
    numbers one to ten spelled out (lines kept: each line is tidied on its own)."""
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"\s+([,.;:!?%…)\]”])", r"\1", line)
        line = re.sub(r"([(\[“])\s+", r"\1", line)
        lines.append(" ".join(_tidy_tokens(line.split())))
    return "\n".join(line for line in lines if line)


# --------------------------------------------------------------------------------------------------------------
# Wrapping (also used by the animatic)
# --------------------------------------------------------------------------------------------------------------
def _lines(words: list[str], max_chars: int) -> list[str]:
    """Greedy fill: as many words per line as fit; a word longer than a line is cut into pieces that do."""
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > max_chars:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:max_chars])
            word = word[max_chars:]
        if not word:
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= max_chars:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _balance(lines: list[str], max_chars: int) -> list[str]:
    """Two lines re-split at the word boundary that makes them most even (a long line over a stub reads badly)."""
    if len(lines) != 2:
        return lines
    words = (lines[0] + " " + lines[1]).split(" ")
    best = lines
    best_score = max(len(lines[0]), len(lines[1]))
    for k in range(1, len(words)):
        a, b = " ".join(words[:k]), " ".join(words[k:])
        if len(a) <= max_chars and len(b) <= max_chars and max(len(a), len(b)) < best_score:
            best, best_score = [a, b], max(len(a), len(b))
    return best


def wrap_caption(text: str, max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> list[list[str]]:
    """``text`` as blocks of at most ``max_lines`` lines of at most ``max_chars`` characters (words kept whole
    unless longer than a line), in reading order."""
    lines = _lines(text.split(), max_chars)
    blocks = [lines[i:i + max_lines] for i in range(0, len(lines), max_lines)]
    return [_balance(block, max_chars) for block in blocks]


def split_captions(captions: Sequence[C], max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> list[C]:
    """Each caption (anything with ``start_s``, ``end_s``, ``text``) wrapped; one that needs several blocks becomes
    consecutive captions of the same type whose durations are in proportion to their number of characters."""
    out: list = []
    for c in captions:
        blocks = wrap_caption(c.text, max_chars, max_lines)
        if not blocks:
            continue
        weights = [sum(len(line) for line in block) + 1 for block in blocks]
        total = float(sum(weights))
        start = c.start_s
        for i, (block, weight) in enumerate(zip(blocks, weights)):
            end = c.end_s if i == len(blocks) - 1 else start + (c.end_s - c.start_s) * weight / total
            out.append(type(c)(start, end, "\n".join(block)))
            start = end
    return out


def layout_lines(words: list[str], max_chars: int = MAX_CHARS) -> list[str]:
    """One cue's words as one line when they fit, else two lines split where it reads best: after punctuation,
    not after a function word, as even as possible."""
    text = " ".join(words)
    if len(text) <= max_chars:
        return [text]
    best, best_score = _lines(words, max_chars), float("inf")
    for k in range(1, len(words)):
        a, b = " ".join(words[:k]), " ".join(words[k:])
        if len(a) > max_chars or len(b) > max_chars:
            continue
        score = max(len(a), len(b)) - (10 if re.search(r"[,.;:!?]$", a) else 0)
        score += 8 if is_function_word(words[k - 1]) else (-4 if starts_phrase(words[k]) else 0)
        if score < best_score:
            best, best_score = [a, b], score
    return best
