"""Fountain screenplays (https://fountain.io/syntax): parse, break down, estimate screen time, write back.

    play = parse(text)
    for scene in play.scenes:
        print(scene.index, scene.heading, scene.characters, scene.est_seconds)
    text = replace_scene(text, 2, "INT. KITCHEN - NIGHT\\n\\nRain.")

What the parser does, in order:

1. Normalises line ends (``\\r\\n``/``\\r`` become ``\\n``) and tabs (four spaces); line numbers are 1-based lines of
   that text.
2. Removes boneyard ``/* ... */`` and notes ``[[ ... ]]`` (both may span lines). A line left empty by the removal
   is dropped (it neither separates nor joins paragraphs); other lines keep their number.
3. Reads the title page: it is there when the first non-blank line is ``Key: value`` with a known key (Title,
   Credit, Author, Source, Draft date, Contact, ...; see ``TITLE_KEYS``) and runs to the first blank line. Values
   may continue on indented lines. After the first key any ``Key: value`` line is accepted.
4. Splits the rest into paragraphs (runs of non-blank lines; a line of exactly two spaces continues a paragraph,
   as the spec says) and classifies each by its first line: page break ``===``, forced action ``!``, scene
   heading (``INT``/``EXT``/``EST``/``INT./EXT``/``I/E`` followed by ``.`` or a space, or forced ``.HEADING``; an
   optional scene number ``#12A#`` at the end), centered ``>text<``, section ``#``, synopsis ``=``, transition
   (all caps ending in ``TO:``, or forced ``>``), lyrics ``~``, character cue (all caps with at least one letter,
   or forced ``@``, followed by dialogue on the next line; extensions in parentheses, dual dialogue ``^``), else
   action. The spec wants a blank line after a heading or a transition; this parser also accepts text right
   below one (it is read as a new paragraph), because machine-written scripts often leave the blank out.
5. Groups elements into scenes at each heading.

Text before the first scene heading (after the title page): it becomes scene 0 (with an empty ``heading``) only
when it holds something that takes screen time (action, dialogue, lyrics, centered text) other than a lone
all-caps line ending in a colon such as ``FADE IN:``. Otherwise those elements (``FADE IN:``, sections, synopses,
page breaks) are kept in ``Screenplay.front_matter`` and written back by ``to_fountain``. So ``scene.index`` is
always the scene's position in ``Screenplay.scenes``.

Screen time: each scene is paginated like a printed screenplay (action and centered text wrapped at 61
characters, dialogue and lyrics at 35, parentheticals at 26, one line per character cue, scene heading and
transition, one blank line after each paragraph or dialogue block, dual dialogue side by side) at 55 lines a
page, and a page is about 60 seconds. Sections, synopses, notes and boneyard are not printed and take no time.

Emphasis (``*italics*``, ``**bold**``, ``_underline_``) and escapes are left in the text as written.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Iterable

from ..errors import InvalidInput

#: Element kinds, in the order of the spec.
KINDS = ("scene_heading", "action", "character", "dialogue", "parenthetical", "lyrics", "transition",
         "centered", "section", "synopsis", "page_break")

#: Keys that open a title page (case-insensitive); after the first one any ``Key: value`` line is accepted.
TITLE_KEYS = frozenset({"title", "credit", "author", "authors", "source", "draft date", "date", "contact",
                        "copyright", "notes", "revision", "logline", "genre", "tone", "episode", "series",
                        "format", "font"})

#: Pagination: characters per line of each element kind, lines per page, seconds per page.
WIDTHS = {"action": 61, "centered": 61, "dialogue": 35, "lyrics": 35, "parenthetical": 26}
LINES_PER_PAGE = 55
SECONDS_PER_PAGE = 60.0

#: Words that make the last ``" - "`` part of a heading its time of day.
TIME_WORDS = frozenset({"DAY", "NIGHT", "MORNING", "EVENING", "AFTERNOON", "DAWN", "DUSK", "SUNSET", "SUNRISE",
                        "CONTINUOUS", "LATER", "SAME", "NOON", "MIDNIGHT", "TWILIGHT", "MOMENTS", "PRE-DAWN",
                        "MAGIC", "HOUR", "EARLY", "LATE", "NIGHTFALL", "DAYBREAK", "FLASHBACK", "PRESENT",
                        "MIDDAY", "CONTINUED"})

_HEADING = re.compile(r"^(?P<prefix>int\.?\s*/\s*ext|ext\.?\s*/\s*int|i\s*/\s*e|int|ext|est)(?:\.|\s)\s*(?P<rest>.*)$",
                      re.I)
_FORCED_HEADING = re.compile(r"^\.(?!\.)\s*(?P<rest>.+)$")
_SCENE_NUMBER = re.compile(r"^(?P<text>.*?)\s*#(?P<number>[A-Za-z0-9.\-]+)#\s*$")
_CENTERED = re.compile(r"^>\s*(?P<text>.*?)\s*<$")
_SECTION = re.compile(r"^(?P<hashes>#+)\s*(?P<text>.*)$")
_SYNOPSIS = re.compile(r"^=(?!==)\s*(?P<text>.*)$")
_PAGE_BREAK = re.compile(r"^={3,}\s*$")
_TITLE_LINE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9 _'\-]*?)\s*:\s*(?P<value>.*)$")
_REMOVED = re.compile(r"/\*.*?(?:\*/|\Z)|\[\[.*?(?:\]\]|\Z)", re.S)
_TIME_SPLIT = re.compile(r"\s+[-\u2013\u2014]+\s+")
_MARK = "\x00"


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------
class _Plain:
    """``as_dict`` / ``from_dict`` for the flat dataclasses below."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Element(_Plain):
    """One paragraph-level element. ``kind`` is one of ``KINDS``; ``line`` is the 1-based line it starts on.

    ``character`` is the speaker's name (extensions stripped) on character cues, their dialogue, parentheticals
    and sung lyrics. ``text`` is what the script says without the forcing marks: a cue's text keeps its
    extensions (``"HANS (V.O.)"``), a parenthetical keeps its parentheses, a section is the title without the
    ``#`` marks (its depth is ``level``), multi-line paragraphs keep their line breaks. ``dual`` marks the second
    cue (and its lines) of a dual dialogue.
    """

    kind: str
    text: str
    line: int
    character: str | None = None
    dual: bool = False
    level: int = 0


