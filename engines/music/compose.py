"""The score of a lite bed: style from the words, key/mode/tempo, progression, voicings, bass, drums and melody.

Everything here is plain data and numpy random choices (no audio); ``engines.music.synth`` turns the notes into
sound. A score is a list of ``Note`` events placed on a 16-step-per-bar grid, grouped by bar, plus a ``Plan``
with the choices made (what ``MusicResult.parameters`` reports).

The composition follows common song-writing practice:

* words → a style (pop, warm, tense, sad, chill, jazz, energetic, funk, ambient) with its tempo range,
  instruments, drum kit and bass pattern; mood words pick major (hopeful, happy, warm) or minor (tense, sad,
  dark) and instrument words ("strings", "piano", "bells", "no drums") override the style's choices;
* harmony: a progression from a table of common ones per mode (I–V–vi–IV, i–VI–III–VII, ii–V–I, I–♭VII–IV
  ...), an A and a B progression arranged in 8-bar sections (AABA), pad chords voice-led (each chord is the
  voicing nearest the previous one);
* bass: root/fifth/octave patterns per style (walking bass with chromatic approach notes for jazz);
* drums: kick/snare/hat patterns per style, a fill at the end of each section and a crash at its start;
* melody: 4-bar phrases in call & response (antecedent/consequent): a constrained random walk on the scale
  that lands on chord tones on strong beats; the response restates the call's opening, adapted to its chords,
  and cadences on the tonic (or the nearest chord tone) where the call ended open.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .types import FLAT_NAMES, MAX_TEMPO, MIN_TEMPO, SHARP_NAMES, key_name, parse_key, prefers_flats

STEPS_PER_BAR = 16
BEATS_PER_BAR = 4

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}

#: Common progressions per mode, as 0-based scale degrees (one chord per harmonic slot).
PROGRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 5, 4), (0, 3, 0, 4), (3, 0, 4, 5), (0, 2, 3, 4)),
    "minor": ((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (0, 3, 0, 4), (0, 5, 6, 0), (5, 6, 0, 0)),
    "dorian": ((0, 3, 0, 3), (0, 3, 0, 6), (0, 1, 3, 0), (0, 6, 3, 0)),
    "mixolydian": ((0, 6, 3, 0), (0, 6, 0, 3), (0, 4, 6, 3), (0, 3, 6, 0)),
}
#: Jazz turnarounds (major or dorian): ii–V–I–I, ii–V–I–vi, I–vi–ii–V, iii–vi–ii–V.
JAZZ_PROGRESSIONS: tuple[tuple[int, ...], ...] = ((1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4))

MAJOR_WORDS = {"hopeful", "happy", "warm", "bright", "joyful", "joy", "uplifting", "cheerful", "optimistic",
               "sunny", "positive", "playful", "fun", "triumphant", "inspiring", "inspirational", "light",
               "love", "romantic", "celebration", "summer", "major"}
MINOR_WORDS = {"tense", "sad", "dark", "melancholy", "melancholic", "ominous", "sinister", "somber", "sombre",
               "gloomy", "suspense", "suspenseful", "tension", "horror", "scary", "grief", "tragic", "lonely",
               "mysterious", "mystery", "anxious", "eerie", "minor", "serious"}


@dataclass(frozen=True)
class Style:
    name: str
    words: frozenset[str]
    modes: tuple[str, ...]
    tempo: tuple[int, int]
    pad: str  # saw | strings | organ | keys
    lead: str  # pluck | bell | keys | square | flute
    bass: str  # pluck | sub | synth
    bass_pattern: str
    drums: str | None  # kit pattern name
    swing: float = 0.0  # delay of off-beat 8ths as a fraction of an 8th
    chord_bars: int = 1
    sevenths: bool = False
    melody_density: str = "medium"  # low | medium | high
    reverb_s: float = 1.6
    pad_cutoff: float = 2800.0


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


STYLES: dict[str, Style] = {s.name: s for s in (
    Style("pop", _w("hopeful happy uplifting bright upbeat joyful joy sunny fun positive cheerful optimistic "
                    "summer inspiring inspirational corporate motivational pop playful celebration vlog travel"),
          ("major", "major", "mixolydian"), (100, 124), "saw", "pluck", "pluck", "pop", "pop",
          melody_density="medium", reverb_s=1.4, pad_cutoff=3200.0),
    Style("warm", _w("warm cozy gentle tender nostalgic heartfelt acoustic folk love romantic family home sweet "
                     "wholesome soft"),
          ("major",), (80, 100), "keys", "pluck", "sub", "ballad", "soft", sevenths=True,
          melody_density="medium", reverb_s=1.8, pad_cutoff=2400.0),
    Style("tense", _w("tense tension suspense suspenseful thriller ominous sinister dark danger dangerous "
                      "anxious horror scary crime investigation mystery mysterious eerie creepy chase urgent"),
          ("minor", "minor", "dorian"), (88, 112), "strings", "bell", "synth", "pulse", "cinematic",
          chord_bars=2, melody_density="low", reverb_s=2.4, pad_cutoff=2000.0),
    Style("sad", _w("sad melancholy melancholic somber sombre grief emotional lonely reflective sorrow "
                    "tragic rain heartbreak loss memories gloomy"),
          ("minor",), (66, 84), "strings", "keys", "sub", "ballad", "ballad",
          melody_density="low", reverb_s=2.6, pad_cutoff=1800.0),
    Style("chill", _w("chill lofi lo-fi relaxed relaxing study mellow laid-back laidback smooth coffee cafe "
                      "chillhop hiphop hip-hop cool easy"),
          ("dorian", "minor", "major"), (72, 90), "keys", "keys", "sub", "lofi", "lofi", swing=0.18,
          sevenths=True, melody_density="low", reverb_s=1.5, pad_cutoff=2200.0),
    Style("jazz", _w("jazz jazzy swing lounge bossa sophisticated elegant bar club noir"),
          ("major", "dorian"), (96, 140), "keys", "keys", "pluck", "walk", "jazz", swing=0.3,
          sevenths=True, melody_density="medium", reverb_s=1.4, pad_cutoff=2600.0),
    Style("energetic", _w("energetic epic action driving powerful rock sport sports workout intense "
                          "aggressive hype adrenaline race racing heroic trailer battle fast edm electronic"),
          ("minor", "minor", "mixolydian"), (122, 148), "saw", "square", "synth", "drive", "drive",
          melody_density="high", reverb_s=1.2, pad_cutoff=4200.0),
    Style("funk", _w("funky funk groovy groove disco dance retro 80s synthwave"),
          ("mixolydian", "dorian"), (100, 118), "organ", "square", "synth", "funk", "funk", sevenths=True,
          melody_density="high", reverb_s=1.1, pad_cutoff=3000.0),
    Style("ambient", _w("ambient dreamy dream meditation meditative calm peaceful serene floating space "
                        "ethereal atmospheric spa nature sleep drone slow-motion underwater"),
          ("major", "mixolydian", "dorian"), (60, 80), "strings", "bell", "sub", "long", None, chord_bars=2,
          melody_density="low", reverb_s=3.2, pad_cutoff=1600.0),
)}
#: Styles drawn (by seed) when no word matches.
DEFAULT_STYLES = ("pop", "warm", "chill", "ambient", "tense")

_PAD_WORDS = {"strings": "strings", "string": "strings", "orchestral": "strings", "orchestra": "strings",
              "violin": "strings", "violins": "strings", "cello": "strings", "cinematic": "strings",
              "organ": "organ", "synth": "saw", "synths": "saw", "synthwave": "saw", "pad": "saw", "pads": "saw",
              "piano": "keys", "keys": "keys", "rhodes": "keys", "electric-piano": "keys"}
_LEAD_WORDS = {"piano": "keys", "keys": "keys", "rhodes": "keys", "bell": "bell", "bells": "bell",
               "glockenspiel": "bell", "celesta": "bell", "chime": "bell", "chimes": "bell", "musicbox": "bell",
               "guitar": "pluck", "pluck": "pluck", "plucks": "pluck", "harp": "pluck", "marimba": "pluck",
               "flute": "flute", "whistle": "flute", "woodwind": "flute", "chiptune": "square",
               "8-bit": "square", "8bit": "square", "lead": "square"}
_BASS_WORDS = {"808": "sub", "sub": "sub", "subbass": "sub", "bassline": "synth", "synthbass": "synth"}
_NO_DRUMS = re.compile(r"\b(no|without|zero)\s+(drums?|percussion|beats?)\b|\bdrumless\b|\bbeatless\b")
_DRUM_WORDS = {"drums", "drum", "beat", "beats", "percussion", "groove", "rhythmic"}
_BPM_RE = re.compile(r"\b(\d{2,3})\s*bpm\b")
_KEY_IN_TEXT = re.compile(r"\b(?:in|key of)\s+([A-G][#b♯♭]?)(?:\s*(major|minor|maj|min|dorian|mixolydian)\b|"
                          r"(m)\b)|\bkey of\s+([A-G][#b♯♭]?)\b")


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chord:
    degree: int
    pcs: tuple[int, ...]  # pitch classes, root first
    numeral: str
    name: str


@dataclass(frozen=True)
class Note:
    """One event. ``step`` is in 16ths from the start of ``bar`` (fractional with swing); ``dur`` in 16ths."""

    bar: int
    step: float
    dur: float
    part: str  # pad | bass | lead | kick | snare | hat | open_hat | crash | ride
    pitch: int  # MIDI note number (0 for drums)
    vel: float
    pan: float = 0.0  # -1 left .. 1 right


@dataclass
class Plan:
    style: Style
    tonic: int
    mode: str
    tempo_bpm: float
    requested_tempo_bpm: float
    n_bars: int
    loop: bool
    progressions: dict[str, tuple[int, ...]]
    chords: dict[str, list[Chord]]
    sections: list[str]
    instruments: dict[str, Any]
    matched_words: list[str]
    reference: dict[str, Any] | None = None
    chord_bars: int = 1
    bar_chords: list[Chord] = field(default_factory=list)

    @property
    def scale(self) -> tuple[int, ...]:
        return tuple((self.tonic + i) % 12 for i in SCALES[self.mode])

    def parameters(self) -> dict[str, Any]:
        flats = prefers_flats(self.tonic, self.mode)
        return {
            "style": self.style.name,
            "key": key_name(self.tonic, self.mode, flats),
            "tonic": (FLAT_NAMES if flats else SHARP_NAMES)[self.tonic],
            "mode": self.mode,
            "scale": [(FLAT_NAMES if flats else SHARP_NAMES)[pc] for pc in self.scale],
            "tempo_bpm": round(self.tempo_bpm, 3),
            "requested_tempo_bpm": round(self.requested_tempo_bpm, 3),
            "time_signature": f"{BEATS_PER_BAR}/4",
            "bars": self.n_bars,
            "bars_per_chord": self.chord_bars,
            "sections": "".join(self.sections),
            "progression": "–".join(c.numeral for c in self.chords["A"]),
            "progression_chords": [c.name for c in self.chords["A"]],
            "instruments": dict(self.instruments),
            "swing": self.style.swing,
            "loop": self.loop,
            "matched_words": list(self.matched_words),
            **({"progression_b": "–".join(c.numeral for c in self.chords["B"]),
                "progression_b_chords": [c.name for c in self.chords["B"]]} if "B" in self.sections else {}),
            **({"reference": self.reference} if self.reference else {}),
        }


# --------------------------------------------------------------------------------------------------------------
# Choices from the words
# --------------------------------------------------------------------------------------------------------------
def words_of(*texts: str | None) -> list[str]:
    joined = " ".join(t for t in texts if t).lower().replace("music box", "musicbox")
    return re.findall(r"[a-z0-9][a-z0-9\-]*", joined)


def choose_style(rng: np.random.Generator, prompt: str, mood: str | None) -> tuple[Style, list[str]]:
    """The style whose words the mood (counted twice) and the prompt mention most; a seeded pick if none."""
    prompt_words, mood_words = words_of(prompt), words_of(mood)
    scores: dict[str, float] = {}
    matched: list[str] = []
    for style in STYLES.values():
        hits = [w for w in prompt_words if w in style.words] + [w for w in mood_words if w in style.words] * 2
        if hits:
            scores[style.name] = len(hits)
            matched.extend(w for w in dict.fromkeys(hits) if w not in matched)
    if not scores:
        return STYLES[DEFAULT_STYLES[int(rng.integers(len(DEFAULT_STYLES)))]], []
    best = max(scores.values())
    names = sorted(n for n, s in scores.items() if s == best)  # ties broken by the seed, deterministically
    return STYLES[names[int(rng.integers(len(names)))]], matched


def key_from_text(text: str) -> str | None:
    """"... in A minor", "key of F#" → the key; ``None`` when the text names none."""
    m = _KEY_IN_TEXT.search(text or "")
    if not m:
        return None
    if m.group(4):
        return m.group(4)
    return m.group(1) + ("m" if m.group(3) else (" " + m.group(2) if m.group(2) else ""))


def choose_mode(rng: np.random.Generator, style: Style, words: Sequence[str]) -> str:
    major = sum(w in MAJOR_WORDS for w in words)
    minor = sum(w in MINOR_WORDS for w in words)
    if major > minor:
        options = [m for m in style.modes if m in ("major", "mixolydian")] or ["major"]
    elif minor > major:
        options = [m for m in style.modes if m in ("minor", "dorian")] or ["minor"]
    else:
        options = list(style.modes)
    return options[int(rng.integers(len(options)))]


def choose_tempo(rng: np.random.Generator, style: Style, words: Sequence[str], text: str) -> float:
    m = _BPM_RE.search(text.lower())
    if m and MIN_TEMPO <= int(m.group(1)) <= MAX_TEMPO:
        return float(m.group(1))
    lo, hi = style.tempo
    factor = 1.0
    if any(w in ("slow", "slower", "relaxed", "lazy") for w in words) and style.name != "ambient":
        factor = 0.85
    if any(w in ("fast", "faster", "quick", "rapid", "frantic") for w in words):
        factor = 1.15
    return float(np.clip(round(float(rng.integers(lo, hi + 1)) * factor), MIN_TEMPO, MAX_TEMPO))


def choose_instruments(rng: np.random.Generator, style: Style, prompt: str, mood: str | None) -> dict[str, Any]:
    words = words_of(prompt, mood)
    text = " ".join(words)
    pad, lead, bass, drums = style.pad, style.lead, style.bass, style.drums
    pad_words = [w for w in words if w in _PAD_WORDS]
    lead_words = [w for w in words if w in _LEAD_WORDS]
    if pad_words:
        pad = _PAD_WORDS[pad_words[0]]
    if lead_words:
        lead = _LEAD_WORDS[lead_words[0]]
        if lead == "keys" and pad == "keys" and not pad_words:
            pad = "strings" if style.name in ("sad", "tense", "ambient") else "saw"
    for w in words:
        if w in _BASS_WORDS:
            bass = _BASS_WORDS[w]
            break
    if _NO_DRUMS.search(text):
        drums = None
    elif drums is None and any(w in _DRUM_WORDS for w in words):
        drums = "soft"
    elif style.name == "sad" and not any(w in _DRUM_WORDS for w in words) and rng.random() < 0.4:
        drums = None  # some sad beds are better without a beat
    return {"pad": pad, "lead": lead, "bass": bass, "drums": drums}


def fit_bars(duration_s: float, tempo: float, loop: bool) -> tuple[int, float]:
    """Number of 4/4 bars and the tempo actually played.

    A loop must be a whole number of bars *and* exactly ``duration_s`` long, so its tempo is nudged (at most
    about ±15 % for beds over ~10 s, usually a few per cent; short loops may move further, slightly past
    the 40-220 BPM request range if need be) to fit; counts that are a multiple of 4 (and 8) bars are preferred so
    the progression turns around at the seam. A bed that does not loop keeps the tempo and ends on a held
    tonic chord in its last bar.
    """
    bar_s = BEATS_PER_BAR * 60.0 / tempo
    if not loop:
        return max(1, int(math.floor(duration_s / bar_s + 1e-9))), tempo
    best: tuple[float, int] | None = None
    upper = max(1, int(math.ceil(duration_s / bar_s * 1.2)) + 1)
    for n in range(1, upper + 1):
        t = n * BEATS_PER_BAR * 60.0 / duration_s
        if not MIN_TEMPO * 0.85 <= t <= MAX_TEMPO * 1.1:  # a little past the request limits to fit a loop
            continue
        dev = abs(math.log(t / tempo))
        cost = dev + (0.0 if n % 4 == 0 or n < 3 else 0.05) + (0.015 if n >= 8 and n % 8 else 0.0)
        if dev > math.log(1.16):
            cost += 1.0  # only when nothing else fits
        if best is None or cost < best[0] - 1e-12:
            best = (cost, n)
    if best is None:  # a loop shorter than one bar at the fastest tempo (under 1 s): one quick bar
        return 1, BEATS_PER_BAR * 60.0 / duration_s
    n = best[1]
    return n, n * BEATS_PER_BAR * 60.0 / duration_s


# --------------------------------------------------------------------------------------------------------------
# Harmony
# --------------------------------------------------------------------------------------------------------------
_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")


def build_chord(tonic: int, mode: str, degree: int, seventh: bool = False) -> Chord:
    scale = SCALES[mode]
    count = 4 if seventh else 3
    pcs = tuple((tonic + scale[(degree + 2 * k) % 7]) % 12 for k in range(count))
    third, fifth = (pcs[1] - pcs[0]) % 12, (pcs[2] - pcs[0]) % 12
    quality = {(4, 7): "maj", (3, 7): "min", (3, 6): "dim", (4, 8): "aug"}.get((third, fifth), "maj")
    numeral = _NUMERALS[degree % 7]
    numeral = numeral if quality in ("maj", "aug") else numeral.lower()
    numeral += {"dim": "°", "aug": "+"}.get(quality, "")
    root = (FLAT_NAMES if prefers_flats(tonic, mode) else SHARP_NAMES)[pcs[0]]
    suffix = {"maj": "", "min": "m", "dim": "dim", "aug": "aug"}[quality]
    if seventh:
        sev = (pcs[3] - pcs[0]) % 12
        suffix = {("maj", 11): "maj7", ("maj", 10): "7", ("min", 10): "m7", ("min", 11): "m(maj7)",
                  ("dim", 10): "m7b5", ("dim", 9): "dim7"}.get((quality, sev), suffix + "7")
        numeral += {"maj7": "maj7", "m(maj7)": "maj7", "m7b5": "ø7"}.get(suffix, "7")
        if suffix == "m7b5":
            numeral = numeral.replace("°", "")
    return Chord(degree, pcs, numeral, root + suffix)


def choose_progressions(rng: np.random.Generator, style: Style, mode: str) -> tuple[tuple[int, ...], ...]:
    table = list(PROGRESSIONS[mode])
    if style.name == "jazz" and mode in ("major", "dorian"):
        table = list(JAZZ_PROGRESSIONS) if mode == "major" else [(0, 3, 0, 3), (0, 1, 3, 0), (1, 4, 0, 0)]
    a = table[int(rng.integers(len(table)))]
    others = [p for p in table if p != a] or table
    b = others[int(rng.integers(len(others)))]
    return a, b


def section_labels(n_sections: int) -> list[str]:
    if n_sections <= 1:
        return ["A"]
    if n_sections == 2:
        return ["A", "B"]
    if n_sections == 3:
        return ["A", "A", "B"]
    return [("A", "A", "B", "A")[i % 4] for i in range(n_sections)]


def voice_chord(pcs: Sequence[int], previous: Sequence[int] | None, lo: int = 52, hi: int = 76,
                centre: float = 63.0) -> tuple[int, ...]:
    """The voicing (one note per pitch class, within ``lo..hi``) closest to ``previous``: smooth voice leading.

    Cost: total distance from each new note to the nearest previous note and back, plus a small pull towards
    ``centre`` and penalties for voicings wider than an octave and a half or with semitone clusters.
    """
    options = [[m for m in range(lo, hi + 1) if m % 12 == pc] for pc in pcs]
    best: tuple[float, tuple[int, ...]] | None = None
    for combo in _product(options):
        notes = tuple(sorted(combo))
        span = notes[-1] - notes[0]
        if span > 19:
            continue
        gaps = [b - a for a, b in zip(notes, notes[1:])]
        cost = 0.15 * abs(sum(notes) / len(notes) - centre) + 0.6 * max(0, span - 14)
        cost += sum(2.0 for g in gaps if g < 2) + sum(0.3 for g in gaps if g == 2)
        if previous:
            cost += sum(min(abs(n - p) for p in previous) for n in notes)
            cost += sum(min(abs(p - n) for n in notes) for p in previous)
        if best is None or cost < best[0] - 1e-9:
            best = (cost, notes)
    assert best is not None
    return best[1]


def _product(options: list[list[int]]):
    if not options:
        yield ()
        return
    for first in options[0]:
        for rest in _product(options[1:]):
            yield (first,) + rest


# --------------------------------------------------------------------------------------------------------------
# Patterns (16 steps per bar)
# --------------------------------------------------------------------------------------------------------------
#: Drum kits: part → {step: velocity}.
DRUM_PATTERNS: dict[str, dict[str, dict[int, float]]] = {
    "pop": {"kick": {0: 1.0, 8: 0.9, 10: 0.55}, "snare": {4: 1.0, 12: 1.0},
            "hat": {s: (0.7 if s % 4 == 0 else 0.45) for s in range(0, 16, 2)}},
    "soft": {"kick": {0: 0.8, 8: 0.6}, "snare": {4: 0.55, 12: 0.6},
             "hat": {s: (0.5 if s % 4 == 0 else 0.3) for s in range(0, 16, 2)}},
    "drive": {"kick": {0: 1.0, 4: 0.95, 8: 1.0, 12: 0.95}, "snare": {4: 1.0, 12: 1.0},
              "hat": {s: (0.6 if s % 2 == 0 else 0.3) for s in range(16)}, "open_hat": {2: 0.5, 6: 0.5,
                                                                                    10: 0.5, 14: 0.5}},
    "ballad": {"kick": {0: 0.9, 10: 0.5}, "snare": {8: 0.7},
               "hat": {s: (0.45 if s % 4 == 0 else 0.25) for s in range(0, 16, 2)}},
    "lofi": {"kick": {0: 1.0, 7: 0.55, 10: 0.8}, "snare": {4: 0.9, 12: 0.9},
             "hat": {s: (0.5 if s % 4 == 0 else 0.35) for s in range(0, 16, 2)}},
    "funk": {"kick": {0: 1.0, 3: 0.6, 10: 0.85}, "snare": {4: 1.0, 7: 0.25, 9: 0.2, 12: 1.0, 15: 0.25},
             "hat": {s: (0.55 if s % 2 == 0 else 0.3) for s in range(16)}},
    "jazz": {"ride": {0: 0.75, 4: 0.85, 6: 0.5, 8: 0.75, 12: 0.85, 14: 0.5}, "kick": {0: 0.45, 8: 0.3},
             "hat": {4: 0.45, 12: 0.45}, "snare": {14: 0.18, 11: 0.12}},
    "cinematic": {"kick": {0: 1.0, 6: 0.55, 8: 0.8}, "snare": {12: 0.55},
                  "hat": {s: (0.35 if s % 4 == 0 else 0.2) for s in range(16)}},
}

#: Bass patterns: (step, dur in steps, which): r root, f fifth, o octave, t third, w walking.
BASS_PATTERNS: dict[str, tuple[tuple[int, float, str], ...]] = {
    "pop": ((0, 5, "r"), (6, 2, "r"), (8, 5, "r"), (14, 2, "f")),
    "drive": tuple((s, 1.6, "o" if s in (6, 14) else "r") for s in range(0, 16, 2)),
    "ballad": ((0, 7.5, "r"), (8, 7.5, "f")),
    "long": ((0, 16, "r"),),
    "lofi": ((0, 5, "r"), (6, 3, "f"), (10, 2, "o"), (12, 3, "r")),
    "funk": ((0, 2.5, "r"), (3, 1, "o"), (6, 1.5, "r"), (8, 1.5, "f"), (10, 1.5, "r"), (11, 1, "o"),
             (14, 1.5, "t")),
    "pulse": tuple((s, 1.2, "r") for s in range(0, 16, 2)),
    "walk": ((0, 3.6, "w"), (4, 3.6, "w"), (8, 3.6, "w"), (12, 3.6, "w")),
}

#: Melody rhythms for one bar: (step, dur) pairs, by density.
RHYTHMS: dict[str, tuple[tuple[tuple[int, int], ...], ...]] = {
    "low": (((0, 8), (8, 8)), ((0, 12), (12, 4)), ((0, 16),), ((4, 4), (8, 8)), ((0, 6), (6, 2), (8, 8)),
            ((2, 6), (8, 8))),
    "medium": (((0, 4), (4, 4), (8, 8)), ((0, 6), (6, 2), (8, 4), (12, 4)), ((0, 4), (6, 2), (8, 4), (12, 4)),
               ((2, 2), (4, 4), (8, 6), (14, 2)), ((0, 8), (8, 4), (12, 4)), ((0, 3), (3, 3), (6, 2), (8, 8))),
    "high": (((0, 2), (2, 2), (4, 4), (8, 2), (10, 2), (12, 4)), ((0, 3), (3, 3), (6, 2), (8, 4), (12, 2),
                                                                  (14, 2)),
             ((0, 2), (2, 2), (4, 2), (6, 2), (8, 4), (12, 4)), ((0, 4), (4, 2), (6, 2), (8, 2), (10, 2),
                                                                 (12, 4)),
             ((0, 6), (6, 2), (8, 2), (10, 2), (12, 2), (14, 2))),
}
CADENCE_RHYTHMS = (((0, 4), (4, 12)), ((0, 12),), ((0, 6), (6, 2), (8, 8)), ((0, 16),))
STRONG_STEPS = (0, 8)
MEDIUM_STEPS = (4, 12)


# --------------------------------------------------------------------------------------------------------------
# The score
# --------------------------------------------------------------------------------------------------------------
def make_plan(rng: np.random.Generator, *, prompt: str, mood: str | None, key: str | None, tempo_bpm: float | None,
              duration_s: float, loop: bool, reference: dict[str, Any] | None = None) -> Plan:
    style, matched = choose_style(rng, prompt, mood)
    words = words_of(prompt, mood)
    key = key or key_from_text(prompt)
    if key is None and reference and reference.get("key"):
        key = reference["key"]
    if key is not None:
        tonic, mode = parse_key(key)
    else:
        mode = choose_mode(rng, style, words)
        tonic = int(rng.integers(12))
    if tempo_bpm is None and reference and reference.get("tempo_bpm"):
        tempo_bpm = float(reference["tempo_bpm"])
    requested = float(tempo_bpm) if tempo_bpm is not None else choose_tempo(rng, style, words, prompt)
    n_bars, tempo = fit_bars(duration_s, requested, loop)
    instruments = choose_instruments(rng, style, prompt, mood)
    prog_a, prog_b = choose_progressions(rng, style, mode)
    sevenths = style.sevenths
    chords = {label: [build_chord(tonic, mode, d, sevenths) for d in prog]
              for label, prog in (("A", prog_a), ("B", prog_b))}
    chord_bars = style.chord_bars if n_bars >= 4 * style.chord_bars and n_bars % style.chord_bars == 0 else 1
    section_bars = 8 * chord_bars
    sections = section_labels(max(1, n_bars // section_bars))  # a remainder belongs to the last section
    plan = Plan(style=style, tonic=tonic, mode=mode, tempo_bpm=tempo, requested_tempo_bpm=requested,
                n_bars=n_bars, loop=loop, progressions={"A": prog_a, "B": prog_b}, chords=chords,
                sections=sections, instruments=instruments, matched_words=matched, reference=reference,
                chord_bars=chord_bars)
    slots = progression_slots(n_bars // chord_bars)
    plan.bar_chords = [chords[section_of(plan, b)][slots[b // chord_bars]] for b in range(n_bars)]
    return plan


def progression_slots(n_slots: int, length: int = 4) -> list[int]:
    """Which chord of a ``length``-chord progression plays in each of ``n_slots`` harmonic slots.

    Whole cycles where they fit; a remainder stretches the last cycle (its later chords are held longer, a
    phrase extension) so the piece still ends on the progression's last chord and turns around into its first,
    at the end of a bed and at a loop's seam. Fewer slots than chords keep the first and the last chord.
    """
    if n_slots <= 0:
        return []
    if n_slots < length:
        return [round(i * (length - 1) / max(1, n_slots - 1)) for i in range(n_slots)] if n_slots > 1 else [0]
    full, extra = divmod(n_slots, length)
    slots = [i % length for i in range((full - 1) * length)]
    # The last cycle holds its last ``extra`` chords for two slots: [0,1,2,3,3], [0,1,2,2,3,3] ...
    last = [i for i in range(length) for _ in range(2 if i >= length - extra else 1)]
    slots += last
    return slots


def section_of(plan: Plan, bar: int) -> str:
    return plan.sections[min(len(plan.sections) - 1, bar // (8 * plan.chord_bars))]


def compose(plan: Plan, rng_parts: dict[str, np.random.Generator]) -> list[list[Note]]:
    """Every note of the bed, grouped by bar."""
    bars: list[list[Note]] = [[] for _ in range(plan.n_bars)]
    for part in (_pad_notes(plan), _bass_notes(plan, rng_parts["bass"]), _drum_notes(plan, rng_parts["drums"]),
                 _melody_notes(plan, rng_parts["melody"])):
        for note in part:
            bars[note.bar].append(note)
    if not plan.loop:
        _write_ending(plan, bars)
    return bars


def _swing(step: float, swing: float) -> float:
    return step + swing * 2.0 if swing and int(step) % 4 == 2 and step == int(step) else step


def _pad_notes(plan: Plan) -> list[Note]:
    notes: list[Note] = []
    pad = plan.instruments["pad"]
    # Voice-lead around the loop twice so the first chord is voiced from the last one (the seam is smooth too).
    previous: tuple[int, ...] | None = None
    starts = [b for b in range(plan.n_bars) if b % plan.chord_bars == 0]
    voicings: dict[int, tuple[int, ...]] = {}
    for _ in range(2 if plan.loop else 1):
        for b in starts:
            previous = voice_chord(plan.bar_chords[b].pcs, previous)
            voicings[b] = previous
    for b in starts:
        length = min(plan.chord_bars, plan.n_bars - b) * STEPS_PER_BAR
        voicing = voicings[b]
        for i, pitch in enumerate(voicing):
            pan = (-0.45 + 0.9 * i / max(1, len(voicing) - 1)) if len(voicing) > 1 else 0.0
            if pad == "keys":
                # Comped: a chord on the downbeat and a softer one on beat 3 (each bar of the chord).
                for bb in range(b, min(b + plan.chord_bars, plan.n_bars)):
                    notes.append(Note(bb, 0.0, 7.5, "pad", pitch, 0.9, pan))
                    notes.append(Note(bb, 8.0, 7.5, "pad", pitch, 0.65, pan))
            else:
                notes.append(Note(b, 0.0, float(length), "pad", pitch, 0.85, pan))
    return notes


def _bass_pitch(pc: int) -> int:
    return 33 + (pc - 9) % 12  # A1 .. G#2


def _bass_notes(plan: Plan, rng: np.random.Generator) -> list[Note]:
    notes: list[Note] = []
    pattern = BASS_PATTERNS[plan.style.bass_pattern if plan.instruments["bass"] else "long"]
    scale = plan.scale
    for b in range(plan.n_bars):
        chord = plan.bar_chords[b]
        nxt = plan.bar_chords[(b + 1) % plan.n_bars]
        root = _bass_pitch(chord.pcs[0])
        last_bar_of_chord = (b + 1) % plan.chord_bars == 0 or b == plan.n_bars - 1
        for step, dur, which in pattern:
            if which == "r":
                pitch = root
            elif which == "f":
                pitch = root + 7 if root + 7 <= 50 else root - 5
            elif which == "o":
                pitch = root + 12
            elif which == "t":
                pitch = root + ((chord.pcs[1] - chord.pcs[0]) % 12)
            else:  # walking: root, chord tone, scale tone, chromatic approach to the next root
                beat = step // 4
                if beat == 0:
                    pitch = root
                elif beat == 3 and last_bar_of_chord:
                    target = _bass_pitch(nxt.pcs[0])
                    pitch = target + (1 if rng.random() < 0.5 else -1)
                else:
                    candidates = [root + ((pc - chord.pcs[0]) % 12) for pc in chord.pcs[1:]]
                    candidates += [root + ((pc - chord.pcs[0]) % 12) for pc in scale]
                    pitch = int(candidates[int(rng.integers(len(candidates)))])
            vel = (1.0 if step in (0, 8) else 0.8) * float(rng.uniform(0.9, 1.0))
            notes.append(Note(b, _swing(float(step), plan.style.swing), float(dur), "bass", int(pitch), vel))
    return notes


def _drum_notes(plan: Plan, rng: np.random.Generator) -> list[Note]:
    kit = plan.instruments["drums"]
    if not kit:
        return []
    pattern = DRUM_PATTERNS[kit]
    notes: list[Note] = []
    section_bars = 8 * plan.chord_bars
    pans = {"hat": 0.3, "open_hat": 0.3, "ride": -0.3, "crash": -0.2}
    for b in range(plan.n_bars):
        fill = (b % section_bars == section_bars - 1) and kit not in ("jazz", "ballad") and plan.n_bars >= 4
        for part, steps in pattern.items():
            for step, vel in steps.items():
                if fill and part == "snare" and step >= 12:
                    continue
                if fill and part in ("hat", "open_hat") and step >= 12:
                    continue
                jitter = float(rng.uniform(0.88, 1.0)) if part in ("hat", "ride", "open_hat") else 1.0
                notes.append(Note(b, _swing(float(step), plan.style.swing), 1.0, part, 0, vel * jitter,
                                  pans.get(part, 0.0)))
        if fill:
            for i, step in enumerate((12, 13, 14, 15)):
                notes.append(Note(b, float(step), 1.0, "snare", 0, 0.45 + 0.15 * i, 0.0))
        if b % section_bars == 0 and kit not in ("ballad", "soft") and plan.n_bars >= 4:
            notes.append(Note(b, 0.0, 16.0, "crash", 0, 0.55, pans["crash"]))
    return notes


def _scale_pitches(plan: Plan, lo: int, hi: int) -> list[int]:
    return [m for m in range(lo, hi + 1) if m % 12 in plan.scale]


def _nearest(pitches: Sequence[int], target: float) -> int:
    return min(pitches, key=lambda p: (abs(p - target), p))


def _melody_notes(plan: Plan, rng: np.random.Generator) -> list[Note]:
    """Call-and-response phrases, one 8-bar period per section label (A and B each composed once)."""
    lo, hi, centre = 62, 84, 72
    scale_pitches = _scale_pitches(plan, lo, hi)
    density = plan.style.melody_density
    periods: dict[str, list[list[tuple[int, int, int]]]] = {}  # label → 8 bars of (step, dur, pitch)
    notes: list[Note] = []
    section_bars = 8 * plan.chord_bars
    for b in range(plan.n_bars):
        label = section_of(plan, b)
        if label not in periods:
            start = (b // section_bars) * section_bars
            harmony = [plan.bar_chords[min(plan.n_bars - 1, start + i)] if start + i < plan.n_bars
                       else plan.bar_chords[(start + i) % plan.n_bars] for i in range(8)]
            periods[label] = _compose_period(rng, plan, harmony, scale_pitches, centre, density)
        period = periods[label]
        bar_in_period = (b % section_bars) % 8  # with 2-bar chords a section plays its period twice
        for step, dur, pitch in period[bar_in_period]:
            chord = plan.bar_chords[b]
            if step in STRONG_STEPS and pitch % 12 not in chord.pcs:  # the same period over other chords
                pitch = _nearest([p for p in scale_pitches if p % 12 in chord.pcs] or scale_pitches, pitch)
            accent = 1.0 if step in STRONG_STEPS else (0.85 if step in MEDIUM_STEPS else 0.72)
            notes.append(Note(b, _swing(float(step), plan.style.swing), float(dur), "lead", int(pitch),
                              accent * float(rng.uniform(0.9, 1.0)), 0.12))
    return notes


def _compose_period(rng: np.random.Generator, plan: Plan, harmony: list[Chord], scale_pitches: list[int],
                    centre: int, density: str) -> list[list[tuple[int, int, int]]]:
    pool = RHYTHMS[density]
    r1, r2 = pool[int(rng.integers(len(pool)))], pool[int(rng.integers(len(pool)))]
    cad_call = CADENCE_RHYTHMS[int(rng.integers(len(CADENCE_RHYTHMS)))]
    cad_resp = CADENCE_RHYTHMS[int(rng.integers(len(CADENCE_RHYTHMS)))]
    r3 = r1 if rng.random() < 0.7 else pool[int(rng.integers(len(pool)))]
    call_rhythm = [r1, r2, r3, cad_call]
    state = {"pitch": _nearest(scale_pitches, centre + float(rng.integers(-3, 4)))}

    def walk(step: int, chord: Chord) -> int:
        current = state["pitch"]
        idx = scale_pitches.index(_nearest(scale_pitches, current))
        chord_tones = [p for p in scale_pitches if p % 12 in chord.pcs]
        if step in STRONG_STEPS and chord_tones:
            near = sorted(chord_tones, key=lambda p: (abs(p - current), p))[:2]
            pitch = near[0] if rng.random() < 0.7 or len(near) < 2 else near[1]
        else:
            move = int(rng.choice([-2, -1, 0, 1, 2, -3, 3, -4, 4], p=[.14, .3, .08, .3, .1, .03, .03, .01, .01]))
            pull = (centre - current) / 12.0  # drift back towards the middle of the range
            if rng.random() < abs(pull):
                move = abs(move) if pull > 0 else -abs(move)
            pitch = scale_pitches[int(np.clip(idx + move, 0, len(scale_pitches) - 1))]
            if step in MEDIUM_STEPS and chord_tones and pitch % 12 not in chord.pcs and rng.random() < 0.5:
                pitch = _nearest(chord_tones, pitch)
        state["pitch"] = pitch
        return pitch

    def cadence(rhythm, chord: Chord, resolve: bool) -> list[tuple[int, int, int]]:
        out = []
        for i, (step, dur) in enumerate(rhythm):
            last = i == len(rhythm) - 1
            if last:
                chord_tones = [p for p in scale_pitches if p % 12 in chord.pcs]
                if resolve:
                    targets = [p for p in chord_tones if p % 12 == plan.tonic] or \
                              [p for p in chord_tones if p % 12 == chord.pcs[0]] or chord_tones
                else:  # an open ending: a chord tone that is not the tonic
                    targets = [p for p in chord_tones if p % 12 != plan.tonic] or chord_tones
                pitch = _nearest(targets, state["pitch"])
                state["pitch"] = pitch
            else:
                pitch = walk(step, chord)
            out.append((step, dur, pitch))
        return out

    call: list[list[tuple[int, int, int]]] = []
    for i in range(3):
        call.append([(s, d, walk(s, harmony[i])) for s, d in call_rhythm[i]])
    call.append(cadence(cad_call, harmony[3], resolve=False))
    response: list[list[tuple[int, int, int]]] = []
    for i in range(2):  # restate the call's opening, adapted to the response's chords
        chord = harmony[4 + i]
        bar = []
        for s, d, p in call[i]:
            if s in STRONG_STEPS and p % 12 not in chord.pcs:
                p = _nearest([q for q in scale_pitches if q % 12 in chord.pcs] or scale_pitches, p)
            bar.append((s, d, p))
            state["pitch"] = p
        response.append(bar)
    r7 = pool[int(rng.integers(len(pool)))]
    response.append([(s, d, walk(s, harmony[6])) for s, d in r7])
    response.append(cadence(cad_resp, harmony[7], resolve=True))
    return call + response


def _write_ending(plan: Plan, bars: list[list[Note]]) -> None:
    """A bed that does not loop ends on the tonic: its last bar is one held tonic chord, root and crash."""
    last = plan.n_bars - 1
    tonic_chord = build_chord(plan.tonic, plan.mode, 0, plan.style.sevenths)
    previous_pad = [n.pitch for n in bars[last - 1] if n.part == "pad"] if last > 0 else None
    voicing = voice_chord(tonic_chord.pcs, previous_pad or None)
    ending = [Note(last, 0.0, 16.0, "pad", p, 0.85, (-0.45 + 0.9 * i / max(1, len(voicing) - 1)))
              for i, p in enumerate(voicing)]
    ending.append(Note(last, 0.0, 16.0, "bass", _bass_pitch(plan.tonic), 1.0))
    lead_pitches = [m for m in range(64, 81) if m % 12 == plan.tonic]
    ending.append(Note(last, 0.0, 16.0, "lead", lead_pitches[0], 0.8, 0.12))
    if plan.instruments["drums"]:
        ending.append(Note(last, 0.0, 1.0, "kick", 0, 0.9))
        ending.append(Note(last, 0.0, 16.0, "crash", 0, 0.5, -0.2))
    bars[last] = ending
    plan.bar_chords[last] = tonic_chord
