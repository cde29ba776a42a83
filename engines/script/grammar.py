"""The lite writer's material: beat sheets, and slot grammars per genre, tone and beat function.

Plain data (no logic beyond lookups). Placeholders in templates, filled by ``lite.py``:

* ``{P}`` the protagonist, ``{O}`` whoever they face in the scene, ``{A}`` the ally, ``{X}`` the antagonist
  (display names: "Maya");
* ``{thing}`` / ``{Thing}`` the logline's key thing with its article ("the smuggling ring"), ``{other}`` a second
  thing, ``{place}`` / ``{Place}`` the home place ("the lighthouse"), ``{prop}`` a prop of the genre;
* ``{goal}`` the protagonist's goal as they say it ("stop the smuggling ring"), ``{goal_you}`` as said to them,
  ``{goal_they}`` as said about them; ``{stakes}`` what happens if they are late ("the storm cuts the island
  off");
* ``{sound}`` a sound of the genre (lower case, no full stop).

Sights, atmosphere, actions, entrances and buttons starting ``I:`` are for interiors only, ``E:`` for exteriors only.

Dialogue templates are lists of ``(speaker, line)`` where the speaker is ``"P"`` or ``"O"``. Lines stay short:
subtitle-size (see ``types.subtitle_chunks``) once filled with a typical logline.
"""
from __future__ import annotations

# ---------------------------------------------------------------------------------------------------------------
# Beat sheets: (name, function, priority). The N highest-priority beats are kept in story order; past the end of
# the sheet, scenes are added to the expandable beats in turn.
# ---------------------------------------------------------------------------------------------------------------
THREE_ACT = [
    ("Setup", "setup", 2),
    ("Inciting Incident", "inciting", 5),
    ("Debate", "debate", 7),
    ("Midpoint", "midpoint", 3),
    ("Crisis", "crisis", 6),
    ("Climax", "climax", 1),
    ("Resolution", "resolution", 4),
]
SAVE_THE_CAT = [
    ("Opening Image", "setup", 12),
    ("Theme Stated", "bond", 15),
    ("Set-Up", "setup", 2),
    ("Catalyst", "inciting", 3),
    ("Debate", "debate", 9),
    ("Break into Two", "commit", 7),
    ("B Story", "bond", 14),
    ("Fun and Games", "progress", 10),
    ("Midpoint", "midpoint", 4),
    ("Bad Guys Close In", "pressure", 11),
    ("All Is Lost", "crisis", 5),
    ("Dark Night of the Soul", "dark", 13),
    ("Break into Three", "commit", 8),
    ("Finale", "climax", 1),
    ("Final Image", "resolution", 6),
]
EXPANDABLE = ["Fun and Games", "Bad Guys Close In", "Finale", "B Story", "Set-Up", "Debate",
              "Dark Night of the Soul", "Midpoint"]

#: Who the protagonist faces in each beat function: "A" the ally, "X" the antagonist.
COUNTERPART = {"setup": "A", "bond": "A", "inciting": "X", "debate": "A", "commit": "A", "progress": "A",
               "midpoint": "X", "pressure": "X", "crisis": "A", "dark": "A", "climax": "X", "resolution": "A"}

#: What a beat is for, for the outline.
BEAT_DESCRIPTIONS = {
    "Setup": "{P}, {p_desc}, in {place}: the routine, the people, and the wish to {goal_they}.",
    "Set-Up": "{P}, {p_desc}, in {place}: the routine, the people, and the wish to {goal_they}.",
    "Opening Image": "A snapshot of {P}'s world before anything changes: {place}, and what is missing.",
    "Theme Stated": "{A} says the thing {P} is not ready to hear; it will matter later.",
    "Inciting Incident": "{X} arrives and {thing} is suddenly at stake; {P} cannot ignore it.",
    "Catalyst": "{X} arrives and {thing} is suddenly at stake; {P} cannot ignore it.",
    "Debate": "{P} weighs staying safe against trying to {goal_they}; {A} pushes both ways.",
    "Break into Two": "{P} chooses to act and leaves the old way of living behind.",
    "Break into Three": "{P} finds the answer in what {A} said and makes a new plan.",
    "B Story": "{P} and {A} grow closer; the relationship that carries the theme.",
    "Fun and Games": "{P} and {A} chase {thing}: small wins, near misses, the promise of the premise.",
    "Midpoint": "{P} learns the truth about {thing} and {X}; the stakes rise and there is no way back.",
    "Bad Guys Close In": "{X} pushes back; doubt and pressure close the easy ways out.",
    "Crisis": "Everything {P} built falls apart; {A} walks away.",
    "All Is Lost": "Everything {P} built falls apart; {A} walks away.",
    "Dark Night of the Soul": "Alone, {P} faces what it would cost to give up.",
    "Climax": "{P} faces {X} over {thing}, before {stakes}.",
    "Finale": "{P} faces {X} over {thing}, before {stakes}.",
    "Resolution": "{P} and {A} in the new normal; {place} seen with new eyes.",
    "Final Image": "The opening image answered: {P} changed, {place} changed with them.",
}