@dataclass
class DialogueLine(_Plain):
    """One speech: a run of dialogue lines between parentheticals (lines joined by spaces), or one sung lyric.

    ``parenthetical`` is the wryly just before it (with its parentheses); ``extension`` is what the cue had in
    parentheses without them, several joined by ``", "`` (``"V.O."``, ``"O.S., CONT'D"``).
    """

    character: str
    text: str
    parenthetical: str | None = None
    extension: str | None = None


@dataclass
class Scene:
    """A scene: from its heading to the next one. ``int_ext``, ``location`` and ``time_of_day`` are ``""`` when the
    heading does not say (forced headings, scene 0). ``page_count`` is in pages (fractional)."""

    index: int
    heading: str
    int_ext: str
    location: str
    time_of_day: str
    number: str | None
    elements: list[Element]
    characters: list[str]
    dialogue: list[DialogueLine]
    action_text: str
    start_line: int
    end_line: int
    page_count: float
    est_seconds: float

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["elements"] = [e.as_dict() for e in self.elements]
        data["dialogue"] = [d.as_dict() for d in self.dialogue]
        data["characters"] = list(self.characters)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Scene":
        data = dict(data)
        data["elements"] = [Element.from_dict(e) for e in data.get("elements", [])]
        data["dialogue"] = [DialogueLine.from_dict(d) for d in data.get("dialogue", [])]
        data["characters"] = list(data.get("characters", []))
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def summary(self) -> dict[str, Any]:
        """JSON-safe breakdown row (no elements)."""
        return {"index": self.index, "number": self.number, "heading": self.heading, "int_ext": self.int_ext,
                "location": self.location, "time_of_day": self.time_of_day, "characters": list(self.characters),
                "dialogue_lines": len(self.dialogue), "start_line": self.start_line, "end_line": self.end_line,
                "page_count": self.page_count, "est_seconds": self.est_seconds}


