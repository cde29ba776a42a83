"""The ``neural`` script writer: a causal language model through transformers, streaming Fountain as it writes.

    writer = REGISTRY.create(EngineConfig(backend="neural", model_id="HuggingFaceTB/SmolLM2-360M-Instruct"))
    for text in writer.stream_draft(DraftRequest(logline="..."), ctx):
        show(text)

* The model (``config.model_id``: a hub id or a local folder; ``DEFAULT_MODEL_ID`` when none is set) is loaded on
  first use through the process-wide model cache (key ``("script", "neural", model_id, device)``): float16 on
  CUDA, float32 on the CPU. With ``HF_HUB_OFFLINE=1`` only local files are used (``local_files_only``); a hub id
  that is not on disk raises ``ModelLoadError`` asking for a local path.
* The prompt uses the tokenizer's chat template when it has one (a system prompt asking for Fountain, then the
  request), else a plain prompt. The assistant's reply is started with a prefix (``options["heading_prefix"]``,
  default ``"INT. "`` for drafts; the scene's own heading for rewrites) so that even small models start with a
  scene heading instead of chatter.
* Generation runs in a thread feeding a ``TextIteratorStreamer``; a stopping criterion ends it as soon as
  ``ctx.cancelled()`` and counts tokens for ``ctx.report`` (tokens written / max new tokens).
* The output is cleaned (chat markers, code fences, markdown around headings and cues, "NAME: line" turned into
  Fountain dialogue, chatter before the first heading dropped) and checked: when no scene with a heading and
  some action or dialogue is left, ``ReelsmithError`` says the model's output was not a screenplay. There is no
  silent fallback to the lite writer.

Options (``EngineConfig.options``): ``max_new_tokens``, ``temperature`` (0.8; 0 means greedy), ``top_p`` (0.95),
``repetition_penalty`` (1.1), ``heading_prefix``, ``local_files_only``, ``revision``.
"""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from ..context import Context
from ..errors import Cancelled, InvalidInput, ModelLoadError, ReelsmithError
from ..models import model_cache
from .base import ScriptEngine
from .fountain import (DialogueLine, Screenplay, clean_text, parse, replace_scene, scene_to_fountain)
from .lite import dialogue_fountain
from .types import (DEFAULT_MODEL_ID, Beat, DialogueRequest, DialogueResult, DraftRequest, DraftResult,
                    RewriteRequest, RewriteResult, check_dialogue, check_draft, check_rewrite, subtitle_chunks)

__all__ = ["TransformersWriter", "DEFAULT_MODEL_ID", "clean_output", "is_screenplay"]

SYSTEM_DRAFT = (
    "You are a professional screenwriter. Write screenplays in Fountain format only: each scene starts with a "
    "scene heading in capitals such as 'INT. KITCHEN - NIGHT' or 'EXT. HARBOR - DAY' on its own line, followed by "
    "a blank line and action in the present tense. Dialogue is the character's name in capitals on its own line "
    "with their words on the next line. Separate paragraphs with blank lines. Do not use markdown, do not number "
    "the scenes, do not explain: write only the screenplay.")
SYSTEM_REWRITE = (
    "You are a professional screenwriter. Rewrite the scene you are given in Fountain format, following the "
    "instruction. Keep the scene heading's location. Write only the one scene: no markdown, no explanations.")
SYSTEM_DIALOGUE = (
    "You are a professional screenwriter. Write short, natural lines of dialogue. Write one line per speech in "
    "the form NAME: words. Keep every speech under 80 characters. No narration, no explanations.")

_SPECIAL = re.compile(r"<\|[^|>]{0,40}\|>|</?s>|\[/?INST\]|<(?:start|end)_of_turn>|<\|?eot_id\|?>")
_ROLE_LINE = re.compile(r"^\s*(?:assistant|model|<assistant>|assistant:|### response:?)\s*$", re.I)
_FENCE = re.compile(r"^\s*```")
_HEADING_LINE = re.compile(r"^(?:int\.?\s*/\s*ext|ext\.?\s*/\s*int|i\s*/\s*e|int|ext|est)[.\s]", re.I)
_DECORATED_HEADING = re.compile(
    r"^\s*(?:#+\s*|\*+|_+|scene\s*\d+\s*[:.\-]\s*|\d+\s*[.)]\s*)+(?P<h>(?:int|ext|est|i/e)[^*_]*?)[*_\s]*$", re.I)
_NAME_LINE = re.compile(r"^\s*\**(?P<name>[A-Z][A-Z0-9 .'\-]{0,30}?)\**\s*(?:\((?P<ext>[^)]*)\))?\s*:\**\s*"
                        r"(?P<text>\S.*)$")
