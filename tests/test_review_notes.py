"""Reviewing existing notes, the Anki side, on a real collection whose cards have a review history: field
mappings per note type, notes read for a review, and applying suggestions in one undo step that keeps every
card's ids, due dates, intervals, ease or FSRS state and review log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from anki.collection import Collection
from anki.consts import QUEUE_TYPE_SUSPENDED
from anki.notes import Note

from addon.notes.apply_review import (
    FLAGGED_TAG,
    REWRITTEN_TAG,
    SPLIT_TAG,
    UNDO_NAME,
    Flag,
    NewNote,
    Rewrite,
    Split,
    apply_review,
)
from addon.notes.field_map import FieldMap, UnsupportedNotetype, field_map, guess, save_field_maps
from addon.notes.notetypes import SPECS, ensure_notetype
from addon.notes.provenance import GENERATED_TAG, source_tag
from addon.notes.review_notes import NoteSnapshot, read_notes

from .history import add_note, history, study


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    collection = Collection(str(tmp_path / "collection.anki2"))
    yield collection
    collection.close()


def vocab_type(col: Collection) -> int:
    """A learner's own note type: the answer's template shows an example and a field never mapped."""
    models = col.models
    notetype = models.new("Vocab")
    for name in ("Word", "Meaning", "Example", "Audio"):
        models.add_field(notetype, models.new_field(name))
    template = models.new_template("Recognise")
    template["qfmt"] = "{{Word}}"
    template["afmt"] = "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{Example}}{{Audio}}"
    models.add_template(notetype, template)
    return int(models.add_dict(notetype).id)


def maps_for(col: Collection, *notes: Note) -> dict[int, FieldMap]:
    return {note.mid: field_map(col, note.mid) for note in notes}


def snapshot(col: Collection, note: Note) -> NoteSnapshot:
    [read] = read_notes(col, [note.id], maps_for(col, note))
    return read


# Field mappings


def test_mappings_are_guessed_from_the_note_type(col: Collection) -> None:
    models = col.models

    def guessed(name: str) -> dict[str, str]:
        return dict(guess(models.by_name(name)))

    assert guessed("Basic") == {"question": "Front", "answer": "Back"}
    assert guessed("Basic (type in the answer)") == {"question": "Front", "answer": "Back"}
    assert guessed("Cloze") == {"text": "Text", "extra": "Back Extra"}
    assert dict(guess(ensure_notetype(col, "basic"))) == {
        "question": "Front",
        "answer": "Back",
        "extra": "Extra",
    }
    assert dict(guess(ensure_notetype(col, "cloze"))) == {"text": "Text", "extra": "Extra"}
    vocab = vocab_type(col)
    assert dict(field_map(col, vocab).fields) == {"question": "Word", "answer": "Meaning"}
    assert field_map(col, models.by_name("Cloze")["id"]).kind == "cloze"
    with pytest.raises(UnsupportedNotetype, match="Image Occlusion"):
        field_map(col, models.by_name("Image Occlusion")["id"])


def test_a_mapping_is_remembered_per_note_type_until_its_fields_change(col: Collection) -> None:
    vocab = vocab_type(col)
    first = field_map(col, vocab)
    assert not first.saved and first.complete

    save_field_maps(col, [first.with_fields({"question": "Word", "answer": "Meaning", "extra": "Example"})])

    remembered = field_map(col, vocab)
    assert remembered.saved and dict(remembered.fields) == {
        "question": "Word",
        "answer": "Meaning",
        "extra": "Example",
    }
    assert remembered.describe() == "Word → question, Meaning → answer, Example → extra"
    notetype = col.models.get(vocab)
    assert notetype is not None
    col.models.rename_field(notetype, notetype["flds"][2], "Sentence")
    col.models.update_dict(notetype)
    assert not field_map(col, vocab).saved, "a remembered field that is gone: ask again"
    assert not first.with_fields({"question": "Word", "answer": "Word"}).complete, "one field, one role"


# Reading notes


def test_notes_are_read_with_their_mapped_fields_deck_and_source(col: Collection) -> None:
    source = add_note(col, "Basic", {"Front": "RSI", "Back": "The <b>RSI</b> measures momentum."})
    made = add_note(
        col,
        "Basic",
        {"Front": "What does RSI measure?", "Back": "Momentum"},
        deck="Trading",
        tags=[GENERATED_TAG, source_tag(source.id)],
    )
    vocab = vocab_type(col)
    word = col.new_note(col.models.get(vocab))  # type: ignore[arg-type]
    word["Word"], word["Meaning"], word["Audio"] = "chien", "dog", "[sound:chien.mp3]"
    col.add_note(word, col.decks.id("French"))  # type: ignore[arg-type]
    empty = add_note(col, "Basic", {"Front": "<div><br></div>", "Back": ""})

    notes = read_notes(col, [made.id, word.id, empty.id, source.id], maps_for(col, made, word))

    assert [n.note_id for n in notes] == [made.id, word.id, source.id], "empty notes are left out"
    first, second, third = notes
    assert first.fields == {"question": "What does RSI measure?", "answer": "Momentum"}
    assert (
        first.mod == col.get_note(made.id).mod
        and first.kind == "basic"
        and first.title == "What does RSI measure?"
    )
    assert col.decks.name(first.deck_id) == "Trading"  # type: ignore[arg-type]
    assert first.source == "Front: RSI\n\nBack: The RSI measures momentum." and first.source_id == source.id
    assert second.fields == {"question": "chien", "answer": "dog"}, "Audio is not mapped: never read"
    assert third.source == "" and third.source_id is None


# Applying


def test_a_rewrite_changes_only_mapped_fields_and_keeps_every_cards_history(col: Collection) -> None:
    vocab = vocab_type(col)
    note = col.new_note(col.models.get(vocab))  # type: ignore[arg-type]
    note["Word"], note["Meaning"], note["Example"], note["Audio"] = "chien", "dog, a pet", "", "[sound:c.mp3]"
    col.add_note(note, col.decks.id("French"))  # type: ignore[arg-type]
    study(col, note)
    before = history(col, note.id)
    read = snapshot(col, note)

    result = apply_review(col, [Rewrite(read, {"answer": "dog"})])

    assert result.applied == [note.id] and not result.refused
    after = col.get_note(note.id)
    assert after["Meaning"] == "dog" and after["Word"] == "chien"
    assert after["Audio"] == "[sound:c.mp3]" and after["Example"] == "", "unmapped fields untouched"
    assert REWRITTEN_TAG in after.tags
    assert history(col, note.id) == before, "card ids, due, interval, ease and review log are kept"
    assert before[0]["revlog"] and before[0]["ivl"] > 0
    assert col.undo_status().undo == UNDO_NAME


def test_a_rewrite_keeps_fsrs_memory_state(col: Collection) -> None:
    col.set_config("fsrs", True)
    note = add_note(col, "Cloze", {"Text": "{{c1::Paris}} is the capital of {{c2::France}}"})
    study(col, note)
    before = history(col, note.id)
    assert all(card["memory"] is not None for card in before)

    apply_review(col, [Rewrite(snapshot(col, note), {"text": "{{c1::Paris}} is France's {{c2::capital}}"})])

    assert history(col, note.id) == before
    assert col.get_note(note.id)["Text"] == "{{c1::Paris}} is France's {{c2::capital}}"


def test_a_split_adds_linked_notes_in_the_originals_deck_and_tags_and_suspends_it(col: Collection) -> None:
    note = add_note(
        col,
        "Basic",
        {"Front": "RSI: range and period?", "Back": "0-100; 14"},
        deck="Trading",
        tags=["indicators", "ai-source::123"],
    )
    study(col, note)
    before = history(col, note.id)
    pieces = [
        NewNote("basic", {"question": "What range does RSI have?", "answer": "0 to 100"}),
        NewNote("basic", {"question": "RSI's standard period?", "answer": "14"}),
        NewNote("cloze", {"text": "RSI runs from {{c1::0 to 100}}", "extra": "Momentum"}),
    ]

    result = apply_review(col, [Split(snapshot(col, note), pieces)], suspend_split=True)

    new_ids = result.added[note.id]
    assert len(new_ids) == 3
    news = [col.get_note(nid) for nid in new_ids]
    assert [n.note_type()["name"] for n in news] == ["Basic", "Basic", SPECS["cloze"].name]  # type: ignore[index]
    assert news[0]["Front"] == "What range does RSI have?" and news[1]["Back"] == "14"
    assert news[2]["Text"] == "RSI runs from {{c1::0 to 100}}" and news[2]["Extra"] == "Momentum"
    assert news[2]["Source"] == f"RSI: range and period? (nid:{note.id})"
    for new in news:
        assert sorted(new.tags) == sorted(["indicators", GENERATED_TAG, source_tag(note.id)])
        assert {col.decks.name(card.did) for card in new.cards()} == {"Trading"}
    original = col.get_note(note.id)
    assert original["Front"] == "RSI: range and period?", "the original is kept as it was"
    assert SPLIT_TAG in original.tags
    assert all(card.queue == QUEUE_TYPE_SUSPENDED for card in original.cards())
    kept = history(col, note.id)
    assert [c["revlog"] for c in kept] == [c["revlog"] for c in before]
    assert [c["id"] for c in kept] == [c["id"] for c in before]


def test_a_note_edited_since_the_review_is_refused_and_the_others_applied(col: Collection) -> None:
    edited = add_note(col, "Basic", {"Front": "Q1", "Back": "A1"})
    deleted = add_note(col, "Basic", {"Front": "Q2", "Back": "A2"})
    fine = add_note(col, "Basic", {"Front": "Q3", "Back": "A3"})
    reads = read_notes(col, [edited.id, deleted.id, fine.id], maps_for(col, edited))
    edited["Back"] = "My own better answer"
    col.update_note(edited)  # within the same second: the field shows the edit
    col.remove_notes([deleted.id])

    result = apply_review(col, [Rewrite(read, {"answer": "New"}) for read in reads])

    assert result.applied == [fine.id]
    assert set(result.refused) == {edited.id, deleted.id}
    assert "“Q1” was edited after the review" in result.refused[edited.id]
    assert "review it again" in result.refused[edited.id]
    assert result.refused[deleted.id] == "“Q2” was deleted since the review."
    assert col.get_note(edited.id)["Back"] == "My own better answer"
    assert col.get_note(fine.id)["Back"] == "New"


def test_nothing_applied_leaves_no_undo_step(col: Collection) -> None:
    note = add_note(col, "Basic", {"Front": "Q", "Back": "A"})
    read = snapshot(col, note)
    note["Front"] = "Q edited"
    col.update_note(note)
    undo_before = col.undo_status().undo

    result = apply_review(col, [Flag(read)])

    assert not result.applied and note.id in result.refused
    assert col.undo_status().undo == undo_before


def test_one_undo_restores_everything(col: Collection) -> None:
    rewritten = add_note(col, "Basic", {"Front": "Capital of France?", "Back": "Paris, on the Seine"})
    split = add_note(col, "Cloze", {"Text": "{{c1::Paris}} and {{c2::Lyon}}", "Back Extra": ""})
    flagged = add_note(col, "Basic", {"Front": "Is water wet?", "Back": "Yes"})
    for note in (rewritten, split, flagged):
        study(col, note)
    states = {note.id: history(col, note.id) for note in (rewritten, split, flagged)}
    fields = {note.id: list(col.get_note(note.id).fields) for note in (rewritten, split, flagged)}
    notes_before = col.note_count()
    reads = {n.note_id: n for n in read_notes(col, list(states), maps_for(col, rewritten, split))}

    apply_review(
        col,
        [
            Rewrite(reads[rewritten.id], {"answer": "Paris"}),
            Split(
                reads[split.id],
                [NewNote("cloze", {"text": "{{c1::Paris}}"}), NewNote("cloze", {"text": "x"})],
            ),
            Flag(reads[flagged.id]),
        ],
        suspend_split=True,
    )
    assert col.note_count() == notes_before + 2
    assert FLAGGED_TAG in col.get_note(flagged.id).tags

    col.undo()

    assert col.note_count() == notes_before
    for note_id, state in states.items():
        assert history(col, note_id) == state
        now = col.get_note(note_id)
        assert list(now.fields) == fields[note_id]
        assert not [tag for tag in now.tags if tag.startswith("ai-review")]