# ---------------------------------------------------------------------------------------------------------------
# Beat functions: actions (prose paragraphs) and dialogue exchanges.
# ---------------------------------------------------------------------------------------------------------------
ACTIONS = {
    "setup": ["{P} walks the usual route, nodding to the usual faces.",
              "I:{P} goes through the morning routine with practiced hands: {prop}, the window, the lock, twice.",
              "I:On the wall, a faded photograph of {place}. {P} straightens it without looking.",
              "I:{P} works in silence. Everything here has a place, and everything is in it.",
              "{P} stops to watch the day begin, {prop} in hand."],
    "bond": ["{P} and {O} share the last of the coffee. It is almost comfortable.",
             "{O} watches {P} work for a long moment before saying anything."],
    "inciting": ["{O} is there, waiting, as if this meeting was always going to happen.",
                 "I:The door opens without a knock. {O} stands there as if invited.",
                 "I:A knock. Then another, slower. {P} freezes, {prop} in hand.",
                 "I:{O} sets {prop} on the table, gently, the way people set down threats."],
    "debate": ["{P} stares at {prop} for a long time.",
               "I:{P} starts to pack a bag. Stops. Unpacks it. Starts again.",
               "I:{P} paces. Sits. Stands again. The clock on the wall is very loud."],
    "commit": ["{P} sets off and, for once, does not look back.",
               "I:{P} locks the door and, for the first time, does not check it twice.",
               "{P} takes {prop} and walks out without looking back."],
    "progress": ["A run of quick moments: {P} and {O} mapping it out, arguing, laughing despite themselves.",
                 "The first idea fails. The second works, barely. {P} allows one small smile.",
                 "{P} and {O} move like a team now, finishing each other's sentences and mistakes."],
    "midpoint": ["{P} finally sees it: the truth about {thing} was here all along.",
                 "I:The room seems to tilt. Everything {P} believed rearranges itself.",
                 "I:{P} lays it all out on the table. The pieces fit, and the picture is worse than feared."],
    "pressure": ["I:Headlights sweep across the window and stop. Someone is watching.",
                 "One by one, the easy ways out close.",
                 "{P}'s phone buzzes. Unknown number. It buzzes again."],
    "crisis": ["I:{O} walks out. The door swings shut under its own weight.",
               "{P} sits alone among the wreckage of the plan.",
               "{prop_cap} slips from {P}'s fingers and hits the floor."],
    "dark": ["{P} sits alone with {prop} and lets the quiet win for a while.",
             "I:{P} sits on the floor, back against the wall, {prop} in both hands.",
             "I:Outside, the world goes on as if nothing happened. {P} watches it for a long time.",
             "I:{P} opens an old box of keepsakes and finds the one thing that still matters."],
    "climax": ["{P} steps forward. No more running.",
               "Everything happens at once: {sound}, a shout, and {P} moving before thinking.",
               "I:{P} and {O} face each other across the room. Only one of them is afraid now."],
    "resolution": ["{P} and {O} sit side by side. For once, neither needs to talk.",
                   "{Place} in new light. It looks smaller now. Kinder.",
                   "I:{P} opens the window and lets the morning in."],
}

#: Small beats between exchanges when a beat function's own actions are used up in a scene.
PAUSES = ["A long pause.", "{P} looks away first.", "{O} lets that land.", "Somewhere, {sound}.",
          "{P} almost smiles. Almost.", "Neither of them says the obvious thing."]

ENTRANCES = ["walks up, hands in pockets", "is already there", "I:leans in the doorway",
             "arrives, shaking off the cold", "is already waiting",
             "I:comes in carrying {prop}", "I:looks up from a stack of papers", "I:appears at the end of the hall"]

BUTTONS = ["{P} looks at {O}. Neither blinks.", "I:{O} leaves. {P} does not watch the door.",
           "{P} watches {O} go, and stays a moment longer.", "Neither of them moves. Then both do.",
           "I:The light flickers, then holds.", "{P} turns {prop} over in one hand, thinking.",
           "Silence. Then, somewhere, {sound}.", "{P} exhales for what feels like the first time today."]