_CHAT_NAME_LINE = re.compile(r"^\s*\**(?P<name>[A-Za-z][A-Za-z0-9 .'\-]{0,30}?)\**\s*:\**\s*(?P<text>\S.*)$")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _looks_like_path(model_id: str) -> bool:
    return (model_id.startswith(("/", "./", "../", "~", ".\\")) or model_id.count("/") > 1
            or "\\" in model_id or Path(model_id).expanduser().exists())


class _Loaded:
    """Tokenizer and model of one (model id, device), with a lock so one generation runs at a time on it."""

    def __init__(self, tokenizer, model, device: str, model_id: str) -> None:
        self.tokenizer, self.model, self.device, self.model_id = tokenizer, model, device, model_id
        self.lock = threading.Lock()

    def unload(self) -> None:
        self.model = None
        self.tokenizer = None


def _load(model_id: str, device: str, options: dict[str, Any]) -> _Loaded:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..device import torch_dtype

    # 1. Where from: a local folder, or a hub id (only from the local cache when offline).
    is_path = _looks_like_path(model_id)
    source = str(Path(model_id).expanduser()) if is_path else model_id
    if is_path and not Path(source).is_dir():
        raise ModelLoadError(f"The script model folder '{model_id}' does not exist. Give the local path of a "
                             "downloaded model folder (with config.json and the tokenizer files) in Settings.")
    offline = _offline() or bool(options.get("local_files_only"))
    kwargs: dict[str, Any] = {"local_files_only": offline or is_path}
    if options.get("revision"):
        kwargs["revision"] = str(options["revision"])
    # 2. Load.
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype(device), **kwargs)
    except Exception as exc:  # OSError, HTTP and hub errors, ValueError for unknown architectures, ...
        if is_path:
            why = f"the folder could not be read as a causal language model ({exc})"
        elif offline:
            why = ("it is not in the local Hugging Face cache and offline mode is on (HF_HUB_OFFLINE=1), so it "
                   "cannot be downloaded")
        else:
            why = f"it could not be downloaded or read ({type(exc).__name__}: {exc})"
        raise ModelLoadError(
            f"Could not load the script model '{model_id}': {why}. Give a local path to a downloaded model folder "
            "(with config.json and the tokenizer files) as the model in Settings, or download the model once "
            "with network access.") from exc
    # 3. Ready for generation.
    model.to(device)
    model.eval()
    if tokenizer.pad_token_id is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return _Loaded(tokenizer, model, device, model_id)


# ---------------------------------------------------------------------------------------------------------------
# Cleaning model output
# ---------------------------------------------------------------------------------------------------------------
def clean_output(text: str) -> str:
    """Model output made into plain Fountain: chat markers, code fences and markdown removed, headings and cues
    on their own paragraphs, "NAME: words" lines turned into dialogue, chatter before the first heading dropped.
    Returns "" when nothing is left."""
    text = _SPECIAL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    lines: list[str] = []
    for line in text.split("\n"):
        if _FENCE.match(line) or _ROLE_LINE.match(line):
            continue
        deco = _DECORATED_HEADING.match(line)
        if deco:
            line = deco.group("h").strip()
        if _HEADING_LINE.match(line.strip()):
            lines += ["", line.strip(), ""]
            continue
        named = _NAME_LINE.match(line)
        if named and not _HEADING_LINE.match(named.group("name")) and not line.strip().endswith("TO:"):
            name = named.group("name").strip()
            cue = name + (f" ({named.group('ext').strip()})" if named.group("ext") else "")
            lines += ["", cue, named.group("text").strip().strip("*").strip(), ""]
            continue
        line = re.sub(r"\*\*(.+?)\*\*", r"\1", line.rstrip())
        if lines and lines[-1].strip() and _is_cue_like(line) and not _is_cue_like(lines[-1]):
            lines.append("")  # a cue needs a blank line before it
        lines.append(line)
    # Drop what comes before the first heading (chatter like "Sure! Here is your screenplay:").
    first = next((i for i, line in enumerate(lines) if _HEADING_LINE.match(line.strip())), None)
    if first is None:
        return ""
    lines = lines[first:]
    out = "\n".join(lines)
    out = re.sub(r"\n{3,}", "\n\n", out).strip()
    return out + "\n" if out else ""


