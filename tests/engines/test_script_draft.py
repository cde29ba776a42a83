"""engines.script: the lite writer (draft, stream, rewrite, dialogue), the neural writer's machinery on a tiny
random-weight model built here (no download), the registry and the CLI."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from engines.base import EngineConfig
from engines.context import CallbackContext
from engines.errors import Cancelled, InvalidInput, ModelLoadError, ReelsmithError
from engines.script import (REGISTRY, DialogueRequest, DraftRequest, LiteWriter, RewriteRequest, Screenplay, parse,
                            subtitle_chunks)
from engines.script.lite import plan
from engines.script.types import SUBTITLE_MAX, fits_subtitle

ROOT = Path(__file__).resolve().parents[2]
LOGLINE = "A retired lighthouse keeper must stop a smuggling ring before a storm cuts the island off."
STUDIO_GENRES = ["drama", "thriller", "comedy", "documentary", "sci-fi", "horror", "romance", "adventure"]
STUDIO_TONES = ["hopeful", "tense", "melancholic", "playful", "dark", "warm", "eerie", "triumphant"]


def lite() -> LiteWriter:
    return REGISTRY.create(EngineConfig(backend="lite"))


def shape(play: Screenplay) -> list:
    """Scenes without line numbers: what 'unchanged' means."""
    return [(s.heading, s.number, [(e.kind, e.text, e.character) for e in s.elements],
             [d.as_dict() for d in s.dialogue]) for s in play.scenes]


def all_dialogue(play: Screenplay):
    return [d for s in play.scenes for d in s.dialogue]


@pytest.fixture(scope="module")
def draft5():
    return lite().draft(DraftRequest(logline=LOGLINE, genre="thriller", tone="tense", scenes=5, seed=1,
                                     characters=("Rosa", "Idris")))


# ---------------------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------------------
def test_registry_lists_lite_and_a_lazy_neural_backend():
    assert REGISTRY.names() == ["lite", "neural"]
    assert REGISTRY.info("neural").requires == ("transformers", "torch")
    assert isinstance(REGISTRY.create(), LiteWriter)
    code = ("import sys, engines.script as s; s.REGISTRY.create().draft(s.DraftRequest(logline='A cat.')); "
            "print(sorted(m for m in ('torch', 'transformers', 'engines.script.neural') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------------------------
# Lite: drafts
# ---------------------------------------------------------------------------------------------------------------
def test_five_scene_draft_parses_into_five_full_scenes(draft5):
    play = parse(draft5.fountain)
    assert len(play.scenes) == 5
    assert play.title and play.title_page["Logline"] == LOGLINE and play.title_page["Genre"] == "thriller"
    assert play.characters[:2] == ["ROSA", "IDRIS"]
    for scene in play.scenes:
        assert scene.int_ext in ("INT", "EXT") and scene.location and scene.time_of_day
        assert scene.action_text.strip()
        assert len(scene.characters) >= 2
        speakers = [d.character for d in scene.dialogue]
        exchanges = sum(1 for a, b in zip(speakers, speakers[1:]) if a != b)
        assert len(scene.dialogue) >= 4 and exchanges >= 2
    assert play.scenes[-1].elements[-1].kind == "centered"  # THE END
    assert 60 < play.total_seconds < 600
    assert draft5.backend == "lite" and draft5.model_id is None and draft5.seconds >= 0
    assert draft5.parameters["beat_sheet"] == "three-act" and draft5.parameters["genre_used"] == "thriller"
    assert [b.name for b in draft5.outline] == [name for name, _ in plan(5)[1]]
    assert all("Rosa" in b.description or "Idris" in b.description for b in draft5.outline)


def test_draft_is_deterministic_per_seed_and_varies_across_seeds(draft5):
    again = lite().draft(DraftRequest(logline=LOGLINE, genre="thriller", tone="tense", scenes=5, seed=1,
                                      characters=("Rosa", "Idris")))
    assert again.fountain == draft5.fountain
    texts = {lite().draft(DraftRequest(logline=LOGLINE, genre="thriller", tone="tense", scenes=5, seed=s)).fountain
             for s in range(4)}
    assert len(texts) == 4


def test_logline_words_are_woven_in(draft5):
    text = draft5.fountain.lower()
    assert "smuggling ring" in text and "lighthouse" in text
    play = parse(draft5.fountain)
    assert any("LIGHTHOUSE" in s.location for s in play.scenes)  # the logline's place is the home base
    assert "retired lighthouse keeper" in play.scenes[0].action_text.lower()  # the protagonist's description
    assert "storm" in " ".join(b.description for b in draft5.outline)  # the stakes


def test_generated_cast_and_name_from_logline():
    result = lite().draft(DraftRequest(logline="When Maya's brother vanishes in Lisbon, she must find him.",
                                       scenes=3, seed=2))
    play = parse(result.fountain)
    assert play.characters[0] == "MAYA" and len(play.characters) == 3
    assert any("LISBON" in s.location for s in play.scenes)


def test_every_dialogue_line_is_subtitle_ready(draft5):
    long_goal = ("A clockmaker must find out what really happened to the seven missing children of the valley of "
                 "the whispering pines and the old abandoned observatory before the council votes to flood it.")
    for result in (draft5, lite().draft(DraftRequest(logline=long_goal, scenes=8, seed=3))):
        lines = all_dialogue(parse(result.fountain))
        assert lines and all(len(d.text) <= SUBTITLE_MAX and fits_subtitle(d.text) for d in lines)


@pytest.mark.parametrize("scenes", [1, 2, 3, 7, 8, 15, 16, 40])
def test_scene_counts_follow_the_beat_sheets(scenes):
    result = lite().draft(DraftRequest(logline=LOGLINE, scenes=scenes, seed=scenes))
    play = parse(result.fountain)
    assert len(play.scenes) == scenes and len(result.outline) == scenes
    assert result.parameters["beat_sheet"] == ("three-act" if scenes <= 7 else "save-the-cat")
    assert all(len(s.dialogue) >= 4 for s in play.scenes)
    if scenes >= 8:
        assert result.outline[0].name in ("Opening Image", "Set-Up") and result.outline[-1].name in (
            "Final Image", "Finale")


@pytest.mark.parametrize("genre, tone", list(zip(STUDIO_GENRES, STUDIO_TONES)))
def test_every_studio_genre_and_tone(genre, tone):
    result = lite().draft(DraftRequest(logline="Two rival bakers share a kitchen during the winter festival.",
                                       genre=genre, tone=tone, scenes=4, seed=7))
    play = parse(result.fountain)
    assert len(play.scenes) == 4
    assert result.parameters["genre_used"] == genre and result.parameters["tone_used"] == tone
    assert "{" not in result.fountain and "}" not in result.fountain  # every slot filled
    assert all(fits_subtitle(d.text) for d in all_dialogue(play))


def test_unknown_genre_and_tone_fall_back():
    result = lite().draft(DraftRequest(logline="A dog learns to surf.", genre="Science Fiction", tone="creepy"))
    assert result.parameters["genre_used"] == "sci-fi" and result.parameters["tone_used"] == "eerie"
    other = lite().draft(DraftRequest(logline="A dog learns to surf.", genre="opera-bouffe", tone="zzz"))
    assert other.parameters["genre_used"] == "drama" and other.parameters["tone_used"] == "hopeful"


def test_user_text_cannot_break_the_fountain():
    result = lite().draft(DraftRequest(logline="A spy [[hides]] a /* secret */ in the vault.", scenes=2,
                                       characters=("(Ann)", "Bob^", "@Cy"), title="Notes: [[x]]"))
    play = parse(result.fountain)
    assert len(play.scenes) == 2 and play.characters[:3] == ["ANN", "BOB", "CY"]
    assert "[[" not in result.fountain and "/*" not in result.fountain


def test_stream_draft_grows_and_ends_with_the_draft(draft5):
    request = DraftRequest(logline=LOGLINE, genre="thriller", tone="tense", scenes=5, seed=1,
                           characters=("Rosa", "Idris"))
    reports = []
    parts = list(lite().stream_draft(request, CallbackContext(lambda f, m: reports.append((f, m)))))
    assert len(parts) > 10
    assert all(b.startswith(a) and len(b) > len(a) for a, b in zip(parts, parts[1:]))
    assert parts[-1] == draft5.fountain
    assert parts[0].startswith("Title:")
    assert reports[-1][0] == 1.0 and [f for f, _ in reports] == sorted(f for f, _ in reports)


def test_cancellation():
    ctx = CallbackContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        lite().draft(DraftRequest(logline=LOGLINE), ctx)
    # cancelled while streaming: stops at the next scene
    ctx = CallbackContext()
    stream = lite().stream_draft(DraftRequest(logline=LOGLINE, scenes=10), ctx)
    seen = [next(stream), next(stream)]
    ctx.cancel()
    with pytest.raises(Cancelled):
        for part in stream:
            seen.append(part)
    assert len(parse(seen[-1]).scenes) <= 1
    with pytest.raises(Cancelled):
        lite().dialogue(DialogueRequest(situation="An argument.", lines=4), ctx)


@pytest.mark.parametrize("request_, message", [
    (DraftRequest(logline=""), "logline is empty"),
    (DraftRequest(logline="   \n "), "logline is empty"),
    (DraftRequest(logline="x" * 2001), "under 2000"),
    (DraftRequest(logline="A cat.", scenes=0), "from 1 to 40"),
    (DraftRequest(logline="A cat.", scenes=41), "from 1 to 40"),
    (DraftRequest(logline="A cat.", scenes=True), "whole number"),
    (DraftRequest(logline="A cat.", characters=("",)), "cannot be empty"),
    (DraftRequest(logline="A cat.", characters="MAYA"), "list of names"),
    (RewriteRequest(fountain="", scene_index=0), "script is empty"),
    (RewriteRequest(fountain="INT. A - DAY\n\nHi.", scene_index=3), "no scene 3"),
    (RewriteRequest(fountain="Just prose, no headings. Nothing else.", scene_index=0), "give it a heading"),
    (DialogueRequest(situation=""), "Describe the situation"),
    (DialogueRequest(situation="A fight.", lines=0), "from 1 to 200"),
])
def test_invalid_requests(request_, message):
    with pytest.raises(InvalidInput, match=message):
        lite().run(request_)


def test_run_dispatches_and_rejects_other_requests(draft5):
    assert lite().run(DraftRequest(logline=LOGLINE, genre="thriller", tone="tense", scenes=5, seed=1,
                                   characters=("Rosa", "Idris"))).fountain == draft5.fountain
    with pytest.raises(InvalidInput, match="DraftRequest"):
        lite().run("write me a film")


# ---------------------------------------------------------------------------------------------------------------
# Lite: rewrites and dialogue
# ---------------------------------------------------------------------------------------------------------------
def test_rewrite_changes_only_the_chosen_scene(draft5):
    before = parse(draft5.fountain)
    result = lite().rewrite(RewriteRequest(fountain=draft5.fountain, scene_index=2, instruction="more tense",
                                           seed=5))
    after = parse(result.fountain)
    assert len(after.scenes) == 5
    old, new = shape(before), shape(after)
    assert new[:2] == old[:2] and new[3:] == old[3:]
    assert new[2] != old[2]
    assert after.scenes[2].location == before.scenes[2].location  # the heading's place is kept
    assert after.scenes[2].int_ext == before.scenes[2].int_ext
    assert result.parameters["tone"] == "tense" and result.parameters["mode"] == "rewritten"
    assert parse(result.scene_text).scenes[0].heading == after.scenes[2].heading
    assert after.title_page == before.title_page
    assert all(fits_subtitle(d.text) for d in after.scenes[2].dialogue)
    # the rewritten scene's people are the script's, not new ones
    assert set(after.scenes[2].characters) <= set(before.characters)


def test_rewrite_instructions_time_length_and_reseed(draft5):
    before = parse(draft5.fountain)
    night = parse(lite().rewrite(RewriteRequest(draft5.fountain, 0, "set it at night")).fountain)
    assert night.scenes[0].time_of_day == "NIGHT" and night.scenes[0].location == before.scenes[0].location
    assert shape(night)[1:] == shape(before)[1:]
    short = parse(lite().rewrite(RewriteRequest(draft5.fountain, 1, "shorter")).fountain)
    assert short.scenes[1].est_seconds < before.scenes[1].est_seconds
    assert len(short.scenes[1].dialogue) >= 2
    longer = parse(lite().rewrite(RewriteRequest(draft5.fountain, 1, "longer")).fountain)
    assert longer.scenes[1].est_seconds > before.scenes[1].est_seconds
    plain = lite().rewrite(RewriteRequest(draft5.fountain, 3, ""))
    assert shape(parse(plain.fountain))[3] != shape(before)[3]
    assert plain.parameters["ignored"] == []
    odd = lite().rewrite(RewriteRequest(draft5.fountain, 3, "add a giraffe"))
    assert "giraffe" in odd.parameters["ignored"]


def test_rewrite_works_on_a_hand_written_script():
    text = ("INT. KITCHEN - DAY\n\nAnn cooks.\n\nANN\nHungry?\n\nBEN\nAlways.\n\n"
            "EXT. GARDEN - NIGHT #7#\n\nWind.\n\nBEN\nCold out.\n\nANN\nCome in, then.")
    result = lite().rewrite(RewriteRequest(text, 1, "funnier", seed=2))
    after = parse(result.fountain)
    assert after.scenes[1].heading.startswith("EXT. GARDEN") and after.scenes[1].number == "7"
    assert shape(after)[0] == shape(parse(text))[0]
    assert set(after.scenes[1].characters) & {"ANN", "BEN"}


def test_dialogue_lines_are_subtitle_ready_and_count_exact():
    result = lite().dialogue(DialogueRequest(situation="Maya asks her boss for the promotion she was promised.",
                                             characters=("MAYA", "GRANT"), lines=9, seed=4))
    assert len(result.lines) == 9
    assert {d.character for d in result.lines} == {"MAYA", "GRANT"}
    assert all(len(d.text) <= SUBTITLE_MAX and fits_subtitle(d.text) for d in result.lines)
    assert [d.text for d in all_dialogue(parse(result.fountain))] == [d.text for d in result.lines]
    assert result.fountain.startswith("MAYA\n")
    again = lite().dialogue(DialogueRequest(situation="Maya asks her boss for the promotion she was promised.",
                                            characters=("MAYA", "GRANT"), lines=9, seed=4))
    assert again.lines == result.lines
    made_up = lite().dialogue(DialogueRequest(situation="Two strangers share an umbrella.", lines=3))
    assert len(made_up.lines) == 3 and len({d.character for d in made_up.lines}) == 2
    three = lite().dialogue(DialogueRequest(situation="A family dinner.", characters=("A", "B", "C"), lines=12))
    assert {d.character for d in three.lines} == {"A", "B", "C"}


def test_subtitle_chunks():
    text = ("I told you once, and I will tell you again, that nobody in this town is going to help us "
            "unless we give them a reason. So give them one! Now.")
    chunks = subtitle_chunks(text)
    assert len(chunks) >= 2 and all(fits_subtitle(c) for c in chunks)
    assert " ".join(chunks) == text
    assert subtitle_chunks("Short line.") == ["Short line."]
    assert all(fits_subtitle(c) for c in subtitle_chunks("x" * 200))


# ---------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------
def test_cli_draft_and_errors(tmp_path):
    out = subprocess.run([sys.executable, "-m", "engines.script", "draft", "--logline", LOGLINE, "--scenes", "3",
                          "--seed", "1", "--out", str(tmp_path / "d.fountain")], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(parse(out.stdout).scenes) == 3
    assert (tmp_path / "d.fountain").read_text(encoding="utf-8") == out.stdout
    bad = subprocess.run([sys.executable, "-m", "engines.script", "draft", "--logline", " ", "--scenes", "3"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: The logline is empty")
    assert bad.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------------------------------
# Neural: the machinery, on a tiny random-weight model built here
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A byte-level BPE tokenizer (vocab ~400) with a chat template, and a 2-layer Llama with random weights."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-writer")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    sentences = ["The keeper climbs the stairs of the lighthouse.", "Rain hammers the kitchen window.",
                 "She opens the door and waits.", "Nobody speaks for a long time."]
    tok.train_from_iterator(sentences * 5, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   bos_token="<|endoftext|>")
    fast.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
                          "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
    fast.save_pretrained(path)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                         eos_token_id=fast.eos_token_id, bos_token_id=fast.bos_token_id,
                         pad_token_id=fast.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def neural(path: Path, **options):
    return REGISTRY.create(EngineConfig(backend="neural", model_id=str(path), device="cpu",
                                        options={"max_new_tokens": 48, **options}))


def test_neural_loads_once_streams_and_rejects_garbage(tiny_model):
    from engines.models import model_cache

    loads = model_cache().loads
    writer = neural(tiny_model)
    parts: list[str] = []
    reports: list[float] = []
    with pytest.raises(ReelsmithError, match="not a screenplay"):
        for part in writer.stream_draft(DraftRequest(logline=LOGLINE, scenes=2, seed=1),
                                        CallbackContext(lambda f, m: reports.append(f))):
            parts.append(part)
    assert len(parts) >= 3 and len(parts[-1]) > len(parts[0])  # streamed as it grew
    assert all(p.startswith("Title: Untitled\n") for p in parts)
    assert reports and max(reports) > 0.3  # progress by tokens written
    with pytest.raises(ReelsmithError, match="not a screenplay"):
        neural(tiny_model, heading_prefix="").draft(DraftRequest(logline=LOGLINE, scenes=2, seed=2))
    with pytest.raises(ReelsmithError, match="not dialogue"):
        writer.dialogue(DialogueRequest(situation="An argument about the lighthouse.", lines=3))
    with pytest.raises(ReelsmithError, match="not a screenplay scene"):
        writer.rewrite(RewriteRequest("INT. A - DAY\n\nRain.\n\nANN\nHi.", 0, "darker"))
    assert model_cache().loads == loads + 1  # four runs, two engines, one load


def test_neural_cancel_stops_generation_early(tiny_model):
    seen: list[float] = []

    def on_report(fraction: float, message: str) -> None:
        seen.append(fraction)
        if fraction > 0:  # the first token is out: the user presses Cancel
            ctx.cancel()

    ctx = CallbackContext(on_report)
    with pytest.raises(Cancelled):
        for _ in neural(tiny_model, max_new_tokens=400).stream_draft(DraftRequest(logline=LOGLINE), ctx):
            pass
    assert seen and max(seen) < 0.5  # stopped long before 400 tokens


def test_neural_success_path_with_a_scripted_model(tiny_model, monkeypatch):
    """The cleaning, checking, outline, rewrite and dialogue paths, with the generator replaced by a reply
    in the style small chat models write (markdown, "NAME: line", chatter)."""
    from engines.script.neural import TransformersWriter, clean_output, is_screenplay

    reply = ("INT. LIGHTHOUSE - NIGHT\n\n**ROSA** climbs the stairs. Rain hammers the glass.\n"
             "ROSA: Who's there?\nIDRIS (O.S.): Only me. The boat is here, and it is early this time.\n\n"
             "Scene 2: **EXT. ISLAND DOCK - NIGHT**\nThe smuggling ring unloads crates in the storm.\n\n"
             "IDRIS\nWe have to go now, before the storm cuts us off, or we will never leave this island.\n"
             "<|im_end|>")

    def fake_generate(self, system, user, prefix, max_new_tokens, seed, ctx):
        text = prefix if reply.startswith(prefix) else prefix + reply
        body = reply[len(prefix):] if reply.startswith(prefix) else reply
        for i in range(0, len(body), 40):
            yield text + body[:i + 40]

    monkeypatch.setattr(TransformersWriter, "generate", fake_generate)
    writer = neural(tiny_model)
    result = writer.draft(DraftRequest(logline=LOGLINE, scenes=2, title="Storm"))
    play = parse(result.fountain)
    assert [s.heading for s in play.scenes] == ["INT. LIGHTHOUSE - NIGHT", "EXT. ISLAND DOCK - NIGHT"]
    assert play.title == "Storm" and play.characters == ["ROSA", "IDRIS"]
    assert result.backend == "neural" and result.model_id == str(tiny_model) and len(result.outline) == 2
    assert "<|" not in result.fountain and "**" not in result.fountain
    assert is_screenplay(play)
    assert clean_output("Sure! Here is a poem about the sea.") == ""

    script = "INT. A - DAY\n\nRain.\n\nANN\nHi.\n\nINT. B - DAY\n\nSun."
    rewritten = writer.rewrite(RewriteRequest(script, 1, "darker"))
    after = parse(rewritten.fountain)
    assert [s.heading for s in after.scenes] == ["INT. A - DAY", "INT. B - DAY"]  # heading kept, one scene
    assert shape(after)[0] == shape(parse(script))[0]
    assert "ROSA" in after.scenes[1].characters

    said = writer.dialogue(DialogueRequest(situation="Leaving the island.", characters=("ROSA", "IDRIS"),
                                           lines=4))
    assert 1 <= len(said.lines) <= 4 and all(fits_subtitle(d.text) for d in said.lines)


def test_neural_hub_id_offline_asks_for_a_local_path(monkeypatch, tmp_path):
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    writer = REGISTRY.create(EngineConfig(backend="neural", model_id="reelsmith-tests/no-such-model-xyz",
                                          device="cpu"))
    with pytest.raises(ModelLoadError, match="local path") as info:
        writer.draft(DraftRequest(logline=LOGLINE))
    assert "HF_HUB_OFFLINE" in str(info.value) and "reelsmith-tests/no-such-model-xyz" in str(info.value)
    with pytest.raises(ModelLoadError, match="does not exist"):
        neural(tmp_path / "missing-folder").load()
    assert re.search(r"SmolLM2", REGISTRY.info("neural").description)