EXCHANGES = {
    "setup": [
        [("O", "You still think about {thing}?"), ("P", "Every day. Somebody has to.")],
        [("P", "Tell me something good, {O}."), ("O", "{Place} is still standing. That's something."),
         ("P", "For now.")],
        [("O", "You ever going to tell me what you actually want?"), ("P", "To {goal}. That's all."),
         ("O", "That's all? That's everything.")],
        [("O", "You look tired."), ("P", "I look like someone with a plan."),
         ("O", "Same thing, with you.")],
        [("P", "Did anyone ask about me?"), ("O", "Only everyone. You know how people talk.")],
    ],
    "bond": [
        [("O", "Can I ask you something?"), ("P", "You will anyway."), ("O", "Are you happy?"),
         ("P", "Ask me something easier.")],
        [("P", "Why do you stay?"), ("O", "Somebody has to remember your birthday.")],
        [("O", "You're different when you talk about {thing}."), ("P", "Different how?"), ("O", "Awake.")],
        [("P", "Do you ever wish we'd left?"), ("O", "Every winter. Never in spring.")],
    ],
    "inciting": [
        [("O", "You must be {P}. I've heard a lot about you."), ("P", "Then you know I don't like surprises."),
         ("O", "Pity. I brought one.")],
        [("O", "{Thing} isn't your problem anymore."), ("P", "Says who?"), ("O", "Says me. Starting tonight.")],
        [("P", "What do you want?"), ("O", "What everyone wants. What you have.")],
        [("O", "There's a version of this where nobody gets hurt."), ("P", "I've never seen that version."),
         ("O", "Then you haven't met me.")],
        [("P", "Who sent you?"), ("O", "Nobody sends me. I come when things get interesting."),
         ("P", "Nothing here is interesting.")],
    ],
    "debate": [
        [("O", "You don't have to do this."), ("P", "If I don't, who will?"),
         ("O", "Someone with less to lose.")],
        [("P", "Tell me I'm crazy."), ("O", "You're crazy."), ("P", "Tell me I'm wrong."), ("O", "I can't.")],
        [("O", "Walk away. Nobody would blame you."), ("P", "I would.")],
        [("P", "What if I can't {goal}?"), ("O", "Then you'll know you tried. That's not nothing.")],
        [("O", "And if it all goes wrong?"), ("P", "Then it goes wrong with me in the room.")],
    ],
    "commit": [
        [("P", "I'm going."), ("O", "Then I'm coming with you."), ("P", "{O}, no."),
         ("O", "Don't argue. You'll lose.")],
        [("O", "Last chance to change your mind."), ("P", "I changed it already. This is the new one.")],
        [("P", "Pack light."), ("O", "Where are we going?"), ("P", "Wherever this ends.")],
    ],
    "progress": [
        [("O", "Okay. That actually worked."), ("P", "Don't sound so surprised."),
         ("O", "I'm allowed to be surprised.")],
        [("P", "How many steps does this plan have?"), ("O", "Seven."), ("P", "And how many have we done?"),
         ("O", "Counting this one? One.")],
        [("O", "Where did you learn to do that?"), ("P", "Long story."), ("O", "We've got time."),
         ("P", "We really don't.")],
        [("P", "We're closer to {thing} than anyone's been."), ("O", "Closer isn't there.")],
    ],
    "midpoint": [
        [("O", "You've been busy."), ("P", "So have you."),
         ("O", "The difference is, I'm not afraid of what I'll find.")],
        [("P", "I know what you did."), ("O", "You know half. The other half is what keeps you alive.")],
        [("O", "You could stop now and keep everything you have."), ("P", "I stopped keeping score.")],
        [("P", "It was you. The whole time."), ("O", "It's always been me. You just weren't looking.")],
    ],
    "pressure": [
        [("O", "Every door you open, I've already closed."), ("P", "Then I'll find a window.")],
        [("P", "Leave {A} out of this."), ("O", "You brought {A} in. Not me.")],
        [("O", "Tick tock, {P}."), ("P", "I can count."), ("O", "Then you know it's later than you think.")],
    ],
    "crisis": [
        [("O", "You lied to me."), ("P", "I protected you."), ("O", "With you, that's the same thing.")],
        [("P", "It's over. We lost."), ("O", "We lost a round. Get up.")],
        [("O", "I can't keep doing this with you."), ("P", "Then don't."),
         ("O", "That's not what I meant, and you know it.")],
        [("P", "I should never have started this."), ("O", "You started it because it was right.")],
    ],
    "dark": [
        [("O", "What are you going to do?"), ("P", "I don't know. That's the honest answer."),
         ("O", "Honest is a start.")],
        [("P", "Why did I think I could {goal}?"), ("O", "Because you could. You still can.")],
        [("O", "Eat something."), ("P", "I'm not hungry."), ("O", "I didn't ask if you were hungry.")],
    ],
    "climax": [
        [("O", "You should have stayed away."), ("P", "I tried. It didn't take.")],
        [("P", "It ends here, {O}."), ("O", "People like me don't end. We wait."),
         ("P", "Then wait somewhere else.")],
        [("O", "Give me {thing} and walk away."), ("P", "No."), ("O", "Nobody has ever said that to me."),
         ("P", "Get used to it.")],
        [("P", "You taught me one thing."), ("O", "Only one?"), ("P", "Never stand where you can be seen.")],
    ],
    "resolution": [
        [("O", "So. What now?"), ("P", "Now? Breakfast.")],
        [("P", "Thank you. For not leaving."), ("O", "Where would I go? You're the only show in town.")],
        [("O", "Was it worth it?"), ("P", "Ask me tomorrow."), ("O", "I'm asking now."), ("P", "Yes.")],
        [("P", "I kept thinking about {thing}."), ("O", "And now?"), ("P", "Now I think about what's next.")],
    ],
}