def _is_cue_like(line: str) -> bool:
    s = line.strip()
    name = s.split("(", 1)[0].strip()
    return (0 < len(name) <= 30 and name == name.upper() and any(c.isalpha() for c in name)
            and not s.endswith(":") and not _HEADING_LINE.match(s) and not s.startswith(("!", ">", "=", "#", "~")))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PROSE_CHARS = re.compile(r"[\w\s.,!?;:'\"()\-\u2014\u2013\u2019\u2018\u201c\u201d\u2026&/#%$*]")


def wordy(text: str, words: int = 2) -> bool:
    """Reads as words: no control or replacement characters, at least 90% ordinary prose characters and
    ``words`` words of two letters or more (what random or broken weights fail)."""
    if not text.strip() or "\ufffd" in text or _CONTROL.search(text):
        return False
    visible = [c for c in text if not c.isspace()]
    odd = sum(1 for c in visible if not _PROSE_CHARS.match(c))
    return odd <= 0.1 * len(visible) and len(re.findall(r"[^\W\d_]{2,}", text)) >= words


def is_screenplay(play: Screenplay) -> bool:
    """At least one scene with an INT/EXT heading naming a place (in words, at most 60 characters) and some
    action or dialogue that reads as words."""
    for scene in play.scenes:
        if not scene.int_ext or len(scene.location) > 60 or not wordy(scene.location, 1):
            continue
        if any(el.kind in ("action", "dialogue") and wordy(el.text) for el in scene.elements):
            return True
    return False


def _not_a_screenplay(model_id: str, what: str = "a screenplay") -> ReelsmithError:
    return ReelsmithError(
        f"The model's output was not {what}: no scene with a heading like 'INT. KITCHEN - NIGHT' followed by "
        f"action or dialogue. The model '{model_id}' may be too small or not instruction-tuned; try another seed, "
        "a larger chat model, or the lite backend.")


def _speeches(text: str) -> list[tuple[str, str]]:
    """(speaker, words) from "NAME: words" lines or Fountain dialogue blocks."""
    text = _SPECIAL.sub("", text)
    found: list[tuple[str, str]] = []
    for line in text.split("\n"):
        m = _CHAT_NAME_LINE.match(line)
        if m and len(m.group("name").split()) <= 3:
            words = m.group("text").strip().strip("*").strip().strip('"').strip()
            if wordy(words, 1):
                found.append((m.group("name").strip().upper(), words))
    if found:
        return found
    play = parse(text)
    return [(d.character.upper(), d.text) for s in play.scenes for d in s.dialogue if wordy(d.text, 1)]


