"""The ``lite`` script writer: a structured, seeded screenplay generator (CPU, no model, no network).

How a draft is made (``LiteWriter.draft``):

1. The request is checked, and the logline read for its key words (``words.extract``): the thing at stake ("the
   smuggling ring"), places ("lighthouse"), people ("a retired lighthouse keeper"), names, the goal ("stop a
   smuggling ring") and the stakes ("a storm cuts the island off").
2. A beat sheet is chosen by scene count: three-act beats (Setup, Inciting Incident, Debate, Midpoint, Crisis,
   Climax, Resolution) for up to 7 scenes, Save the Cat's 15 beats for 8 or more; with fewer scenes than beats
   the most important beats are kept (in story order), with more the expandable beats (Fun and Games, Bad Guys
   Close In, Finale, ...) get several scenes.
3. A cast: the request's names (protagonist, ally, antagonist, extras) or names made up (a name in the
   logline becomes the protagonist's), described from the logline or the genre.
4. Each scene is written from slot grammars (``grammar.py``): a heading whose location comes from the logline's
   places or the genre (home base for setup and resolution, a set piece for the climax) and whose time of day
   follows the beat and the tone; an establishing line (genre sights, tone atmosphere), the entrances (people
   introduced in capitals with age and description on first appearance), two or three dialogue exchanges picked
   for the beat's function (setup, inciting incident, debate, midpoint, crisis, climax, resolution, ...) with
   the logline's words woven in, tone-specific parentheticals, beat actions and a button. The last scene ends
   on the tone's final image, ``FADE OUT.`` and ``THE END``.

Everything is drawn from one ``random.Random`` seeded by (seed, request), so a request and seed always give the
same script, and another seed another script. Every speech is subtitle-size (``types.subtitle_chunks``); longer
ones are split by a ``(beat)``.
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..context import Context
from . import grammar as G
from .base import ScriptEngine
from .fountain import (DialogueLine, Scene, Screenplay, clean_text, format_cue, format_heading,
                       replace_scene, scene_to_fountain)
from .types import (Beat, DialogueRequest, DialogueResult, DraftRequest, DraftResult, RewriteRequest, RewriteResult,
                    check_dialogue, check_draft, check_rewrite, subtitle_chunks)
from .words import PERSON_WORDS, PLACE_WORDS, Keywords, extract, place_label, speak

VILLAIN_WORDS = frozenset("""killer thief smuggler smugglers sheriff boss rival enemy assassin hacker landlord
mercenary pirate outlaw bandit gang cult tycoon mogul warlord witch sorcerer sorceress queen king ceo developer
corporation syndicate mob cartel stalker kidnapper poacher dictator""".split())


def genre_key(genre: str) -> str:
    """The grammar used for ``genre`` (aliases understood; anything unknown is drama)."""
    g = " ".join((genre or "").lower().replace("_", " ").split())
    if g in G.GENRES:
        return g
    if g in G.GENRE_ALIASES:
        return G.GENRE_ALIASES[g]
    for word in re.findall(r"[a-z\-]+", g):
        if word in G.GENRES:
            return word
        if word in G.GENRE_ALIASES:
            return G.GENRE_ALIASES[word]
    return "drama"


def tone_key(tone: str) -> str:
    """The tone used for ``tone`` (aliases understood; anything unknown is hopeful)."""
    t = " ".join((tone or "").lower().split())
    if t in G.TONES:
        return t
    for word in [t] + re.findall(r"[a-z\-]+", t):
        if word in G.TONES:
            return word
        if word in G.TONE_ALIASES:
            return G.TONE_ALIASES[word]
    return "hopeful"


def plan(scenes: int) -> tuple[str, list[tuple[str, str]]]:
    """(beat sheet name, [(beat name, beat function)] one per scene) for ``scenes`` scenes."""
    sheet, name = (G.THREE_ACT, "three-act") if scenes <= len(G.THREE_ACT) else (G.SAVE_THE_CAT, "save-the-cat")
    if scenes <= len(sheet):
        keep = sorted(sorted(range(len(sheet)), key=lambda i: sheet[i][2])[:scenes])
        return name, [(sheet[i][0], sheet[i][1]) for i in keep]
    counts = {beat: 1 for beat, _, _ in sheet}
    for k in range(scenes - len(sheet)):
        counts[G.EXPANDABLE[k % len(G.EXPANDABLE)]] += 1
    beats: list[tuple[str, str]] = []
    for beat, function, _ in sheet:
        for part in range(counts[beat]):
            beats.append((beat if part == 0 else f"{beat} ({part + 1})", function))
    return name, beats


def _article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def _with_the(phrase: str) -> str:
    """"the smuggling ring" / "Lisbon" / "her brother"."""
    words = phrase.split()
    if not words:
        return phrase
    if words[0][:1].isupper() or words[0].lower() in ("the", "his", "her", "their", "my", "our", "your"):
        return phrase
    if words[0].lower() in ("a", "an"):
        return " ".join(["the"] + words[1:])
    return "the " + phrase


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _display(name: str) -> str:
    """How a name reads in prose: "MAYA" / "maya" -> "Maya"; "McCLANE" stays."""
    name = _clean_name(name)
    if name.isupper() or name.islower():
        return " ".join(w[:1].upper() + w[1:].lower() for w in name.split())
    return name


def _clean_name(name: str) -> str:
    return " ".join(re.sub(r"[()\[\]^@*#~!<>=/\\]", " ", name or "").split())


@dataclass
class _Person:
    name: str  # as it reads in prose
    role: str  # "P", "A", "X", "E" (extra), "N" (narrator)
    desc: str = ""
    age: str = ""
    introduced: bool = False

    @property
    def cue(self) -> str:
        return self.name.upper()

    def intro(self) -> str:
        """"ROSA (60s), a retired lighthouse keeper," on first appearance, then "Rosa"."""
        if self.introduced:
            return self.name
        self.introduced = True
        age = f" ({self.age})" if self.age else ""
        return f"{self.cue}{age}, {self.desc}," if self.desc else f"{self.cue}{age}"


@dataclass
class _World:
    """Everything a scene is written from."""

    rng: random.Random
    genre: str
    tone: str
    words: Keywords
    thing: str
    other: str
    place: str
    home: tuple[str, str]
    goal: str
    stakes: str
    cast: dict[str, _Person]
    extras: list[_Person] = field(default_factory=list)
    places: list[tuple[str, str]] = field(default_factory=list)
    #: How many of ``places`` (at the front) come from the logline.
    logline_places: int = 0
    used: set = field(default_factory=set)

    @property
    def g(self) -> dict[str, Any]:
        return G.GENRES[self.genre]

    @property
    def t(self) -> dict[str, Any]:
        return G.TONES[self.tone]

    def fresh(self, options: list, key: str):
        """A choice not yet used under ``key``, or None when all are."""
        unused = [o for o in options if (key, repr(o)) not in self.used]
        if not unused:
            return None
        choice = self.rng.choice(unused)
        self.used.add((key, repr(choice)))
        return choice

    def pick(self, options: list, key: str | None = None):
        """A random choice; under a ``key``, ones not used yet come first (then the cycle starts again)."""
        if key is None:
            return self.rng.choice(options)
        choice = self.fresh(options, key)
        if choice is None:
            self.used = {u for u in self.used if u[0] != key}
            choice = self.fresh(options, key)
        return choice

    def begin_scene(self) -> None:
        """Fix the scene's prop and sound (so a scene keeps to one of each)."""
        self.scene_prop = self.pick(self.g["props"], "prop")
        self.scene_sound = self.pick(self.g["sounds"], "sound")

    def slots(self, other: _Person) -> dict[str, str]:
        prop = getattr(self, "scene_prop", None) or self.g["props"][0]
        return {"P": self.cast["P"].name, "O": other.name, "A": self.cast["A"].name, "X": self.cast["X"].name,
                "thing": self.thing, "Thing": _cap(self.thing), "other": self.other, "place": self.place,
                "Place": _cap(self.place), "prop": prop, "prop_cap": _cap(_with_the(prop)),
                "goal": speak(self.goal, "my"), "goal_you": speak(self.goal, "your"),
                "goal_they": speak(self.goal, "their"), "stakes": self.stakes,
                "sound": getattr(self, "scene_sound", None) or self.g["sounds"][0],
                "p_desc": self.cast["P"].desc or "our lead"}

    def fill(self, template: str, other: _Person) -> str:
        return template.format_map(self.slots(other))


