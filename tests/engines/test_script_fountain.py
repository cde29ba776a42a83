"""engines.script.fountain: the Fountain parser, screen time, writing back, scene replacement, and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engines.errors import InvalidInput
from engines.script import Screenplay, parse, replace_scene, scene_to_fountain, to_fountain
from engines.script.fountain import KINDS, LINES_PER_PAGE, Element, format_cue, format_heading, printed_lines

ROOT = Path(__file__).resolve().parents[2]

SAMPLE = """\
Title:
    _**BRICK & STEEL**_
    _**FULL RETIRED**_
Credit: Written by
Author: Stu Maschwitz
Draft date: 1/20/2012
Contact:
    Next Level Productions
    1588 Mission Dr.

FADE IN:

# ACT ONE

## The Patio

= Brick and Steel enjoy a beer.

EXT. BRICK'S PATIO - DAY #1#

A gorgeous day. The sun is shining. [[A note
that spans two lines]] Birds sing.

STEEL (O.S.)
Beer's ready!

BRICK
Are they cold?
(beat)
Really cold?

STEEL (CONT'D)
Does a bear crap in the woods?

/* INT. DELETED SCENE - NIGHT

Nobody will ever see this.

BRICK
Or this. */

.SNIPER SCOPE POV #1A#

Crosshairs drift across the patio.

INT./EXT. BRICK'S CAR - NIGHT

!SCANNING THE AISLES...
Where is that pit boss?

BRICK ^
Left.

STEEL ^
Right.

@McCLANE
Yippee ki-yay!

HANS (on the radio)
Mister McClane.
  
Are you there?

~Willy Wonka! Willy Wonka!
~The amazing chocolatier!

> THE END <

CUT TO:

===

EST. DOWNTOWN - DUSK

The skyline burns orange.

>FADE OUT.
"""


@pytest.fixture(scope="module")
def play() -> Screenplay:
    return parse(SAMPLE)


def kinds(scene) -> list[str]:
    return [e.kind for e in scene.elements]


def comparable(play: Screenplay) -> list:
    """What must survive a round trip: headings, numbers, element kinds/texts/speakers and the dialogue."""
    return [(s.heading, s.int_ext, s.location, s.time_of_day, s.number,
             [(e.kind, e.text, e.character, e.dual, e.level) for e in s.elements],
             [d.as_dict() for d in s.dialogue], s.characters) for s in play.scenes]


def test_title_page_keys_and_multiline_values(play):
    assert play.title == "BRICK & STEEL FULL RETIRED"
    assert list(play.title_page) == ["Title", "Credit", "Author", "Draft date", "Contact"]
    assert play.title_page["Contact"] == "Next Level Productions\n1588 Mission Dr."
    assert play.title_page["Author"] == "Stu Maschwitz"


def test_front_matter_without_content_does_not_make_a_scene_zero(play):
    assert [e.kind for e in play.front_matter] == ["action", "section", "section", "synopsis"]
    assert [e.level for e in play.front_matter if e.kind == "section"] == [1, 2]
    assert play.front_matter[0].text == "FADE IN:"
    assert play.scenes[0].heading == "EXT. BRICK'S PATIO - DAY"
    assert [s.index for s in play.scenes] == list(range(len(play.scenes)))


def test_text_before_the_first_heading_with_content_is_scene_zero():
    text = ("Title: Cold Open\n\nA black screen. A voice.\n\nNARRATOR\nIt began with a storm.\n\n"
            "INT. HOUSE - DAY\n\nQuiet.")
    p = parse(text)
    assert len(p.scenes) == 2
    zero = p.scenes[0]
    assert zero.index == 0 and zero.heading == "" and zero.int_ext == "" and zero.characters == ["NARRATOR"]
    assert zero.start_line == 3 and zero.end_line == 6
    assert p.scenes[1].heading == "INT. HOUSE - DAY" and p.scenes[1].index == 1


def test_scene_headings_numbers_and_forced_headings(play):
    got = [(s.heading, s.int_ext, s.location, s.time_of_day, s.number) for s in play.scenes]
    assert got == [
        ("EXT. BRICK'S PATIO - DAY", "EXT", "BRICK'S PATIO", "DAY", "1"),
        ("SNIPER SCOPE POV", "", "SNIPER SCOPE POV", "", "1A"),
        ("INT./EXT. BRICK'S CAR - NIGHT", "INT/EXT", "BRICK'S CAR", "NIGHT", None),
        ("EST. DOWNTOWN - DUSK", "EST", "DOWNTOWN", "DUSK", None),
    ]


@pytest.mark.parametrize("line, expected", [
    ("INT. HOUSE - KITCHEN - NIGHT", ("INT", "HOUSE - KITCHEN", "NIGHT")),
    ("ext. main st.", ("EXT", "main st.", "")),
    ("I/E CAR - MOVING - CONTINUOUS", ("INT/EXT", "CAR - MOVING", "CONTINUOUS")),
    ("INT HOSPITAL - BOB'S ROOM", ("INT", "HOSPITAL - BOB'S ROOM", "")),
    ("EXT. BEACH – LATER", ("EXT", "BEACH", "LATER")),
])
def test_heading_parts(line, expected):
    scene = parse(f"{line}\n\nSomething happens.").scenes[0]
    assert (scene.int_ext, scene.location, scene.time_of_day) == expected


def test_lines_that_only_look_like_headings_are_action():
    p = parse("Interior design is hard.\n\nExtra people arrive.\n\n...and then silence.")
    assert len(p.scenes) == 1 and p.scenes[0].heading == ""
    assert kinds(p.scenes[0]) == ["action", "action", "action"]


def test_every_element_kind_is_recognised(play):
    seen = {k for s in play.scenes for k in kinds(s)} | {e.kind for e in play.front_matter}
    assert seen == set(KINDS)


def test_dialogue_extensions_parentheticals_dual_and_forced(play):
    patio, _, car, _ = play.scenes
    assert patio.characters == ["STEEL", "BRICK"]  # extensions stripped, order of appearance
    assert [d.as_dict() for d in patio.dialogue] == [
        {"character": "STEEL", "text": "Beer's ready!", "parenthetical": None, "extension": "O.S."},
        {"character": "BRICK", "text": "Are they cold?", "parenthetical": None, "extension": None},
        {"character": "BRICK", "text": "Really cold?", "parenthetical": "(beat)", "extension": None},
        {"character": "STEEL", "text": "Does a bear crap in the woods?", "parenthetical": None,
         "extension": "CONT'D"},
    ]
    cues = [e for e in car.elements if e.kind == "character"]
    assert [(c.text, c.character, c.dual) for c in cues] == [
        ("BRICK", "BRICK", True), ("STEEL", "STEEL", True), ("McCLANE", "McCLANE", False),
        ("HANS (on the radio)", "HANS", False)]
    assert car.characters == ["BRICK", "STEEL", "McCLANE", "HANS"]
    hans = [d for d in car.dialogue if d.character == "HANS"]
    assert hans[0].text == "Mister McClane. Are you there?" and hans[0].extension == "on the radio"
    dialogue_el = next(e for e in car.elements if e.kind == "dialogue" and e.character == "HANS")
    assert dialogue_el.text == "Mister McClane.\n\nAre you there?"  # the two-space line kept the block together


def test_forced_action_lyrics_centered_transitions_page_break(play):
    car = play.scenes[2]
    action = car.elements[1]
    assert action.kind == "action" and action.text == "SCANNING THE AISLES...\nWhere is that pit boss?"
    lyrics = [e.text for e in car.elements if e.kind == "lyrics"]
    assert lyrics == ["Willy Wonka! Willy Wonka!", "The amazing chocolatier!"]
    assert [(e.kind, e.text) for e in car.elements[-4:]] == [
        ("lyrics", "The amazing chocolatier!"), ("centered", "THE END"), ("transition", "CUT TO:"),
        ("page_break", "")]
    assert play.scenes[3].elements[-1].as_dict()["kind"] == "transition"
    assert play.scenes[3].elements[-1].text == "FADE OUT."


def test_notes_and_boneyard_are_removed_and_line_numbers_kept(play):
    everything = " ".join(e.text for s in play.scenes for e in s.elements)
    assert "note" not in everything and "DELETED" not in everything and "Nobody will ever" not in everything
    patio = play.scenes[0]
    assert patio.action_text == "A gorgeous day. The sun is shining.\nBirds sing."
    lines = SAMPLE.split("\n")
    for scene in play.scenes:
        assert lines[scene.start_line - 1].startswith((".", "EXT", "INT", "EST"))
        for el in scene.elements:
            if el.kind in ("character", "scene_heading"):
                assert el.text.split()[0].lstrip(".@") in lines[el.line - 1]
    assert patio.end_line == lines.index("Does a bear crap in the woods?") + 1  # boneyard not counted


def test_all_caps_rules():
    p = parse("INT. ROOM - DAY\n\nBANG!\n\nTHE DOOR\nflies open.\n\n!THE WALL\nfalls down.\n\n1984\nA year.")
    scene = p.scenes[0]
    assert kinds(scene) == ["scene_heading", "action", "character", "dialogue", "action", "action"]
    assert scene.characters == ["THE DOOR"]  # the spec's rule; "!" forces action


def test_screen_time_grows_with_content_and_a_full_page_is_about_a_minute():
    heading = "INT. ROOM - DAY\n\n"
    short = parse(heading + "She sits.").scenes[0]
    longer = parse(heading + "She sits.\n\nBOB\nHello there.\n\nShe stands.").scenes[0]
    assert 0 < short.est_seconds < longer.est_seconds
    # heading (1 + blank) + one action paragraph of 52 lines (+ blank) = 55 lines = one page
    page = parse(heading + "\n".join(f"Line {i}." for i in range(52))).scenes[0]
    assert printed_lines(page.elements) == LINES_PER_PAGE
    assert page.page_count == pytest.approx(1.0) and page.est_seconds == pytest.approx(60.0)
    # dialogue wraps at 35 characters: a 70-character speech takes two lines under its cue
    words = "word " * 14
    speech = parse(heading + f"BOB\n{words.strip()}").scenes[0]
    assert printed_lines(speech.elements) == 2 + (1 + 2 + 1)
    # dual dialogue sits side by side: the second block adds only its extra lines
    dual = parse(heading + "BOB\nHi.\n\nANN ^\nHi.").scenes[0]
    assert printed_lines(dual.elements) == 2 + 3
    # sections, synopses, notes and boneyard take no time
    quiet = parse(heading + "# Act\n\n= synopsis\n\n[[note]]\n\n/* gone */").scenes[0]
    assert printed_lines(quiet.elements) == 2


def test_total_and_characters(play):
    assert play.total_seconds == pytest.approx(sum(s.est_seconds for s in play.scenes), abs=0.2)
    assert play.characters == ["STEEL", "BRICK", "McCLANE", "HANS"]


def test_round_trip(play):
    text = to_fountain(play)
    again = parse(text)
    assert comparable(again) == comparable(play)
    assert again.title_page == play.title_page and again.title == play.title
    assert [(e.kind, e.text) for e in again.front_matter] == [(e.kind, e.text) for e in play.front_matter]
    assert to_fountain(again) == text  # stable


def test_writer_forces_elements_that_would_read_differently():
    p = parse("INT. ROOM - DAY\n\n!BOOM\nThe wall falls.\n\n@McCLANE\nYippee.\n\n>Fade to black.\n\n.FLASHBACK")
    text = to_fountain(p)
    assert "!BOOM" in text and "@McCLANE" in text and ">Fade to black." in text and ".FLASHBACK" in text
    assert comparable(parse(text)) == comparable(p)
    assert format_cue("Maya") == "@Maya" and format_cue("MAYA", "V.O.") == "MAYA (V.O.)"
    assert format_heading("INT", "KITCHEN", "NIGHT", "4") == "INT. KITCHEN - NIGHT #4#"
    assert format_heading("", "DREAM SEQUENCE") == ".DREAM SEQUENCE"


def test_as_dict_from_dict_round_trip(play):
    data = json.loads(json.dumps(play.as_dict()))
    back = Screenplay.from_dict(data)
    assert back == play
    assert Element.from_dict({"kind": "action", "text": "x", "line": 3, "unknown": 1}) == Element("action", "x", 3)


def test_replace_scene_swaps_only_that_scene(play):
    new = "INT. BRICK'S GARAGE - NIGHT\n\nTools everywhere.\n\nBRICK\nFound it."
    text = replace_scene(SAMPLE, 2, new)
    after = parse(text)
    assert len(after.scenes) == len(play.scenes)
    assert after.scenes[2].heading == "INT. BRICK'S GARAGE - NIGHT"
    assert after.scenes[2].dialogue[0].text == "Found it."
    before, now = comparable(play), comparable(after)
    assert now[:2] == before[:2] and now[3:] == before[3:]
    assert after.title_page == play.title_page
    # without a heading, the old one is kept
    kept = parse(replace_scene(SAMPLE, 0, "Rain now.\n\nBRICK\nGreat."))
    assert kept.scenes[0].heading == "EXT. BRICK'S PATIO - DAY" and kept.scenes[0].number == "1"
    assert kept.scenes[0].action_text == "Rain now."
    assert comparable(kept)[1:] == before[1:]


def test_replace_scene_last_scene_crlf_and_errors():
    text = "INT. A - DAY\r\n\r\nOne.\r\n\r\nINT. B - DAY\r\n\r\nTwo."
    out = replace_scene(text, 1, "INT. C - NIGHT\n\nThree.")
    assert [s.heading for s in parse(out).scenes] == ["INT. A - DAY", "INT. C - NIGHT"]
    assert "\r" not in out
    with pytest.raises(InvalidInput, match="no scene 5"):
        replace_scene(text, 5, "x")
    with pytest.raises(InvalidInput, match="no scenes"):
        replace_scene("", 0, "x")


def test_scene_to_fountain_round_trips_a_scene(play):
    for scene in play.scenes:
        again = parse(scene_to_fountain(scene)).scenes[0]
        assert comparable(Screenplay("", {}, [again], [], 0))[0][:7] == comparable(Screenplay("", {}, [scene], [],
                                                                                                0))[0][:7]


def test_odd_input_never_raises():
    for text in ["", "\n\n\n", "   ", "Title: Only a title", "/* unclosed boneyard\nINT. X - DAY",
                 "[[unclosed note", "@", "^", ">", "=", "#", "~", "INT.", "(paren)\n(paren)", "A\n  \nB"]:
        p = parse(text)
        assert isinstance(p, Screenplay)
        parse(to_fountain(p))
    assert parse("Title: Only a title").title == "Only a title" and parse("Title: Only a title").scenes == []
    assert parse("/* unclosed boneyard\nINT. X - DAY").scenes == []


def test_cli_breakdown_json_and_errors(tmp_path):
    path = tmp_path / "brick.fountain"
    path.write_text(SAMPLE, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "engines.script", "breakdown", str(path), "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["title"] == "BRICK & STEEL FULL RETIRED"
    assert [s["heading"] for s in data["scenes"]][0] == "EXT. BRICK'S PATIO - DAY"
    assert data["scenes"][0]["characters"] == ["STEEL", "BRICK"] and data["scenes"][0]["est_seconds"] > 0
    missing = subprocess.run([sys.executable, "-m", "engines.script", "breakdown", str(tmp_path / "nope.fountain")],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("error: cannot read")
