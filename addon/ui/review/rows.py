"""The review window's rows: one per note, in the generate window's `RowsModel` with the review's columns;
the checkbox accepts the note's suggestion."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..generate.table import Column, RowsModel

if TYPE_CHECKING:
    from ...reviews import ReviewRow

FLAG_WORDS = {
    "ambiguous": "ambiguous",
    "doubtful": "doubtful fact",
    "trivial": "trivial",
    "other": "check it",
}


def verdict_text(row: ReviewRow) -> str:
    """What the row's suggestion does, in a word or three."""
    if row.outcome == "applied":
        return "Applied"
    if row.outcome == "refused":
        return "Refused"
    action, verdict = row.action, row.verdict
    if action is None or verdict is None:
        return "Waiting…"
    edited = " (edited)" if row.edited else ""
    if action == "split":
        count = len(row.edits or verdict.cards)
        return f"Split in {count}{edited}" if count > 1 else f"As a new note{edited}"
    if action == "flag":
        return f"Flag: {FLAG_WORDS.get(verdict.flag or 'other', 'check it')}"
    return f"{action.capitalize()}{edited}"


def reasons(row: ReviewRow) -> list[str]:
    """Why: the refusal, the Reviewer's reasons, then what the lints found in the note."""
    lines = [row.message] if row.outcome == "refused" and row.message else []
    if row.verdict is not None:
        lines += row.verdict.reasons
        lines += [finding.message for finding in row.verdict.lints]
    return lines


def _why(row: ReviewRow) -> str:
    return "; ".join(reasons(row))


def _why_details(row: ReviewRow) -> str:
    return "\n".join(f"• {line}" for line in reasons(row))


def review_model() -> RowsModel[ReviewRow]:
    def set_accepted(row: ReviewRow, accepted: bool) -> None:
        row.accepted = accepted and row.suggests_change and not row.done

    return RowsModel(
        [
            Column("Suggestion", verdict_text, chars=14),
            Column("Note", lambda row: row.note.title, tooltip=lambda row: row.note.title, stretch=True),
            Column("Why", _why, tooltip=_why_details, stretch=True),
        ],
        is_checked=lambda row: row.accepted and not row.done,
        set_checked=set_accepted,
        is_dimmed=lambda row: row.done or not row.suggests_change,
    )
