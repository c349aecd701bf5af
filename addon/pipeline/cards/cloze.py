"""Cloze deletions the way Anki reads them.

Anki (checked against 26.9) accepts only `{{cN::` in lower case with N ≥ 1, supports nested deletions, and
treats the first `::` inside a deletion as the start of its hint: `{{c1::std::vector}}` shows the hint
"vector". A `}}` outside any deletion is plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\{\{c(\d+)::|\}\}|::")
_OPENER = re.compile(r"\{\{c(\d+)::")
# Openers an LLM meant but Anki ignores: `{{C1::`, `{{ c1::`, `{{c1:x`, `{c1::x}`.
_NEAR_OPENER = re.compile(r"(?<!\{)(?:\{\{\s*c\s*\d+\s*::?|\{\s*c\s*\d+\s*::)", re.IGNORECASE)


@dataclass(frozen=True)
class Deletion:
    number: int
    answer: str
    hint: str | None
    start: int
    """Where `{{cN::` begins in the scanned text."""
    content_start: int
    end: int
    """Just after the closing `}}`."""


@dataclass(frozen=True)
class ClozeScan:
    deletions: list[Deletion]
    unclosed: list[int]
    """Numbers of openers that no `}}` closes."""
    malformed: list[str]
    """Opener look-alikes that Anki ignores."""


@dataclass
class _Open:
    number: int
    start: int
    content_start: int
    hint_at: int | None = None


def scan(text: str) -> ClozeScan:
    stack: list[_Open] = []
    deletions: list[Deletion] = []
    for match in _TOKEN.finditer(text):
        if match.group(1) is not None:
            stack.append(_Open(int(match.group(1)), match.start(), match.end()))
        elif not stack:
            continue
        elif match.group(0) == "::":
            if stack[-1].hint_at is None:
                stack[-1].hint_at = match.start()
        else:
            opened = stack.pop()
            answer_end = match.start() if opened.hint_at is None else opened.hint_at
            hint = None if opened.hint_at is None else text[opened.hint_at + 2 : match.start()]
            deletions.append(
                Deletion(
                    number=opened.number,
                    answer=text[opened.content_start : answer_end],
                    hint=hint,
                    start=opened.start,
                    content_start=opened.content_start,
                    end=match.end(),
                )
            )
    deletions.sort(key=lambda d: d.start)
    malformed = [m.group(0) for m in _NEAR_OPENER.finditer(text) if not _OPENER.match(text, m.start())]
    return ClozeScan(deletions, [o.number for o in stack], malformed)


def has_markers(text: str) -> bool:
    return _OPENER.search(text) is not None


def renumber(text: str) -> str:
    """Number deletions 1..n in the order of their current numbers: c2,c3 → c1,c2; c1,c3 → c1,c2.

    Deletions that share a number keep sharing one, so the note makes the same cards, only with ordinals
    that Anki does not skip.
    """
    numbers = sorted({int(n) for n in _OPENER.findall(text)})
    rank = {n: i for i, n in enumerate(numbers, start=1)}
    return _OPENER.sub(lambda m: f"{{{{c{rank[int(m.group(1))]}::", text)


def strip_markers(text: str) -> str:
    """The text as the back of the card reads it: deletions replaced by their answers, hints dropped."""
    cut: list[tuple[int, int]] = []
    for deletion in scan(text).deletions:
        cut.append((deletion.start, deletion.content_start))
        answer_end = deletion.content_start + len(deletion.answer)
        cut.append((answer_end, deletion.end))
    # Nested deletions overlap their parent's hint or closer; merge the spans before cutting.
    kept, position = [], 0
    for start, end in sorted(cut):
        if start > position:
            kept.append(text[position:start])
        position = max(position, end)
    kept.append(text[position:])
    return "".join(kept)


def marker_spans(text: str) -> list[tuple[int, int]]:
    """Where the `{{cN::` and `}}` of each deletion stand, in order."""
    spans: list[tuple[int, int]] = []
    for deletion in scan(text).deletions:
        spans += [(deletion.start, deletion.content_start), (deletion.end - 2, deletion.end)]
    return sorted(spans)


def numbers(text: str) -> list[int]:
    """The cloze numbers of `text`, each once, in order: one card per number."""
    return sorted({deletion.number for deletion in scan(text).deletions})


def front_of(text: str, number: int) -> str:
    """The front of card `number` as Anki shows it: its deletions blanked ("[...]", or the hint as "[hint]"),
    the others showing their answers."""
    parts, position = [], 0
    for deletion in scan(text).deletions:
        if deletion.start < position:  # nested in a deletion handled already
            continue
        parts.append(text[position : deletion.start])
        inner = text[deletion.content_start : deletion.content_start + len(deletion.answer)]
        if deletion.number == number:
            parts.append(f"[{deletion.hint}]" if deletion.hint else "[...]")
        else:
            parts.append(front_of(inner, number))
        position = deletion.end
    parts.append(text[position:])
    return "".join(parts)
