"""Which parts of a long talk make good shorts: runs of whole sentences, scored, the best N that do not overlap.

1. Sentences: ``Transcript.build`` (ends at . ? ! …, false starts, paragraph breaks).
2. Candidates: every run of consecutive sentences whose span fits in ``[min_s, max_s]``, padded by ``LEAD_S``
   before the first word and ``TAIL_S`` after the last (never past the middle of the pause to the sentence
   before/after, so no neighbouring word is clipped), boundaries on the frame grid of ``fps``. When the whole
   transcript is shorter than ``min_s`` it becomes the one candidate (its reasons say so).
3. Score 0..1 = ``HIGHLIGHT_WEIGHT`` × the rough cut's highlight score (``autoedit.highlight_scores``: loudness +
   motion, each normalised by the best candidate) + the rest × transcript cues (``TEXT_WEIGHTS``): a hook in the
   first sentence (``text.hook_cues``), exclamations, speech rate (``RATE_WPS``), few long pauses (gaps over
   ``LONG_PAUSE_S``), ending on a complete sentence (. ? ! rather than a pause).
4. Greedy: the best candidate, then the best that does not overlap any chosen one, until ``n``.
5. Title: ``text.make_title``; ``reasons`` list what scored.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Sequence

import numpy as np

from ..autoedit.analyse import highlight_scores
from ..autoedit.timeline import frame_rate, frames_to_seconds
from ..captions.craft import ends_sentence
from ..errors import InvalidInput
from ..transcript.document import Transcript
from .text import as_words, content_words, hook_cues, hook_score, make_title
from .types import ShortCandidate

LEAD_S = 0.15
TAIL_S = 0.35
LONG_PAUSE_S = 0.7
#: Speech rate (words a second) scoring 0 at the first value, 1 from the second (brisk talk holds attention).
RATE_WPS = (1.2, 2.6)
HIGHLIGHT_WEIGHT = 0.45
TEXT_WEIGHTS = {"hook": 0.35, "exclaim": 0.1, "rate": 0.2, "pauses": 0.15, "complete": 0.2}


def check_lengths(n: int, min_s: float, max_s: float) -> None:
    """``InvalidInput`` unless ``n ≥ 1`` and ``0 < min_s ≤ max_s``."""
    if int(n) < 1:
        raise InvalidInput(f"n (the number of shorts) must be at least 1, not {n}.")
    if not (math.isfinite(min_s) and math.isfinite(max_s) and 0 < min_s <= max_s):
        raise InvalidInput(f"min_s and max_s must satisfy 0 < min_s ≤ max_s, not {min_s} and {max_s}.")


def _bounds(first: int, last: int, spans: np.ndarray, duration: float, fps: float,
            max_s: float) -> tuple[int, int] | None:
    """``[a, b)`` frames of sentences ``first..last`` with padding, or ``None`` when over ``max_s``."""
    s0, s1 = spans[first, 0], spans[last, 1]
    lo = max(0.0, s0 - LEAD_S, (spans[first - 1, 1] + s0) / 2 if first > 0 else 0.0)
    hi = min(duration, s1 + TAIL_S, (s1 + spans[last + 1, 0]) / 2 if last + 1 < len(spans) else duration)
    total = int(math.floor(duration * fps + 1e-6))
    word_a, word_b = int(math.floor(s0 * fps + 1e-6)), min(total, int(math.ceil(s1 * fps - 1e-6)))
    a = min(word_a, int(math.ceil(lo * fps - 1e-6)))  # padding rounds inwards, words stay whole
    b = max(word_b, min(total, int(math.floor(hi * fps + 1e-6))))
    longest = int(math.floor(max_s * fps + 1e-6))
    if b - a > longest:  # give up padding (the tail first) before giving up the candidate
        b = max(word_b, a + longest)
        a = max(a, min(word_a, b - longest))
    return (a, b) if b - a <= longest and b > a else None


def _text_features(words: list, first: int, stop: int, sentences: list) -> dict[str, Any]:
    """Cues of the words ``[first, stop)`` (whole sentences ``sentences``, as ``Block``s)."""
    texts = [w.text for w in words[first:stop]]
    head = sentences[0]
    cues = hook_cues(" ".join(w.text for w in words[head.first:head.stop]))
    span = max(1e-6, words[stop - 1].end - words[first].start)
    gaps = np.array([b.start - a.end for a, b in zip(words[first:stop - 1], words[first + 1:stop])])
    paused = float(gaps[gaps > LONG_PAUSE_S].sum()) if gaps.size else 0.0
    rate = len(texts) / span
    exclaims = sum(words[s.stop - 1].text.rstrip("\"'”)").endswith("!") for s in sentences)
    return {
        "cues": cues, "rate": rate, "long_pauses": int((gaps > LONG_PAUSE_S).sum()) if gaps.size else 0,
        "exclaims": exclaims, "complete": ends_sentence(texts[-1]),
        "scores": {"hook": hook_score(cues), "exclaim": min(1.0, 2.0 * exclaims / len(sentences)),
                   "rate": float(np.clip((rate - RATE_WPS[0]) / (RATE_WPS[1] - RATE_WPS[0]), 0.0, 1.0)),
                   "pauses": max(0.0, 1.0 - 4.0 * paused / span), "complete": 1.0 if ends_sentence(texts[-1]) else 0.0},
    }


def _reasons(highlight: float, f: dict[str, Any]) -> list[str]:
    out = [f"loudness + motion {highlight:.2f} of the best"]
    if f["cues"]:
        out.append("hook: " + ", ".join(f["cues"]))
    if f["exclaims"]:
        out.append(f"{f['exclaims']} exclamation{'s' if f['exclaims'] > 1 else ''}")
    out.append(f"{f['rate']:.1f} words/s")
    out.append("no long pauses" if not f["long_pauses"] else f"{f['long_pauses']} long pause(s)")
    out.append("ends on a complete sentence" if f["complete"] else "ends on a pause, not a full stop")
    return out


def propose_shorts(words: Sequence[Any], *, duration: float, energy_db: np.ndarray | None, fps: float,
                   motion: tuple[np.ndarray, np.ndarray] | None = None, n: int = 3, min_s: float = 15.0,
                   max_s: float = 60.0) -> list[ShortCandidate]:
    """The best ``n`` non-overlapping shorts of whole sentences, best first (see the module notes).

    ``words``: ``TranscriptWord``s or dicts with start/end/text (seconds of the media); ``energy_db``: loudness
    per video frame at ``fps`` (``transcript.energy_curve``); ``motion``: ``(times, values)`` of
    ``autoedit.motion_curve`` or ``None`` (loudness alone then makes the highlight score)."""
    # 1. Check inputs
    check_lengths(n, min_s, max_s)
    if not (math.isfinite(fps) and fps > 0 and math.isfinite(duration) and duration > 0):
        raise InvalidInput(f"duration and fps must be positive, not {duration} s and {fps} fps.")
    items = as_words(words)
    if not items:
        raise InvalidInput("There are no words: transcribe the media first (shorts are cut on sentences).")
    if items[0].start >= duration:
        raise InvalidInput(f"The words start at {items[0].start:.1f} s, after the end of the media ({duration:.1f} s).")
    rate = float(frame_rate(fps))  # the exact rate (29.97 → 30000/1001), as the Timeline counts frames
    doc = Transcript.build([w for w in items if w.start < duration], duration_s=duration)
    words_, sentences = doc.words, doc.sentences
    spans = np.array([[words_[s.first].start, min(duration, words_[s.stop - 1].end)] for s in sentences])

    # 2. Candidates: runs of whole sentences within [min_s, max_s]
    found: list[tuple[int, int, int, int, str]] = []  # (a, b, first sentence, last sentence, note)
    for i in range(len(sentences)):
        for j in range(i, len(sentences)):
            if spans[j, 1] - spans[i, 0] > max_s:
                break
            ab = _bounds(i, j, spans, duration, rate, max_s)
            if ab is not None and ab[1] - ab[0] >= min_s * rate - 1e-6:
                found.append((*ab, i, j, ""))
    if not found:
        whole = spans[-1, 1] - spans[0, 0]
        if whole + LEAD_S + TAIL_S >= min_s:
            longest = float(np.max(spans[:, 1] - spans[:, 0]))
            raise InvalidInput(f"No run of whole sentences lasts {min_s:g}–{max_s:g} s (the longest sentence is "
                               f"{longest:.1f} s): change the lengths or check the transcript's punctuation.")
        ab = _bounds(0, len(sentences) - 1, spans, duration, rate, max(max_s, duration))
        assert ab is not None
        note = f"the whole input ({whole:.1f} s of speech) is shorter than min_s ({min_s:g} s): one short of all of it"
        found.append((*ab, 0, len(sentences) - 1, note))

    # 3. Scores: highlight (loudness + motion) and transcript cues
    total = max(b for _, b, *_ in found)
    db = np.full(total, -120.0) if energy_db is None else np.asarray(energy_db, dtype=np.float64)[:total]
    energy = np.concatenate([10.0 ** (db / 10.0), np.zeros(max(0, total - db.size))])
    empty = (np.zeros(0), np.zeros(0))
    highlight = np.asarray(highlight_scores([(a, b) for a, b, *_ in found], energy, motion or empty, fps))
    if motion is None:
        highlight = highlight * 2.0  # loudness alone: its half of the score becomes the whole
    features = [_text_features(words_, sentences[i].first, sentences[j].stop, sentences[i:j + 1])
                for _, _, i, j, _ in found]
    text = np.array([sum(TEXT_WEIGHTS[k] * f["scores"][k] for k in TEXT_WEIGHTS) for f in features])
    scores = np.clip(HIGHLIGHT_WEIGHT * highlight + (1.0 - HIGHLIGHT_WEIGHT) * text, 0.0, 1.0)

    # 4. Greedy: best first, no overlap
    chosen: list[int] = []
    for k in sorted(range(len(found)), key=lambda k: (-scores[k], found[k][0])):
        a, b = found[k][:2]
        if all(b <= found[c][0] or found[c][1] <= a for c in chosen):
            chosen.append(k)
            if len(chosen) == n:
                break

    # 5. Candidates with titles and reasons
    whole_counts = Counter(content_words(w.text for w in words_))
    out = []
    for k in chosen:
        a, b, i, j, note = found[k]
        seg = [w.text for w in words_[sentences[i].first:sentences[j].stop]]
        head = [w.text for w in words_[sentences[i].first:sentences[i].stop]]
        title = make_title(seg, head, whole_counts, features[k]["scores"]["hook"])
        reasons = _reasons(float(highlight[k]), features[k]) + ([note] if note else [])
        out.append(ShortCandidate(frames_to_seconds(a, fps), frames_to_seconds(b, fps), float(scores[k]), title,
                                   " ".join(seg), reasons))
    return out