# ---------------------------------------------------------------------------------------------------------------
# Building the world
# ---------------------------------------------------------------------------------------------------------------
def _rng(*parts: Any) -> random.Random:
    return random.Random("\x1f".join(str(p) for p in parts))


def _age_for(desc: str) -> str | None:
    """An age that agrees with a description ("a young astronaut" -> 20s), or None."""
    words = set(re.findall(r"[a-z]+", desc.lower()))
    for age, cues in (("10", {"child", "kid", "boy", "girl"}), ("teens", {"teen", "teenage", "teenager"}),
                      ("20s", {"young", "student", "rookie", "intern"}),
                      ("60s", {"old", "retired", "elderly", "aging", "ageing", "veteran", "widow", "widower",
                               "grandmother", "grandfather", "grandma", "grandpa", "retiree", "pensioner"})):
        if words & cues:
            return age
    return None


def _names(rng: random.Random, given: list[str], words: Keywords, count: int = 3) -> list[str]:
    names = [_display(n) for n in given if _clean_name(n)]
    pool = [n for n in G.FIRST_NAMES if n.upper() not in {x.upper() for x in names}]
    rng.shuffle(pool)
    from_logline = [n for n in words.names if n.upper() not in {x.upper() for x in names}]
    while len(names) < count:
        if len(names) == 0 and from_logline:
            names.append(_display(from_logline[0]))
        elif len(names) == 2:
            surname = rng.choice([s for s in G.SURNAMES if s.upper() not in {x.upper() for x in names}])
            names.append(surname)
        else:
            names.append(pool.pop())
    return names