@dataclass
class Screenplay:
    title: str
    title_page: dict[str, str]
    scenes: list[Scene]
    characters: list[str]
    total_seconds: float
    #: Elements before the first heading that do not make a scene 0 (``FADE IN:``, sections, synopses).
    front_matter: list[Element] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "title_page": dict(self.title_page),
                "scenes": [s.as_dict() for s in self.scenes], "characters": list(self.characters),
                "total_seconds": self.total_seconds, "front_matter": [e.as_dict() for e in self.front_matter]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Screenplay":
        return cls(title=data.get("title", ""), title_page=dict(data.get("title_page", {})),
                   scenes=[Scene.from_dict(s) for s in data.get("scenes", [])],
                   characters=list(data.get("characters", [])), total_seconds=data.get("total_seconds", 0.0),
                   front_matter=[Element.from_dict(e) for e in data.get("front_matter", [])])

    def breakdown(self) -> list[dict[str, Any]]:
        """One JSON-safe row per scene (heading, characters, screen time, lines)."""
        return [s.summary() for s in self.scenes]


# ---------------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------------
def _normalise(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")


def _strip_removed(lines: list[str]) -> list[str | None]:
    """Lines with boneyard and notes removed; ``None`` for a line the removal left empty."""
    text = "\n".join(lines)

    def mark(m: re.Match) -> str:
        return "".join(_MARK if c != "\n" else "\n" + _MARK for c in m.group(0))

    marked = _REMOVED.sub(mark, text).split("\n")
    out: list[str | None] = []
    for line in marked:
        if _MARK in line:
            rest = line.replace(_MARK, "")
            if line.startswith(_MARK):  # the removal began the line: no indentation left behind
                rest = rest.lstrip()
            out.append(None if not rest.strip() else rest.rstrip())
        else:
            out.append(line)
    return out


def _is_blank(line: str) -> bool:
    return not line.strip() and line != "  "


def _title_page(lines: list[str | None]) -> tuple[dict[str, str], int]:
    """(title page, index of the first line after it)."""
    i = 0
    while i < len(lines) and (lines[i] is None or not lines[i].strip()):
        i += 1
    if i >= len(lines):
        return {}, 0
    m = _TITLE_LINE.match(lines[i].strip())
    if not m or m.group("key").strip().lower() not in TITLE_KEYS or lines[i].startswith((" ", "!", "@", ".")):
        return {}, 0
    page: dict[str, list[str]] = {}
    key = None
    while i < len(lines):
        line = lines[i]
        if line is None:
            i += 1
            continue
        if not line.strip():
            break
        m = _TITLE_LINE.match(line.strip())
        if m and not line.startswith(("   ", "\t")):
            key = m.group("key").strip()
            page[key] = [m.group("value").strip()] if m.group("value").strip() else []
        elif key is not None:
            page[key].append(line.strip())
        i += 1
    return {k: "\n".join(v) for k, v in page.items()}, i


def _plain_title(value: str) -> str:
    return " ".join(re.sub(r"[*_]", "", line).strip() for line in value.split("\n") if line.strip())


def _heading(line: str) -> tuple[str, str, str, str, str | None] | None:
    """(heading, int_ext, location, time_of_day, number) when ``line`` is a scene heading."""
    s = line.strip()
    forced = _FORCED_HEADING.match(s)
    if forced:
        s = forced.group("rest").strip()
    elif not _HEADING.match(s):
        return None
    number = None
    numbered = _SCENE_NUMBER.match(s)
    if numbered:
        s, number = numbered.group("text").strip(), numbered.group("number")
    m = _HEADING.match(s)
    if m:
        prefix = re.sub(r"[.\s]", "", m.group("prefix").upper())
        int_ext = {"I/E": "INT/EXT"}.get(prefix, prefix)
        rest = m.group("rest").strip()
    else:
        int_ext, rest = "", s
    parts = _TIME_SPLIT.split(rest)
    time_of_day = ""
    if len(parts) > 1 and set(re.findall(r"[A-Z\-]+", parts[-1].upper())) & TIME_WORDS:
        time_of_day = parts[-1].strip()
        parts = parts[:-1]
    location = " - ".join(p.strip() for p in parts).strip()
    return s, int_ext, location, time_of_day, number


def _is_transition(s: str) -> bool:
    return s.endswith("TO:") and s == s.upper() and any(c.isalpha() for c in s)


def _cue(s: str) -> tuple[str, str, str | None, bool] | None:
    """(cue text, name, extension, dual) when ``s`` (stripped) reads as a character cue."""
    forced = s.startswith("@")
    body = s[1:].strip() if forced else s
    dual = body.endswith("^")
    if dual:
        body = body[:-1].rstrip()
    name = body.split("(", 1)[0].strip()
    if not name:
        return None
    if not forced:
        if name != name.upper() or not any(c.isalpha() for c in name):
            return None
    extensions = re.findall(r"\(([^()]*)\)", body[len(body.split("(", 1)[0]):])
    extension = ", ".join(e.strip() for e in extensions if e.strip()) or None
    return body, name, extension, dual


def _parse_block(block: list[tuple[int, str]], out: list[Element], speech: list[tuple[int, DialogueLine]]) -> None:
    """Classify one paragraph (list of (line number, text)) into ``out``; each speech goes to ``speech`` with the
    index in ``out`` of its character cue."""
    while block:
        number, first = block[0]
        s = first.strip()
        rest = block[1:]
        if _PAGE_BREAK.match(s):
            out.append(Element("page_break", "", number))
        elif s.startswith("!"):
            lines = [first.lstrip()[1:].rstrip()] + [text.rstrip() for _, text in rest]
            out.append(Element("action", "\n".join(lines), number))
            return
        elif _heading(s) is not None:
            out.append(Element("scene_heading", first.strip(), number))
        elif (m := _CENTERED.match(s)) is not None:
            out.append(Element("centered", m.group("text"), number))
        elif (m := _SECTION.match(s)) is not None:
            out.append(Element("section", m.group("text").strip(), number, level=len(m.group("hashes"))))
        elif (m := _SYNOPSIS.match(s)) is not None:
            out.append(Element("synopsis", m.group("text").strip(), number))
        elif s.startswith(">"):
            out.append(Element("transition", s[1:].strip(), number))
        elif _is_transition(s):
            out.append(Element("transition", s, number))
        elif s.startswith("~"):
            out.append(Element("lyrics", s[1:].strip(), number))
        elif rest and (cue := _cue(s)) is not None and any(t.strip() for _, t in rest):
            _parse_dialogue(number, cue, rest, out, speech)
            return
        else:
            out.append(Element("action", "\n".join(text.rstrip() for _, text in block), number))
            return
        block = rest


def _parse_dialogue(number: int, cue: tuple[str, str, str | None, bool], rest: list[tuple[int, str]],
                    out: list[Element], speech: list[tuple[int, DialogueLine]]) -> None:
    text, name, extension, dual = cue
    at = len(out)
    out.append(Element("character", text, number, character=name, dual=dual))
    para: list[str] = []
    para_line = 0
    pending: str | None = None

    def flush() -> None:
        nonlocal para, pending
        if para:
            out.append(Element("dialogue", "\n".join(para), para_line, character=name, dual=dual))
            spoken = " ".join(p for p in para if p)
            if spoken:
                speech.append((at, DialogueLine(name, spoken, pending, extension)))
                pending = None
            para = []

    for line_no, line in rest:
        st = line.strip()
        if st.startswith("(") and st.endswith(")"):
            flush()
            out.append(Element("parenthetical", st, line_no, character=name, dual=dual))
            pending = st
        elif st.startswith("~"):
            flush()
            out.append(Element("lyrics", st[1:].strip(), line_no, character=name, dual=dual))
            speech.append((at, DialogueLine(name, st[1:].strip(), pending, extension)))
            pending = None
        else:
            if not para:
                para_line = line_no
            para.append(st)
    flush()


def _blocks(lines: list[str | None], start: int) -> Iterable[list[tuple[int, str]]]:
    block: list[tuple[int, str]] = []
    for i in range(start, len(lines)):
        line = lines[i]
        if line is None:
            continue
        if _is_blank(line):
            if block:
                yield block
                block = []
            continue
        if line == "  " and not block:
            continue
        block.append((i + 1, line))
    if block:
        yield block


def _wrapped(text: str, width: int) -> int:
    return sum(max(1, len(textwrap.wrap(line, width))) if line.strip() else 1 for line in text.split("\n"))


def printed_lines(elements: list[Element]) -> int:
    """Lines the elements take on a printed page (see the module's notes on pagination)."""
    total = 0
    prev_dialogue = 0
    i = 0
    while i < len(elements):
        el = elements[i]
        if el.kind == "character":
            lines = 1
            j = i + 1
            while (j < len(elements) and elements[j].kind in ("dialogue", "parenthetical", "lyrics")
                   and elements[j].character is not None):
                lines += _wrapped(elements[j].text, WIDTHS[elements[j].kind])
                j += 1
            if el.dual:
                total += max(0, lines - prev_dialogue)
            else:
                total += lines + 1
            prev_dialogue = lines
            i = j
            continue
        if el.kind in ("scene_heading", "transition"):
            total += 2
        elif el.kind in ("action", "centered"):
            total += _wrapped(el.text, WIDTHS[el.kind]) + 1
        elif el.kind == "lyrics":
            total += _wrapped(el.text, WIDTHS["lyrics"])
            if i + 1 >= len(elements) or elements[i + 1].kind != "lyrics":
                total += 1
        elif el.kind in ("dialogue", "parenthetical"):  # stray (no cue before): print as dialogue
            total += _wrapped(el.text, WIDTHS[el.kind]) + 1
        i += 1
    return total


def _timing(elements: list[Element]) -> tuple[float, float]:
    pages = printed_lines(elements) / LINES_PER_PAGE
    return round(pages, 4), round(pages * SECONDS_PER_PAGE, 1)


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n, None)
    return list(seen)


