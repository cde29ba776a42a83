"""Key words of a logline or a situation, without a language model: noun phrases, people, places, goal, stakes.

A small rule-based reader (no NLP library, no data files): noun phrases are the runs of content words after a
determiner ("a retired lighthouse keeper", "the storm") or a preposition ("in Lisbon"); a run stops at a
function word, an adverb, or a verb-looking word (``-s``/``-ed``/``-ing`` after the first word and before an
article, pronoun or preposition: "a storm *cuts* the island"). Phrases are people when their head is a person
noun, places when it is a place noun, things otherwise. The goal is what follows "must", "has to", "tries to",
"sets out to", ...; the stakes what follows "before".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

DETERMINERS = frozenset("a an the his her their its my our your this that these those some every one two three "
                        "several another each".split())
PRONOUNS = frozenset("he she they it him them we us i you me who whom whose which what".split())
PREPOSITIONS = frozenset("in on at from to into onto across inside outside under over through during with of for "
                         "by near behind beyond after before between among around along against without within "
                         "toward towards upon about off out up down".split())
FUNCTION = frozenset("and or but nor so yet if when while until unless because although though as than then "
                     "not no never only just also even still again ever very too is are was were be been being "
                     "am has have had do does did will would can could shall should may might must let lets "
                     "there here where how why all any both more most less least much many such own same other "
                     "others new".split()) | DETERMINERS | PRONOUNS | PREPOSITIONS
VERBS = frozenset("""discovers discover learns learn finds find tries try wants want needs need gets get goes go
comes come becomes become falls fall meets meet returns return begins begin decides decide realizes realize
uncovers uncover fights fight races race struggles struggle sets set takes take makes make gives give keeps keep
leaves leave loses lose wins win saves save stops stop teams team joins join hides hide runs run seeks seek
searches search investigates investigate stumbles stumble inherits inherit moves move travels travel plans plan
agrees agree refuses refuse vows vow hopes hope tells tell says say knows know thinks think sees see hears hear
lives live dies die kills kill steals steal escapes escape confronts confront faces face protects protect
threatens threaten forces force turns turn starts start tracks track hunts hunt chases chase rescues rescue
recruits recruit convinces convince pretends pretend works work owns own arrives arrive awakens awaken wakes wake
dreams dream fears fear loves love hates hate must cuts cut named called vanishes vanish disappears disappear
closes close opens open ends end burns burn sinks sink
collapses collapse floods flood explodes explode shuts shut fails fail breaks break strikes strike hits hit
runs expires expire falls sells sell leaves arrives changes change grows grow spreads spread""".split())
#: Nouns that look like verb forms to the ``-ing``/``-ed`` rule.
NOUN_FORMS = frozenset("""ring king thing wing string spring sting swing sibling darling earring offspring building
painting wedding morning evening ceiling clothing meeting feeling ending beginning opening ring bed shed seed
speed greed creed breed steed weed sled""".split())
#: Words that end idioms after a preposition ("for good", "at last", "in time") rather than name a thing.
IDIOMS = frozenset("good once last all sure real now later ever long time first least most best worst whole "
                   "general fact particular short order turn love trouble danger public private secret vain".split())
ADJECTIVES = frozenset("""old new young small big little large tiny huge abandoned remote lonely quiet dark haunted
dying ruined forgotten secret hidden crumbling famous failing struggling sleepy sunny rainy cold frozen burning
distant nearby local rundown run-down decaying deserted busy crowded empty ancient modern""".split())
PERSON_WORDS = frozenset("""man woman boy girl child kid teen teenager mother father mom dad son daughter brother
sister wife husband widow widower friend keeper detective cop officer agent spy nurse doctor surgeon teacher
student professor scientist engineer pilot captain sailor soldier veteran chef cook baker waiter waitress
musician singer dancer painter artist writer poet journalist reporter lawyer judge thief con artist hacker
assassin killer hitman boxer fighter athlete coach farmer fisherman fisher miner driver trucker cabbie mechanic
priest nun monk witch wizard knight king queen prince princess heir orphan stranger neighbor neighbour
grandmother grandfather grandma grandpa granddaughter grandson grandchild niece nephew baby uncle aunt cousin
twin twins family crew gang team sheriff mayor
senator president boss ceo clerk janitor guard ranger hunter explorer astronaut android robot ai alien ghost
vampire zombie mercenary smuggler pirate outlaw bandit runaway immigrant refugee retiree pensioner
photographer filmmaker director actor actress comedian influencer streamer youtuber blogger dj rapper drummer
guitarist inventor archaeologist historian librarian courier mailman postman midwife caretaker nanny maid
butler landlord tenant roommate partner lover fiance fiancee ex rival enemy mentor apprentice intern rookie
mom dad parents parent kids children teens investigator inspector sergeant lieutenant general colonel marine
ranger paramedic firefighter lifeguard diver climber surfer skater gambler dealer bartender barista
carpenter plumber electrician welder tailor seamstress florist butcher grocer shopkeeper vendor preacher
healer shaman sorcerer sorceress mage warrior ranger thief""".split())
PLACE_WORDS = {  # place noun -> "INT" or "EXT" (how its scenes are usually shot)
    **dict.fromkeys("""lighthouse house home apartment flat diner restaurant cafe bar pub club hotel motel inn
    school classroom university college hospital clinic ward station precinct prison jail cell office bank
    church chapel temple mosque synagogue museum library theater theatre cinema studio gallery bakery kitchen
    shop store market mall warehouse factory mill lab laboratory bunker vault casino gym arena courthouse court
    palace castle manor mansion cabin cottage barn attic basement garage hangar ship boat submarine train
    spaceship station embassy newsroom salon laundromat motel hostel dorm orphanage asylum monastery""".split(),
                    "INT"),
    **dict.fromkeys("""island town village city forest woods jungle desert mountain mountains valley river lake
    sea ocean coast beach harbor harbour port dock docks pier street streets road highway bridge farm ranch field
    fields orchard vineyard park garden cemetery graveyard border frontier planet moon colony outpost camp
    campsite canyon swamp marsh tundra glacier cliff cliffs cave caves ruins kingdom empire suburb suburbs
    neighborhood neighbourhood quarter alley rooftop yard shore wasteland wilderness archipelago""".split(), "EXT"),
}
MASS_OR_EVENT = frozenset("storm flood fire war election wedding funeral festival blackout winter summer "
                          "hurricane drought plague eclipse tide deadline trial season harvest".split())
GOAL_VERBS = re.compile(r"\b(?:must|has to|have to|needs to|need to|tries to|try to|wants to|want to|sets out to|"
                        r"set out to|vows to|decides to|fights to|struggles to|races to|learns to|plans to|hopes to|"
                        r"sets off to|is determined to|is forced to|agrees to|schemes to|scrambles to|works to|"
                        r"teams up to|joins forces to|goes undercover to|risks everything to)\s+", re.I)
GOAL_END = re.compile(r"\s+(?:before|or else|or|while|when|until|but|so that|despite|after|only to|unless)\b|"
                      r"[,.;:!?\u2014]|\s-\s|$", re.I)
STAKES = re.compile(r"\bbefore\s+(.+?)(?:[,.;:!?\u2014]|\s-\s|$)", re.I)
TOKEN = re.compile(r"[A-Za-z][A-Za-z'\u2019\-]*")


@dataclass
class Keywords:
    """What a logline talks about. Phrases are as written (lower case except proper nouns), without articles."""

    things: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    #: What the protagonist must do, as written ("stop a smuggling ring"), or "".
    goal: str = ""
    #: What happens if they are late, as written ("a storm cuts the island off"), or "".
    stakes: str = ""

    @property
    def nouns(self) -> list[str]:
        """Every phrase, things first (for weaving into text)."""
        return self.things + self.places + self.people


def _clean(token: str) -> str:
    token = token.replace("\u2019", "'")
    return token[:-2] if token.lower().endswith("'s") else token


def _is_verbish(word: str, nxt: str | None) -> bool:
    """Whether ``word``, not the first of a noun phrase, reads as the verb after it ("a storm *cuts* the ...")."""
    w = word.lower()
    if nxt is None:
        return False
    n = nxt.lower()
    if n in DETERMINERS or n in PRONOUNS:  # a noun phrase is rarely followed straight by another's article
        return True
    if w in NOUN_FORMS:
        return False
    forms = (w.endswith("ing") and len(w) > 5) or (w.endswith("ed") and len(w) > 4 and not w.endswith("eed"))
    if forms and nxt[:1].isupper():
        return True
    plural_verb = w.endswith("s") and not w.endswith(("ss", "us", "is"))
    return n in PREPOSITIONS and (forms or (plural_verb and w in VERBS))


def _singular(word: str) -> str:
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def place_label(phrase: str) -> str:
    """A place phrase as a heading would name it: leading adjectives dropped ("dying space station" ->
    "space station")."""
    words = phrase.split()
    while len(words) > 1 and (words[0].lower() in ADJECTIVES or words[0].lower().endswith(("ing", "ed", "ly"))):
        words = words[1:]
    return " ".join(words)


def extract(text: str) -> Keywords:
    """Noun phrases, people, places, names, goal and stakes of ``text`` (see the module notes)."""
    words = Keywords()
    raw = TOKEN.findall(text or "")
    tokens = [_clean(t) for t in raw]
    possessive = [t.replace("\u2019", "'").lower().endswith("'s") for t in raw]
    phrases: list[list[str]] = []
    i = 0
    n = len(tokens)
    while i < n:
        low = tokens[i].lower()
        starts = low in DETERMINERS or (low in PREPOSITIONS and low != "to") or possessive[i]
        if starts:
            if possessive[i] and tokens[i][:1].isupper() and tokens[i] not in words.names:
                words.names.append(tokens[i])
            j = i + 1
            run: list[str] = []
            while j < n and len(run) < 4:
                w = tokens[j]
                lw = w.lower()
                if lw in FUNCTION or lw.endswith("ly") or (lw in VERBS and run):
                    break
                nxt = tokens[j + 1] if j + 1 < n else None
                if run and _is_verbish(w, nxt):
                    break
                run.append(w if w[:1].isupper() and j > 0 else lw)
                j += 1
                if possessive[j - 1]:  # "the town's winter festival": the owner ends one phrase, starts the next
                    j -= 1
                    break
            if run:
                phrases.append(run)
                i = j if j > i + 1 or not possessive[i] else i + 1
                continue
        elif tokens[i][:1].isupper() and i > 0 and low not in FUNCTION and low not in VERBS:
            if tokens[i] not in words.names:
                words.names.append(tokens[i])
        i += 1

    for run in phrases:
        phrase = " ".join(run)
        head = run[-1].lower()
        if len(run) == 1 and (run[0] in words.names or run[0].lower() in IDIOMS):  # "Maya's", "for good"
            continue
        if head in PERSON_WORDS or _singular(head) in PERSON_WORDS:
            words.people.append(phrase)
            for w in run[:-1]:
                if w.lower() in PLACE_WORDS and w.lower() not in words.places:
                    words.places.append(w.lower())
        elif head in PLACE_WORDS or _singular(head) in PLACE_WORDS or (run[0][:1].isupper() and len(run) <= 3):
            if phrase not in words.places:
                words.places.append(phrase)
        elif phrase not in words.things:
            words.things.append(phrase)
    words.names = [nm for nm in words.names if not any(nm in p for p in words.places)]

    goal = GOAL_VERBS.search(text or "")
    if goal:
        rest = text[goal.end():]
        end = GOAL_END.search(rest)
        words.goal = " ".join(rest[:end.start() if end else len(rest)].split())
    stakes = STAKES.search(text or "")
    if stakes:
        words.stakes = " ".join(stakes.group(1).split())
    return words


_PRONOUN_MAP = {
    "my": {"his": "my", "her": "my", "their": "my", "himself": "myself", "herself": "myself",
           "themselves": "myself", "themself": "myself"},
    "your": {"his": "your", "her": "your", "their": "your", "himself": "yourself", "herself": "yourself",
             "themselves": "yourself", "themself": "yourself"},
    "their": {"his": "their", "her": "their", "himself": "themselves", "herself": "themselves"},
}


def speak(phrase: str, person: str = "my") -> str:
    """``phrase`` as said by the protagonist (``"my"``), to them (``"your"``) or about them (``"their"``), with
    "a"/"an" turned into "the" (it is no longer new): "save her brother from a cult" -> "save my brother from
    the cult"."""
    table = _PRONOUN_MAP[person]

    def swap(m: re.Match) -> str:
        w = m.group(0)
        low = w.lower()
        if low in ("a", "an"):
            return "the"
        if low == "her" and not re.match(r"\s+[A-Za-z]", phrase[m.end():]):
            return w  # "find her": someone else, not a possessive
        return table.get(low, w)

    return re.sub(r"\b[A-Za-z]+\b", swap, phrase)