def _world(rng: random.Random, genre: str, tone: str, logline: str, given: list[str]) -> _World:
    g = G.GENRES[genre]
    words = extract(logline)
    people = words.people
    names = _names(rng, given, words)
    p_desc = f"{_article(people[0])} {people[0]}" if people else rng.choice(g["p_descs"])
    villain = next((p for p in people[1:] if set(p.lower().split()) & VILLAIN_WORDS), None)
    x_desc = f"{_article(villain)} {villain}" if villain else rng.choice(g["x_descs"])
    ages = rng.sample(G.AGES, 3)
    ages[0] = _age_for(p_desc) or ages[0]
    ages[2] = _age_for(x_desc) or ages[2]
    cast = {"P": _Person(names[0], "P", p_desc, ages[0]), "A": _Person(names[1], "A", rng.choice(g["a_descs"]),
                                                                       ages[1]),
            "X": _Person(names[2], "X", x_desc, ages[2])}
    extras = [_Person(n, "E", "", rng.choice(G.AGES)) for n in names[3:]]

    # Places: the logline's first, as the home base, then the genre's.
    places = []
    for phrase in words.places:
        label = place_label(phrase)
        head = label.split()[-1].lower()
        int_ext = PLACE_WORDS.get(head) or PLACE_WORDS.get(head.rstrip("s")) or "EXT"
        places.append((int_ext, label.upper()))
    genre_places = list(g["locations"])
    rng.shuffle(genre_places)
    home = places[0] if places else genre_places[0]
    place = _with_the(place_label(words.places[0]) if words.places else home[1].lower())
    things = [t for t in words.things if t.lower() not in PERSON_WORDS]
    thing = _with_the(things[0]) if things else rng.choice(G.STAKES_THINGS[genre])
    other = _with_the(things[1]) if len(things) > 1 else _with_the(rng.choice(g["props"]))
    goal = words.goal or rng.choice(["see this through", "make this right", "finish what I started"])
    if not words.goal:
        goal = {"see this through": "see this through", "make this right": "make this right",
                "finish what I started": "finish what they started"}[goal]
    stakes = words.stakes or "it's too late"
    return _World(rng=rng, genre=genre, tone=tone, words=words, thing=thing, other=other, place=place, home=home,
                  goal=goal, stakes=stakes, cast=cast, extras=extras,
                  places=places + [p for p in genre_places if p not in places], logline_places=len(places))


# ---------------------------------------------------------------------------------------------------------------
# Writing scenes
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class _SceneSpec:
    beat: str
    function: str
    int_ext: str
    location: str
    time_of_day: str
    number: str | None = None
    length: str = "normal"  # "short" | "normal" | "long"
    last: bool = False
    first: bool = False


