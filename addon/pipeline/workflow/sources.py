"""The sources of a run, made ready before any request is spent on them.

- Control characters go (a binary file read as text, a NUL that strict servers refuse); line breaks and
  tabs stay.
- A source with nothing to learn from (empty, blank, only markup, images or sound) is left out, and said so.
- Text beyond what the run's request budget can cover is cut at a sentence, and said so: a 1 MB paste
  would otherwise spend the budget on analysing its first parts and end with most topics failing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..models import Source
from ..settings import PipelineSettings
from .chunking import chunk_tokens, sentences, word_pieces

REQUESTS_PER_CHUNK = 10
"""About what a chunk of text costs: its analysis, then generating, reviewing and now and then repairing
the cards of the three or four topics it holds."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_WORDS = re.compile(r"<[^>]*>|\[sound:[^\]]*\]|&#?\w+;")
_WORD = re.compile(r"\w")


@dataclass
class Prepared:
    sources: list[Source]
    problems: list[str] = field(default_factory=list)
    """What was left out or cut, one sentence each, for the run's errors."""


def prepare(sources: Sequence[Source], settings: PipelineSettings, *, cut: bool = True) -> Prepared:
    """The sources cleaned, those with nothing to learn from left out, and (with `cut`) what is beyond the
    run's budget cut off."""
    prepared = Prepared([])
    for number, source in enumerate(sources, start=1):
        text = _CONTROL.sub("", source.text)
        if _WORD.search(_NOT_WORDS.sub(" ", text)):
            prepared.sources.append(source.model_copy(update={"text": text}))
        else:
            prepared.problems.append(f"{_name(source, number, len(sources))} has no words to learn from.")
    if cut:
        _cut_to_budget(prepared, settings)
    return prepared


def _cut_to_budget(prepared: Prepared, settings: PipelineSettings) -> None:
    chunks = max(1, settings.max_requests_per_run // REQUESTS_PER_CHUNK)
    budget = chunks * chunk_tokens(settings.llm.context_window)
    total_words = sum(len(source.text.split()) for source in prepared.sources)
    kept: list[Source] = []
    for source in prepared.sources:
        size = len(word_pieces(source.text))
        if size <= budget:
            kept.append(source)
            budget -= size
            continue
        if (text := _first_tokens(source.text, budget)).strip():
            kept.append(source.model_copy(update={"text": text}))
        break
    else:
        return
    kept_words = sum(len(source.text.split()) for source in kept)
    prepared.sources = kept
    prepared.problems.append(
        f"The text is too long for one run (at most {settings.max_requests_per_run} requests): cards were "
        f"made from its first {kept_words:,} of {total_words:,} words; give the rest in another run."
    )


def _first_tokens(text: str, budget: int) -> str:
    """The sentences of `text` that fit in `budget` tokens (as `word_pieces` counts them)."""
    taken: list[str] = []
    for sentence in sentences(text):
        budget -= len(word_pieces(sentence))
        if budget < 0:
            break
        taken.append(sentence)
    return "".join(taken)


def _name(source: Source, number: int, count: int) -> str:
    if source.title:
        return f"“{source.title}”"
    if source.note_id is not None:
        return f"Note {source.note_id}"
    return "The text" if count == 1 else f"Text {number}"
