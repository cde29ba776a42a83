"""Fillers, long pauses and "unheard" voiced gaps in a transcript: candidates for the editor to delete.

    found = find_fillers(doc.words, pause_s=0.6, media_energy=(energy_curve(media, fps), fps))

1. Filler tokens: um, uh, erm, er, ah, hmm, mm in any spelling Whisper writes ("Umm,", "Uhh...", "hmmm"),
   compared after lower-casing and stripping punctuation ("mm-hmm" and "uh-huh" are answers, not fillers).
2. Filler phrases "you know" / "I mean", only when parenthetical: followed by a comma, a pause
   (≥ ``PAREN_PAUSE_S``) or a filler, or ending a sentence after a comma or pause ("It's hard, you know.").
   Not after do/did/if/as/what ... ("do you know the way", "what I mean is"), not "I mean it".
3. "like" by context: between commas or pauses ("I was, like, tired"), sentence-initial "Like,", or before a
   filler ("like, um"); a comma only after it gives a weaker candidate. Never after a subject or modal without
   a comma ("I like tea", "would like to", "looks like rain"), and never with no comma or pause at all ("like a").
4. Pauses: a gap between two words longer than ``pause_s``.
5. "Unheard": Whisper tends to leave fillers out of its text (its training transcripts were cleaned). With the
   media's per-frame loudness, a run of voiced frames (above the speech threshold: ``speech_db``, or
   ``autoedit.auto_threshold``) 0.15–1.0 s long inside a gap between words is reported; a run touching a word's
   edge (possibly the tail of that word, Whisper's times being approximate) gets a lower confidence.
   Limitation (measured): when Whisper leaves a filler out it usually stretches the next word back over it
   ("should [uh] go" → "go" from the end of "should"), leaving no gap: nothing is found here; the verbatim
   prompt makes Whisper write some of them.

``VERBATIM_PROMPT`` is a Whisper initial prompt written in the verbatim style, which nudges the model to keep
fillers in its text.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autoedit.analyse import auto_threshold
from .document import norm_token

VERBATIM_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
PAREN_PAUSE_S = 0.3
UNHEARD_S = (0.15, 1.0)
EDGE_GUARD_S = 0.04
_TOKENS = [(re.compile(p), conf) for p, conf in (
    (r"^u+m+$", 0.95), (r"^u+h+m*$", 0.95), (r"^e+r+m+$", 0.9), (r"^e+r+$", 0.75), (r"^a+h+$", 0.6),
    (r"^h+m+$", 0.85), (r"^m{2,}$", 0.8))]
_PHRASES = {("you", "know"), ("i", "mean")}
_PHRASE_VETO = {"do", "does", "did", "don't", "doesn't", "didn't", "if", "as", "what", "how", "who", "whether",
                "that", "when", "where", "why", "whatever", "you", "i", "could", "would", "should", "might"}
_LIKE_VETO = {"i", "you", "we", "they", "he", "she", "would", "wouldn't", "i'd", "you'd", "we'd", "they'd", "do",
              "don't", "does", "doesn't", "did", "didn't", "to", "really", "feel", "feels", "felt", "look", "looks",
              "looked", "seem", "seems", "seemed", "sound", "sounds", "sounded", "something", "anything",
              "nothing", "more", "much", "just", "not", "people", "things"}
_COMMA = re.compile(r"[,;:—–…-]|\.\.")
_STOP = re.compile(r"[.!?]")


@dataclass(frozen=True)
class Filler:
    """A candidate to delete: ``kind`` "filler" (words ``indices``), "pause" or "unheard" (no word)."""

    kind: str
    start: float
    end: float
    text: str
    indices: tuple[int, ...]
    confidence: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                "indices": list(self.indices), "confidence": round(self.confidence, 3), "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Filler:
        return cls(str(data["kind"]), float(data["start"]), float(data["end"]), str(data.get("text", "")),
                   tuple(int(i) for i in data.get("indices", [])), float(data.get("confidence", 1.0)),
                   str(data.get("reason", "")))


def _raw(word: Any) -> str:
    text = getattr(word, "text", None)
    return str(text if text is not None else getattr(word, "word", "")).strip()


def filler_token_confidence(text: str) -> float:
    """How surely one word is a filler sound (0 when it is not one)."""
    token = norm_token(text)
    return next((conf for pattern, conf in _TOKENS if pattern.match(token)), 0.0)


class _Context:
    """Punctuation and timing around word ``i`` (the helpers the rules read)."""

    def __init__(self, words: Sequence[Any]) -> None:
        self.words = words
        self.raw = [_raw(w) for w in words]
        self.norm = [norm_token(t) for t in self.raw]

    def _trail(self, i: int) -> str:
        m = re.search(r"[^\w']+$", self.raw[i])
        return m.group(0) if m else ""

    def comma_after(self, i: int) -> bool:
        return bool(_COMMA.search(self._trail(i)))

    def stop_after(self, i: int) -> bool:
        return i == len(self.words) - 1 or (bool(_STOP.search(self._trail(i))) and not self.comma_after(i))

    def pause_after(self, i: int) -> bool:
        return i + 1 < len(self.words) and self.words[i + 1].start - self.words[i].end >= PAREN_PAUSE_S

    def filler_at(self, i: int) -> bool:
        return 0 <= i < len(self.words) and filler_token_confidence(self.raw[i]) > 0

    def break_before(self, i: int) -> bool:
        return i == 0 or self.stop_after(i - 1) or self.comma_after(i - 1) or self.pause_after(i - 1)

    def break_after(self, i: int) -> bool:
        return self.comma_after(i) or self.pause_after(i) or self.filler_at(i + 1)


def _word_fillers(c: _Context) -> list[Filler]:
    words, out, n = c.words, [], len(c.words)
    for i in range(n):
        # 1. Filler sounds
        conf = filler_token_confidence(c.raw[i])
        if conf:
            out.append(Filler("filler", words[i].start, words[i].end, c.raw[i], (i,), conf,
                              f"filler sound “{c.norm[i]}”"))
            continue
        # 2. "you know" / "I mean", parenthetical only
        if i + 1 < n and (c.norm[i], c.norm[i + 1]) in _PHRASES:
            j = i + 1
            vetoed = i > 0 and c.norm[i - 1] in _PHRASE_VETO and not c.comma_after(i - 1)
            conf, why = 0.0, ""
            if not vetoed and c.break_after(j):
                conf, why = (0.85, "between commas or pauses") if c.break_before(i) else (0.7, "followed by a comma "
                                                                                               "or pause")
            elif not vetoed and c.stop_after(j) and c.break_before(i):
                conf, why = 0.75, "ending a sentence after a comma or pause"
            if conf:
                text = f"{c.raw[i]} {c.raw[j]}"
                out.append(Filler("filler", words[i].start, words[j].end, text, (i, j), conf,
                                  f"“{c.norm[i]} {c.norm[j]}” {why}"))
        # 3. "like" by context
        elif c.norm[i] == "like":
            before, after = c.break_before(i), c.break_after(i)
            vetoed = i > 0 and c.norm[i - 1] in _LIKE_VETO and not c.comma_after(i - 1)
            conf, why = 0.0, ""
            if vetoed:
                pass
            elif before and after:
                conf, why = 0.9, "between commas or pauses"
            elif c.filler_at(i + 1):
                conf, why = 0.8, "before a filler"
            elif c.comma_after(i):
                conf, why = 0.6, "followed by a comma"
            if conf:
                out.append(Filler("filler", words[i].start, words[i].end, c.raw[i], (i,), conf, f"“like” {why}"))
    return out


def _pauses(words: Sequence[Any], pause_s: float) -> list[Filler]:
    out = []
    for i in range(len(words) - 1):
        gap = words[i + 1].start - words[i].end
        if gap > pause_s:
            out.append(Filler("pause", words[i].end, words[i + 1].start, "", (), 1.0,
                              f"pause of {gap:.2f} s between “{_raw(words[i])}” and “{_raw(words[i + 1])}”"))
    return out


def _voiced_runs(voiced: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """``[s, e)`` frame runs of voiced frames in ``[a, b)``, one-frame dips bridged."""
    mask = np.concatenate([[False], voiced[max(0, a):max(0, b)], [False]]).astype(np.int8)
    bounds = np.flatnonzero(np.diff(mask))
    merged: list[list[int]] = []
    for s, e in zip(bounds[::2] + max(0, a), bounds[1::2] + max(0, a)):
        if merged and s - merged[-1][1] <= 1:
            merged[-1][1] = int(e)
        else:
            merged.append([int(s), int(e)])
    return [(s, e) for s, e in merged]


def _unheard(words: Sequence[Any], db: np.ndarray, fps: float, speech_db: float | None) -> list[Filler]:
    """Voiced runs of 0.15–1.0 s with no word, in the gaps between words (and before the first / after the last)."""
    if db.size == 0:
        return []
    threshold = auto_threshold(db) if speech_db is None else float(speech_db)
    voiced = db > threshold
    fits = lambda s, e: UNHEARD_S[0] <= (e - s) / fps <= UNHEARD_S[1]
    describe = lambda s, e: f"voiced {(e - s) / fps:.2f} s (peak {float(np.max(db[s:e])):.0f} dBFS, threshold " \
                            f"{threshold:.0f})"
    out = []
    edges = [0.0] + [x for w in words for x in (w.start, w.end)] + [db.size / fps]
    names = ["the start"] + [f"“{_raw(w)}”" for w in words] + ["the end"]
    for g in range(0, len(edges), 2):
        a = int(np.ceil((edges[g] + EDGE_GUARD_S) * fps - 1e-6))
        b = int(np.floor((edges[g + 1] - EDGE_GUARD_S) * fps + 1e-6))
        if b - a < UNHEARD_S[0] * fps:
            continue
        for s, e in _voiced_runs(voiced, a, b):
            if fits(s, e):
                touches = s == a or e == b
                out.append(Filler("unheard", s / fps, e / fps, "", (), 0.35 if touches else 0.6,
                                  f"{describe(s, e)} with no word, between {names[g // 2]} and "
                                  f"{names[g // 2 + 1]}" + (" (touches a word: may be its tail)" if touches else "")))
    return out


def find_fillers(words: Sequence[Any], *, pause_s: float = 0.6,
                 media_energy: tuple[np.ndarray, float] | None = None,
                 speech_db: float | None = None) -> list[Filler]:
    """Fillers, pauses and (with ``media_energy`` = ``(dB per frame, fps)``) unheard voiced gaps, by start time.

    ``words``: objects with ``start``, ``end`` and ``text`` (``TranscriptWord``) or ``word`` (captions ``Word``)."""
    # 1. Words and phrases
    found = _word_fillers(_Context(words))
    # 2. Pauses
    found += _pauses(words, pause_s)
    # 3. Voiced gaps Whisper left without a word
    if media_energy is not None:
        db, fps = media_energy
        found += _unheard(words, np.asarray(db, dtype=np.float64), float(fps), speech_db)
    return sorted(found, key=lambda f: (f.start, f.kind))


def filler_indices(fillers: Sequence[Filler], *, min_confidence: float = 0.7) -> list[int]:
    """The word indices of the "filler" candidates at or above ``min_confidence`` (to pass to ``delete``)."""
    return sorted({i for f in fillers if f.kind == "filler" and f.confidence >= min_confidence for i in f.indices})