def _is_content(el: Element) -> bool:
    if el.kind in ("dialogue", "parenthetical", "character", "lyrics", "centered"):
        return True
    if el.kind == "action":
        s = el.text.strip()
        return bool(s) and not ("\n" not in s and s.endswith(":") and s == s.upper())
    return False


def _make_scene(index: int, elements: list[Element], speech: list[DialogueLine], start: int, end: int) -> Scene:
    heading, int_ext, location, time_of_day, number = "", "", "", "", None
    if elements and elements[0].kind == "scene_heading":
        parsed = _heading(elements[0].text)
        assert parsed is not None
        heading, int_ext, location, time_of_day, number = parsed
        elements[0].text = heading
    characters = _unique(e.character for e in elements if e.kind == "character" and e.character)
    action = "\n".join(e.text for e in elements if e.kind == "action")
    pages, seconds = _timing(elements)
    return Scene(index=index, heading=heading, int_ext=int_ext, location=location, time_of_day=time_of_day,
                 number=number, elements=elements, characters=characters, dialogue=speech, action_text=action,
                 start_line=start, end_line=end, page_count=pages, est_seconds=seconds)


def parse(text: str) -> Screenplay:
    """Parse Fountain ``text`` into a ``Screenplay`` (never raises on odd input: anything unknown is action)."""
    if not isinstance(text, str):
        raise InvalidInput("A screenplay must be text.")
    raw = _normalise(text)
    lines = _strip_removed(raw)
    title_page, body_start = _title_page(lines)

    # 1. Elements, with the dialogue spoken in each element run.
    elements: list[Element] = []
    speech_at: list[tuple[int, DialogueLine]] = []  # (index of the speaker's cue in elements, line)
    for block in _blocks(lines, body_start):
        _parse_block(block, elements, speech_at)

    # 2. Scenes: cut at each heading.
    heads = [i for i, e in enumerate(elements) if e.kind == "scene_heading"]
    cuts = heads or [len(elements)]
    front = elements[:cuts[0]]
    content_lines = [i + 1 for i, line in enumerate(lines) if i >= body_start and line is not None
                     and line.strip()]

    def last_content(lo: int, hi: int) -> int:
        """Last line with content in [lo, hi) (1-based), or lo."""
        found = lo
        for n in content_lines:
            if lo <= n < hi:
                found = n
        return found

    def said_between(lo: int, hi: int) -> list[DialogueLine]:
        return [d for at, d in speech_at if lo <= at < hi]

    scenes: list[Scene] = []
    front_matter: list[Element] = []
    first_head_line = elements[heads[0]].line if heads else len(raw) + 1
    if any(_is_content(e) for e in front):
        start = front[0].line
        scenes.append(_make_scene(0, list(front), said_between(0, cuts[0]), start,
                                  last_content(start, first_head_line)))
    else:
        front_matter = list(front)
    for k, at in enumerate(heads):
        nxt = heads[k + 1] if k + 1 < len(heads) else len(elements)
        start = elements[at].line
        stop = elements[nxt].line if nxt < len(elements) else len(raw) + 1
        scenes.append(_make_scene(len(scenes), elements[at:nxt], said_between(at, nxt), start,
                                  last_content(start, stop)))

    title = next((_plain_title(v) for k, v in title_page.items() if k.lower() == "title"), "")
    characters = _unique(c for s in scenes for c in s.characters)
    total = round(sum(s.est_seconds for s in scenes), 1)
    return Screenplay(title=title, title_page=title_page, scenes=scenes, characters=characters,
                      total_seconds=total, front_matter=front_matter)


