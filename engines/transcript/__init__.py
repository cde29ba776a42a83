"""Edit by transcript: delete words, sentences or paragraphs of the text and the media follows.

    doc = Transcript.from_captions(caption_result, speakers)          # words → sentences → paragraphs
    session = EditSession(doc); session.delete(...); session.edit_text(edited)
    kept = plan_transcript_cut(doc.words, session.deleted, duration=d, energy_db=energy_curve(media, fps), fps=fps)
    timeline = to_timeline(media, kept, name=..., fps=fps, width=w, height=h, words=doc.words)
    fillers = find_fillers(doc.words, media_energy=(energy_curve(media, fps), fps))
    retakes = find_retakes(doc.sentence_spans(), embed=embed)

Pure Python + NumPy (the loudness helpers come from ``engines.autoedit``); no model is loaded here: the studio
passes sentence embeddings in through ``embed``. Speaker diarization lives in ``engines.transcript.diarize`` and
is not imported by this package.
"""
from __future__ import annotations

from .cuts import energy_curve, plan_transcript_cut, to_timeline
from .document import Block, EditSession, TextEdit, Transcript, TranscriptWord, apply_text_edit, norm_token
from .fillers import VERBATIM_PROMPT, Filler, filler_indices, filler_token_confidence, find_fillers
from .retakes import Retake, find_retakes, text_similarity

__all__ = [
    "VERBATIM_PROMPT",
    "Block",
    "EditSession",
    "Filler",
    "Retake",
    "TextEdit",
    "Transcript",
    "TranscriptWord",
    "apply_text_edit",
    "energy_curve",
    "filler_indices",
    "filler_token_confidence",
    "find_fillers",
    "find_retakes",
    "norm_token",
    "plan_transcript_cut",
    "text_similarity",
    "to_timeline",
]
