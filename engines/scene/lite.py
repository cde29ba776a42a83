"""Procedural storyboard frames from a scene's text (NumPy + OpenCV + Pillow, CPU, no model).

Not an image generator: a quick, readable *storyboard panel* that shows what the line of script says — inside or
outside, time of day, where the action is (sea, city, forest, desert ...), the mood as a colour grade, and one
silhouette per character placed on the rule of thirds, with the slugline or caption in a bar at the bottom.

How a frame is made (all deterministic per seed; each element draws from its own random stream, so adding a
character never moves a hill):

1. Read the scene (``read_scene``): slugline (``INT./EXT. PLACE - TIME``), interior or exterior, time of day,
   palette from mood words (a table of ~40 words onto 12 grades), setting words (water, city, forest ...),
   characters (given, or screenplay-style ALL-CAPS names in the text).
2. Lay out the set: an exterior is a sky gradient with sun or moon, clouds or stars, 2–4 parallax ridges of
   fractal value noise fading into the haze, and water, a skyline, a street or trees when the words ask for them;
   an interior is a one-point-perspective room (walls, ceiling, plank floor) with a window showing the time of
   day, a door, furniture for the kind of room, and lamp glow.
3. Stand the characters on the ground: the horizon (or the room's vanishing point) is the camera's eye line, so
   a figure's size follows from where its feet are; rim light on the side facing the light and a contact shadow.
4. Weather (fog, rain, snow), then the grade (saturation, contrast, split toning), vignette and film grain.
5. Names over the figures, the init image blended in by ``strength`` and the caption bar.
"""
from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..base import Engine
from ..context import Context
from .types import SceneRequest, SceneResult, load_init_image

# --------------------------------------------------------------------------------------------------------------
# Palettes (colour grades) and the words that choose them
# --------------------------------------------------------------------------------------------------------------
RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Palette:
    """A colour grade. ``shadows``/``highlights`` are soft-light tints (0.5 = neutral) mixed by luminance;
    ``sky`` is the colour the sky and walls lean toward (by ``sky_amount``); ``light`` tints sun, lamps, windows."""

    name: str
    shadows: RGB = (0.5, 0.5, 0.5)
    highlights: RGB = (0.5, 0.5, 0.5)
    saturation: float = 1.0
    contrast: float = 1.0
    sky: RGB | None = None
    sky_amount: float = 0.0
    light: RGB = (1.0, 1.0, 1.0)


PALETTES: dict[str, Palette] = {p.name: p for p in (
    Palette("neutral"),
    Palette("noir", (0.40, 0.46, 0.56), (0.50, 0.51, 0.55), 0.15, 1.35, (0.42, 0.47, 0.56), 0.45, (0.9, 0.95, 1.0)),
    Palette("cold", (0.36, 0.46, 0.64), (0.45, 0.51, 0.60), 0.55, 1.12, (0.38, 0.52, 0.72), 0.5, (0.85, 0.93, 1.0)),
    Palette("melancholy", (0.42, 0.47, 0.60), (0.49, 0.51, 0.57), 0.45, 0.9, (0.55, 0.6, 0.72), 0.55,
            (0.9, 0.93, 1.0)),
    Palette("golden", (0.62, 0.48, 0.34), (0.68, 0.56, 0.36), 1.15, 1.05, (1.0, 0.72, 0.42), 0.55,
            (1.0, 0.78, 0.5)),
    Palette("romantic", (0.60, 0.42, 0.52), (0.66, 0.52, 0.50), 1.0, 0.95, (0.98, 0.62, 0.68), 0.5,
            (1.0, 0.78, 0.75)),
    Palette("vibrant", (0.47, 0.50, 0.56), (0.57, 0.53, 0.45), 1.4, 1.12),
    Palette("soft", (0.53, 0.50, 0.53), (0.56, 0.54, 0.50), 0.75, 0.8, (0.82, 0.82, 0.92), 0.3),
    Palette("eerie", (0.34, 0.57, 0.50), (0.45, 0.62, 0.50), 0.55, 1.15, (0.4, 0.72, 0.6), 0.6, (0.7, 1.0, 0.82)),
    Palette("mysterious", (0.50, 0.40, 0.64), (0.54, 0.49, 0.62), 0.75, 1.08, (0.48, 0.4, 0.74), 0.55,
            (0.85, 0.78, 1.0)),
    Palette("violent", (0.64, 0.38, 0.36), (0.66, 0.47, 0.42), 1.15, 1.28, (0.88, 0.35, 0.25), 0.5,
            (1.0, 0.65, 0.5)),
    Palette("sepia", (0.60, 0.50, 0.38), (0.63, 0.55, 0.42), 0.2, 1.02, (0.85, 0.72, 0.55), 0.55,
            (1.0, 0.88, 0.7)),
)}

#: Mood and tone words (prompt + mood field) → palette.
MOOD_WORDS: dict[str, str] = {
    "tense": "cold", "cold": "cold", "ominous": "cold", "bleak": "cold", "icy": "cold", "winter": "cold",
    "dread": "cold", "anxious": "cold", "thriller": "cold",
    "dark": "noir", "noir": "noir", "grim": "noir", "gritty": "noir", "menacing": "noir", "shadowy": "noir",
    "sad": "melancholy", "melancholy": "melancholy", "melancholic": "melancholy", "lonely": "melancholy",
    "grief": "melancholy", "somber": "melancholy", "sombre": "melancholy", "rainy": "melancholy",
    "warm": "golden", "hopeful": "golden", "sunset": "golden", "golden": "golden", "cozy": "golden",
    "cosy": "golden", "triumphant": "golden", "summer": "golden",
    "romantic": "romantic", "love": "romantic", "tender": "romantic", "intimate": "romantic",
    "happy": "vibrant", "joyful": "vibrant", "playful": "vibrant", "cheerful": "vibrant", "fun": "vibrant",
    "calm": "soft", "peaceful": "soft", "serene": "soft", "dreamy": "soft", "gentle": "soft",
    "eerie": "eerie", "creepy": "eerie", "uncanny": "eerie", "toxic": "eerie", "haunted": "eerie",
    "mysterious": "mysterious", "mystery": "mysterious", "strange": "mysterious", "magical": "mysterious",
    "surreal": "mysterious",
    "angry": "violent", "violent": "violent", "furious": "violent", "rage": "violent", "blood": "violent",
    "bloody": "violent", "fire": "violent", "burning": "violent",
    "epic": "golden", "heroic": "golden",
    "nostalgic": "sepia", "vintage": "sepia", "memory": "sepia", "flashback": "sepia", "old": "sepia",
}

# Time of day: the sky (top, horizon), the sun or moon colour and the ambient light on the set.
@dataclass(frozen=True)
class Light:
    top: RGB
    horizon: RGB
    sun: RGB
    ambient: float
    night: bool = False


TIMES: dict[str, Light] = {
    "day": Light((0.27, 0.50, 0.82), (0.76, 0.85, 0.93), (1.0, 0.97, 0.88), 1.0),
    "dawn": Light((0.24, 0.28, 0.50), (0.98, 0.72, 0.55), (1.0, 0.80, 0.58), 0.72),
    "dusk": Light((0.13, 0.13, 0.33), (0.98, 0.52, 0.28), (1.0, 0.62, 0.32), 0.58),
    "night": Light((0.015, 0.025, 0.07), (0.09, 0.13, 0.25), (0.92, 0.93, 0.86), 0.22, night=True),
}
TIME_WORDS: dict[str, str] = {
    "night": "night", "midnight": "night", "nighttime": "night", "moon": "night", "moonlight": "night",
    "moonlit": "night", "stars": "night", "starry": "night",
    "dawn": "dawn", "sunrise": "dawn", "morning": "dawn", "daybreak": "dawn",
    "day": "day", "noon": "day", "midday": "day", "afternoon": "day", "daylight": "day", "sunny": "day",
    "dusk": "dusk", "sunset": "dusk", "evening": "dusk", "twilight": "dusk",
}