# ---------------------------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------------------------
class TransformersWriter(ScriptEngine):
    """Drafts, rewrites and dialogue from a causal LM (see the module notes)."""

    name = "neural"
    heavy = True

    @property
    def model_id(self) -> str:
        return self.config.model_id or DEFAULT_MODEL_ID

    def _option(self, key: str, default: Any) -> Any:
        return self.config.options.get(key, default)

    # -- loading -------------------------------------------------------------------------------------------------
    def _bundle(self) -> _Loaded:
        from ..device import torch_device

        device = torch_device(self.config.device)
        key = ("script", "neural", self.model_id, device)
        return model_cache().get(key, lambda: _load(self.model_id, device, dict(self.config.options)))

    def load(self) -> None:
        self._bundle()

    def unload(self) -> None:
        from ..device import torch_device

        model_cache().unload(("script", "neural", self.model_id, torch_device(self.config.device)))

    # -- prompting and generation --------------------------------------------------------------------------------
    def prompt(self, tokenizer, system: str, user: str, prefix: str = "") -> tuple[str, bool]:
        """(prompt text, whether it came from the chat template); the reply starts with ``prefix``."""
        if getattr(tokenizer, "chat_template", None):
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            try:
                text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            except Exception:  # templates without a system role
                merged = [{"role": "user", "content": f"{system}\n\n{user}"}]
                text = tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
            return text + prefix, True
        return f"{system}\n\n{user}\n\nScreenplay:\n\n{prefix}", False

    def generate(self, system: str, user: str, prefix: str, max_new_tokens: int, seed: int,
                 ctx: Context) -> Iterator[str]:
        """The reply's text as it grows (``prefix`` first). Raises ``Cancelled`` when ``ctx`` is cancelled."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        ctx.report(0.0, f"Loading {self.model_id}")
        bundle = self._bundle()
        tokenizer, model = bundle.tokenizer, bundle.model
        if model is None:
            raise ModelLoadError(f"The model '{self.model_id}' was unloaded; run again to reload it.")
        text, templated = self.prompt(tokenizer, system, user, prefix)
        encoded = tokenizer(text, return_tensors="pt", add_special_tokens=not templated)
        inputs = {k: encoded[k].to(bundle.device) for k in ("input_ids", "attention_mask") if k in encoded}
        n_prompt = int(inputs["input_ids"].shape[1])
        limit = getattr(model.config, "max_position_embeddings", None) or 0
        if limit and n_prompt + max_new_tokens > limit:
            max_new_tokens = limit - n_prompt
            if max_new_tokens < 16:
                raise InvalidInput(f"The text is too long for the model ({n_prompt} tokens of {limit}); "
                                   "rewrite a shorter scene or use a model with a longer context.")

        stop_event = threading.Event()

        class Watch(StoppingCriteria):
            """Stops when the job is cancelled (or the reader went away); counts generated tokens."""

            def __init__(self) -> None:
                self.count = 0

            def __call__(self, input_ids, scores, **kwargs):
                self.count += 1
                flag = stop_event.is_set() or ctx.cancelled()
                return torch.full((input_ids.shape[0],), flag, dtype=torch.bool, device=input_ids.device)

        watch = Watch()
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        temperature = float(self._option("temperature", 0.8))
        gen_kwargs: dict[str, Any] = dict(
            **inputs, max_new_tokens=max_new_tokens, streamer=streamer,
            stopping_criteria=StoppingCriteriaList([watch]), pad_token_id=tokenizer.pad_token_id,
            repetition_penalty=float(self._option("repetition_penalty", 1.1)), do_sample=temperature > 0)
        if temperature > 0:
            gen_kwargs.update(temperature=temperature, top_p=float(self._option("top_p", 0.95)))
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with bundle.lock, torch.inference_mode():
                    torch.manual_seed(seed)  # process-wide RNG; generations on one model are serialised
                    model.generate(**gen_kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=work, name="script-neural-generate", daemon=True)
        thread.start()
        reply = prefix
        try:
            if prefix:
                yield reply
            for piece in streamer:
                if piece:
                    reply += piece
                    yield reply
                ctx.report(min(1.0, watch.count / max(1, max_new_tokens)),
                           f"Writing: {watch.count} of up to {max_new_tokens} tokens")
        finally:
            stop_event.set()  # the reader stopped early: let generation end at the next token
            thread.join()
        if errors:
            raise ReelsmithError(f"The model failed while writing: {type(errors[0]).__name__}: {errors[0]}")
        if ctx.cancelled():
            raise Cancelled()

    # -- draft ---------------------------------------------------------------------------------------------------
    def _draft_prompt(self, request: DraftRequest) -> str:
        parts = [f"Write a short screenplay of exactly {request.scenes} scene(s).",
                 f"Logline: {clean_text(request.logline)}", f"Genre: {request.genre}. Tone: {request.tone}."]
        if request.characters:
            parts.append("Characters: " + ", ".join(clean_text(c) for c in request.characters) + ".")
        if request.title:
            parts.append(f"Title: {clean_text(request.title)}")
        parts.append("Each scene needs a scene heading, action, and at least two exchanges of dialogue.")
        return "\n".join(parts)

    def _title_page(self, request: DraftRequest) -> str:
        title = clean_text(request.title) or "Untitled"
        return "\n".join([f"Title: {title}", "Credit: Written by", f"Author: {clean_text(self.model_id)}",
                          f"Logline: {clean_text(request.logline)}", f"Genre: {clean_text(request.genre)}",
                          f"Tone: {clean_text(request.tone)}"]) + "\n\n"

    def _max_new(self, request_value: int, default: int) -> int:
        return int(request_value or self._option("max_new_tokens", 0) or default)

    def stream_draft(self, request: DraftRequest, ctx: Context | None = None) -> Iterator[str]:
        """The draft as it grows (title page, then the cleaned reply); the last value has passed the check."""
        ctx = self._ctx(ctx)
        # 1. Check inputs.
        check_draft(request)
        page = self._title_page(request)
        prefix = str(self._option("heading_prefix", "INT. "))
        max_new = self._max_new(request.max_new_tokens, 250 * request.scenes + 150)
        # 2. Generate, streaming the cleaned text.
        reply = prefix
        last = None
        for reply in self.generate(SYSTEM_DRAFT, self._draft_prompt(request), prefix, max_new, request.seed, ctx):
            cleaned = clean_output(reply)
            partial = page + (cleaned or reply.lstrip())
            if partial != last:
                last = partial
                yield partial
        # 3. Check: a screenplay, or a clear error.
        body = clean_output(reply)
        text = page + body
        if not body or not is_screenplay(parse(text)):
            raise _not_a_screenplay(self.model_id)
        ctx.report(1.0, "Drafted")
        if text != last:
            yield text

    def draft(self, request: DraftRequest, ctx: Context | None = None) -> DraftResult:
        t0 = time.perf_counter()
        text = ""
        for text in self.stream_draft(request, ctx):
            pass
        play = parse(text)
        outline = []
        for scene in play.scenes:
            first = next((e.text for e in scene.elements if e.kind == "action"), "")
            sentence = re.split(r"(?<=[.!?])\s+", " ".join(first.split()), maxsplit=1)[0]
            outline.append(Beat(f"Scene {scene.index + 1}", f"{scene.heading}: {sentence}".rstrip(": ")))
        return DraftResult(outline=outline, fountain=text, backend=self.name, model_id=self.model_id,
                           seconds=time.perf_counter() - t0,
                           parameters={**request.as_dict(), "scenes_written": len(play.scenes),
                                       "temperature": float(self._option("temperature", 0.8))})

    # -- rewrite -------------------------------------------------------------------------------------------------
    def rewrite(self, request: RewriteRequest, ctx: Context | None = None) -> RewriteResult:
        ctx = self._ctx(ctx)
        t0 = time.perf_counter()
        # 1. Check inputs.
        play = check_rewrite(request)
        scene = play.scenes[request.scene_index]  # check_rewrite made sure it has a heading
        # 2. Generate, starting from the scene's own heading.
        heading_line = scene_to_fountain(scene).split("\n", 1)[0]
        prefix = heading_line + "\n\n"
        instruction = clean_text(request.instruction) or "Make it better: sharper dialogue, vivid, economical action."
        user = f"Instruction: {instruction}\n\nThe scene:\n\n{scene_to_fountain(scene)}"
        max_new = self._max_new(request.max_new_tokens, 700)
        reply = prefix
        for reply in self.generate(SYSTEM_REWRITE, user, prefix, max_new, request.seed, ctx):
            pass
        # 3. Keep the first scene of the reply, and check it.
        body = clean_output(reply)
        new = parse(body)
        if not body or not is_screenplay(new):
            raise _not_a_screenplay(self.model_id, "a screenplay scene")
        # The first scene with content, under the original heading (models sometimes repeat or change it).
        first = next(s for s in new.scenes if s.heading and any(
            el.kind in ("action", "dialogue") and wordy(el.text) for el in s.elements))
        paragraphs = scene_to_fountain(first).split("\n\n", 1)
        scene_text = heading_line + "\n\n" + (paragraphs[1] if len(paragraphs) > 1 else "")
        fountain = replace_scene(request.fountain, scene.index, scene_text)
        ctx.report(1.0, "Rewritten")
        return RewriteResult(fountain=fountain, scene_text=scene_text, backend=self.name, model_id=self.model_id,
                             seconds=time.perf_counter() - t0,
                             parameters={"scene_index": scene.index, "instruction": request.instruction,
                                         "seed": request.seed})

    # -- dialogue ------------------------------------------------------------------------------------------------
    def dialogue(self, request: DialogueRequest, ctx: Context | None = None) -> DialogueResult:
        ctx = self._ctx(ctx)
        t0 = time.perf_counter()
        # 1. Check inputs.
        check_dialogue(request)
        names = [clean_text(n).upper() for n in request.characters] or ["ALEX", "SAM"]
        if len(names) == 1:
            names.append("SAM" if names[0] != "SAM" else "ALEX")
        user = (f"Situation: {clean_text(request.situation)}\nCharacters: {', '.join(names)}\n"
                f"Write {request.lines} lines of dialogue between them, taking turns.")
        prefix = f"{names[0]}:"
        max_new = self._max_new(request.max_new_tokens, 40 * request.lines + 60)
        # 2. Generate.
        reply = prefix
        for reply in self.generate(SYSTEM_DIALOGUE, user, prefix, max_new, request.seed, ctx):
            pass
        # 3. Speeches, cut to subtitle size.
        lines: list[DialogueLine] = []
        for who, words in _speeches(reply):
            for chunk in subtitle_chunks(words):
                if len(lines) < request.lines:
                    lines.append(DialogueLine(who, chunk))
        if not lines:
            raise ReelsmithError(f"The model's output was not dialogue (no 'NAME: words' lines). The model "
                                 f"'{self.model_id}' may be too small; try another seed or the lite backend.")
        ctx.report(1.0, "Written")
        return DialogueResult(lines=lines, fountain=dialogue_fountain(lines), backend=self.name,
                              model_id=self.model_id, seconds=time.perf_counter() - t0,
                              parameters={"situation": request.situation, "characters": names,
                                          "lines": request.lines, "seed": request.seed,
                                          "lines_written": len(lines)})

