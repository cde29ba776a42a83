"""Timed words → subtitle cues (see ``craft`` for the rules).

1. Words are styled (numbers, "I", sentence starts) and stray punctuation is attached to the word before it.
2. Breaks are chosen by dynamic programming: every cue must fit in ``max_lines`` × ``max_chars`` and its words
   span at most ``max_s``; each cue costs a little (fewer, fuller cues), plus the cost of where it breaks (free
   after a sentence, cheap after a comma or at a pause, less dear before a conjunction or preposition, dear
   mid-phrase, dearer after "the"/"of"), of being one
   word long, of holding a sentence end inside it, of spanning a long pause, and of a reading speed over
   ``max_cps`` even after using the pause that follows it.
3. Times: each cue starts with its first word and lasts until its last word ends, extended into the following
   pause to reach ``min_s`` and the reading speed; gaps under ``CHAIN_GAP_S`` are closed to the minimum gap of
   two frames; nothing overlaps and nothing lasts over ``max_s``.
"""
from __future__ import annotations

from typing import Sequence

from .craft import (
    CHAIN_GAP_S,
    FPS,
    LONG_PAUSE_S,
    MAX_CHARS,
    MAX_CPS,
    MAX_LINES,
    MAX_S,
    MIN_S,
    _lines,
    ends_clause,
    ends_sentence,
    is_function_word,
    is_punctuation,
    layout_lines,
    starts_phrase,
    style_token,
)
from .types import Cue, Segment, Word


def words_of(segments: Sequence[Segment]) -> list[Word]:
    """The segments' words; a segment without word times gets its time shared out by the words' lengths."""
    out: list[Word] = []
    for seg in segments:
        if seg.words:
            out.extend(seg.words)
            continue
        tokens = seg.text.split()
        total = sum(len(t) + 1 for t in tokens) or 1
        t = seg.start
        for token in tokens:
            d = (seg.end - seg.start) * (len(token) + 1) / total
            out.append(Word(t, t + d, token))
            t += d
    return out


def _tokens(words: Sequence[Word]) -> list[list]:
    """``[text, start, end]`` per styled word, in time order."""
    out: list[list] = []
    for w in sorted(words, key=lambda w: w.start):
        token = w.word.strip()
        if not token:
            continue
        if out and is_punctuation(token):
            out[-1][0] += token
            out[-1][2] = max(out[-1][2], w.end)
            continue
        out.append([style_token(token, not out or ends_sentence(out[-1][0])), w.start, max(w.end, w.start)])
    return out


def _break_cost(last: str, following: str, gap: float) -> float:
    if ends_sentence(last):
        cost = 0.0
    elif ends_clause(last):
        cost = 1.0
    elif is_function_word(last):
        cost = 5.0
    else:
        cost = 2.0 if starts_phrase(following) else 3.0
    return max(0.0, cost - min(1.5, 2.0 * max(0.0, gap - 0.1)))


def cues_from_words(words: Sequence[Word], *, max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES,
                    min_s: float = MIN_S, max_s: float = MAX_S, max_cps: float = MAX_CPS, fps: float = FPS,
                    duration_s: float | None = None) -> list[Cue]:
    """Readable cues for timed ``words`` (see the module's docstring); ``duration_s`` caps the last one."""
    toks = _tokens(words)
    n = len(toks)
    if n == 0:
        return []
    texts, starts, ends = [t[0] for t in toks], [t[1] for t in toks], [t[2] for t in toks]
    min_gap = 2.0 / fps
    media_end = duration_s if duration_s is not None else ends[-1] + max_s
    capacity = max_lines * max_chars + max_lines - 1
    best = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    for i in range(1, n + 1):
        next_start = starts[i] - min_gap if i < n else media_end
        brk = _break_cost(texts[i - 1], texts[i], starts[i] - ends[i - 1]) if i < n else 0.0
        chars, max_gap, inner_ends = -1, 0.0, 0
        for j in range(i - 1, -1, -1):
            chars += len(texts[j]) + 1
            if j < i - 1:
                max_gap = max(max_gap, starts[j + 1] - ends[j])
                inner_ends += ends_sentence(texts[j])
            k = i - j
            if k > 1 and (chars > capacity or ends[i - 1] - starts[j] > max_s
                          or len(_lines(texts[j:i], max_chars)) > max_lines):
                break
            cost = 1.0 + brk + (0.3 if chars > max_chars else 0.0)
            if k == 1 and n > 1:
                cost += 4.0 + (2.0 if len(texts[j]) <= 4 else 0.0)
            if chars < 20 and n > 1:  # a fragment: too little to read on its own
                cost += 2.0 * (20 - chars) / 20
            if max_gap > LONG_PAUSE_S:
                cost += 3.0
            cost += 1.5 * inner_ends  # the end of one sentence and the start of the next on screen together
            available = max(min(next_start, starts[j] + max_s) - starts[j], ends[i - 1] - starts[j], 1e-3)
            if chars / available > max_cps:
                cost += 6.0 * (chars / available / max_cps - 1.0)
            if available < min_s:
                cost += 1.0
            if best[j] + cost < best[i]:
                best[i], back[i] = best[j] + cost, j
    spans = []
    i = n
    while i > 0:
        spans.append((back[i], i))
        i = back[i]
    spans.reverse()
    return _time(spans, texts, starts, ends, min_s=min_s, max_s=max_s, max_cps=max_cps, min_gap=min_gap,
                 media_end=media_end, max_chars=max_chars)


def _time(spans, texts, starts, ends, *, min_s, max_s, max_cps, min_gap, media_end, max_chars) -> list[Cue]:
    cues: list[Cue] = []
    for idx, (j, i) in enumerate(spans):
        lines = layout_lines(texts[j:i], max_chars)
        chars = sum(len(line) for line in lines)
        start = starts[j] if not cues else max(starts[j], cues[-1].end_s + min_gap)
        limit = (starts[spans[idx + 1][0]] - min_gap) if idx + 1 < len(spans) else media_end
        limit = min(limit, start + max_s)
        want = max(ends[i - 1], start + min_s, start + chars / max_cps + 0.002)  # (+ rounding to ms)
        end = min(want, limit)
        if idx + 1 < len(spans) and limit - end < CHAIN_GAP_S:
            end = limit  # close a short gap to the minimum, so the text does not flash off and on
        if end - start < min_s and cues:  # still short: start earlier, into the pause before it
            start = max(cues[-1].end_s + min_gap, min(start, end - min_s))
        if end <= start:
            end = start + max(0.04, min(min_s, limit - start))
        cues.append(Cue(round(start, 3), round(end, 3), "\n".join(lines)))
    return cues
