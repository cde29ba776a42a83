"""A voice for every character: distinct, and stable from one run to the next.

    voices = assign_voices(["ANNA", "BEN", "NARRATOR"], narrator="NARRATOR")
    requests = lines_for_voice_over([("ANNA", "Where were you?"), ("BEN", "Out.")], voices)

Each character's preferred voice comes from a hash of its name (SHA-1 of the case-folded name, not Python's
salted ``hash``), so the same name gets the same voice in every run and on every machine; when two names want
the same voice, the one that sorts later takes the next free one, so the result does not depend on the order of
the list. With more characters than voices, voices are shared again (round the list) rather than failing.
"""
from __future__ import annotations

import hashlib

from ..errors import InvalidInput
from .types import SpeechRequest

#: eSpeak voices for characters: two accents × eSpeak's five female and seven male variants (interleaved so
#: neighbouring hashes differ in accent and gender).
LITE_VOICES: tuple[str, ...] = tuple(
    f"{accent}+{variant}"
    for variant in ("m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "m7")
    for accent in ("en-us", "en-gb")
)
LITE_NARRATOR = "en-us"
#: Bark's English speaker presets.
NEURAL_VOICES: tuple[str, ...] = tuple(f"v2/en_speaker_{i}" for i in range(10))
NEURAL_NARRATOR = "v2/en_speaker_6"
_BACKENDS = {"lite": (LITE_VOICES, LITE_NARRATOR), "neural": (NEURAL_VOICES, NEURAL_NARRATOR)}


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _slot(name: str, count: int) -> int:
    return int.from_bytes(hashlib.sha1(_key(name).encode("utf-8")).digest()[:8], "big") % count


def assign_voices(characters: list[str], *, backend: str = "lite", narrator: str | None = None) -> dict[str, str]:
    """``{character: voice}``: lite voices are eSpeak ids ("en-gb+f2"), neural ones Bark presets
    ("v2/en_speaker_3"). ``narrator`` (a name, listed or not) gets the backend's plain narrator voice, which no
    one else gets. Names differing only in case or spacing are the same character and share a voice."""
    if backend not in _BACKENDS:
        raise InvalidInput(f"No voices for a '{backend}' speech backend; choose one of: {', '.join(_BACKENDS)}.")
    pool, narrator_voice = _BACKENDS[backend]
    names = list(characters) + ([narrator] if narrator is not None else [])
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("Every character needs a name.")

    chosen: dict[str, str] = {}  # by key
    if narrator is not None:
        chosen[_key(narrator)] = narrator_voice
    free = [v for v in pool if v != narrator_voice] if narrator is not None else list(pool)
    used: set[str] = set(chosen.values())
    for key in sorted({_key(n) for n in names} - set(chosen)):
        start = _slot(key, len(free))
        order = free[start:] + free[:start]
        voice = next((v for v in order if v not in used), None)
        if voice is None:  # more characters than voices: share, still by the name's hash
            voice = order[0]
        chosen[key] = voice
        used.add(voice)
    return {name: chosen[_key(name)] for name in names}


def lines_for_voice_over(dialogue: list[tuple[str, str]], voices: dict[str, str], *, rate_wpm: int = 165,
                         pitch: int = 50, seed: int = 0, sample_rate: int = 24_000) -> list[SpeechRequest]:
    """One ``SpeechRequest`` per spoken line, in order (empty lines are skipped). A Bark preset in ``voices``
    ("v2/...") becomes the request's ``preset``; anything else its eSpeak ``voice``."""
    by_key = {_key(name): voice for name, voice in voices.items()}
    requests = []
    for character, text in dialogue:
        if not isinstance(text, str) or not text.strip():
            continue
        voice = by_key.get(_key(character)) if isinstance(character, str) else None
        if voice is None:
            raise InvalidInput(f"No voice for '{character}'; give every speaking character one "
                               "(assign_voices does).")
        if voice.startswith("v2/") or "_speaker_" in voice:
            requests.append(SpeechRequest(text=text.strip(), preset=voice, rate_wpm=rate_wpm, pitch=pitch,
                                          seed=seed, sample_rate=sample_rate))
        else:
            requests.append(SpeechRequest(text=text.strip(), voice=voice, rate_wpm=rate_wpm, pitch=pitch,
                                          seed=seed, sample_rate=sample_rate))
    return requests
