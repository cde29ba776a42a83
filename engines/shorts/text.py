"""Transcript side of the shorts: words in, hooks found, titles made (lite: word lists and counts, no model).

1. ``as_words`` accepts ``TranscriptWord``s, dicts (``start``/``end``/``text`` or ``word``) or objects with those
   attributes, and returns them sorted, without empty ones, times checked.
2. ``hook_cues`` reads a sentence for what makes people keep watching: a question, a number, "how to", "why",
   "the secret", "never", a word to the viewer ("you"); ``hook_score`` weighs them to 0..1.
3. ``make_title``: the hook sentence when it is a short hook (≤ ``TITLE_WORDS`` words, fillers dropped), else
   keywords: content words (of a longer hook sentence, else of the segment) scored by their frequency in the
   segment against the whole transcript (count × lift), the best ``KEYWORDS`` in the order said, title-cased.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Iterable, Sequence

from ..errors import InvalidInput
from ..transcript.document import TranscriptWord, norm_token

TITLE_WORDS = 8
KEYWORDS = 4
#: (name, weight, pattern) of the hook cues, searched in the lower-cased sentence.
HOOKS: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    ("question", 0.4, re.compile(r"\?[\"'”)]*\s*$")),
    ("how to / why / the secret / never", 0.35,
     re.compile(r"\b(how to|why|the secret|secrets?|never|nobody|stop|mistakes?|what if|here's how)\b")),
    ("a number", 0.25, re.compile(r"\b(\d+([.,]\d+)?%?|one|two|three|four|five|six|seven|eight|nine|ten|"
                                  r"hundred|thousand|million|billion|first|second|third)\b")),
    ("speaks to you", 0.15, re.compile(r"\b(you|your|you're|yourself)\b")),
)
_FILLERS = {"so", "well", "um", "uh", "er", "like", "okay", "ok", "and", "but", "now", "right", "yeah"}
_SMALL = {"a", "an", "the", "of", "to", "in", "on", "at", "and", "or", "for", "by", "with", "vs"}
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each even
ever every few for from further get gets got had hadn't has hasn't have haven't having he he'd he'll he's her here
here's hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself just know let
let's like lot make many me might more most much must mustn't my myself no nor not now of off often on once one
only or other ought our ours ourselves out over own really right said same say says see she she'd she'll she's
should shouldn't so some something still such take than that that's the their theirs them themselves then there
there's these they they'd they'll they're they've thing things think this those though through to too um uh under
until up us very want was wasn't way we we'd we'll we're we've well were weren't what what's when when's where
where's which while who who's whom why why's will with won't would wouldn't yeah yes yet you you'd you'll you're
you've your yours yourself yourselves okay ok going gonna got kind sort actually basically maybe also quite
never always went back come came go goes gone told put give gave done
""".split())


def as_words(words: Iterable[Any]) -> list[TranscriptWord]:
    """The words as ``TranscriptWord``s sorted by time, empty ones dropped; bad times raise ``InvalidInput``."""
    out: list[TranscriptWord] = []
    for k, w in enumerate(words or []):
        if isinstance(w, TranscriptWord):
            word = w
        else:
            get = w.get if isinstance(w, dict) else (lambda key, default=None, w=w: getattr(w, key, default))
            text = get("text", None) or get("word", "")
            try:
                word = TranscriptWord(float(get("start")), float(get("end")), str(text).strip())
            except (TypeError, ValueError):
                raise InvalidInput(f"Word {k + 1} needs numeric 'start' and 'end' seconds and a 'text'.") from None
        if not (math.isfinite(word.start) and math.isfinite(word.end) and 0 <= word.start <= word.end):
            raise InvalidInput(f"Word {k + 1} ({word.text!r}) has bad times: {word.start}–{word.end} s.")
        if word.text.strip():
            out.append(word)
    return sorted(out, key=lambda w: (w.start, w.end))


def hook_cues(sentence: str) -> list[str]:
    """The names of the hook cues found in ``sentence`` (see ``HOOKS``)."""
    text = sentence.lower().replace("’", "'")
    return [name for name, _, pattern in HOOKS if pattern.search(text)]


def hook_score(cues: Sequence[str]) -> float:
    """0..1: the sum of the weights of ``cues``, capped at 1."""
    weights = {name: weight for name, weight, _ in HOOKS}
    return min(1.0, sum(weights[c] for c in cues))


def content_words(texts: Iterable[str]) -> list[str]:
    """Normalised words that carry meaning: 3+ letters, not a stopword, not a bare number."""
    out = []
    for text in texts:
        token = norm_token(text)
        if len(token) >= 3 and token not in STOPWORDS and not token.replace("'", "").isdigit():
            out.append(token)
    return out


def title_case(words: Sequence[str]) -> str:
    """Each word capitalised, small words ("of", "the") kept low except the first; inner case kept ("iPhone")."""
    out = []
    for k, word in enumerate(words):
        low = word.lower()
        if k and low in _SMALL:
            out.append(low)
        elif word[:1].islower():
            out.append(word[:1].upper() + word[1:])
        else:
            out.append(word)
    return " ".join(out)


def make_title(segment: Sequence[str], first_sentence: Sequence[str], whole: Counter[str], hook: float) -> str:
    """A title of at most ``TITLE_WORDS`` words for a segment (see the module notes).

    ``segment``/``first_sentence`` are the word texts, ``whole`` the content-word counts of the whole transcript,
    ``hook`` the first sentence's ``hook_score``."""
    # 1. A short hook sentence is the best title
    spoken = [w for w in first_sentence if norm_token(w)]
    while spoken and norm_token(spoken[0]) in _FILLERS:
        spoken = spoken[1:]
    if hook >= 0.35 and 0 < len(spoken) <= TITLE_WORDS:
        words = [w.rstrip(",;:.!…") for w in spoken]
        return title_case(words).rstrip(" -—")
    # 2. Else keywords: frequent here, rarer in the whole transcript; those of a long hook sentence when it has
    #    some (the hook shortened to what it is about), else those of the whole segment
    mine = content_words(segment)
    hooked = content_words(first_sentence) if hook >= 0.35 else []
    pool = hooked if len(hooked) >= 2 else mine
    if pool:
        counts = Counter(mine)
        # count × lift, lift = (c / len(segment)) / (whole[w] / whole_total); the constant factor is left out
        scores = {w: counts[w] * counts[w] / max(1, whole.get(w, counts[w])) for w in set(pool)}
        best = sorted(scores, key=lambda w: (-scores[w], pool.index(w)))[:KEYWORDS]
        return title_case(sorted(best, key=pool.index))
    # 3. Nothing meaningful: the first words
    plain = [norm_token(w) for w in segment if norm_token(w)][:TITLE_WORDS]
    return title_case(plain) or "Short"
