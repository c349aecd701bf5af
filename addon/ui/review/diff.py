"""What a suggestion does to a note, side by side: the note now and as suggested, with the words that go
marked in the old text and the words that come marked in the new, for a `QTextBrowser`.

A rewrite is compared field by field. A split is compared as a whole: in the original, the words that none
of the new cards keeps are marked; in each new card, the words the original did not have.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from difflib import SequenceMatcher

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")

REMOVED = {
    False: "background-color: #ffd7d5; color: #82071e; text-decoration: line-through;",
    True: "background-color: #5d1f1f; color: #ffb3ad; text-decoration: line-through;",
}
ADDED = {
    False: "background-color: #cdf5d3; color: #055d20;",
    True: "background-color: #1c4428; color: #a6f0b5;",
}
Field = tuple[str, str]
"""A field's label and its text."""


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(old: str, new: str, *, night: bool = False) -> tuple[str, str]:
    """Both texts as HTML: the words removed marked in the old one, the words added in the new one."""
    a, b = tokens(old), tokens(new)
    left, right = [], []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(_plain(a[i1:i2]))
            right.append(_plain(b[j1:j2]))
            continue
        left.append(_marked(a[i1:i2], REMOVED[night]))
        right.append(_marked(b[j1:j2], ADDED[night]))
    return "".join(left), "".join(right)


def split_diff(old: str, pieces: Sequence[str], *, night: bool = False) -> tuple[str, list[str]]:
    """The old text with the words no piece keeps marked as removed, and each piece with the words the old
    text did not have marked as added."""
    a = tokens(old)
    kept = [False] * len(a)
    marked_pieces = []
    for piece in pieces:
        b = tokens(piece)
        new = [True] * len(b)
        for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
            for offset in range(block.size):
                kept[block.a + offset] = True
                new[block.b + offset] = False
        marked_pieces.append(_runs(b, new, ADDED[night]))
    return _runs(a, [not k for k in kept], REMOVED[night]), marked_pieces


def table(left: str, right: str, rows: Sequence[tuple[str, str]], *, night: bool = False) -> str:
    """An HTML table with the headings `left` and `right` and a row per (old, new) pair of cells."""
    border = "#555" if night else "#ccc"
    cell = f"style='padding: 6px 8px; border-top: 1px solid {border}; vertical-align: top'"
    body = "".join(
        f"<tr><td width='50%' {cell}>{old}</td><td width='50%' {cell}>{new}</td></tr>" for old, new in rows
    )
    heading = "".join(f"<th align='left' {cell}>{html.escape(title)}</th>" for title in (left, right))
    return f"<table width='100%' cellspacing='0' cellpadding='0'><tr>{heading}</tr>{body}</table>"


def fields_html(fields: Sequence[Field]) -> str:
    """Fields one under the other, each with its label; texts are HTML already."""
    label_style = "font-size: small; opacity: .7; margin-top: 4px"
    return "".join(
        f"<div style='{label_style}'>{html.escape(label)}</div><div>{text}</div>" for label, text in fields
    )


def escaped(text: str) -> str:
    return _plain(tokens(text))


def _runs(words: Sequence[str], marked: Sequence[bool], style: str) -> str:
    """The words, runs of marked ones wrapped in `style`."""
    out = []
    start = 0
    for index in range(1, len(words) + 1):
        if index == len(words) or marked[index] != marked[start]:
            chunk = words[start:index]
            out.append(_marked(chunk, style) if marked[start] else _plain(chunk))
            start = index
    return "".join(out)


def _plain(words: Sequence[str]) -> str:
    return html.escape("".join(words)).replace("\n", "<br>")


def _marked(words: Sequence[str], style: str) -> str:
    """A changed run: whitespace inside it marked too, line breaks kept outside the marking."""
    text = "".join(words)
    if not text.strip():
        return _plain(words)
    parts = text.split("\n")
    return "<br>".join(
        f"<span style='{style}'>{html.escape(part)}</span>" if part.strip() else html.escape(part)
        for part in parts
    )