class _Writer:
    """Paragraphs of one scene, with (CONT'D) and (beat) handled."""

    def __init__(self, world: _World) -> None:
        self.world = world
        self.paras: list[str] = []
        self.last_speaker: str | None = None

    def action(self, text: str) -> None:
        text = " ".join(text.split())
        if text:
            self.paras.append(text)
            self.last_speaker = None

    def say(self, person: _Person, text: str, parenthetical: str | None = None) -> None:
        chunks = subtitle_chunks(text)
        if not chunks:
            return
        extension = "CONT'D" if self.last_speaker == person.cue else ("V.O." if person.role == "N" else None)
        lines = [format_cue(person.cue, extension)]
        if parenthetical:
            lines.append(parenthetical)
        for k, chunk in enumerate(chunks):
            if k:
                lines.append("(beat)")
            lines.append(chunk)
        self.paras.append("\n".join(lines))
        self.last_speaker = person.cue

    def exchange(self, lines: list[tuple[str, str]], protagonist: _Person, other: _Person) -> None:
        w = self.world
        for role, template in lines:
            speaker = protagonist if role == "P" else other
            paren = w.pick(w.t["parentheticals"], "paren") if w.rng.random() < 0.22 else None
            self.say(speaker, w.fill(template, other), paren)


def _time_for(world: _World, function: str, last: bool) -> str:
    if function == "resolution" or last:
        return world.rng.choice(world.t["resolution_times"])
    return world.rng.choice(G.TIMES[function])


