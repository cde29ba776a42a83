"""The transcript as an editable document: timed words → sentences → paragraphs; an ``EditSession`` of deletions.

    doc = Transcript.from_captions(caption_result, speakers=[(0.0, 4.2, "A"), (4.2, 9.0, "B")])
    session = EditSession(doc)
    session.delete(doc.sentences[2].indices); session.undo(); session.redo()
    session.edit_text("the text with some words removed")     # → TextEdit(deleted=[...], warnings=[...])
    session.preview_markup()  /  session.preview_markup("html")  /  session.deleted_spans()

Rules:

1. Words keep Whisper's text (leading/trailing spaces stripped) and times; each gets the speaker whose segment
   overlaps it most (or the nearest one within ``SPEAKER_REACH_S``; ``None`` without speaker segments).
2. A sentence ends after a word ending in ``. ? ! …`` (closing quotes allowed, a few abbreviations such as "Mr."
   excepted), after a cut-off word ("we—") when the sentence's first word follows again (a false start), and
   before a paragraph break.
3. A paragraph breaks on a speaker change or a pause longer than ``PARAGRAPH_PAUSE_S`` (1.5 s).
4. Editing only deletes (and restores) words: the media can lose what was said, never gain what was not.
   ``apply_text_edit`` aligns an edited text to the words with difflib (case and punctuation ignored); added or
   changed words become warnings, the original words stay.
"""
from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from ..errors import InvalidInput

PARAGRAPH_PAUSE_S = 1.5
SPEAKER_REACH_S = 1.0
HISTORY_LIMIT = 200
_END = re.compile(r"""[.!?…]+["'”’»)\]]*$""")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e.", "cf.", "approx."}
_EDGE_PUNCT = re.compile(r"^[^\w']+|[^\w']+$")


def norm_token(text: str) -> str:
    """A word for matching: lower case, outer punctuation removed ("Um," → "um", "don't" stays)."""
    return _EDGE_PUNCT.sub("", text.strip().lower().replace("’", "'"))


@dataclass(frozen=True)
class TranscriptWord:
    """One word of the document, seconds from the start of the media."""

    start: float
    end: float
    text: str
    speaker: str | None = None
    probability: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                "speaker": self.speaker, "probability": round(self.probability, 4)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TranscriptWord:
        speaker = data.get("speaker")
        return cls(float(data["start"]), float(data["end"]), str(data.get("text", data.get("word", ""))),
                   None if speaker is None else str(speaker), float(data.get("probability", 1.0)))


@dataclass(frozen=True)
class Block:
    """A sentence or a paragraph: the words ``[first, stop)`` and their speaker."""

    first: int
    stop: int
    speaker: str | None = None

    @property
    def indices(self) -> range:
        return range(self.first, self.stop)

    def as_dict(self) -> dict[str, Any]:
        return {"first": self.first, "stop": self.stop, "speaker": self.speaker}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Block:
        speaker = data.get("speaker")
        return cls(int(data["first"]), int(data["stop"]), None if speaker is None else str(speaker))


def _speaker_of(start: float, end: float, speakers: Sequence[tuple[float, float, str]]) -> str | None:
    best, best_overlap, nearest, nearest_gap = None, 0.0, None, SPEAKER_REACH_S
    for s, e, who in speakers:
        overlap = min(end, e) - max(start, s)
        if overlap > best_overlap:
            best, best_overlap = who, overlap
        gap = max(s - end, start - e, 0.0)
        if gap <= nearest_gap:
            nearest, nearest_gap = who, gap
    return best if best is not None else nearest


