"""Retakes: the same sentence said again (or begun and abandoned) within a short time — offer to keep the last.

    retakes = find_retakes(doc.sentence_spans(), embed=minilm_embed)    # embed: texts → (n, d) L2-normalised
    for r in retakes: session.delete(i for k in r.drop for i in doc.sentences[k].indices)

1. Normalise: lower case, punctuation and filler sounds (um, uh ...) removed; sentences under
   ``MIN_TOKENS`` words are never retakes of each other ("Okay." / "Okay.").
2. Text similarity of an earlier sentence ``i`` and a later ``j`` (ending within ``window_s``): the larger of the
   word-sequence ratio and the character ratio (rapidfuzz when installed, else difflib — the same measure,
   ``2·matches / total length``).
3. False start: when ``i`` is shorter and either looks cut off (ends with a dash, "...", a comma or no
   punctuation) or is at most ``FALSE_START_SHARE`` of ``j``'s length, the ratio of ``i`` against the start of
   ``j`` of the same length (words and characters), so "So the reason we—" matches "So the reason we chose this
   camera." but "I think we should go." does not match "I think we should stay home tonight."; a cut-off last
   word ("reas—") is allowed for by the character ratio.
4. Meaning: with ``embed``, the cosine of the two sentence embeddings (a paraphrased retake).
5. Pairs at or above ``threshold`` are linked; linked sentences form one retake whose ``keep`` is the last take
   and whose ``similarity`` is its weakest link.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInput
from .fillers import filler_token_confidence

MIN_TOKENS = 3
MIN_PREFIX_CHARS = 10
FALSE_START_SHARE = 0.6
_CUT_OFF = re.compile(r"([—–-]|\.\.\.|…|,)[\"'”’)]*$|\w$")
_WORDS = re.compile(r"[\w']+")

try:  # optional: rapidfuzz is much faster on long texts; difflib gives the same ratio
    from rapidfuzz.fuzz import ratio as _rf_ratio
except ImportError:  # pragma: no cover - depends on the environment
    _rf_ratio = None


@dataclass(frozen=True)
class Retake:
    """Sentence indices of the attempts (in order), the one to keep (the last), and why."""

    takes: tuple[int, ...]
    keep: int
    similarity: float
    reason: str

    @property
    def drop(self) -> tuple[int, ...]:
        """The takes that keep-last deletes."""
        return tuple(t for t in self.takes if t != self.keep)

    def as_dict(self) -> dict[str, Any]:
        return {"takes": list(self.takes), "keep": self.keep, "similarity": round(self.similarity, 3),
                "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Retake:
        return cls(tuple(int(t) for t in data["takes"]), int(data["keep"]), float(data["similarity"]),
                   str(data.get("reason", "")))


def _tokens(text: str) -> list[str]:
    return [t for t in _WORDS.findall(text.lower().replace("’", "'")) if not filler_token_confidence(t)]


def char_ratio(a: str, b: str) -> float:
    """``2·M / (len(a) + len(b))`` of the two strings (1.0: equal)."""
    if not a and not b:
        return 1.0
    if _rf_ratio is not None:
        return float(_rf_ratio(a, b)) / 100.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def text_similarity(a: Sequence[str], b: Sequence[str], *, cut_off: bool = True) -> tuple[float, bool]:
    """Similarity of two token lists (rules 2–3) and whether it came from the false-start (prefix) rule, which
    applies when ``a`` was ``cut_off`` or is at most ``FALSE_START_SHARE`` of ``b``'s length."""
    whole = max(difflib.SequenceMatcher(None, list(a), list(b), autojunk=False).ratio(),
                char_ratio(" ".join(a), " ".join(b)))
    prefix = 0.0
    sa, sb = " ".join(a), " ".join(b)
    if len(a) < len(b) and len(sa) >= MIN_PREFIX_CHARS and (cut_off or len(a) <= FALSE_START_SHARE * len(b)):
        head = list(b[:len(a)])
        prefix = max(difflib.SequenceMatcher(None, list(a), head, autojunk=False).ratio(),
                     char_ratio(sa, sb[:len(sa)]))
    return (prefix, True) if prefix > whole else (whole, False)


def find_retakes(sentences: Sequence[tuple[float, float, str]], *,
                 embed: Callable[[list[str]], np.ndarray] | None = None, window_s: float = 30.0,
                 threshold: float = 0.8) -> list[Retake]:
    """Groups of repeated attempts at one sentence (see the module notes), in the order they are said."""
    # 1. Check inputs and normalise
    if not 0 < threshold <= 1:
        raise InvalidInput(f"threshold must be in (0, 1], not {threshold}.")
    if window_s <= 0:
        raise InvalidInput(f"window_s must be positive, not {window_s}.")
    tokens = [_tokens(text) for _, _, text in sentences]
    n = len(sentences)
    vectors = None
    if embed is not None and n > 1:
        vectors = np.asarray(embed([text for _, _, text in sentences]), dtype=np.float64)
        if vectors.shape[0] != n:
            raise InvalidInput(f"embed returned {vectors.shape[0]} vectors for {n} sentences.")
    # 2. Score the pairs inside the window
    links: list[tuple[int, int, float, str]] = []
    for i in range(n):
        for j in range(i + 1, n):
            if sentences[j][0] - sentences[i][1] > window_s:
                break
            if len(tokens[j]) < MIN_TOKENS or (len(tokens[i]) < MIN_TOKENS and len(" ".join(tokens[i]))
                                                < MIN_PREFIX_CHARS):
                continue
            score, is_prefix = text_similarity(tokens[i], tokens[j], cut_off=bool(_CUT_OFF.search(
                sentences[i][2].strip())))
            why = f"false start of sentence {j}" if is_prefix else "same words"
            if vectors is not None:
                cosine = float(np.dot(vectors[i], vectors[j]))
                if cosine > score:
                    score, why = cosine, "same meaning (embeddings)"
            if score >= threshold:
                links.append((i, j, score, why))
    # 3. Link into groups (union-find); keep the last take of each
    parent = list(range(n))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, j, _, _ in links:
        parent[root(i)] = root(j)
    groups: dict[int, list[tuple[int, int, float, str]]] = {}
    for link in links:
        groups.setdefault(root(link[0]), []).append(link)
    out = []
    for group in groups.values():
        takes = sorted({k for i, j, _, _ in group for k in (i, j)})
        weakest = min(group, key=lambda link: link[2])
        reasons = sorted({why for *_, why in group})
        out.append(Retake(tuple(takes), takes[-1], weakest[2],
                          f"{len(takes)} takes ({'; '.join(reasons)}); weakest link {weakest[2]:.2f}"))
    return sorted(out, key=lambda r: r.takes[0])