# ---------------------------------------------------------------------------------------------------------------
# Genres
# ---------------------------------------------------------------------------------------------------------------
GENRES = {
    "drama": {
        "locations": [("INT", "FAMILY KITCHEN"), ("INT", "HOSPITAL CORRIDOR"), ("EXT", "BUS STOP"),
                      ("INT", "CORNER BAR"), ("EXT", "CEMETERY"), ("INT", "SMALL APARTMENT"),
                      ("EXT", "PARKING LOT"), ("INT", "LAUNDROMAT")],
        "climax": [("EXT", "FRONT PORCH"), ("INT", "COURTROOM"), ("EXT", "RAILWAY PLATFORM")],
        "sights": ["I:Dishes stacked in the sink, a calendar two months out of date.",
                   "I:Late light slants through blinds and lays bars across the floor.",
                   "I:A child's drawing is taped to the fridge, its corners curling.",
                   "E:Wind pushes an empty paper cup along the curb."],
        "sounds": ["a kettle starting to sing", "a television murmuring in the next room", "rain on the gutter",
                   "a dog barking two streets away"],
        "props": ["a chipped mug", "an unopened letter", "a set of old keys", "a folded photograph"],
        "p_descs": ["tired eyes and a stubborn jaw", "kind, careful, running on too little sleep"],
        "a_descs": ["a sibling with an easy laugh", "an old friend who never learned to knock"],
        "x_descs": ["polite in a way that costs other people", "a landlord with a clipboard and no patience"],
        "flavor": [[("P", "Mom would have known what to say."), ("O", "Mom would have said it twice.")],
                   [("O", "We don't talk about that."), ("P", "Maybe that's the problem.")]],
    },
    "thriller": {
        "locations": [("INT", "UNDERGROUND PARKING GARAGE"), ("INT", "CHEAP MOTEL ROOM"), ("EXT", "HARBOR"),
                      ("INT", "SERVER ROOM"), ("INT", "ALL-NIGHT DINER"), ("EXT", "OVERPASS"),
                      ("INT", "SAFE HOUSE"), ("INT", "TRAIN CARRIAGE")],
        "climax": [("EXT", "ROOFTOP"), ("INT", "ABANDONED WAREHOUSE"), ("EXT", "PIER")],
        "sights": ["I:A single bulb swings, throwing the shadows one way, then the other.",
                   "E:Sodium lights buzz over wet asphalt.",
                   "I:Surveillance photos cover one wall, joined by red string.",
                   "E:Rain beads on a windshield. The wipers are off."],
        "sounds": ["a phone vibrating against a table", "footsteps that stop when yours do",
                   "a car door closing somewhere below", "static on a police scanner"],
        "props": ["a burner phone", "a manila envelope", "a ring of keycards", "a pair of binoculars"],
        "p_descs": ["watchful, never sits with their back to a door", "sharp, underslept, out of second chances"],
        "a_descs": ["a hacker who lives on energy drinks", "an ex-partner who still picks up the phone"],
        "x_descs": ["immaculate suit, patient smile", "the calmest person in any room"],
        "flavor": [[("P", "Someone's been in here."), ("O", "How can you tell?"),
                    ("P", "The chair. I never leave it like that.")],
                   [("O", "Don't use your phone. Not anymore."), ("P", "Who's listening?"),
                    ("O", "Assume everyone.")]],
    },
    "comedy": {
        "locations": [("INT", "OFFICE BREAK ROOM"), ("INT", "KARAOKE BAR"), ("EXT", "SUBURBAN DRIVEWAY"),
                      ("INT", "BRIDAL SHOP"), ("INT", "DENTIST'S WAITING ROOM"), ("EXT", "MINI-GOLF COURSE"),
                      ("INT", "SHARED APARTMENT"), ("INT", "SUPERMARKET")],
        "climax": [("INT", "WEDDING RECEPTION"), ("EXT", "COUNTY FAIR"), ("INT", "TALENT SHOW STAGE")],
        "sights": ["I:A motivational poster of a kitten hangs crooked over a broken printer.",
                   "I:Party streamers droop from the ceiling, left over from a party nobody enjoyed.",
                   "I:A label maker has clearly been used on everything, including the label maker.",
                   "E:A lawn flamingo in a tiny party hat surveys the scene."],
        "sounds": ["a smoke alarm chirping for a new battery", "elevator music, very slightly too loud",
                   "someone in the next room practicing the trumpet badly", "a microwave beeping, ignored"],
        "props": ["a novelty mug", "a sad desk plant", "a rubber chicken", "an enormous casserole"],
        "p_descs": ["optimistic beyond all evidence", "a planner whose plans never survive lunch"],
        "a_descs": ["a roommate with opinions on everything", "a best friend who says yes to every bad idea"],
        "x_descs": ["a rival with perfect teeth", "the neighbor who runs the residents' association"],
        "flavor": [[("O", "On a scale of one to ten, how bad is this?"), ("P", "Have you ever seen a twelve?")],
                   [("P", "I have a plan."), ("O", "Is it a good plan?"), ("P", "It's a plan.")]],
    },
    "documentary": {
        "locations": [("INT", "INTERVIEW ROOM"), ("INT", "ARCHIVE"), ("EXT", "MAIN STREET"),
                      ("INT", "COMMUNITY HALL"), ("EXT", "EDGE OF TOWN"), ("INT", "KITCHEN TABLE")],
        "climax": [("INT", "TOWN MEETING"), ("EXT", "SITE OF THE EVENTS")],
        "sights": ["Archival footage: grainy, sun-bleached, people waving at a camera long gone.",
                   "I:A subject sits in a single chair, lit from one side. The camera waits.",
                   "I:Boxes of old files, labelled by hand, stacked to the ceiling.",
                   "E:A wide, still shot: the street, the sky, a dog crossing with great purpose."],
        "sounds": ["the hum of a projector", "a boom mic brushing a sleeve", "wind across an open microphone",
                   "a clock ticking between answers"],
        "props": ["a box of old photographs", "a cassette recorder", "a yellowed newspaper clipping",
                  "a hand-drawn map"],
        "p_descs": ["the person who has been asking questions for years", "a witness who remembers it all"],
        "a_descs": ["the filmmaker, off camera, patient", "a local historian with a good memory"],
        "x_descs": ["an official who agreed to one interview only", "someone who would rather forget"],
        "flavor": [[("O", "When did you first notice {thing}?"),
                    ("P", "Years ago. Nobody wanted to hear it then.")],
                   [("P", "Is the camera on?"), ("O", "It's always on."), ("P", "Then I'll say it properly.")]],
        "narrator": ["Nobody here talks about {thing}. Not at first.",
                     "This is {place}. Population: fewer every year.",
                     "The records stop here. The memories don't.",
                     "What happened next depends on who you ask."],
    },
    "sci-fi": {
        "locations": [("INT", "STATION CONTROL ROOM"), ("INT", "CRYO BAY"), ("EXT", "LANDING PAD"),
                      ("INT", "HYDROPONICS DECK"), ("INT", "MED BAY"), ("INT", "AIRLOCK"),
                      ("EXT", "RED DESERT"), ("INT", "OBSERVATION DECK")],
        "climax": [("INT", "REACTOR CORE"), ("EXT", "HULL OF THE STATION"), ("INT", "BRIDGE")],
        "sights": ["I:Readouts scroll across a cracked screen faster than anyone could read them.",
                   "I:Beyond the viewport, a planet turns, enormous and indifferent.",
                   "I:Frost feathers across the glass of a sleeping pod.",
                   "E:Dust devils wander across the plain under a pale, small sun."],
        "sounds": ["the low thrum of life support", "a warning chime, polite and relentless",
                   "metal ticking as it cools", "a voice on comms, half static"],
        "props": ["a cracked data slate", "a dented helmet", "a sealed sample case", "a handheld scanner"],
        "p_descs": ["an engineer who trusts machines more than people", "the last one awake on the night shift"],
        "a_descs": ["a ship's AI with a dry sense of humor", "a medic who has seen too many launches"],
        "x_descs": ["a corporate liaison with a perfect record", "something that learned to imitate voices"],
        "flavor": [[("O", "The readings don't make sense."),
                    ("P", "Then they're not readings. They're a message.")],
                   [("P", "How long since the last signal?"),
                    ("O", "Eleven hours. It's never been this quiet.")]],
    },
    "horror": {
        "locations": [("INT", "FARMHOUSE CELLAR"), ("EXT", "TREELINE"), ("INT", "CHILD'S BEDROOM"),
                      ("INT", "ATTIC"), ("EXT", "FLOODED ROAD"), ("INT", "EMPTY CHAPEL"),
                      ("INT", "MOTEL BATHROOM"), ("EXT", "DRAINED SWIMMING POOL")],
        "climax": [("INT", "BASEMENT"), ("EXT", "CLEARING IN THE WOODS"), ("INT", "BELL TOWER")],
        "sights": ["I:Wallpaper peels in long strips, and something is written underneath.",
                   "I:The mirror is covered with a sheet. The sheet is moving, very slightly.",
                   "A rocking chair, still. Then not.",
                   "E:The trees lean in, black against a bruised sky."],
        "sounds": ["a scratching inside the walls", "a music box winding down", "breathing that isn't anyone's",
                   "three slow knocks"],
        "props": ["a flashlight with a weak battery", "a rosary", "an old doll", "a jar of salt"],
        "p_descs": ["a skeptic who sleeps with the light on", "new in town, trying hard to be fine"],
        "a_descs": ["a neighbor who knows the house's history", "a younger sibling who hears things"],
        "x_descs": ["a presence that wears familiar faces", "the previous owner, who never left"],
        "flavor": [[("P", "Did you hear that?"), ("O", "Hear what?"), ("P", "Exactly. Even the crickets stopped.")],
                   [("O", "Don't look at the window."), ("P", "Why?"), ("O", "Just don't.")]],
    },
    "romance": {
        "locations": [("INT", "BOOKSHOP"), ("EXT", "RIVERSIDE PROMENADE"), ("INT", "CROWDED WEDDING"),
                      ("INT", "TINY RESTAURANT"), ("EXT", "ROOFTOP GARDEN"), ("INT", "TRAIN STATION CAFE"),
                      ("EXT", "CITY PARK"), ("INT", "DANCE STUDIO")],
        "climax": [("EXT", "AIRPORT CURB"), ("EXT", "BRIDGE AT NIGHT"), ("INT", "EMPTY THEATER")],
        "sights": ["E:Fairy lights are strung between lamp posts, half of them out.",
                   "I:Two coffee cups on a table, one untouched.",
                   "Couples drift by, and nobody notices one more lonely person."],
        "sounds": ["a street musician playing something slow", "laughter from another table",
                   "the rustle of pages", "a door chime"],
        "props": ["a borrowed scarf", "a dog-eared novel", "a handwritten note", "two concert tickets"],
        "p_descs": ["guarded, funny, allergic to grand gestures", "a romantic who swore off romance"],
        "a_descs": ["a best friend with terrible advice", "a sister who is always right about love"],
        "x_descs": ["a perfect fiance on paper", "a career that keeps asking for more"],
        "flavor": [[("O", "You remembered how I take my coffee."),
                    ("P", "I remember everything about you. It's a problem.")],
                   [("P", "Dance with me."), ("O", "There's no music."),
                    ("P", "There's always music if you're brave enough.")]],
    },
    "adventure": {
        "locations": [("EXT", "MOUNTAIN PASS"), ("EXT", "JUNGLE RIVER"), ("INT", "CROWDED BAZAAR"),
                      ("EXT", "DESERT RUINS"), ("INT", "SHIP'S HOLD"), ("EXT", "ROPE BRIDGE"),
                      ("INT", "EXPLORERS' CLUB"), ("EXT", "BASE CAMP")],
        "climax": [("INT", "HIDDEN TEMPLE"), ("EXT", "CLIFF EDGE"), ("EXT", "CRATER RIM")],
        "sights": ["A hand-drawn map is pinned flat by a compass and a half-eaten apple.",
                   "E:Mist pours down the slope like something alive.",
                   "Carvings cover the stone, worn smooth by a thousand years of hands."],
        "sounds": ["a river roaring below", "birds exploding from the canopy", "rope creaking under weight",
                   "distant drums"],
        "props": ["a brass compass", "a coil of rope", "a battered journal", "a machete"],
        "p_descs": ["a cartographer who has never left the library", "fearless, reckless, usually lucky"],
        "a_descs": ["a guide who charges extra for sarcasm", "a pilot with one working engine and no fear"],
        "x_descs": ["a treasure hunter with a private army", "a rival explorer with better funding"],
        "flavor": [[("O", "The map ends here."), ("P", "Then we draw the rest.")],
                   [("P", "Rope?"), ("O", "Rope."), ("P", "Water?"), ("O", "Half."), ("P", "Good enough.")]],
    },
    "mystery": {
        "locations": [("INT", "LOCKED STUDY"), ("INT", "POLICE STATION"), ("EXT", "VILLAGE GREEN"),
                      ("INT", "RECORDS OFFICE"), ("INT", "VICTIM'S APARTMENT"), ("INT", "PUB"),
                      ("EXT", "COUNTRY LANE"), ("INT", "GREENHOUSE")],
        "climax": [("INT", "DRAWING ROOM"), ("EXT", "BOATHOUSE"), ("INT", "LIBRARY")],
        "sights": ["I:Chalk marks on the floor. A clock stopped at ten past nine.",
                   "I:Every drawer in the desk is open except one.",
                   "I:A wine glass with lipstick on the rim, and no one who admits to drinking from it.",
                   "E:Fog sits on the lane, and the hedges keep their secrets."],
        "sounds": ["a grandfather clock striking the hour", "a typewriter", "gravel under tires",
                   "a door that should be locked, creaking"],
        "props": ["a torn page", "a pocket watch", "a ledger", "a magnifying glass"],
        "p_descs": ["notices everything, forgives nothing", "an amateur with a professional's curiosity"],
        "a_descs": ["a constable out of their depth", "a landlady who hears everything"],
        "x_descs": ["a charming host with an alibi for every minute", "a relative with the most to gain"],
        "flavor": [[("P", "Nobody locks a door from the inside and then vanishes."), ("O", "Somebody did.")],
                   [("O", "You think it was one of us."), ("P", "I think it was exactly one of you.")]],
    },
    "fantasy": {
        "locations": [("INT", "CASTLE GREAT HALL"), ("EXT", "ENCHANTED FOREST"), ("INT", "WIZARD'S TOWER"),
                      ("EXT", "VILLAGE MARKET"), ("INT", "TAVERN"), ("EXT", "STANDING STONES"),
                      ("INT", "ROYAL LIBRARY"), ("EXT", "MOUNTAIN ROAD")],
        "climax": [("EXT", "BATTLEFIELD"), ("INT", "THRONE ROOM"), ("EXT", "DRAGON'S PEAK")],
        "sights": ["Lanterns float in the air without strings, humming softly.",
                   "E:Ivy creeps over the ruins, flowering where the old magic pools.",
                   "I:A map on the table redraws itself as they watch."],
        "sounds": ["bells from a tower no one can find", "wings, very large, very far", "a spell crackling",
                   "the forest whispering"],
        "props": ["a rune-carved staff", "an old amulet", "a sealed scroll", "a sword with a notched blade"],
        "p_descs": ["a farmhand with a secret gift", "an apprentice who failed every test but one"],
        "a_descs": ["a knight who lost their oath", "a talking raven with a long memory"],
        "x_descs": ["a queen who stopped the seasons", "a sorcerer who remembers the old war"],
        "flavor": [[("O", "The old stories say {thing} chooses who carries it."), ("P", "Then it chose badly.")],
                   [("P", "Is it magic?"), ("O", "Everything is magic until you know how it works.")]],
    },
    "action": {
        "locations": [("INT", "COMMAND CENTER"), ("EXT", "HIGHWAY"), ("INT", "NIGHTCLUB"),
                      ("EXT", "CONTAINER YARD"), ("INT", "ARMORY"), ("EXT", "HELIPAD"),
                      ("INT", "STAIRWELL"), ("EXT", "CITY STREETS")],
        "climax": [("EXT", "SKYSCRAPER ROOF"), ("INT", "MOVING TRAIN"), ("EXT", "DAM")],
        "sights": ["I:Monitors glow with maps and countdowns.", "E:Smoke rolls across the street, lit orange.",
                   "Shell casings scatter across the concrete."],
        "sounds": ["helicopter blades", "sirens converging", "a magazine clicking home", "glass shattering"],
        "props": ["a duffel bag", "a detonator", "an earpiece", "a set of car keys"],
        "p_descs": ["retired, in theory", "a courier who never asks what's in the bag"],
        "a_descs": ["a tech specialist who hates fieldwork", "a former partner with a grudge and a truck"],
        "x_descs": ["a mercenary with a code", "a mastermind who is always three moves ahead"],
        "flavor": [[("P", "How many?"), ("O", "Too many."), ("P", "My favorite number.")],
                   [("O", "Tell me you have a plan B."), ("P", "I have a plan A and a lot of faith.")]],
    },
}
#: What is at stake when the logline names no thing.
STAKES_THINGS = {"drama": ["the house", "the family business", "the truth"],
                 "thriller": ["the ledger", "the evidence", "the drive"],
                 "comedy": ["the trophy", "the deposit", "the wedding"],
                 "documentary": ["the story", "the archive", "the truth"],
                 "sci-fi": ["the signal", "the core", "the colony"], "horror": ["the house", "the old box"],
                 "romance": ["the letter", "the ring", "the last dance"], "adventure": ["the map", "the relic"],
                 "mystery": ["the will", "the missing page", "the key"], "fantasy": ["the crown", "the amulet"],
                 "action": ["the codes", "the case", "the package"]}