INTERIOR_WORDS = {
    "room", "kitchen", "office", "bedroom", "bathroom", "hallway", "corridor", "apartment", "flat", "bar", "pub",
    "cafe", "café", "restaurant", "diner", "classroom", "studio", "lounge", "inside", "indoors", "interior",
    "basement", "attic", "library", "hospital", "ward", "lobby", "warehouse", "cell", "hall", "livingroom",
    "living", "bed", "desk", "couch", "sofa", "house",
}
EXTERIOR_WORDS = {
    "street", "road", "sea", "ocean", "harbour", "harbor", "beach", "forest", "woods", "field", "mountain",
    "mountains", "hill", "hills", "city", "rooftop", "garden", "park", "outside", "outdoors", "exterior", "desert",
    "river", "lake", "bridge", "alley", "sky", "shore", "dock", "pier", "valley", "meadow", "coast", "cliff",
}
FEATURE_WORDS: dict[str, set[str]] = {
    "water": {"sea", "ocean", "harbour", "harbor", "water", "lake", "river", "shore", "beach", "coast", "dock",
              "pier", "port", "bay", "marina", "waves", "quay", "waterfront"},
    "boats": {"harbour", "harbor", "port", "marina", "dock", "boat", "boats", "ship", "ships", "quay", "pier"},
    "dock": {"harbour", "harbor", "dock", "pier", "quay", "jetty", "wharf", "port", "marina", "waterfront"},
    "city": {"city", "street", "town", "skyline", "alley", "downtown", "rooftop", "building", "buildings",
             "avenue", "harbour", "harbor", "port", "traffic", "neon", "urban", "village", "square"},
    "street": {"street", "road", "alley", "avenue", "traffic", "crossing", "sidewalk", "pavement"},
    "forest": {"forest", "woods", "trees", "tree", "jungle", "pines", "woodland", "grove"},
    "mountains": {"mountain", "mountains", "peak", "peaks", "cliff", "cliffs", "alps", "ridge", "valley"},
    "desert": {"desert", "dunes", "dune", "sand", "sands", "wasteland"},
    "snow": {"snow", "snowy", "snowing", "blizzard", "winter", "frozen", "ice"},
    "rain": {"rain", "raining", "rainy", "storm", "stormy", "downpour", "drizzle"},
    "fog": {"fog", "foggy", "mist", "misty", "haze", "hazy", "smoke", "smoky"},
    "clouds": {"cloud", "clouds", "cloudy", "overcast", "grey", "gray", "storm", "stormy"},
    "clear": {"clear", "cloudless", "starry", "stars"},
    "lamp": {"lamp", "lamps", "lamplight", "candle", "candles", "candlelight", "lantern"},
}
ROOM_WORDS: dict[str, set[str]] = {
    "kitchen": {"kitchen", "cooks", "cooking", "stove", "fridge"},
    "office": {"office", "desk", "computer", "laptop", "cubicle", "newsroom", "studio"},
    "bedroom": {"bedroom", "bed", "asleep", "sleeps", "wakes", "pillow"},
    "bar": {"bar", "pub", "saloon", "tavern", "diner", "cafe", "café", "restaurant", "club", "counter"},
}

SLUGLINE = re.compile(
    r"^\s*(?P<ie>INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I\s*/\s*E|INT|EXT)\.?\s+(?P<loc>[^\n—–.:]+?)"
    r"(?:\s*[-–—]+\s*(?P<time>[A-Za-z][A-Za-z ]*?))?\s*(?=$|\n|[—–]|\.(?:\s|$)|:\s)", re.IGNORECASE)
SLUG_TIMES = {"night": "night", "midnight": "night", "dawn": "dawn", "sunrise": "dawn", "morning": "dawn",
              "day": "day", "noon": "day", "afternoon": "day", "dusk": "dusk", "sunset": "dusk",
              "evening": "dusk", "twilight": "dusk", "magic hour": "dusk"}
#: ALL-CAPS words in a screenplay line that are not character names.
NOT_NAMES = {
    "INT", "EXT", "DAY", "NIGHT", "DAWN", "DUSK", "MORNING", "EVENING", "LATER", "CONTINUOUS", "CUT", "FADE",
    "TO", "IN", "OUT", "THE", "A", "AN", "I", "OK", "TV", "POV", "CLOSE", "UP", "WIDE", "ANGLE", "SHOT",
    "INSERT", "BACK", "MONTAGE", "FLASHBACK", "END", "CONT'D", "V.O", "O.S", "VO", "OS", "ON", "AT", "OF",
    "AND", "ECU", "CU", "MS", "WS", "LS", "EST", "ESTABLISHING", "SUPER", "TITLE", "CREDITS", "BLACK", "SMASH",
    "DISSOLVE", "INTERCUT", "SERIES", "SHOTS", "SAME", "TIME", "MOMENTS", "OVER", "BEAT", "NOON", "MIDNIGHT",
    "SUNSET", "SUNRISE", "TWILIGHT", "AFTERNOON", "NO", "YES", "USA", "UK", "FBI", "CIA", "NYC", "LA",
}
MAX_AUTO_CHARACTERS = 6


@dataclass
class Scene:
    """What the renderer understood from the request (returned in the result's parameters)."""

    slugline: str | None
    location: str | None
    interior: bool
    time_of_day: str
    palette: str
    mood_words: list[str]
    features: list[str]
    room: str | None
    characters: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"slugline": self.slugline, "location": self.location, "interior": self.interior,
                "time_of_day": self.time_of_day, "palette": self.palette, "mood_words": self.mood_words,
                "features": self.features, "room": self.room, "characters": self.characters}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ']+", text.lower())


def read_scene(request: SceneRequest) -> Scene:
    """Slugline, interior/exterior, time of day, palette, setting and characters from the request's text."""
    prompt = request.prompt.strip()
    slug = SLUGLINE.match(prompt)
    slugline = location = slug_time = None
    slug_interior: bool | None = None
    rest = prompt
    if slug:
        slugline = re.sub(r"\s+", " ", slug.group(0).strip()).rstrip(".:")
        location = slug.group("loc").strip()
        ie = re.sub(r"[\s.]", "", slug.group("ie").upper())
        slug_interior = ie.startswith("INT") or ie.startswith("I/")
        if slug.group("time"):
            slug_time = SLUG_TIMES.get(slug.group("time").strip().lower())
        rest = prompt[slug.end():]
    words = _words(prompt)
    word_set = set(words)

    # Interior: the request, then the slugline, then the words.
    if request.interior is not None:
        interior = bool(request.interior)
    elif slug_interior is not None:
        interior = slug_interior
    else:
        inside = sum(w in INTERIOR_WORDS for w in words)
        outside = sum(w in EXTERIOR_WORDS for w in words)
        interior = inside > outside

    # Time of day: the request, then the slugline, then the last time word of the text, else day.
    if request.time_of_day:
        tod = request.time_of_day.strip().lower()
    elif slug_time:
        tod = slug_time
    else:
        found = [TIME_WORDS[w] for w in words if w in TIME_WORDS]
        tod = found[0] if found else "day"

    # Palette: mood-field words count three times as much as words of the prompt; ties go to the first seen.
    votes: dict[str, float] = {}
    order: list[str] = []
    matched: list[str] = []
    for weight, text in ((3.0, request.mood or ""), (1.0, prompt)):
        for w in _words(text):
            name = MOOD_WORDS.get(w) or (w if w in PALETTES and w != "neutral" else None)
            if name:
                votes[name] = votes.get(name, 0.0) + weight
                if name not in order:
                    order.append(name)
                if w not in matched:
                    matched.append(w)
    palette = max(order, key=lambda n: (votes[n], -order.index(n))) if order else "neutral"

    features = [name for name, vocab in FEATURE_WORDS.items() if word_set & vocab]
    if "rain" in features and "clouds" not in features:
        features.append("clouds")
    room = None
    if interior:
        room = next((name for name, vocab in ROOM_WORDS.items() if word_set & vocab), "living")

    characters = [c.strip() for c in request.characters if c and c.strip()]
    if not request.characters:
        characters = _names_in(rest)
    return Scene(slugline, location, interior, tod, palette, matched, features, room, characters)