@dataclass
class Transcript:
    """Words with sentences and paragraphs as word ranges (see the module notes for the rules)."""

    words: list[TranscriptWord]
    sentences: list[Block] = field(default_factory=list)
    paragraphs: list[Block] = field(default_factory=list)
    language: str = "en"
    duration_s: float = 0.0

    # 1. Building --------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, words: Iterable[TranscriptWord], *, language: str = "en", duration_s: float = 0.0) -> Transcript:
        """Group ``words`` (sorted by start) into sentences and paragraphs."""
        items = sorted((w for w in words if w.text.strip()), key=lambda w: (w.start, w.end))
        sentences: list[Block] = []
        paragraphs: list[Block] = []
        s_first = p_first = 0
        for i, word in enumerate(items):
            last = i + 1 == len(items)
            nxt = None if last else items[i + 1]
            new_paragraph = last or nxt.speaker != word.speaker or nxt.start - word.end > PARAGRAPH_PAUSE_S
            ends = bool(_END.search(word.text)) and word.text.lower() not in _ABBREVIATIONS
            # a cut-off word ("we—") followed by the sentence's first word again is a false start: its own sentence
            ends |= (word.text.endswith(("—", "–", "-")) and nxt is not None
                     and norm_token(nxt.text) == norm_token(items[s_first].text))
            if new_paragraph or ends:
                sentences.append(Block(s_first, i + 1, word.speaker))
                s_first = i + 1
            if new_paragraph:
                paragraphs.append(Block(p_first, i + 1, word.speaker))
                p_first = i + 1
        duration = max(duration_s, items[-1].end if items else 0.0)
        return cls(items, sentences, paragraphs, language, duration)

    @classmethod
    def from_captions(cls, result: Any, speakers: Sequence[tuple[float, float, str]] | None = None) -> Transcript:
        """From a ``CaptionResult`` (or its ``as_dict()``) and optional ``(start, end, speaker)`` segments."""
        data = result if isinstance(result, dict) else result.as_dict()
        turns = sorted((float(s), float(e), str(who)) for s, e, who in (speakers or []))
        words = []
        for seg in data.get("segments", []):
            for w in seg.get("words", []):
                start, end = float(w["start"]), float(w["end"])
                words.append(TranscriptWord(start, max(end, start), str(w["word"]).strip(),
                                            _speaker_of(start, end, turns) if turns else None,
                                            float(w.get("probability", 1.0))))
        return cls.build(words, language=str(data.get("language", "en")),
                         duration_s=float(data.get("duration_s", 0.0)))

    # 2. Reading ---------------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def block_text(self, block: Block) -> str:
        return " ".join(self.words[i].text for i in block.indices)

    def sentence_spans(self) -> list[tuple[float, float, str]]:
        """``(start, end, text)`` of every sentence: the input of ``find_retakes``."""
        return [(self.words[b.first].start, self.words[b.stop - 1].end, self.block_text(b)) for b in self.sentences]

    def paragraph_sentences(self, paragraph: int) -> list[int]:
        """Indices of the sentences inside paragraph ``paragraph``."""
        p = self.paragraphs[paragraph]
        return [k for k, s in enumerate(self.sentences) if p.first <= s.first and s.stop <= p.stop]

    # 3. Plain data ------------------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {"language": self.language, "duration_s": round(self.duration_s, 3),
                "words": [w.as_dict() for w in self.words], "sentences": [b.as_dict() for b in self.sentences],
                "paragraphs": [b.as_dict() for b in self.paragraphs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        words = [TranscriptWord.from_dict(w) for w in data.get("words", [])]
        if "sentences" not in data:
            return cls.build(words, language=str(data.get("language", "en")),
                             duration_s=float(data.get("duration_s", 0.0)))
        return cls(words, [Block.from_dict(b) for b in data["sentences"]],
                   [Block.from_dict(b) for b in data.get("paragraphs", [])], str(data.get("language", "en")),
                   float(data.get("duration_s", 0.0)))


# --------------------------------------------------------------------------------------------------------------
# Editing by text
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextEdit:
    """What an edited text means: the word indices it deletes, and what could not be applied."""

    deleted: list[int]
    warnings: list[str]


def apply_text_edit(original_words: Sequence[str], edited_text: str) -> TextEdit:
    """Align ``edited_text`` to ``original_words`` (difflib, case and punctuation ignored) → deleted indices.

    Only deletions apply. Inserted words and changed words are reported as warnings ("cannot be added by editing
    text") and the original words are kept."""
    # 1. Tokens to compare (punctuation-only tokens such as "—" vanish on both sides)
    original = [norm_token(w) for w in original_words]
    edited_raw = [t for t in edited_text.split() if norm_token(t)]
    edited = [norm_token(t) for t in edited_raw]
    # 2. Align and read the opcodes
    deleted: list[int] = []
    warnings: list[str] = []
    matcher = difflib.SequenceMatcher(None, original, edited, autojunk=False)
    for op, a, b, c, d in matcher.get_opcodes():
        if op == "delete":
            deleted.extend(i for i in range(a, b) if original[i])
        elif op == "insert":
            warnings.append(f"“{' '.join(edited_raw[c:d])}” cannot be added by editing text (only deletions "
                            "apply); ignored.")
        elif op == "replace":
            warnings.append(f"“{' '.join(original_words[a:b])}” → “{' '.join(edited_raw[c:d])}”: changed words "
                            "cannot be added by editing text; the original words are kept.")
    return TextEdit(sorted(deleted), warnings)


# --------------------------------------------------------------------------------------------------------------
# The session
# --------------------------------------------------------------------------------------------------------------
class EditSession:
    """Deleted words of one transcript, with undo/redo. Indices are word indices of ``transcript.words``."""

    def __init__(self, transcript: Transcript, deleted: Iterable[int] = ()) -> None:
        self.transcript = transcript
        self.deleted: set[int] = set(self._check(deleted))
        self._undo: list[tuple[str, list[int]]] = []
        self._redo: list[tuple[str, list[int]]] = []

    def _check(self, indices: Iterable[int]) -> list[int]:
        n = len(self.transcript.words)
        out = sorted({int(i) for i in indices})
        bad = [i for i in out if not 0 <= i < n]
        if bad:
            raise InvalidInput(f"Word index {bad[0]} is outside the transcript (0–{n - 1}).")
        return out

    def _apply(self, op: str, indices: list[int]) -> None:
        if op == "delete":
            self.deleted.update(indices)
        else:
            self.deleted.difference_update(indices)

    def _do(self, op: str, indices: Iterable[int]) -> int:
        wanted = self._check(indices)
        changed = [i for i in wanted if (i in self.deleted) != (op == "delete")]
        if changed:
            self._apply(op, changed)
            self._undo = (self._undo + [(op, changed)])[-HISTORY_LIMIT:]
            self._redo.clear()
        return len(changed)

    # 1. Edits ------------------------------------------------------------------------------------------------
    def delete(self, indices: Iterable[int]) -> int:
        """Delete words; returns how many were not deleted already (0: nothing recorded in the history)."""
        return self._do("delete", indices)

    def restore(self, indices: Iterable[int]) -> int:
        """Bring deleted words back; returns how many changed."""
        return self._do("restore", indices)

    def delete_sentence(self, k: int) -> int:
        return self.delete(self.transcript.sentences[k].indices)

    def delete_paragraph(self, k: int) -> int:
        return self.delete(self.transcript.paragraphs[k].indices)

    def visible_indices(self) -> list[int]:
        return [i for i in range(len(self.transcript.words)) if i not in self.deleted]

    def visible_text(self) -> str:
        return " ".join(self.transcript.words[i].text for i in self.visible_indices())

    def edit_text(self, edited_text: str) -> TextEdit:
        """Apply a text the user edited from ``visible_text()``: words removed from it are deleted (one undo
        step); the returned ``TextEdit`` holds the word indices of the transcript and the warnings."""
        visible = self.visible_indices()
        edit = apply_text_edit([self.transcript.words[i].text for i in visible], edited_text)
        mapped = [visible[i] for i in edit.deleted]
        self.delete(mapped)
        return TextEdit(mapped, edit.warnings)

    # 2. History ---------------------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        op, indices = self._undo.pop()
        self._apply("restore" if op == "delete" else "delete", indices)
        self._redo.append((op, indices))
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        op, indices = self._redo.pop()
        self._apply(op, indices)
        self._undo.append((op, indices))
        return True

    # 3. Views -----------------------------------------------------------------------------------------------
    def deleted_spans(self) -> list[tuple[float, float]]:
        """Time spans of the runs of consecutive deleted words, merged where they touch or overlap."""
        words, spans = self.transcript.words, []
        for i in sorted(self.deleted):
            w = words[i]
            if spans and (i - 1 in self.deleted or w.start <= spans[-1][1]):
                spans[-1][1] = max(spans[-1][1], w.end)
            else:
                spans.append([w.start, w.end])
        return [(a, b) for a, b in spans]

    def preview_markup(self, fmt: str = "markdown") -> str:
        """The text with deleted words struck through: ``~~word~~`` (``"markdown"``) or ``<del>`` (``"html"``);
        one paragraph per block, prefixed by its speaker when known."""
        if fmt not in ("markdown", "html"):
            raise InvalidInput(f"preview format must be 'markdown' or 'html', not {fmt!r}.")
        md = fmt == "markdown"
        esc = (lambda t: re.sub(r"([\\*_~`\[\]<>#])", r"\\\1", t)) if md else html.escape
        out = []
        for p in self.transcript.paragraphs:
            pieces = []
            for gone, run in groupby(p.indices, key=lambda i: i in self.deleted):
                text = " ".join(esc(self.transcript.words[i].text) for i in run)
                pieces.append((f"~~{text}~~" if md else f"<del>{text}</del>") if gone else text)
            who = "" if not p.speaker else f"**{esc(p.speaker)}:** " if md else f"<b>{esc(p.speaker)}:</b> "
            body = who + " ".join(pieces)
            out.append(body if md else f"<p>{body}</p>")
        return ("\n\n" if md else "\n").join(out)

    # 4. Plain data ------------------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {"transcript": self.transcript.as_dict(), "deleted": sorted(self.deleted),
                "undo": [[op, list(ix)] for op, ix in self._undo], "redo": [[op, list(ix)] for op, ix in self._redo]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EditSession:
        session = cls(Transcript.from_dict(data["transcript"]), data.get("deleted", []))
        for name in ("undo", "redo"):
            stack = [(str(op), session._check(ix)) for op, ix in data.get(name, [])]
            if any(op not in ("delete", "restore") for op, _ in stack):
                raise InvalidInput(f"Unknown edit operation in the saved {name} history.")
            setattr(session, f"_{name}", stack)
        return session