GENRE_ALIASES = {"sci fi": "sci-fi", "scifi": "sci-fi", "science fiction": "sci-fi", "sf": "sci-fi",
                 "crime": "mystery", "detective": "mystery", "noir": "thriller", "suspense": "thriller",
                 "rom-com": "romance", "romcom": "romance", "romantic comedy": "romance", "love": "romance",
                 "doc": "documentary", "docu": "documentary", "non-fiction": "documentary",
                 "fantasy adventure": "fantasy", "superhero": "action", "war": "action", "western": "adventure",
                 "family": "drama", "coming of age": "drama", "satire": "comedy", "sitcom": "comedy",
                 "slasher": "horror", "supernatural": "horror", "space": "sci-fi", "heist": "thriller"}

# ---------------------------------------------------------------------------------------------------------------
# Tones
# ---------------------------------------------------------------------------------------------------------------
TONES = {
    "hopeful": {
        "parentheticals": ["(softly)", "(smiling despite it)", "(gently)", "(a small laugh)"],
        "atmosphere": ["Morning light finds its way in anyway.", "Somewhere, a bird starts up and won't stop.",
                       "The air smells of rain that has just ended."],
        "closers": ["We start again. Properly, this time.", "It's a good day. I almost forgot what they feel like."],
        "final_images": ["{P} looks up. The sky is enormous and clear.",
                         "{P} laughs, really laughs, for the first time in a long time."],
        "resolution_times": ["MORNING", "DAY", "DAWN"],
    },
    "tense": {
        "parentheticals": ["(low)", "(barely a whisper)", "(not looking up)", "(urgent)"],
        "atmosphere": ["Every sound is too loud.", "The air feels stretched thin.",
                       "Nobody has moved for a long time."],
        "closers": ["It's not over. It's never over.", "Lock the door. Tonight, lock the door."],
        "final_images": ["I:{P} checks the lock. Then checks it again.",
                         "In the dark outside, something waits. {P} knows it."],
        "resolution_times": ["NIGHT", "DAWN"],
    },
    "melancholic": {
        "parentheticals": ["(quietly)", "(a sad smile)", "(after a long moment)", "(to no one)"],
        "atmosphere": ["The light is thin and grey.", "Dust hangs in the air, unhurried.",
                       "Everything here has been left exactly as it was."],
        "closers": ["Some things you carry. That's all.", "I'll remember it. That has to be enough."],
        "final_images": ["{P} stands alone as the day goes out.",
                         "{P} sets {prop} down, carefully, and leaves it there."],
        "resolution_times": ["DUSK", "EVENING"],
    },
    "playful": {
        "parentheticals": ["(grinning)", "(deadpan)", "(delighted)", "(with enormous dignity)"],
        "atmosphere": ["Somewhere, a wind chime is having the time of its life.",
                       "It is, against all odds, a lovely day.", "I:Even the furniture looks a little smug."],
        "closers": ["Same time next week?", "For the record, that was my plan all along."],
        "final_images": ["{P} does a tiny victory dance when no one is looking. Someone is looking.",
                         "{P} and {A} bump fists. It goes slightly wrong. They do it again."],
        "resolution_times": ["DAY", "MORNING"],
    },
    "dark": {
        "parentheticals": ["(flat)", "(cold)", "(without looking)", "(almost amused)"],
        "atmosphere": ["I:The shadows pool in the corners and do not move.", "It smells of rust and wet stone.",
                       "I:The streetlight outside is dead."],
        "closers": ["We won. It doesn't feel like it.", "Don't thank me. Nobody should thank me."],
        "final_images": ["{P} walks into the dark and does not look back.",
                         "The lights go out one by one. {P} stays seated, waiting."],
        "resolution_times": ["NIGHT", "DUSK"],
    },
    "warm": {
        "parentheticals": ["(fondly)", "(laughing)", "(squeezing a hand)", "(gently teasing)"],
        "atmosphere": ["I:Something good is cooking, and the windows are fogged with it.",
                       "I:The room is full of mismatched chairs, all of them taken.",
                       "Golden light, and the sound of people who like each other."],
        "closers": ["Stay for dinner. I insist.", "You're family. You don't get a choice."],
        "final_images": ["I:{P} sets one more place at the table.",
                         "{P} and {A} walk home together, arguing happily about nothing.",
                         "I:Laughter from inside. {P} lingers in the doorway, then goes in."],
        "resolution_times": ["EVENING", "DAY"],
    },
    "eerie": {
        "parentheticals": ["(too calm)", "(listening)", "(a whisper)", "(staring past them)"],
        "atmosphere": ["E:The fog does not move with the wind.", "I:Every clock in the place shows a different time.",
                       "It is very quiet. Too quiet for a place like this."],
        "closers": ["Did you hear it too? Tell me you heard it.", "It knows our names now."],
        "final_images": ["I:Behind {P}, unseen, a door that was closed stands open.",
                         "Far off, a light comes on where no one lives. {P} does not see it.",
                         "I:{P} turns off the light. In the dark, something turns it back on."],
        "resolution_times": ["NIGHT", "DUSK", "DAWN"],
    },
    "triumphant": {
        "parentheticals": ["(beaming)", "(fierce)", "(raising a fist)", "(to the crowd)"],
        "atmosphere": ["E:Banners snap in the wind.", "The crowd noise rises like a wave.",
                       "Sunlight breaks through the clouds, right on cue."],
        "closers": ["We did it. We actually did it.", "Tell them who did this. Tell everyone."],
        "final_images": ["{P} raises {prop} high. The crowd roars.",
                         "{P} and {A} stand together, looking out over what they saved."],
        "resolution_times": ["DAY", "MORNING"],
    },
}
TONE_ALIASES = {"melancholy": "melancholic", "sad": "melancholic", "bittersweet": "melancholic",
                "wistful": "melancholic", "funny": "playful", "light": "playful", "comic": "playful",
                "whimsical": "playful", "grim": "dark", "bleak": "dark", "gritty": "dark", "suspenseful": "tense",
                "anxious": "tense", "gripping": "tense", "cozy": "warm", "heartwarming": "warm", "tender": "warm",
                "uplifting": "hopeful", "optimistic": "hopeful", "inspiring": "hopeful", "creepy": "eerie",
                "uncanny": "eerie", "spooky": "eerie", "epic": "triumphant", "victorious": "triumphant"}