def _names_in(text: str) -> list[str]:
    """Screenplay convention: a character's name is written in capitals in the action lines."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters or sum(ch.isupper() for ch in letters) > 0.5 * len(letters):
        return []  # shouting or an all-caps prompt: capitals say nothing
    names: list[str] = []
    for token in re.findall(r"\b[A-Z][A-Z'\-]+\b", text):
        token = token.strip("'-")
        if len(token) >= 2 and token not in NOT_NAMES and token.title() not in names:
            names.append(token.title())
    return names[:MAX_AUTO_CHARACTERS]


# --------------------------------------------------------------------------------------------------------------
# Small drawing helpers (float32 RGB in 0..1; masks drawn anti-aliased in uint8 with 4 bits of sub-pixel)
# --------------------------------------------------------------------------------------------------------------
_SHIFT = 4
_ONE = 1 << _SHIFT


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent random stream per element, so one element never shifts another."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def _pts(points) -> np.ndarray:
    return np.round(np.asarray(points, dtype=np.float64) * _ONE).astype(np.int32)


def _poly(mask: np.ndarray, points, value: int = 255) -> None:
    cv2.fillPoly(mask, [_pts(points)], value, lineType=cv2.LINE_AA, shift=_SHIFT)


def _ellipse(mask: np.ndarray, center, axes, angle: float = 0.0, value: int = 255) -> None:
    c = tuple(int(v) for v in _pts(center))
    a = tuple(max(1, int(v)) for v in _pts(axes))
    cv2.ellipse(mask, c, a, angle, 0, 360, value, -1, lineType=cv2.LINE_AA, shift=_SHIFT)


def _line(mask: np.ndarray, p0, p1, thickness: float, value: int = 255) -> None:
    cv2.line(mask, tuple(int(v) for v in _pts(p0)), tuple(int(v) for v in _pts(p1)), value,
             max(1, int(round(thickness))), lineType=cv2.LINE_AA, shift=_SHIFT)


def _rect(mask: np.ndarray, x0, y0, x1, y1, value: int = 255) -> None:
    _poly(mask, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], value)


def _alpha(mask: np.ndarray) -> np.ndarray:
    return (mask.astype(np.float32) / 255.0)[..., None]


def _paint(img: np.ndarray, mask: np.ndarray, colour, opacity: float = 1.0) -> None:
    """``img`` ← colour where ``mask`` (uint8 or float HxW) is set."""
    a = _alpha(mask) if mask.dtype == np.uint8 else mask[..., None].astype(np.float32)
    if opacity != 1.0:
        a = a * opacity
    col = np.asarray(colour, dtype=np.float32)
    img *= 1.0 - a
    img += a * col


def _mix(a, b, t: float) -> np.ndarray:
    return np.asarray(a, np.float32) * (1.0 - t) + np.asarray(b, np.float32) * t


def _noise1d(rng: np.random.Generator, n: int, cells: int, octaves: int = 4, ridged: bool = False) -> np.ndarray:
    """Fractal value noise along one axis in -1..1 (smoothstep-interpolated random lattice, octaves halving)."""
    total = np.zeros(n, np.float32)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        lattice = rng.uniform(-1.0, 1.0, cells + 2).astype(np.float32)
        x = np.linspace(0.0, cells, n, dtype=np.float32) + rng.uniform(0, 1)
        i = np.floor(x).astype(np.int64)
        f = x - i
        f = f * f * (3.0 - 2.0 * f)
        octave = lattice[i] * (1.0 - f) + lattice[np.minimum(i + 1, cells + 1)] * f
        if ridged:
            octave = 1.0 - 2.0 * np.abs(octave)
        total += amp * octave
        norm += amp
        amp *= 0.5
        cells *= 2
    return total / norm


def _noise2d(rng: np.random.Generator, h: int, w: int, cells: tuple[int, int], octaves: int = 4) -> np.ndarray:
    """Fractal value noise in 0..1 over an ``h``×``w`` field: random lattices upsampled bicubically."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    cy, cx = cells
    for _ in range(octaves):
        lattice = rng.random((cy + 1, cx + 1)).astype(np.float32)
        total += amp * cv2.resize(lattice, (w, h), interpolation=cv2.INTER_CUBIC)
        norm += amp
        amp *= 0.5
        cy, cx = cy * 2, cx * 2
    return np.clip(total / norm, 0.0, 1.0)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _glow(h: int, w: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """A soft Gaussian light at (cx, cy), 1 at the centre."""
    ys = (np.arange(h, dtype=np.float32)[:, None] - cy) / radius
    xs = (np.arange(w, dtype=np.float32)[None, :] - cx) / radius
    return np.exp(-(xs * xs + ys * ys))


def _disc(h: int, w: int, cx: float, cy: float, r: float) -> np.ndarray:
    ys = np.arange(h, dtype=np.float32)[:, None] - cy
    xs = np.arange(w, dtype=np.float32)[None, :] - cx
    return np.clip(r - np.sqrt(xs * xs + ys * ys) + 0.5, 0.0, 1.0)


def _font(size: int):  # not cached: a FreeType font object should not be shared between worker threads
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


# --------------------------------------------------------------------------------------------------------------
# The set
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Stage:
    """The drawn set and where people can stand in it."""

    img: np.ndarray
    eye_y: float  # the camera's eye line (horizon or vanishing point): heads of standing people are near it
    floor_top: float  # the nearest y at which feet can stand (top of the foreground)
    light_xy: tuple[float, float]  # main light (sun, moon, window, lamp) for rim light and shadows
    light_colour: np.ndarray
    ambient: float
    figure_colour: np.ndarray
    notes: dict[str, Any] = field(default_factory=dict)
    #: Figure height over (feet − eye line): above 1 the camera is below eye level (heads rise over the horizon).
    camera: tuple[float, float] = (1.12, 1.32)


def _lean(colour, palette: Palette, amount_scale: float = 1.0) -> np.ndarray:
    if palette.sky is None:
        return np.asarray(colour, np.float32)
    return _mix(colour, palette.sky, palette.sky_amount * amount_scale)


def _sky(scene: Scene, palette: Palette, w: int, h: int, horizon: float, seed: int) -> tuple[np.ndarray, Any]:
    light = TIMES[scene.time_of_day]
    top = _lean(light.top, palette, 0.6 if light.night else 1.0)
    hor = _lean(light.horizon, palette, 0.6 if light.night else 1.0)
    t = np.clip(np.arange(h, dtype=np.float32) / max(1.0, horizon), 0.0, 1.0) ** 1.4
    sky = (top[None, :] * (1.0 - t[:, None]) + hor[None, :] * t[:, None])[:, None, :].repeat(w, axis=1)
    sky = np.ascontiguousarray(sky, dtype=np.float32)
    rng = _rng(seed, "sky")
    s = min(w, h)
    # Sun or moon: on one third, high by day and at night, low at dawn and dusk.
    side = rng.choice([1 / 3, 2 / 3]) + rng.uniform(-0.06, 0.06)
    lx = w * side
    if scene.time_of_day in ("dawn", "dusk"):
        ly, radius = horizon - s * rng.uniform(0.02, 0.07), s * 0.055
    else:
        ly, radius = h * rng.uniform(0.12, 0.22), s * (0.035 if light.night else 0.045)
    sun = np.asarray(light.sun, np.float32) * np.asarray(palette.light, np.float32)
    halo = _glow(h, w, lx, ly, s * (0.45 if scene.time_of_day in ("dawn", "dusk") else 0.3))
    sky += halo[..., None] * sun * (0.12 if light.night else 0.35)
    clear = "clear" in scene.features
    cloudy = "clouds" in scene.features or "rain" in scene.features
    if light.night and not cloudy:  # stars fade toward the horizon and the moon
        n = int(w * h / 420)
        ys, xs = rng.uniform(0, horizon, n), rng.uniform(0, w, n)
        bright = rng.uniform(0.25, 1.0, n) ** 2 * (1.0 - ys / max(1.0, horizon)) ** 1.5
        stars = np.zeros((h, w), np.float32)
        np.maximum.at(stars, (ys.astype(int).clip(0, h - 1), xs.astype(int).clip(0, w - 1)), bright)
        stars *= 1.0 - halo
        sky += stars[..., None] * 0.9
    sun_visible = not cloudy or rng.random() < 0.5
    if sun_visible:
        disc = _disc(h, w, lx, ly, radius)
        if light.night and rng.random() < 0.5:  # crescent
            disc = np.clip(disc - _disc(h, w, lx + radius * 0.45, ly - radius * 0.2, radius * 0.95), 0, 1)
        _paint(sky, disc, np.minimum(1.0, sun * 1.02))
        if not light.night:  # bloom: the sun outshines its disc
            sky += _glow(h, w, lx, ly, radius * 1.5)[..., None] * sun * 0.25
    # Clouds: horizontally stretched noise, lit from the sun's side.
    cover = 0.0 if clear else (0.62 if cloudy else rng.uniform(0.2, 0.4))
    if cover > 0:
        field_ = _noise2d(rng, h, w, (3, 5), octaves=5)
        density = _smoothstep(1.0 - cover * 0.72, 1.0 - cover * 0.72 + 0.2, field_)
        density *= np.clip(1.0 - (np.arange(h)[:, None] / max(1.0, horizon)) ** 4, 0, 1)
        if light.night:
            cloud = _mix(hor, (0.2, 0.22, 0.3), 0.5) * 0.7
        elif scene.time_of_day in ("dawn", "dusk"):  # dark against the glow, lit from below
            cloud = sky * 0.72 + sun * 0.08
        else:
            cloud = _mix((0.96, 0.96, 0.97), hor, 0.2) * (0.85 if cloudy else 1.0)
        shade = 0.75 + 0.25 * (1.0 - field_)  # thicker cloud, darker underside
        _paint(sky, density * (0.9 if cloudy else 0.75), cloud)
        sky *= (1.0 - density * (1.0 - shade) * 0.5)[..., None]
    return sky, (lx, ly, sun, sun_visible)


def _ridge_layer(img: np.ndarray, top: np.ndarray, colour: np.ndarray, texture: np.ndarray | None = None,
                 texture_amount: float = 0.0) -> None:
    """Fill everything under the per-column line ``top`` (anti-aliased by one pixel)."""
    h = img.shape[0]
    rows = np.arange(h, dtype=np.float32)[:, None]
    cover = np.clip(rows - top[None, :] + 0.5, 0.0, 1.0)
    col = np.broadcast_to(np.asarray(colour, np.float32), img.shape).copy()
    if texture is not None:
        col *= (1.0 + texture_amount * (texture - 0.5))[..., None]
    _paint(img, cover, 0.0)  # keeps the helper simple: clear, then add the colour
    img += cover[..., None] * col


def _trees(mask: np.ndarray, rng: np.random.Generator, top: np.ndarray, height: float, density: float) -> None:
    """Pine silhouettes standing on the line ``top``."""
    w = mask.shape[1]
    x = rng.uniform(0, height * 0.4)
    while x < w:
        th = height * rng.uniform(0.55, 1.2)
        tw = th * rng.uniform(0.28, 0.4)
        base = float(top[int(min(w - 1, max(0, x)))]) + height * 0.05
        tiers = 3
        for k in range(tiers):
            y_top = base - th + k * th * 0.22
            y_bot = base - th * 0.35 + k * th * 0.18
            half = tw * (0.5 + 0.25 * k) / 1.25
            _poly(mask, [(x, y_top), (x + half, y_bot), (x - half, y_bot)])
        _rect(mask, x - tw * 0.06, base - th * 0.3, x + tw * 0.06, base + 2)
        x += tw * rng.uniform(0.5, 1.4) / density


def _skyline(mask: np.ndarray, windows: np.ndarray, rng: np.random.Generator, base: float, w: int,
             min_h: float, max_h: float, lit: float, step: float | None = None) -> None:
    """Blocks of buildings standing on ``base``; windows drawn into ``windows`` (lit fraction ``lit``)."""
    x = -rng.uniform(0, max_h * 0.3)
    while x < w:
        bw = rng.uniform(0.35, 1.0) * max(max_h * 0.55, w * 0.06)
        bh = rng.uniform(min_h, max_h)
        _rect(mask, x, base - bh, x + bw, base + 1)
        if rng.random() < 0.25:  # antenna or spire
            _rect(mask, x + bw * 0.45, base - bh - bh * 0.15, x + bw * 0.55, base - bh)
        if lit > 0:
            step = step or max(3.0, max_h * 0.07)
            cols = int(bw // step)
            rows = int(bh // step)
            for r in range(1, rows):
                for c in range(cols):
                    if rng.random() < lit:
                        wx, wy = x + c * step + step * 0.3, base - bh + r * step
                        _rect(windows, wx, wy, wx + step * 0.4, wy + step * 0.45)
        x += bw + rng.uniform(0, max_h * 0.08)


def _exterior(scene: Scene, palette: Palette, w: int, h: int, seed: int, ground_limit: float) -> Stage:
    light = TIMES[scene.time_of_day]
    s = min(w, h)
    feats = set(scene.features)
    rng = _rng(seed, "layout")
    water = "water" in feats
    city = "city" in feats
    horizon = h * (rng.uniform(0.5, 0.55) if water else rng.uniform(0.52, 0.6))
    img, (lx, ly, sun, sun_visible) = _sky(scene, palette, w, h, horizon, seed)
    hor = _lean(light.horizon, palette)
    amb = light.ambient
    haze = hor * (0.9 if not light.night else 1.0)
    if "desert" in feats:
        ground = np.array((0.78, 0.6, 0.4), np.float32)
    elif "snow" in feats:
        ground = np.array((0.86, 0.89, 0.94), np.float32) * (2.2 if light.night else 1.0)
    elif city and "street" in feats:
        ground = np.array((0.3, 0.3, 0.32), np.float32)
    else:
        ground = np.array((0.27, 0.34, 0.2), np.float32)
    ground = _lean(ground * max(amb, 0.12), palette, 0.4)
    near_dark = ground * (0.35 if light.night else 0.55)
    tex_rng = _rng(seed, "texture")
    texture = _noise2d(tex_rng, h, w, (6, 6), octaves=4)
    fg_top = min(ground_limit - 0.06 * h, h * rng.uniform(0.76, 0.82))
    notes: dict[str, Any] = {"horizon": round(horizon / h, 3)}

    # Far band on the horizon: mountains or hills (always), a skyline in front when the words say city.
    ridge_rng = _rng(seed, "ridges")
    mountains = "mountains" in feats
    far_amp = s * (0.26 if mountains else (0.06 if water else 0.11))
    far_top = horizon - far_amp * (0.55 + 0.45 * _noise1d(ridge_rng, w, 3, 5, ridged=mountains))
    if "desert" in feats:
        far_top = horizon - s * 0.06 * (0.6 + 0.4 * _noise1d(ridge_rng, w, 2, 2))
    _ridge_layer(img, far_top, _mix(haze, ground, 0.25), texture, 0.08)
    if city:
        bmask = np.zeros((h, w), np.uint8)
        wmask = np.zeros((h, w), np.uint8)
        lit = {"night": 0.45, "dusk": 0.25, "dawn": 0.1}.get(scene.time_of_day, 0.0)
        _skyline(bmask, wmask, _rng(seed, "skyline"), horizon + 1, w, s * (0.025 if water else 0.05),
                 s * (0.11 if water else 0.26), lit, step=max(3.0, s * 0.014))
        _paint(img, bmask, _mix(haze, near_dark, 0.55))
        if lit:
            _paint(img, wmask, np.asarray((1.0, 0.82, 0.5), np.float32) * np.asarray(palette.light), 0.85)
        notes["skyline"] = True

    if water:
        # Water from the horizon to the shore: the sky mirrored and darkened, ripples, a glitter path under the
        # sun or moon.
        shore = fg_top
        rows = np.arange(h, dtype=np.float32)
        mirror_rows = np.clip(2 * horizon - rows, 0, horizon - 1).astype(int)
        reflect = img[mirror_rows, :, :] * 0.55 + _mix(haze, (0.05, 0.12, 0.2), 0.6) * 0.35
        ripple_rng = _rng(seed, "water")
        ripples = _noise2d(ripple_rng, h, w, (40, 3), octaves=3)
        depth = np.clip((rows - horizon) / max(1.0, shore - horizon), 0, 1)[:, None]
        reflect *= (0.85 + 0.3 * (ripples - 0.5) * (0.3 + depth))[..., None]
        reflect *= (1.0 - 0.35 * depth)[..., None]
        if sun_visible:
            col_w = s * (0.05 + 0.1 * depth)
            path = np.exp(-((np.arange(w)[None, :] - lx) / col_w) ** 2)
            glitter = _smoothstep(0.5, 0.8, ripples) * path * (1.0 - 0.6 * depth)
            reflect += glitter[..., None] * sun * (0.6 if light.night else 0.8)
        cover = np.clip(rows - horizon + 0.5, 0, 1)[:, None] * np.ones((1, w), np.float32)
        _paint(img, cover, 0.0)
        img += cover[..., None] * reflect
        if "boats" in feats:
            boat_rng = _rng(seed, "boats")
            bmask = np.zeros((h, w), np.uint8)
            for _ in range(int(boat_rng.integers(2, 4))):
                by = horizon + (shore - horizon) * boat_rng.uniform(0.15, 0.6)
                scale = s * 0.05 * (0.6 + (by - horizon) / max(1.0, shore - horizon))
                bx = boat_rng.uniform(0.05, 0.95) * w
                _poly(bmask, [(bx - scale * 1.5, by - scale * 0.35), (bx + scale * 1.5, by - scale * 0.35),
                              (bx + scale * 1.1, by), (bx - scale * 1.2, by)])
                _rect(bmask, bx - scale * 0.5, by - scale * 0.7, bx + scale * 0.3, by - scale * 0.3)
                _line(bmask, (bx, by - scale * 0.35), (bx, by - scale * 2.6), max(1.0, scale * 0.08))
            _paint(img, bmask, _mix(haze, near_dark, 0.7))
        notes["water"] = True
    elif city and "street" in feats:
        # A street in one-point perspective: asphalt, kerbs and lane marks toward a vanishing point.
        vx = w * _rng(seed, "street").uniform(0.4, 0.6)
        road = np.zeros((h, w), np.uint8)
        _poly(road, [(vx - w * 0.02, horizon), (vx + w * 0.02, horizon), (w * 1.4, h), (-w * 0.4, h)])
        land = np.clip(np.arange(h, dtype=np.float32)[:, None] - horizon + 0.5, 0, 1) * np.ones((1, w), np.float32)
        _paint(img, land, _mix(haze, ground * 1.2, 0.6))
        _paint(img, road, _mix(haze, ground * 0.75, 0.7))
        marks = np.zeros((h, w), np.uint8)
        y = horizon + 2
        k = 0
        while y < h:
            step = (y - horizon + 4) * 0.35
            if k % 2 == 0:
                t0, t1 = (y - horizon) / (h - horizon), (y + step * 0.6 - horizon) / (h - horizon)
                _poly(marks, [(vx - 0.5 - t0 * w * 0.012, y), (vx + 0.5 + t0 * w * 0.012, y),
                              (vx + 0.5 + t1 * w * 0.012, y + step * 0.6), (vx - 0.5 - t1 * w * 0.012,
                                                                             y + step * 0.6)])
            y += step
            k += 1
        _paint(img, marks, _mix(haze, (0.85, 0.82, 0.6), 0.7), 0.8)
        if scene.time_of_day in ("night", "dusk"):  # street lamps pooling light
            for i, t in enumerate((0.25, 0.55, 1.0)):
                for sx in (-1, 1):
                    px = vx + sx * (w * 0.75) * t
                    py = horizon + (h - horizon) * t * 0.9
                    top_y = py - s * 0.55 * t
                    pole = np.zeros((h, w), np.uint8)
                    _line(pole, (px, py), (px, top_y), max(1.0, s * 0.008 * t))
                    _paint(img, pole, near_dark)
                    glow = _glow(h, w, px, top_y, s * 0.18 * t)
                    img += glow[..., None] * np.asarray((1.0, 0.78, 0.45)) * np.asarray(palette.light) * 0.55
        notes["street"] = True
        fg_top = max(fg_top, horizon + (h - horizon) * 0.45)
    else:
        # Land in parallax: 1–3 mid ridges between the horizon and the foreground, darker as they come closer.
        n_mid = 1 if "desert" in feats else int(ridge_rng.integers(1, 4))
        for i in range(n_mid):
            t = (i + 1) / (n_mid + 1)
            base = horizon + (fg_top - horizon) * t * 0.9
            amp = s * (0.12 if mountains else (0.09 if "desert" in feats else 0.06)) * (1.0 - 0.3 * t)
            top = base - amp * (0.5 + 0.5 * _noise1d(ridge_rng, w, 2 + i, 2 if "desert" in feats else 4))
            colour = _mix(haze, ground, 0.35 + 0.45 * t)
            _ridge_layer(img, top, colour, texture, 0.12)
            if "forest" in feats:
                tmask = np.zeros((h, w), np.uint8)
                _trees(tmask, _rng(seed, f"trees{i}"), top, s * (0.05 + 0.06 * t), 1.3)
                _paint(img, tmask, colour * 0.8)
    # Foreground where people stand, with grass/sand texture, or a wooden dock at a harbour.
    fg_rng = _rng(seed, "foreground")
    if water and "dock" in feats:
        dock = np.zeros((h, w), np.uint8)
        _rect(dock, -1, fg_top, w + 1, h + 1)
        wood = _lean(np.array((0.36, 0.27, 0.19), np.float32) * max(amb, 0.18), palette, 0.3)
        _paint(img, dock, wood)
        planks = np.zeros((h, w), np.uint8)
        y, gap = fg_top, s * 0.012
        while y < h:
            _line(planks, (0, y), (w, y), max(1.0, s * 0.003))
            y += gap
            gap *= 1.35
        _paint(img, planks, wood * 0.55)
        posts = np.zeros((h, w), np.uint8)
        for px in np.linspace(w * fg_rng.uniform(0.02, 0.1), w * 0.98, 4):
            _rect(posts, px - s * 0.012, fg_top - s * 0.05, px + s * 0.012, fg_top + s * 0.01)
            _ellipse(posts, (px, fg_top - s * 0.05), (s * 0.012, s * 0.005))
        _paint(img, posts, wood * 0.45)
        notes["dock"] = True
    elif "street" not in notes:
        top = fg_top - s * 0.025 * (0.5 + 0.5 * _noise1d(fg_rng, w, 3, 4))
        _ridge_layer(img, top, near_dark * (1.0 if not water else 0.8), texture, 0.3)
        if "forest" in feats:  # two big trees framing the shot
            tmask = np.zeros((h, w), np.uint8)
            for x0 in (w * fg_rng.uniform(-0.05, 0.06), w * fg_rng.uniform(0.94, 1.05)):
                th = (top[int(np.clip(x0, 0, w - 1))] - h * 0.02)
                base = float(top[int(np.clip(x0, 0, w - 1))])
                for k in range(5):
                    y_top = base - th + k * th * 0.17
                    half = th * (0.09 + 0.045 * k)
                    _poly(tmask, [(x0, y_top), (x0 + half, y_top + th * 0.3), (x0 - half, y_top + th * 0.3)])
                _rect(tmask, x0 - s * 0.012, base - th * 0.2, x0 + s * 0.012, h)
            _paint(img, tmask, near_dark * 0.6)
    figure = _lean(np.array((0.02, 0.022, 0.03), np.float32) + near_dark * 0.15, palette, 0.2)
    return Stage(img, horizon, fg_top, (lx, ly), sun, amb, figure, notes)


ROOM_COLOURS = {
    "kitchen": ((0.82, 0.78, 0.68), (0.55, 0.42, 0.3)),
    "office": ((0.62, 0.66, 0.7), (0.32, 0.33, 0.36)),
    "bedroom": ((0.7, 0.6, 0.55), (0.45, 0.32, 0.24)),
    "bar": ((0.45, 0.25, 0.2), (0.28, 0.18, 0.12)),
    "living": ((0.74, 0.68, 0.58), (0.48, 0.35, 0.24)),
}


def _interior(scene: Scene, palette: Palette, w: int, h: int, seed: int, ground_limit: float) -> Stage:
    """A one-point-perspective room: back wall, side walls, ceiling, plank floor, a window, a door, furniture."""
    light = TIMES[scene.time_of_day]
    rng = _rng(seed, "room")
    s = min(w, h)
    room = scene.room or "living"
    wall, floor = (np.asarray(c, np.float32) for c in ROOM_COLOURS[room])
    wall = _lean(wall, palette, 0.5)
    floor = _lean(floor, palette, 0.3)
    # Inside light: daylight through the window by day, lamps at night.
    level = {"day": 1.0, "dawn": 0.8, "dusk": 0.7, "night": 0.42}[scene.time_of_day]
    x0, x1 = w * rng.uniform(0.2, 0.3), w * rng.uniform(0.7, 0.8)
    y0, y1 = h * rng.uniform(0.12, 0.18), h * rng.uniform(0.56, 0.62)
    vy = y0 + (y1 - y0) * 0.62
    vx = (x0 + x1) / 2
    img = np.zeros((h, w, 3), np.float32)
    tex = _noise2d(_rng(seed, "walltex"), h, w, (5, 5), octaves=3)
    parts = [
        ([(0, 0), (w, 0), (x1, y0), (x0, y0)], wall * 0.62),  # ceiling
        ([(0, 0), (x0, y0), (x0, y1), (0, h)], wall * 0.78),  # left wall
        ([(w, 0), (w, h), (x1, y1), (x1, y0)], wall * 0.7),  # right wall
        ([(0, h), (x0, y1), (x1, y1), (w, h)], floor),  # floor
        ([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], wall),  # back wall
    ]
    for points, colour in parts:
        mask = np.zeros((h, w), np.uint8)
        _poly(mask, [(x + (0.5 if x == w else 0), y) for x, y in points])
        _paint(img, mask, colour)
    img *= (0.92 + 0.16 * (tex - 0.5))[..., None]
    # Floor planks toward the vanishing point, and a darker strip where floor meets wall.
    planks = np.zeros((h, w), np.uint8)
    for k in np.linspace(-1.2, 2.2, 15):
        bx = x0 + (x1 - x0) * (k + 0.6) / 2.0
        _line(planks, (bx, y1), (vx + (bx - vx) * (h - vy) / (y1 - vy), h), max(1.0, s * 0.002))
    floor_mask = np.zeros((h, w), np.uint8)
    _poly(floor_mask, parts[3][0])
    _paint(img, (planks.astype(np.float32) / 255.0) * (floor_mask.astype(np.float32) / 255.0), floor * 0.7)
    skirting = np.zeros((h, w), np.uint8)
    _line(skirting, (x0, y1), (x1, y1), max(1.0, s * 0.006))
    _line(skirting, (x0, y1), (0, h + (h - y1) * 0.0), max(1.0, s * 0.004))
    _line(skirting, (x1, y1), (w, h), max(1.0, s * 0.004))
    _paint(img, skirting, wall * 0.45)

    # Window on the back wall (one third), showing the sky at this time of day; a door on the other side.
    win_left = rng.random() < 0.5
    bw = x1 - x0
    wx0 = x0 + bw * (0.1 if win_left else 0.56)
    wx1 = wx0 + bw * 0.34
    wy0, wy1 = y0 + (y1 - y0) * 0.14, y0 + (y1 - y0) * 0.6
    sky_scene = Scene(None, None, False, scene.time_of_day, scene.palette, [], [
        f for f in scene.features if f in ("clouds", "clear", "rain")], None, [])
    sky, _ = _sky(sky_scene, palette, w, h, wy1 + (wy1 - wy0) * 0.3, seed)
    window = np.zeros((h, w), np.uint8)
    _rect(window, wx0, wy0, wx1, wy1)
    _paint(img, window, 0.0)
    img += _alpha(window) * sky
    if "city" in scene.features and (light.night or scene.time_of_day == "dusk"):
        lights = np.zeros((h, w), np.uint8)
        bm = np.zeros((h, w), np.uint8)
        _skyline(bm, lights, _rng(seed, "winskyline"), wy1, w, (wy1 - wy0) * 0.2, (wy1 - wy0) * 0.6, 0.4)
        _paint(img, (bm.astype(np.float32) / 255) * (window / 255.0), (0.05, 0.05, 0.08))
        _paint(img, (lights.astype(np.float32) / 255) * (window / 255.0), (1.0, 0.8, 0.5))
    frame = np.zeros((h, w), np.uint8)
    t = max(1.0, s * 0.008)
    _line(frame, ((wx0 + wx1) / 2, wy0), ((wx0 + wx1) / 2, wy1), t)
    _line(frame, (wx0, (wy0 + wy1) / 2), (wx1, (wy0 + wy1) / 2), t)
    for a, b in (((wx0, wy0), (wx1, wy0)), ((wx1, wy0), (wx1, wy1)), ((wx1, wy1), (wx0, wy1)),
                 ((wx0, wy1), (wx0, wy0))):
        _line(frame, a, b, t * 1.6)
    _paint(img, frame, wall * 0.5)
    dx0 = x0 + bw * (0.66 if win_left else 0.12)
    dx1 = dx0 + bw * 0.2
    dy0 = y0 + (y1 - y0) * 0.22
    door = np.zeros((h, w), np.uint8)
    _rect(door, dx0, dy0, dx1, y1)
    _paint(img, door, wall * 0.42)
    inner = np.zeros((h, w), np.uint8)
    _rect(inner, dx0 + t * 1.5, dy0 + t * 1.5, dx1 - t * 1.5, y1)
    _paint(img, inner, _mix(wall, floor, 0.5) * 0.7)
    knob = np.zeros((h, w), np.uint8)
    _ellipse(knob, (dx1 - (dx1 - dx0) * 0.16, dy0 + (y1 - dy0) * 0.55), (s * 0.006, s * 0.006))
    _paint(img, knob, (0.75, 0.65, 0.4))

    # Furniture for the kind of room (dark, simple blocks that read at thumbnail size).
    furn = np.zeros((h, w), np.uint8)
    dark = _mix(floor, (0.05, 0.05, 0.06), 0.55)
    top_col = _mix(wall, floor, 0.4) * 0.75
    tops = np.zeros((h, w), np.uint8)
    screens = np.zeros((h, w), np.uint8)
    depth = (h - y1)
    if room == "kitchen":
        cy = y1 - (y1 - y0) * 0.3
        _rect(furn, x0, cy, x1, y1)
        _rect(tops, x0 - 1, cy - s * 0.012, x1 + 1, cy)
        _rect(furn, x0, y0 + (y1 - y0) * 0.05, wx0 - bw * 0.04 if not win_left else dx0 - bw * 0.04,
              y0 + (y1 - y0) * 0.3)
    elif room == "office":
        dy = y1 + depth * 0.25
        dxc = vx + (w * 0.2 if win_left else -w * 0.2)
        _poly(tops, [(dxc - w * 0.16, dy), (dxc + w * 0.16, dy), (dxc + w * 0.2, dy + depth * 0.08),
                     (dxc - w * 0.2, dy + depth * 0.08)])
        _rect(furn, dxc - w * 0.19, dy + depth * 0.08, dxc + w * 0.19, dy + depth * 0.3)
        _rect(screens, dxc - w * 0.07, dy - s * 0.11, dxc + w * 0.07, dy - s * 0.02)
        _rect(furn, dxc - s * 0.006, dy - s * 0.02, dxc + s * 0.006, dy)
    elif room == "bedroom":
        bx = vx + (w * 0.05 if win_left else -w * 0.05)
        _rect(furn, bx - w * 0.17, y1 - (y1 - y0) * 0.32, bx + w * 0.17, y1 + depth * 0.02)
        _poly(tops, [(bx - w * 0.17, y1 - (y1 - y0) * 0.1), (bx + w * 0.17, y1 - (y1 - y0) * 0.1),
                     (bx + w * 0.24, y1 + depth * 0.3), (bx - w * 0.24, y1 + depth * 0.3)])
    elif room == "bar":
        _rect(furn, x0, y0 + (y1 - y0) * 0.25, x1, y0 + (y1 - y0) * 0.29)  # shelf
        brng = _rng(seed, "bottles")
        for bxp in np.arange(x0 + s * 0.01, x1 - s * 0.01, s * 0.018):
            bh = s * brng.uniform(0.03, 0.05)
            _rect(screens if brng.random() < 0.3 else furn, bxp, y0 + (y1 - y0) * 0.25 - bh, bxp + s * 0.009,
                  y0 + (y1 - y0) * 0.25)
        cy = y1 + depth * 0.15
        _poly(tops, [(-1, cy), (w + 1, cy), (w + 1, cy + s * 0.02), (-1, cy + s * 0.02)])
        _rect(furn, -1, cy + s * 0.02, w + 1, cy + depth * 0.22)
    else:  # living room: a sofa against the back wall and a low table
        sx = vx + (bw * 0.05 if win_left else -bw * 0.05)
        sy = y1
        _rect(furn, sx - bw * 0.25, sy - (y1 - y0) * 0.2, sx + bw * 0.25, sy)
        _rect(tops, sx - bw * 0.27, sy - (y1 - y0) * 0.3, sx + bw * 0.27, sy - (y1 - y0) * 0.18)
        _poly(furn, [(sx - w * 0.1, y1 + depth * 0.2), (sx + w * 0.1, y1 + depth * 0.2),
                     (sx + w * 0.12, y1 + depth * 0.26), (sx - w * 0.12, y1 + depth * 0.26)])
    _paint(img, furn, dark)
    _paint(img, tops, top_col)

    img *= level
    # Light: daylight from the window falls on the floor; lamps glow at night (and when the words say lamp).
    lamp_x = x0 + bw * (0.82 if win_left else 0.18)
    lamp_y = y0 + (y1 - y0) * 0.05
    lamp = np.asarray((1.0, 0.78, 0.48), np.float32) * np.asarray(palette.light, np.float32)
    win_light = np.asarray(TIMES[scene.time_of_day].sun, np.float32) * np.asarray(palette.light, np.float32)
    if not light.night:
        patch = np.zeros((h, w), np.uint8)
        spread = 1.6
        _poly(patch, [(wx0, y1 + 2), (wx1, y1 + 2), (vx + (wx1 - vx) * spread * 1.6, y1 + depth * 0.65),
                      (vx + (wx0 - vx) * spread * 1.6, y1 + depth * 0.65)])
        patch = cv2.GaussianBlur(patch, (0, 0), max(1.0, s * 0.01))
        img += _alpha(patch) * win_light * 0.18 * (1.0 if scene.time_of_day == "day" else 0.6)
        img += _glow(h, w, (wx0 + wx1) / 2, (wy0 + wy1) / 2, s * 0.35)[..., None] * win_light * 0.12
        key_xy = ((wx0 + wx1) / 2, (wy0 + wy1) / 2)
        key_col = win_light
    else:
        key_xy = (lamp_x, lamp_y + s * 0.1)
        key_col = lamp
    if light.night or scene.time_of_day == "dusk" or "lamp" in scene.features:
        pend = np.zeros((h, w), np.uint8)
        _line(pend, (lamp_x, 0), (lamp_x, lamp_y + s * 0.06), max(1.0, s * 0.003))
        _poly(pend, [(lamp_x - s * 0.035, lamp_y + s * 0.1), (lamp_x + s * 0.035, lamp_y + s * 0.1),
                     (lamp_x + s * 0.015, lamp_y + s * 0.06), (lamp_x - s * 0.015, lamp_y + s * 0.06)])
        _paint(img, pend, dark * 0.6)
        glow = _glow(h, w, lamp_x, lamp_y + s * 0.14, s * 0.42)
        img += glow[..., None] * lamp * (0.55 if light.night else 0.3)
        img += _glow(h, w, lamp_x, lamp_y + s * 0.11, s * 0.05)[..., None] * lamp * 0.8
        key_xy, key_col = (lamp_x, lamp_y + s * 0.1), lamp
    if screens.any():
        _paint(img, screens, (0.55, 0.72, 0.9) if room == "office" else _mix(lamp, (0.3, 0.6, 0.4), 0.5))
        if room == "office" and light.night:
            ys, xs = np.nonzero(screens)
            img += _glow(h, w, xs.mean(), ys.mean(), s * 0.15)[..., None] * np.asarray((0.4, 0.6, 0.9)) * 0.3

    floor_top = y1 + depth * (0.35 if room in ("office", "bar") else 0.3)
    floor_top = min(floor_top, ground_limit - 0.06 * h)
    figure = _lean(np.array((0.03, 0.03, 0.04), np.float32) + floor * level * 0.12, palette, 0.2)
    return Stage(img, vy, floor_top, key_xy, key_col, level, figure,
                 {"vanishing_point": [round(vx / w, 3), round(vy / h, 3)], "room": room}, camera=(1.0, 1.15))


# --------------------------------------------------------------------------------------------------------------
# Characters
# --------------------------------------------------------------------------------------------------------------
def _figure(mask: np.ndarray, rng: np.random.Generator, fx: float, fy: float, height: float) -> None:
    """A standing person (head, torso or coat, arms, legs), feet at (fx, fy), ``height`` pixels tall."""
    hh = height
    head_r = hh * rng.uniform(0.058, 0.068)
    shoulders = hh * rng.uniform(0.2, 0.26) / 2
    waist = shoulders * rng.uniform(0.65, 0.8)
    coat = rng.random() < 0.4
    lean = hh * rng.uniform(-0.02, 0.02)
    head_y = fy - hh + head_r * 1.05
    sh_y = fy - hh * 0.81
    hip_y = fy - hh * 0.48
    # Head, hair or hat, neck.
    _ellipse(mask, (fx + lean, head_y), (head_r * 0.88, head_r * 1.05))
    style = rng.random()
    if style < 0.22:  # hat
        _ellipse(mask, (fx + lean, head_y - head_r * 0.55), (head_r * 1.7, head_r * 0.28))
        _rect(mask, fx + lean - head_r * 0.85, head_y - head_r * 1.35, fx + lean + head_r * 0.85,
              head_y - head_r * 0.5)
    elif style < 0.5:  # long hair
        _ellipse(mask, (fx + lean, head_y + head_r * 0.6), (head_r * 0.95, head_r * 1.25))
    _rect(mask, fx + lean * 0.7 - head_r * 0.35, head_y + head_r * 0.8, fx + lean * 0.7 + head_r * 0.35, sh_y + 2)
    # Torso (or a coat down to the knees).
    bottom = fy - hh * (0.25 if coat else 0.46)
    flare = waist * (1.35 if coat else 1.0)
    _poly(mask, [(fx + lean * 0.6 - shoulders, sh_y + hh * 0.02), (fx + lean * 0.6 - shoulders * 0.8, sh_y - hh * 0.01),
                 (fx + lean * 0.6 + shoulders * 0.8, sh_y - hh * 0.01), (fx + lean * 0.6 + shoulders, sh_y + hh * 0.02),
                 (fx + flare, bottom), (fx - flare, bottom)])
    # Arms: down, slightly out; sometimes one bent (hand on hip or in a pocket).
    arm_t = hh * rng.uniform(0.05, 0.062)
    for side in (-1, 1):
        sx = fx + lean * 0.6 + side * shoulders * 0.86
        if rng.random() < 0.25:
            elbow = (sx + side * hh * 0.07, sh_y + hh * 0.17)
            hand = (fx + side * waist * 1.1, hip_y - hh * 0.02)
        else:
            elbow = (sx + side * hh * 0.03, sh_y + hh * 0.18)
            hand = (sx + side * hh * rng.uniform(0.0, 0.04), sh_y + hh * 0.36)
        _line(mask, (sx, sh_y + arm_t * 0.4), elbow, arm_t)
        _line(mask, elbow, hand, arm_t * 0.9)
        _ellipse(mask, hand, (arm_t * 0.5, arm_t * 0.6))
    # Legs and feet.
    stance = hh * rng.uniform(0.06, 0.11)
    leg_t = hh * rng.uniform(0.055, 0.065)
    for side in (-1, 1):
        hip = (fx + side * waist * 0.55, hip_y)
        foot = (fx + side * stance, fy - leg_t * 0.3)
        _line(mask, hip, foot, leg_t)
        _ellipse(mask, (foot[0] + side * leg_t * 0.35, fy - leg_t * 0.25), (leg_t * 0.75, leg_t * 0.32))
    _poly(mask, [(fx - waist, hip_y - hh * 0.03), (fx + waist, hip_y - hh * 0.03), (fx + waist * 0.85, hip_y + hh * 0.04),
                 (fx - waist * 0.85, hip_y + hh * 0.04)])


def _place(n: int, w: int, light_x: float, rng: np.random.Generator) -> list[float]:
    """Horizontal positions: the thirds for one or two people (one person opposite the light), else spread."""
    if n == 0:
        return []
    if n == 1:
        base = [2 / 3 if light_x < w / 2 else 1 / 3]
    elif n == 2:
        base = [1 / 3, 2 / 3]
    else:
        margin = 0.5 / n + 0.04
        base = list(np.linspace(margin, 1 - margin, n))
    jitter = 0.03 if n <= 3 else 0.012
    return [w * (b + rng.uniform(-jitter, jitter)) for b in base]


def _cast(stage: Stage, names: list[str], seed: int, w: int, h: int, feet_limit: float) -> tuple[np.ndarray, list]:
    """Silhouettes for ``names``; returns the combined mask (float HxW) and one box per figure."""
    total = np.zeros((h, w), np.float32)
    figures: list[dict[str, Any]] = []
    if not names:
        return total, figures
    rng = _rng(seed, "cast")
    xs = _place(len(names), w, stage.light_xy[0], rng)
    spacing = w / max(1, len(names))
    top, bottom = stage.floor_top, feet_limit
    for i, (name, fx) in enumerate(zip(names, xs)):
        person = _rng(seed, f"person:{name}:{i}")
        # Alternate depth for crowds so heads do not line up; a closer figure is lower and bigger.
        depth = person.uniform(0.55, 1.0) if len(names) <= 2 else (0.9 if i % 2 == 0 else 0.6)
        fy = top + (bottom - top) * depth
        k = person.uniform(*stage.camera)
        # A crowd stands further back (smaller, by perspective) so that neighbours do not overlap; where the set
        # has no room behind (a dock before the water) the figure is scaled down instead.
        fit = spacing * 1.7
        fy = max(top, min(fy, stage.eye_y + fit / k))
        height = min((fy - stage.eye_y) * k, fit, fy - h * 0.04)
        height = max(height, h * 0.06)
        mask = np.zeros((h, w), np.uint8)
        _figure(mask, person, fx, fy, height)
        m = mask.astype(np.float32) / 255.0
        ys, xs_ = np.nonzero(mask > 32)
        box = [int(xs_.min()), int(ys.min()), int(xs_.max()) + 1, int(ys.max()) + 1] if len(xs_) else [0, 0, 0, 0]
        figures.append({"name": name, "box": box, "feet": [round(fx, 1), round(fy, 1)], "height": round(height, 1)})
        total = np.maximum(total, m)
    return total, figures


def _draw_cast(stage: Stage, mask: np.ndarray, figures: list, w: int, h: int) -> None:
    if not figures:
        return
    img = stage.img
    s = min(w, h)
    lx, ly = stage.light_xy
    # Contact shadows, stretched away from the light.
    shadow = np.zeros((h, w), np.uint8)
    for f in figures:
        fx, fy = f["feet"]
        away = -1.0 if lx > fx else 1.0
        _ellipse(shadow, (fx + away * f["height"] * 0.12, fy), (f["height"] * 0.2, f["height"] * 0.03))
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(1.0, s * 0.006))
    _paint(img, shadow, (0.0, 0.0, 0.0), 0.45)
    _paint(img, mask, stage.figure_colour)
    # Rim light along the edge that faces the light.
    shift = max(1, int(round(s * 0.006)))
    for f in figures:
        x0, y0, x1, y1 = f["box"]
        sx = shift if lx < (x0 + x1) / 2 else -shift
        sy = shift if ly < (y0 + y1) / 2 else -shift
        region = (slice(max(0, y0 - 2), min(h, y1 + 2)), slice(max(0, x0 - 2), min(w, x1 + 2)))
        m = mask[region]
        moved = np.roll(np.roll(m, sx, axis=1), sy // 2, axis=0)
        rim = np.clip(m - moved, 0.0, 1.0)
        strength = 0.55 + 0.3 * (1.0 - stage.ambient)
        img[region] += rim[..., None] * stage.light_colour * strength


# --------------------------------------------------------------------------------------------------------------
# Weather, grade, film
# --------------------------------------------------------------------------------------------------------------
def _weather(img: np.ndarray, scene: Scene, stage: Stage, seed: int, w: int, h: int) -> None:
    feats = set(scene.features)
    s = min(w, h)
    rows = np.arange(h, dtype=np.float32)[:, None]
    if "fog" in feats:
        haze_col = _mix(TIMES[scene.time_of_day].horizon, (0.7, 0.72, 0.75), 0.5) * max(0.35, stage.ambient)
        field_ = _noise2d(_rng(seed, "fog"), h, w, (2, 4), octaves=3)
        near = np.clip((rows - stage.eye_y) / max(1.0, h - stage.eye_y), 0, 1)
        amount = (0.38 - 0.3 * near) * (0.6 + 0.8 * field_)
        _paint(img, np.clip(amount, 0, 0.85), haze_col)
    if "rain" in feats and not scene.interior:
        rng = _rng(seed, "rain")
        streaks = np.zeros((h, w), np.uint8)
        n = int(w * h / 900)
        x = rng.uniform(-0.1 * w, w, n)
        y = rng.uniform(0, h, n)
        length = rng.uniform(0.02, 0.06, n) * s
        for xi, yi, li in zip(x, y, length):
            _line(streaks, (xi, yi), (xi + li * 0.25, yi + li), 1, int(rng.uniform(60, 160)))
        img += _alpha(streaks) * np.asarray((0.75, 0.8, 0.88)) * 0.35
    if "snow" in feats and not scene.interior:
        rng = _rng(seed, "snowfall")
        flakes = np.zeros((h, w), np.uint8)
        n = int(w * h / 1400)
        for xi, yi, ri in zip(rng.uniform(0, w, n), rng.uniform(0, h, n), rng.uniform(0.8, 2.4, n) * s / 512):
            _ellipse(flakes, (xi, yi), (max(0.8, ri), max(0.8, ri)))
        flakes = cv2.GaussianBlur(flakes, (0, 0), max(0.5, s / 900))
        _paint(img, flakes, (0.92, 0.94, 1.0), 0.75)


def _grade(img: np.ndarray, palette: Palette) -> np.ndarray:
    """Saturation, contrast around mid-grey, then split toning (soft-light tints by luminance)."""
    img = np.clip(img, 0.0, 1.0)
    lum = (img @ np.asarray((0.299, 0.587, 0.114), np.float32))[..., None]
    if palette.saturation != 1.0:
        img = lum + (img - lum) * palette.saturation
    if palette.contrast != 1.0:
        img = (img - 0.45) * palette.contrast + 0.45
    img = np.clip(img, 0.0, 1.0)
    shadows = np.asarray(palette.shadows, np.float32)
    highlights = np.asarray(palette.highlights, np.float32)
    if not (np.allclose(shadows, 0.5) and np.allclose(highlights, 0.5)):
        b = shadows * (1.0 - lum) + highlights * lum
        img = (1.0 - 2.0 * b) * img * img + 2.0 * b * img
    return np.clip(img, 0.0, 1.0)


def _film(img: np.ndarray, seed: int, grain: float, vignette: float) -> np.ndarray:
    h, w = img.shape[:2]
    if vignette > 0:
        ys = (np.arange(h, dtype=np.float32)[:, None] / h - 0.5) * 2.0
        xs = (np.arange(w, dtype=np.float32)[None, :] / w - 0.5) * 2.0
        r2 = (xs * xs + ys * ys) / 2.0
        img = img * (1.0 - vignette * r2 ** 1.5)[..., None]
    if grain > 0:
        noise = _rng(seed, "grain").standard_normal((h, w), dtype=np.float32) * grain
        img = img + noise[..., None] * (0.4 + 0.6 * np.sqrt(np.clip(img, 0, 1)))
    return np.clip(img, 0.0, 1.0)


# --------------------------------------------------------------------------------------------------------------
# Caption bar and labels
# --------------------------------------------------------------------------------------------------------------
def caption_lines(scene: Scene, caption: str | None) -> list[str]:
    """What the bar says: the slugline (when there is one) and the caption; ``caption=""`` means no bar."""
    if caption is not None and not caption.strip():
        return []
    lines = [scene.slugline.upper()] if scene.slugline else []
    if caption:
        lines += [" ".join(caption.split())]
    return lines


def _bar_height(h: int, lines: int) -> int:
    if not lines:
        return 0
    line_h = max(10, round(h * 0.055))
    return int(line_h * lines + line_h * 0.6)


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: float) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _caption_bar(image: Image.Image, lines: list[str]) -> None:
    if not lines:
        return
    w, h = image.size
    bar_h = _bar_height(h, len(lines))
    line_h = max(10, round(h * 0.055))
    region = image.crop((0, h - bar_h, w, h))
    region = Image.blend(region, Image.new("RGB", region.size, (8, 8, 10)), 0.78)
    image.paste(region, (0, h - bar_h))
    draw = ImageDraw.Draw(image)
    pad = max(4, round(w * 0.025))
    y = h - bar_h + line_h * 0.3
    for k, text in enumerate(lines):
        slug = k == 0 and len(lines) > 1
        font = _font(max(8, round(line_h * (0.62 if slug else 0.7))))
        draw.text((pad, y + (line_h * 0.06 if slug else 0)), _fit(draw, text, font, w - 2 * pad),
                  fill=(200, 200, 205) if slug else (240, 240, 240), font=font)
        y += line_h


def _labels(image: Image.Image, figures: list[dict[str, Any]]) -> None:
    if not figures:
        return
    w, h = image.size
    draw = ImageDraw.Draw(image)
    size = max(8, round(min(w, h) * 0.028))
    font = _font(size)
    for f in figures:
        x0, y0, x1, _ = f["box"]
        text = f["name"].upper()
        tw = draw.textlength(text, font=font)
        tx = min(max(2.0, (x0 + x1) / 2 - tw / 2), w - tw - 2)
        ty = max(2.0, y0 - size * 1.5)
        draw.text((tx, ty), text, fill=(245, 245, 245), font=font, stroke_width=max(1, size // 6),
                  stroke_fill=(10, 10, 12))


# --------------------------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------------------------
def render_frame(request: SceneRequest, seed: int, scene: Scene | None = None, *, grain: float = 0.035,
                 vignette: float = 0.45, labels: bool = True,
                 init: Image.Image | None = None) -> tuple[Image.Image, dict[str, Any]]:
    """One storyboard frame for ``request`` at ``seed``; returns the picture and its figure boxes."""
    scene = scene or read_scene(request)
    w, h = request.width, request.height
    palette = PALETTES[scene.palette]
    lines = caption_lines(scene, request.caption)
    feet_limit = h - _bar_height(h, len(lines)) - 0.025 * h
    build = _interior if scene.interior else _exterior
    stage = build(scene, palette, w, h, seed, feet_limit)
    mask, figures = _cast(stage, scene.characters, seed, w, h, feet_limit)
    _draw_cast(stage, mask, figures, w, h)
    _weather(stage.img, scene, stage, seed, w, h)
    img = _grade(stage.img, palette)
    img = _film(img, seed, grain, vignette)
    image = Image.fromarray((img * 255.0 + 0.5).astype(np.uint8), "RGB")
    if labels:
        _labels(image, figures)
    if init is not None and request.strength < 1.0:
        image = Image.blend(init, image, float(request.strength))
    _caption_bar(image, lines)
    return image, {"figures": [{"name": f["name"], "box": f["box"]} for f in figures], "stage": stage.notes}


class ProceduralRenderer(Engine[SceneRequest, SceneResult]):
    """Storyboard frames drawn from the scene's words (CPU, no model, ~50–150 ms per 512×512 frame).

    ``config.options``: ``grain`` (0.035), ``vignette`` (0.45), ``labels`` (True: names over the figures).
    """

    kind = "scene"
    name = "lite"

    def run(self, request: SceneRequest, ctx: Context | None = None) -> SceneResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()
        # 1. Check inputs and read the scene once for the whole batch.
        request.validate()
        ctx.check()
        scene = read_scene(request)
        init = (load_init_image(request.init_image, (request.width, request.height))
                if request.init_image is not None else None)
        opts = self.config.options
        grain = float(opts.get("grain", 0.035))
        vignette = float(opts.get("vignette", 0.45))
        labels = bool(opts.get("labels", True))
        # 2. Render each frame of the batch with its own seed.
        images, seeds, extras = [], [], []
        for i in range(request.batch):
            ctx.check()
            seed = request.seed + i
            image, extra = render_frame(request, seed, scene, grain=grain, vignette=vignette, labels=labels,
                                        init=init)
            images.append(image)
            seeds.append(seed)
            extras.append(extra)
            ctx.report((i + 1) / request.batch, f"Frame {i + 1}/{request.batch}")
        # 3. Parameters for provenance and the PNG chunks.
        params = request.as_dict()
        params.update(backend=self.name, model=None, model_id=None, sampler=None, scene=scene.as_dict())
        return SceneResult(images=images, seeds=seeds, parameters=params, backend=self.name, model_id=None,
                           seconds=time.perf_counter() - started, extras=extras)