def _locations(world: _World, beats: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A location per scene: home for setup/resolution, a set piece for the climax, variety between."""
    out: list[tuple[str, str]] = []
    logline_places = list(world.places[1:world.logline_places])
    pool = [p for p in world.places if p != world.home]
    climax_pool = list(world.g["climax"])
    for k, (_, function) in enumerate(beats):
        prev = out[-1] if out else None
        if function in ("setup",) or (function == "resolution" and k == len(beats) - 1) or len(beats) == 1:
            loc = world.home
            if prev == world.home and world.home[0] == "INT":
                loc = (world.home[0], f"{world.home[1]} - {world.rng.choice(G.ROOMS)}")
        elif function == "climax":
            if world.home[0] == "EXT" and world.rng.random() < 0.3:
                loc = world.home
            else:
                loc = world.rng.choice(climax_pool)
        elif logline_places:
            loc = logline_places.pop(0)
        else:
            options = [p for p in pool if p != prev] or pool or [world.home]
            loc = world.pick(options, "location")
        out.append(loc)
    return out


def _fitting(lines: list[str], int_ext: str) -> list[str]:
    """Lines for an interior or exterior scene, their ``I:``/``E:`` marks removed."""
    side = "E" if int_ext.startswith("EXT") else "I" if int_ext.startswith("INT") and int_ext != "INT/EXT" else ""
    out = []
    for line in lines:
        tag, text = (line[0], line[2:]) if line[1:2] == ":" and line[0] in "IE" else ("", line)
        if not tag or not side or tag == side:
            out.append(text)
    return out or [line[2:] if line[1:2] == ":" else line for line in lines]


def _introduce(template: str, person: _Person, key: str) -> str:
    """``template`` with its first ``{key}`` followed by a space replaced by the person's introduction, when
    they have not been introduced yet."""
    if person.introduced:
        return template
    m = re.search(r"\{%s\}(?= )" % key, template)
    if m is None:
        return template
    intro = person.intro().replace("{", "{{").replace("}", "}}")
    return template[:m.start()] + intro + template[m.end():]


def _write_scene(world: _World, spec: _SceneSpec) -> list[str]:
    """The scene's paragraphs (heading first)."""
    rng = world.rng
    w = _Writer(world)
    P = world.cast["P"]
    counterpart = world.cast[G.COUNTERPART[spec.function]]
    if world.extras and spec.function in ("progress", "bond") and rng.random() < 0.5:
        counterpart = rng.choice(world.extras)
    w.paras.append(format_heading(spec.int_ext, spec.location, spec.time_of_day, spec.number))

    # 1. Establishing: the place, a sound or the tone's air.
    if world.genre == "documentary":
        narrator = _Person("Narrator", "N")
        w.say(narrator, world.fill(world.pick(world.g["narrator"], "narrator"), counterpart))
    world.begin_scene()
    side = "EXT" if spec.int_ext.startswith("EXT") else "INT"
    sight = world.fresh(_fitting(world.g["sights"], spec.int_ext), "sight") or \
        world.pick(G.GENERIC_SIGHTS[side], "generic-" + side)
    sight = world.fill(sight, counterpart)
    if rng.random() < 0.5:
        air = world.pick(_fitting(world.t["atmosphere"], spec.int_ext), "air")
    else:
        air = _cap(world.pick([s for s in world.g["sounds"] if s != world.scene_sound], "sound")) + "."
    w.action(f"{sight} {air}")

    # 2. Entrances: people are introduced (capitals, age, description) the first time the prose names them.
    actions = _fitting(G.ACTIONS[spec.function], spec.int_ext)
    rng.shuffle(actions)
    entrances = _fitting(G.ENTRANCES, spec.int_ext)
    first_action = actions[0]
    if not P.introduced and not re.search(r"\{P\} ", first_action):
        w.action(f"{P.intro()} {world.fill(world.pick(entrances, 'entrance'), counterpart)}.")
    w.action(world.fill(_introduce(_introduce(first_action, P, "P"), counterpart, "O"), counterpart))
    if "{O}" not in first_action:
        w.action(f"{counterpart.intro()} {world.fill(world.pick(entrances, 'entrance'), counterpart)}.")

    # 3. Exchanges, with the beat's action between them.
    pool = list(G.EXCHANGES[spec.function])
    n_exchanges = {"short": 2, "normal": 2, "long": 3}[spec.length]
    flavor = world.fresh(world.g["flavor"], "flavor") if rng.random() < 0.35 else None
    spare_actions = actions[1:]
    for k in range(n_exchanges):
        if k == 0 and spec.first:  # the protagonist speaks first in the film (the cast list starts with them)
            lines = world.pick([ex for ex in pool if ex[0][0] == "P"] or pool, "ex-" + spec.function)
        elif k == 1 and flavor:
            lines = flavor
        else:
            lines = world.pick(pool, "ex-" + spec.function)
        w.exchange(lines, P, counterpart)
        if k < n_exchanges - 1 and spec.length != "short":
            between = spare_actions.pop(0) if spare_actions else world.pick(G.PAUSES, "pause")
            w.action(world.fill(between, counterpart))

    # 4. The button; the last scene closes the film.
    if spec.last:
        w.say(P, world.fill(world.pick(world.t["closers"]), counterpart))
        w.action(world.fill(world.pick(_fitting(world.t["final_images"], spec.int_ext)), counterpart))
        w.paras.append(">FADE OUT.")
        w.paras.append(">THE END<")
    else:
        w.action(world.fill(world.pick(_fitting(G.BUTTONS, spec.int_ext), "button"), counterpart))
    return w.paras


def _title(world: _World, request_title: str) -> str:
    if request_title.strip():
        return clean_text(request_title)
    source = world.words.things[:1] or world.words.places[:1]
    if source:
        head = " ".join(w[:1].upper() + w[1:] for w in source[0].split())
        pattern = world.rng.choice(["The {T}", "{T}", "After the {T}", "The Last {T}"])
        return pattern.format(T=head)
    return world.rng.choice(["Small Hours", "The Long Way Round", "Ordinary Light", "Nobody's Home"])


def _title_page(title: str, logline: str, genre: str, tone: str, author: str) -> str:
    return "\n".join([f"Title: {title}", "Credit: Written by", f"Author: {author}", f"Logline: {logline}",
                      f"Genre: {genre}", f"Tone: {tone}"])


# ---------------------------------------------------------------------------------------------------------------
# Rewrite helpers
# ---------------------------------------------------------------------------------------------------------------
_FILLER = frozenset("""make it the a an this that scene more less bit little please and with to of in at more much
very so be should feel feeling some rewrite redo again version it's its but keep same just""".split())
_DAY_TO_NIGHT = [("Morning light", "Lamplight"), ("morning light", "lamplight"), ("Sunlight", "Moonlight"),
                 ("sunlight", "moonlight"), ("the sun", "the moon"), ("The sun", "The moon"),
                 ("Late light", "Streetlight"), ("Golden light", "Lamplight")]


def read_instruction(instruction: str) -> dict[str, Any]:
    """What the lite rewrite understands in ``instruction``: tone, length, time of day, words it ignored."""
    text = " ".join((instruction or "").lower().split())
    found: dict[str, Any] = {"tone": None, "length": None, "time": None, "understood": [], "ignored": []}
    if "more detail" in text:
        found["length"] = "long"
        found["understood"].append("more detail")
        text = text.replace("more detail", " ")
    for word in re.findall(r"[a-z][a-z'\-]*", text):
        if word in G.REWRITE_TONE_WORDS:
            found["tone"] = G.REWRITE_TONE_WORDS[word]
        elif word in G.REWRITE_LENGTH_WORDS:
            found["length"] = G.REWRITE_LENGTH_WORDS[word]
        elif word in G.REWRITE_TIME_WORDS:
            found["time"] = G.REWRITE_TIME_WORDS[word]
        elif word not in _FILLER:
            found["ignored"].append(word)
            continue
        else:
            continue
        found["understood"].append(word)
    return found


def _shorter(scene: Scene) -> Scene:
    """The scene trimmed: heading, the first action (first sentence), the first half of the dialogue blocks (at
    least two), the last action and any closing transition."""
    els = scene.elements
    groups: list[list] = []
    for el in els:
        if el.kind == "character" or not groups or el.kind not in ("dialogue", "parenthetical", "lyrics") \
                or el.character is None:
            groups.append([el])
        else:
            groups[-1].append(el)
    dialogue = [g for g in groups if g[0].kind == "character"]
    keep_dialogue = {id(g[0]) for g in dialogue[:max(2, (len(dialogue) + 1) // 2)]}
    actions = [g for g in groups if g[0].kind == "action"]
    first_action = actions[0][0] if actions else None
    last_action = actions[-1][0] if len(actions) > 1 else None
    kept = []
    for g in groups:
        head = g[0]
        if head.kind == "scene_heading" or head.kind in ("transition", "centered") or id(head) in keep_dialogue:
            kept.extend(g)
        elif head is first_action:
            sentence = re.split(r"(?<=[.!?])\s+", head.text.strip(), maxsplit=1)[0]
            kept.append(type(head)(head.kind, sentence, head.line))
        elif head is last_action:
            kept.append(head)
    return Scene(index=scene.index, heading=scene.heading, int_ext=scene.int_ext, location=scene.location,
                 time_of_day=scene.time_of_day, number=scene.number, elements=kept, characters=scene.characters,
                 dialogue=[], action_text="", start_line=scene.start_line, end_line=scene.end_line,
                 page_count=0.0, est_seconds=0.0)


# ---------------------------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------------------------
class LiteWriter(ScriptEngine):
    """Seeded beat-sheet screenplay generator (see the module notes)."""

    name = "lite"

    # -- draft ---------------------------------------------------------------------------------------------------
    def _prepare(self, request: DraftRequest) -> tuple[_World, str, list[tuple[str, str]], list[_SceneSpec], str]:
        genre, tone = genre_key(request.genre), tone_key(request.tone)
        logline = clean_text(request.logline)
        rng = _rng("draft", request.seed, logline, genre, tone, request.scenes, "|".join(request.characters),
                   request.title)
        world = _world(rng, genre, tone, logline, list(request.characters))
        sheet, beats = plan(request.scenes)
        locations = _locations(world, beats)
        specs = []
        for k, ((beat, function), (int_ext, location)) in enumerate(zip(beats, locations)):
            last = k == len(beats) - 1
            length = "long" if request.scenes <= 3 else "normal"
            specs.append(_SceneSpec(beat, function, int_ext, location, _time_for(world, function, last),
                                    length=length, last=last, first=k == 0))
        title = _title(world, request.title)
        return world, sheet, beats, specs, title

    def _outline(self, world: _World, beats: list[tuple[str, str]]) -> list[Beat]:
        out = []
        for beat, function in beats:
            base = re.sub(r" \(\d+\)$", "", beat)
            template = G.BEAT_DESCRIPTIONS.get(base, "{P} and {A} push on.")
            other = world.cast[G.COUNTERPART[function]]
            out.append(Beat(beat, world.fill(template, other)))
        return out

    def stream_draft(self, request: DraftRequest, ctx: Context | None = None) -> Iterator[str]:
        """The draft's text as it grows, a paragraph at a time; the last value is ``draft(request).fountain``."""
        ctx = self._ctx(ctx)
        # 1. Check inputs.
        check_draft(request)
        ctx.check()
        # 2. Plan: world, beats, locations.
        world, sheet, beats, specs, title = self._prepare(request)
        logline = clean_text(request.logline)
        text = _title_page(title, logline, world.genre, world.tone, "Reelsmith (lite writer)") + "\n"
        yield text
        # 3. Scenes.
        for k, spec in enumerate(specs):
            ctx.check()
            ctx.report(k / len(specs), f"Scene {k + 1} of {len(specs)}: {spec.beat}")
            for para in _write_scene(world, spec):
                text += "\n" + para + "\n"
                yield text
        ctx.report(1.0, f"Drafted {len(specs)} scenes")

    def draft(self, request: DraftRequest, ctx: Context | None = None) -> DraftResult:
        t0 = time.perf_counter()
        text = ""
        for text in self.stream_draft(request, ctx):
            pass
        world, sheet, beats, _, title = self._prepare(request)
        return DraftResult(outline=self._outline(world, beats), fountain=text, backend=self.name, model_id=None,
                           seconds=time.perf_counter() - t0,
                           parameters={**request.as_dict(), "genre_used": world.genre, "tone_used": world.tone,
                                       "beat_sheet": sheet, "title_used": title,
                                       "cast": {r: p.name for r, p in world.cast.items()}})

    # -- rewrite -------------------------------------------------------------------------------------------------
    def rewrite(self, request: RewriteRequest, ctx: Context | None = None) -> RewriteResult:
        ctx = self._ctx(ctx)
        t0 = time.perf_counter()
        # 1. Check inputs.
        play = check_rewrite(request)
        scene = play.scenes[request.scene_index]  # check_rewrite made sure it has a heading
        ctx.report(0.1, f"Rewriting scene {scene.index}: {scene.heading}")
        wants = read_instruction(request.instruction)
        # 2. Edit in place when only length or time is asked for; otherwise write the scene anew.
        if wants["tone"] is None and (wants["length"] or wants["time"]):
            scene_text = self._edit(scene, wants, play, request)
            mode = "edited"
        else:
            scene_text = "\n\n".join(self._regenerate(play, scene, wants, request)) + "\n"
            mode = "rewritten"
        ctx.check()
        fountain = replace_scene(request.fountain, scene.index, scene_text)
        ctx.report(1.0, "Rewritten")
        return RewriteResult(fountain=fountain, scene_text=scene_text, backend=self.name, model_id=None,
                             seconds=time.perf_counter() - t0,
                             parameters={"scene_index": scene.index, "instruction": request.instruction,
                                         "seed": request.seed, "mode": mode, **wants})

    def _context(self, play: Screenplay, scene: Scene, wants: dict[str, Any], seed: int) -> _World:
        page = {k.lower(): v for k, v in play.title_page.items()}
        logline = clean_text(page.get("logline", "")) or clean_text(" ".join(
            s.action_text for s in play.scenes[:2]))[:400]
        genre = genre_key(page.get("genre", "drama"))
        tone = wants["tone"] or tone_key(page.get("tone", "hopeful"))
        rng = _rng("rewrite", seed, scene.index, scene.heading, wants, logline)
        world = _world(rng, genre, tone, logline, [])
        # Cast from the script: the protagonist has the most speeches (the first to speak wins a tie); the
        # scene's other speaker faces them.
        said: dict[str, int] = {}
        for s in play.scenes:
            for d in s.dialogue:
                said[d.character] = said.get(d.character, 0) + 1
        order = [c for c in play.characters if c != "NARRATOR"]
        order.sort(key=lambda c: -said.get(c, 0))
        protagonist = order[0] if order else world.cast["P"].cue
        others = list(dict.fromkeys([c for c in scene.characters if c not in (protagonist, "NARRATOR")]
                                    + [c for c in order if c != protagonist]))
        seen_before = {c for s in play.scenes[:scene.index] for c in s.characters}
        names = [protagonist] + others
        function = self._function(play, scene)
        counter_role = G.COUNTERPART[function]
        roles = ["P", counter_role, "X" if counter_role == "A" else "A"]
        for role, name in zip(roles, names):
            person = world.cast[role]
            person.name = _display(name)
            person.introduced = name in seen_before
        return world

    @staticmethod
    def _function(play: Screenplay, scene: Scene) -> str:
        real = [s for s in play.scenes if s.heading]
        position = next(i for i, s in enumerate(real) if s.index == scene.index)
        return plan(len(real))[1][position][1]

    def _regenerate(self, play: Screenplay, scene: Scene, wants: dict[str, Any], request: RewriteRequest) -> list[str]:
        world = self._context(play, scene, wants, request.seed)
        function = self._function(play, scene)
        real = [s for s in play.scenes if s.heading]
        last = scene.index == real[-1].index
        spec = _SceneSpec("rewrite", function, scene.int_ext, scene.location,
                          wants["time"] or scene.time_of_day or _time_for(world, function, last),
                          number=scene.number, length=wants["length"] or "normal", last=last)
        paras = _write_scene(world, spec)
        if not scene.int_ext:  # a forced heading: keep it as it was
            paras[0] = format_heading("", scene.heading, "", scene.number)
        return paras

    def _edit(self, scene: Scene, wants: dict[str, Any], play: Screenplay, request: RewriteRequest) -> str:
        edited = scene
        if wants["length"] == "short":
            edited = _shorter(scene)
        text = scene_to_fountain(edited)
        if wants["time"] and scene.int_ext:
            lines = text.split("\n")
            lines[0] = format_heading(scene.int_ext, scene.location, wants["time"], scene.number)
            text = "\n".join(lines)
            pairs = _DAY_TO_NIGHT if wants["time"] in ("NIGHT", "DUSK", "EVENING") else \
                [(b, a) for a, b in _DAY_TO_NIGHT]
            for a, b in pairs:
                text = text.replace(a, b)
        if wants["length"] == "long":
            world = self._context(play, scene, wants, request.seed)
            function = self._function(play, scene)
            w = _Writer(world)
            other = world.cast[G.COUNTERPART[function]]
            for p in world.cast.values():
                p.introduced = True
            w.action(world.fill(world.pick(G.ACTIONS[function]), other))
            w.exchange(world.pick(G.EXCHANGES[function]), world.cast["P"], other)
            text = text.rstrip("\n") + "\n\n" + "\n\n".join(w.paras) + "\n"
        return text

    # -- dialogue ------------------------------------------------------------------------------------------------
    def dialogue(self, request: DialogueRequest, ctx: Context | None = None) -> DialogueResult:
        ctx = self._ctx(ctx)
        t0 = time.perf_counter()
        # 1. Check inputs.
        check_dialogue(request)
        situation = clean_text(request.situation)
        # 2. Speakers and words.
        rng = _rng("dialogue", request.seed, situation, "|".join(request.characters), request.lines)
        world = _world(rng, "drama", "hopeful", situation, list(request.characters)[:3])
        speakers = [world.cast["P"]] + [_Person(_display(n), "E") for n in request.characters[1:]]
        if len(speakers) == 1:
            speakers.append(world.cast["A"])
        # 3. An arc across the lines: setup, push, turn, close.
        arc = ["setup", "inciting", "debate", "midpoint", "crisis", "climax", "resolution"]
        lines: list[DialogueLine] = []
        used: set = set()
        turn = 0
        while len(lines) < request.lines:
            ctx.check()
            function = arc[min(len(arc) - 1, len(lines) * len(arc) // request.lines)]
            options = [i for i in range(len(G.EXCHANGES[function])) if (function, i) not in used]
            if not options:
                used = {u for u in used if u[0] != function}
                options = list(range(len(G.EXCHANGES[function])))
            if not lines:  # the first named character opens
                options = [i for i in options if G.EXCHANGES[function][i][0][0] == "P"] or options
            choice = rng.choice(options)
            used.add((function, choice))
            other = speakers[1 + turn % (len(speakers) - 1)]
            world.cast["A"].name = world.cast["X"].name = other.name
            for role, template in G.EXCHANGES[function][choice]:
                who = speakers[0] if role == "P" else other
                for chunk in subtitle_chunks(world.fill(template, other)):
                    if len(lines) < request.lines:
                        lines.append(DialogueLine(who.cue, chunk))
            turn += 1
            ctx.report(len(lines) / request.lines, "Writing dialogue")
        return DialogueResult(lines=lines, fountain=dialogue_fountain(lines), backend=self.name, model_id=None,
                              seconds=time.perf_counter() - t0,
                              parameters={"situation": situation, "characters": [s.cue for s in speakers],
                                          "lines": request.lines, "seed": request.seed})



def dialogue_fountain(lines: list[DialogueLine]) -> str:
    """Dialogue lines as Fountain blocks: a cue per line, ``(CONT'D)`` when the same speaker goes on."""
    paras = []
    previous = None
    for line in lines:
        extension = line.extension or ("CONT'D" if line.character == previous else None)
        block = [format_cue(line.character, extension)]
        if line.parenthetical:
            block.append(line.parenthetical)
        block.append(line.text)
        paras.append("\n".join(block))
        previous = line.character
    return "\n\n".join(paras) + ("\n" if paras else "")