#: Times of day per beat function (the tone decides the resolution's).
TIMES = {"setup": ["DAY", "MORNING"], "bond": ["DAY", "EVENING"], "inciting": ["DAY", "EVENING", "NIGHT"],
         "debate": ["NIGHT", "LATER"], "commit": ["DAWN", "MORNING"], "progress": ["DAY", "AFTERNOON"],
         "midpoint": ["DUSK", "NIGHT"], "pressure": ["NIGHT", "DAY"], "crisis": ["NIGHT"],
         "dark": ["NIGHT", "PRE-DAWN"], "climax": ["NIGHT", "DAWN"], "resolution": ["MORNING", "DAY"]}

#: Scene-setting lines when a genre's own are used up.
GENERIC_SIGHTS = {
    "EXT": ["Clouds move fast and low overhead.", "A gust rattles a loose sign.", "Puddles hold pieces of the sky.",
            "Somewhere out of sight, traffic hisses on a wet road.", "Gulls wheel and complain overhead.",
            "Leaves skitter across the ground and settle."],
    "INT": ["A clock ticks on the wall.", "Dust turns slowly in a shaft of light.",
            "The radiator knocks twice and goes quiet.", "A half-finished cup of tea has gone cold on the table.",
            "Coats hang by the door, more of them than there are people.", "The floorboards creak underfoot."],
}