def breakdown(text: str) -> list[dict[str, Any]]:
    """``parse(text).breakdown()``: one JSON-safe row per scene."""
    return parse(text).breakdown()


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------
def _reads_as(lines: list[str]) -> list[Element]:
    out: list[Element] = []
    _parse_block([(i + 1, line) for i, line in enumerate(lines)], out, [])
    return out


def _write_action(text: str) -> str:
    lines = text.split("\n")
    parsed = _reads_as(lines)
    if len(parsed) == 1 and parsed[0].kind == "action" and parsed[0].text == "\n".join(l.rstrip() for l in lines):
        return text
    return "!" + text


def _write_cue(el: Element) -> str:
    text = el.text + (" ^" if el.dual else "")
    cue = _cue(text)
    if cue is not None and cue[1] == el.character and _heading(text) is None and not _is_transition(text) \
            and not text.startswith(("!", ">", "~", "=", "#", ".", "[[")):
        return text
    return "@" + text


def _write_heading(scene: Scene, el: Element) -> str:
    text = el.text
    if not _HEADING.match(text.strip()):
        text = "." + text
    if scene.number:
        text += f" #{scene.number}#"
    return text


def _write_elements(elements: list[Element], scene: Scene | None = None) -> list[str]:
    """Paragraphs (each a string, maybe of several lines) for ``elements``."""
    paras: list[str] = []
    group: list[str] | None = None
    for el in elements:
        in_dialogue = el.kind in ("dialogue", "parenthetical", "lyrics") and el.character is not None
        if group is not None and not in_dialogue:
            paras.append("\n".join(group))
            group = None
        if el.kind == "character":
            if group is not None:
                paras.append("\n".join(group))
            group = [_write_cue(el)]
        elif in_dialogue and group is not None:
            if el.kind == "dialogue":
                group.extend(line if line else "  " for line in el.text.split("\n"))
            elif el.kind == "lyrics":
                group.append("~" + el.text)
            else:
                group.append(el.text)
        elif el.kind == "scene_heading":
            paras.append(_write_heading(scene, el) if scene is not None else el.text)
        elif el.kind == "action":
            paras.append(_write_action(el.text))
        elif el.kind == "transition":
            t = el.text
            paras.append(t if _is_transition(t) else ">" + t)
        elif el.kind == "centered":
            paras.append(f">{el.text}<")
        elif el.kind == "section":
            paras.append("#" * max(1, el.level) + " " + el.text)
        elif el.kind == "synopsis":
            paras.append("= " + el.text)
        elif el.kind == "page_break":
            paras.append("===")
        elif el.kind == "lyrics":
            paras.append("~" + el.text)
        elif el.kind in ("dialogue", "parenthetical"):  # stray: keep the words as action
            paras.append(_write_action(el.text))
    if group is not None:
        paras.append("\n".join(group))
    # Consecutive lyric paragraphs belong together (one song).
    merged: list[str] = []
    for p in paras:
        if merged and p.startswith("~") and merged[-1].split("\n")[-1].startswith("~"):
            merged[-1] += "\n" + p
        else:
            merged.append(p)
    return merged


