"""Review runs as the window keeps them (`addon/reviews.py`): verdicts onto rows, what Apply writes (only the
mapped fields whose text changed), and the journal round trip that resume relies on."""

from __future__ import annotations

from pathlib import Path

from addon.journal import Journal
from addon.notes.apply_review import Flag, Rewrite, Split
from addon.notes.review_notes import NoteSnapshot
from addon.pipeline.cards.formatting import format_card
from addon.pipeline.models import BasicCard, Card, ClozeCard, NoteCard, ReviewVerdict
from addon.reviews import ReviewRun, ReviewSession, change_of, existing_note, unfinished


def snapshot(note_id: int = 1, **fields: str) -> NoteSnapshot:
    fields = fields or {"question": "What is <b>RSI</b>?", "answer": "A momentum indicator, 0-100, period 14"}
    return NoteSnapshot(
        note_id=note_id,
        mod=1_700_000_000,
        notetype_id=7,
        kind="basic",
        fields=dict(fields),  # type: ignore[arg-type]
        field_names={role: role.capitalize() for role in fields},  # type: ignore[misc]
        deck_id=1,
        title="What is RSI?",
    )


def card(draft: BasicCard | ClozeCard) -> Card:
    return format_card(Card(id="c", draft=draft))


def new_run(*notes: NoteSnapshot) -> ReviewRun:
    return ReviewSession.new(Journal(Path("unused"), kind="review", payload=ReviewRun), notes, "source").run


def test_existing_notes_go_to_the_agents_as_markdown() -> None:
    note = existing_note(snapshot())
    assert (note.card.kind, note.card.front, note.card.back, note.card.extra) == (
        "basic",
        "What is **RSI**?",
        "A momentum indicator, 0-100, period 14",
        "",
    )
    assert not note.has_extra


def test_a_rewrite_writes_only_the_fields_whose_text_changed() -> None:
    run = new_run(snapshot())
    new = card(BasicCard(question="What is **RSI**?", answer="A momentum indicator", extra="Range 0-100"))
    rows = run.put([ReviewVerdict(note_id=1, action="rewrite", cards=[new], reasons=["shorter"])])

    row = run.rows[0]
    assert rows == [0] and row.accepted
    change = change_of(row, run.markup(row))
    assert isinstance(change, Rewrite)
    assert change.fields == {"answer": "A momentum indicator"}, "same question; no extra field to write"


def test_splits_flags_and_keeps() -> None:
    run = ReviewSession.new(
        Journal(Path("/x"), kind="x", payload=ReviewRun), [snapshot(1), snapshot(2), snapshot(3)], "source"
    ).run
    pieces = [
        card(BasicCard(question="Range of RSI?", answer="0-100")),
        card(ClozeCard(text="Period {{c1::14}}")),
    ]
    run.put(
        [
            ReviewVerdict(note_id=1, action="split", cards=pieces),
            ReviewVerdict(note_id=2, action="flag", flag="doubtful", reasons=["check the period"]),
            ReviewVerdict(note_id=3, action="keep"),
        ]
    )
    split, flag, keep = (change_of(row, run.markup(row)) for row in run.rows)
    assert isinstance(split, Split) and [n.kind for n in split.notes] == ["basic", "cloze"]
    assert split.notes[1].fields == {"text": "Period {{c1::14}}", "extra": ""}
    assert isinstance(flag, Flag) and keep is None
    assert [row.accepted for row in run.rows] == [True, False, False], "the learner decides on flags"
    assert [row.note.note_id for row in run.to_apply()] == [1]
    assert [row.note.note_id for row in run.pending()] == [1, 2]


def test_a_run_survives_the_journal_and_resumes_with_what_is_left(tmp_path: Path) -> None:
    journal = Journal(tmp_path, kind="review", payload=ReviewRun)
    session = ReviewSession.new(journal, [snapshot(1), snapshot(2)], "source")
    session.run.put(
        [ReviewVerdict(note_id=1, action="rewrite", cards=[card(BasicCard(question="Q?", answer="A"))])]
    )
    session.save()
    journal.flush()

    [entry] = unfinished(journal.load()[0])
    resumed = ReviewSession.resume(journal, entry)

    assert resumed.run.status == "interrupted" and "1 note is still to review" in resumed.run.message
    assert [row.note for row in resumed.run.rows] == [snapshot(1), snapshot(2)]
    assert [row.note.note_id for row in resumed.run.unreviewed()] == [2]
    assert resumed.run.rows[0].verdict == session.run.rows[0].verdict


def test_the_learners_edits_are_applied_and_kept_however_long(tmp_path: Path) -> None:
    journal = Journal(tmp_path, kind="review", payload=ReviewRun)
    session = ReviewSession.new(journal, [snapshot(1)], "source")
    session.run.put([ReviewVerdict(note_id=1, action="keep")])
    row = session.run.rows[0]
    long_answer = "A momentum indicator. " * 100  # longer than any model may write: the learner may
    row.edits = [NoteCard(kind="basic", front="What is **RSI**?", back=long_answer)]
    session.save()
    journal.flush()

    [entry] = journal.load()[0]
    again = entry.payload.rows[0]
    assert again.edits == row.edits and again.action == "rewrite"
    change = change_of(again, entry.payload.markup(again))
    assert isinstance(change, Rewrite) and set(change.fields) == {"answer"}
    assert change.fields["answer"].startswith("A momentum indicator. A momentum")


def test_an_edit_is_applied_in_place_only_when_it_keeps_the_notes_cards() -> None:
    """Each card keeps its history: an edit of another kind, or with other cloze numbers, is a new note."""
    cloze_note = NoteSnapshot(
        note_id=2,
        mod=1_700_000_000,
        notetype_id=8,
        kind="cloze",
        fields={"text": "{{c1::TCP}} and {{c2::UDP}} are transport protocols"},
        field_names={"text": "Text"},
        deck_id=1,
        title="TCP and UDP",
    )
    run = new_run(snapshot(1), cloze_note)
    as_cloze = card(ClozeCard(text="RSI runs from {{c1::0 to 100}}"))
    same_numbers = card(ClozeCard(text="{{c1::TCP}} and {{c2::UDP}} carry data between programs"))
    run.put(
        [
            ReviewVerdict(note_id=1, action="split", cards=[as_cloze], reasons=["cloze is better"]),
            ReviewVerdict(note_id=2, action="rewrite", cards=[same_numbers]),
        ]
    )
    basic_row, cloze_row = run.rows

    basic_row.edits = [NoteCard(kind="cloze", front="RSI runs from {{c1::zero to 100}}")]
    cloze_row.edits = [NoteCard(kind="cloze", front="{{c1::TCP and UDP}} are transport protocols")]
    assert (basic_row.action, cloze_row.action) == ("split", "split")
    change = change_of(cloze_row, run.markup(cloze_row))
    assert (
        isinstance(change, Split)
        and change.notes[0].fields["text"] == "{{c1::TCP and UDP}} are transport protocols"
    )

    cloze_row.edits = [NoteCard(kind="cloze", front="{{c1::TCP}} and {{c2::UDP}} carry data")]
    assert cloze_row.action == "rewrite"
    assert isinstance(change_of(cloze_row, run.markup(cloze_row)), Rewrite)