#: Rooms of a home place ("INT. LIGHTHOUSE - KITCHEN").
ROOMS = ["KITCHEN", "BACK ROOM", "STAIRWELL", "MAIN ROOM", "OFFICE", "FRONT STEPS"]

FIRST_NAMES = ["Maya", "Theo", "Rosa", "Idris", "Lena", "Marcus", "Nadia", "Felix", "Priya", "Jonah", "Ines",
               "Tomas", "Amara", "Caleb", "Yuki", "Dev", "Sofia", "Omar", "Hazel", "Rafael", "Mira", "Elias",
               "June", "Kofi", "Nora", "Silas", "Anya", "Mateo", "Leila", "Gideon", "Esme", "Tariq", "Wren",
               "Hugo", "Zara", "Bram", "Carmen", "Otto", "Ruth", "Sami", "Vera", "Luca", "Ada", "Ezra", "Noor",
               "Pavel", "Greta", "Malik"]
SURNAMES = ["Voss", "Harlan", "Crane", "Sable", "Moreau", "Kessler", "Thorne", "Vance", "Ward", "Grady", "Locke",
            "Stroud", "Okafor", "Reyes", "Lindqvist", "Marsh"]
AGES = ["20s", "30s", "40s", "50s", "60s"]

#: Instruction words the lite rewrite understands.
REWRITE_TONE_WORDS = {
    "tense": "tense", "tension": "tense", "suspense": "tense", "suspenseful": "tense", "scary": "eerie",
    "scarier": "eerie", "creepy": "eerie", "creepier": "eerie", "eerie": "eerie", "darker": "dark",
    "dark": "dark", "grim": "dark", "funny": "playful", "funnier": "playful", "lighter": "playful",
    "comedic": "playful", "humor": "playful", "humour": "playful", "playful": "playful", "hopeful": "hopeful",
    "warmer": "warm", "warm": "warm", "sad": "melancholic", "sadder": "melancholic", "bittersweet": "melancholic",
    "melancholic": "melancholic", "triumphant": "triumphant", "epic": "triumphant", "romantic": "warm",
}
REWRITE_LENGTH_WORDS = {"shorter": "short", "short": "short", "trim": "short", "tighter": "short",
                        "tighten": "short", "cut": "short", "brief": "short", "briefer": "short",
                        "longer": "long", "expand": "long", "extend": "long", "more detail": "long",
                        "detailed": "long", "long": "long"}
REWRITE_TIME_WORDS = {"night": "NIGHT", "nighttime": "NIGHT", "day": "DAY", "daytime": "DAY",
                      "morning": "MORNING", "dawn": "DAWN", "dusk": "DUSK", "evening": "EVENING",
                      "afternoon": "AFTERNOON", "sunset": "DUSK", "sunrise": "DAWN", "midnight": "NIGHT"}