def _write_title_page(title_page: dict[str, str]) -> list[str]:
    items = list(title_page.items())
    if not items:
        return []
    # The first key must be one the parser knows, or the page would be read as action.
    known = [i for i, (k, _) in enumerate(items) if k.lower() in TITLE_KEYS]
    if known and known[0] != 0:
        items.insert(0, items.pop(known[0]))
    elif not known:
        items.insert(0, ("Title", ""))
    out = []
    for key, value in items:
        values = [v for v in str(value).split("\n")]
        if len(values) > 1:
            out.append(f"{key}:")
            out.extend("    " + v for v in values)
        else:
            out.append(f"{key}: {values[0]}".rstrip())
    return ["\n".join(out)]


def to_fountain(screenplay: Screenplay) -> str:
    """Write ``screenplay`` as Fountain text that ``parse`` reads back to the same scenes and dialogue."""
    paras = _write_title_page(screenplay.title_page)
    paras += _write_elements(screenplay.front_matter)
    for scene in screenplay.scenes:
        paras += _write_elements(scene.elements, scene)
    return "\n\n".join(paras) + "\n"


def replace_scene(text: str, scene_index: int, new_scene_text: str) -> str:
    """``text`` with scene ``scene_index``'s lines (heading to its last non-blank line) replaced.

    When the scene has a heading and ``new_scene_text`` does not start with one, the old heading line is kept
    (so the replacement cannot merge into the scene before). Lines after the scene, blank lines around it and
    the rest of the script are kept as they were; the result uses ``\\n`` line ends.
    """
    play = parse(text)
    if not play.scenes:
        raise InvalidInput("The script has no scenes to replace.")
    if not isinstance(scene_index, int) or not 0 <= scene_index < len(play.scenes):
        raise InvalidInput(f"There is no scene {scene_index}: the script has scenes 0 to {len(play.scenes) - 1}.")
    scene = play.scenes[scene_index]
    lines = _normalise(text)
    new = _normalise(new_scene_text.strip("\n"))
    while new and not new[-1].strip():
        new.pop()
    if scene.heading:
        first = next((l for l in new if l.strip()), "")
        if _heading(first) is None:
            new = [lines[scene.start_line - 1], ""] + new
    lo, hi = scene.start_line - 1, scene.end_line  # lines[lo:hi] is the scene
    before, after = lines[:lo], lines[hi:]
    if before and before[-1].strip():
        new = [""] + new
    if after and after[0].strip():
        new = new + [""]
    return "\n".join(before + new + after)


def scene_to_fountain(scene: Scene) -> str:
    """One scene as Fountain text (heading first), as ``to_fountain`` writes it."""
    return "\n\n".join(_write_elements(scene.elements, scene)) + "\n"


def format_cue(name: str, extension: str | None = None, dual: bool = False) -> str:
    """A character cue line that parses back to ``name`` (forced with ``@`` where it would not)."""
    text = name.strip() + (f" ({extension})" if extension else "")
    return _write_cue(Element("character", text, 0, character=name.strip(), dual=dual))


def format_heading(int_ext: str, location: str, time_of_day: str = "", number: str | None = None) -> str:
    """A scene heading line: ``INT. KITCHEN - NIGHT #3#`` (forced with ``.`` when there is no INT/EXT)."""
    text = f"{int_ext}. {location}" if int_ext else location
    if time_of_day:
        text += f" - {time_of_day}"
    if not _HEADING.match(text):
        text = "." + text
    return text + (f" #{number}#" if number else "")


def clean_text(text: str) -> str:
    """Free text (a user's logline, a name) made safe to put inside Fountain: no notes or boneyard marks, one
    line."""
    text = re.sub(r"/\*|\*/|\[\[|\]\]", " ", text or "")
    return " ".join(text.split())
