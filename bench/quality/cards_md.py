"""The cards.md format the blind judge reads: notes as a learner sees them, nothing about how they were made;
and the way back, from a run's cards.md to its notes (the re-review measurement reviews them again)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from addon.pipeline.models import BasicCard, CardDraft, NoteCard

_TITLE = "# Cards made from: "
_HEADING = re.compile(r"^## Note (\d+) \((basic|cloze), [^)\n]*\)\n", re.MULTILINE)
_QUESTION, _ANSWER, _TEXT = "**Question:** ", "\n\n**Answer:** ", "**Text:** "
_EXTRA = "\n\n**Extra:**\n\n"


def cards_for_the_judge(name: str, drafts: Sequence[CardDraft]) -> str:
    """The notes made from the text `name`, numbered from 1, in the judge's format."""
    lines = [f"{_TITLE}{name}", ""]
    for number, draft in enumerate(drafts, start=1):
        if isinstance(draft, BasicCard):
            lines += [f"## Note {number} (basic, 1 card)", f"{_QUESTION}{draft.question}", ""]
            lines += [f"**Answer:** {draft.answer}", ""]
        else:
            count = len(set(re.findall(r"\{\{c(\d+)::", draft.text))) or 1
            lines += [f"## Note {number} (cloze, {count} cards: one per cN number)"]
            lines += [f"{_TEXT}{draft.text}", ""]
        if draft.extra.strip():
            lines += ["**Extra:**", "", draft.extra, ""]
        lines.append("")
    return "\n".join(lines)


def read_cards(markdown: str) -> tuple[str, list[NoteCard]]:
    """The text's name and the notes, in order, of a file written by `cards_for_the_judge`."""
    title, _, body = markdown.partition("\n")
    if not title.startswith(_TITLE):
        raise ValueError(f"not a cards.md file: its first line is {title!r}")
    parts = _HEADING.split(body)[1:]  # number, kind, section, number, kind, section, ...
    notes: list[NoteCard] = []
    for index in range(0, len(parts), 3):
        number, kind, section = int(parts[index]), parts[index + 1], parts[index + 2]
        if number != len(notes) + 1:
            raise ValueError(f"note {number} follows note {len(notes)}")
        notes.append(_note(kind, section.rstrip("\n")))
    return title.removeprefix(_TITLE), notes


def _note(kind: str, section: str) -> NoteCard:
    if kind == "cloze":
        text, _, extra = section.removeprefix(_TEXT).partition(_EXTRA)
        return NoteCard(kind="cloze", front=text, extra=extra)
    question, _, rest = section.removeprefix(_QUESTION).partition(_ANSWER)
    answer, _, extra = rest.partition(_EXTRA)
    return NoteCard(kind="basic", front=question, back=answer, extra=extra)
