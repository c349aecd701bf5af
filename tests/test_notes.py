"""The Anki side against a real collection: note types, add_cards, .apkg export."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha1
from pathlib import Path

import pytest
from anki.collection import (
    Collection,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)
from anki.decks import DeckId
from anki.hooks import note_will_be_added
from anki.notes import Note

from addon.notes import add_cards, ensure_notetype, write_apkg
from addon.notes.insert import UNDO_NAME, MissingDeck
from addon.notes.notetypes import CSS, MARKER, SPECS, find_notetype
from addon.pipeline.cards.formatting import note_fields
from addon.pipeline.models import BasicCard, Card, ClozeCard, Provenance


def basic(
    question: str,
    answer: str = "answer",
    *,
    extra: str = "",
    tags: list[str] | None = None,
    source: int | None = None,
) -> Card:
    return Card(
        id=f"b-{question}",
        draft=BasicCard(question=question, answer=answer, tags=tags or []),
        fields={"Front": question, "Back": answer, "Extra": extra},
        provenance=Provenance(source_note_id=source),
    )


def cloze(text: str, extra: str = "") -> Card:
    return Card(id=f"c-{text}", draft=ClozeCard(text=text), fields={"Text": text, "Extra": extra})


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    collection = Collection(str(tmp_path / "collection.anki2"))
    yield collection
    collection.close()


@pytest.fixture
def deck(col: Collection) -> DeckId:
    deck_id = col.decks.id("Generated")
    assert deck_id is not None
    return deck_id


def notes_of(col: Collection, kind: str) -> list[Note]:
    return [col.get_note(nid) for nid in col.find_notes(f'"note:{SPECS[kind].name}"')]


def test_note_types_are_created_once_and_reused(col: Collection) -> None:
    basic_type = ensure_notetype(col, "basic")
    cloze_type = ensure_notetype(col, "cloze")

    assert ensure_notetype(col, "basic")["id"] == basic_type["id"]
    assert [nt.name for nt in col.models.all_names_and_ids()].count(SPECS["basic"].name) == 1
    assert col.models.field_names(basic_type) == ["Front", "Back", "Extra", "Source"]
    assert col.models.field_names(cloze_type) == ["Text", "Extra", "Source"]
    assert (basic_type["type"], cloze_type["type"]) == (0, 1)
    assert "{{Extra}}" in basic_type["tmpls"][0]["afmt"]
    assert "{{cloze:Text}}" in cloze_type["tmpls"][0]["qfmt"]
    assert basic_type["css"] == CSS and ".nightMode pre" in CSS
    assert basic_type[MARKER]["kind"] == "basic"


def test_renamed_types_and_fields_are_still_ours(col: Collection, deck: DeckId) -> None:
    notetype = ensure_notetype(col, "basic")
    notetype["name"] = "My questions"
    col.models.rename_field(notetype, notetype["flds"][0], "Question")
    col.models.reposition_field(notetype, notetype["flds"][0], 1)
    col.models.update_dict(notetype)

    add_cards(col, [basic("What is Anki?", "A flashcard app")], deck_id=deck)

    note = col.get_note(col.find_notes('"note:My questions"')[0])
    assert note["Question"] == "What is Anki?" and note["Back"] == "A flashcard app"
    assert col.models.id_for_name(SPECS["basic"].name) is None


def test_css_is_updated_only_where_the_user_left_it_alone(col: Collection) -> None:
    old = ensure_notetype(col, "basic")
    old["css"] = ".card { color: red; }"
    old[MARKER] = {**old[MARKER], "css": sha1(old["css"].encode()).hexdigest()}
    col.models.update_dict(old)
    assert ensure_notetype(col, "basic")["css"] == CSS

    edited = ensure_notetype(col, "basic")
    edited["css"] += "\n.card { font-size: 30px; }"
    col.models.update_dict(edited)
    assert ensure_notetype(col, "basic")["css"] == edited["css"]


def test_add_cards_is_one_undo_step(col: Collection, deck: DeckId) -> None:
    cards = [basic(f"Question {i}") for i in range(3)] + [cloze("{{c1::Paris}} is in {{c2::France}}")]

    result = add_cards(col, cards, deck_id=deck)

    assert (result.added, result.skipped) == (4, 0)
    assert col.note_count() == 4 and col.card_count() == 5
    assert {col.get_note(nid).cards()[0].did for nid in result.note_ids.values()} == {deck}
    assert col.undo_status().undo == UNDO_NAME
    col.undo()
    assert col.note_count() == 0
    assert find_notetype(col, "basic") is None and find_notetype(col, "cloze") is None


def test_fields_and_tags(col: Collection, deck: DeckId) -> None:
    cards = [
        basic(
            "<b>Q</b>",
            "<i>A</i>",
            extra="more",
            tags=["machine learning", "a:: ::b", 'say"cheese"'],
            source=42,
        ),
        cloze("The {{c1::sun}} is a star", extra="<p>Astronomy</p>"),
    ]

    add_cards(col, cards, deck_id=deck, tags=["my tag", "AI-GENERATED", "  "])

    [basic_note] = notes_of(col, "basic")
    [cloze_note] = notes_of(col, "cloze")
    assert basic_note.fields == ["<b>Q</b>", "<i>A</i>", "more", ""]
    assert cloze_note.fields == ["The {{c1::sun}} is a star", "<p>Astronomy</p>", ""]
    assert {t.lower() for t in basic_note.tags} == {
        "machine_learning",
        "a::b",
        "say_cheese",
        "ai-generated",
        "ai-source::42",
        "my_tag",
    }
    assert {t.lower() for t in cloze_note.tags} == {"ai-generated", "my_tag"}


def test_duplicates_are_skipped(col: Collection, deck: DeckId) -> None:
    add_cards(col, [basic("<b>What is  a cell?</b>")], deck_id=deck)
    cards = [
        basic("what is a&nbsp;CELL?"),  # like the stored note
        basic("What is DNA?"),
        basic("<div>What is DNA?</div>"),  # like an earlier card in this batch
        cloze("What is a cell?"),  # another note type: not a duplicate
    ]

    result = add_cards(col, cards, deck_id=deck)

    assert (result.added, result.skipped) == (2, 2)
    assert result.skipped_card_ids == (cards[0].id, cards[2].id)
    assert col.note_count() == 3


@contextmanager
def another_addon_refusing(front: str) -> Iterator[None]:
    """Another add-on's hook that raises when the note with this front is added."""

    def refuse(col: Collection, note: Note, deck_id: DeckId) -> None:
        if note.fields[0] == front:
            raise RuntimeError("another add-on refuses")

    note_will_be_added.append(refuse)
    try:
        yield
    finally:
        note_will_be_added.remove(refuse)


def test_a_failing_batch_adds_nothing(col: Collection, deck: DeckId) -> None:
    undo_before = col.undo_status().undo
    with another_addon_refusing("Question 2"), pytest.raises(RuntimeError):
        add_cards(col, [basic(f"Question {i}") for i in range(4)], deck_id=deck)

    assert col.note_count() == 0
    assert find_notetype(col, "basic") is None
    assert col.undo_status().undo == undo_before


def test_after_a_failed_batch_a_retry_adds_each_card_once(col: Collection, deck: DeckId) -> None:
    cards = [basic(f"Question {i}") for i in range(4)]
    with another_addon_refusing("Question 2"), pytest.raises(RuntimeError):
        add_cards(col, cards, deck_id=deck)

    assert add_cards(col, cards, deck_id=deck).added == 4
    again = add_cards(col, cards, deck_id=deck)
    assert (again.added, again.skipped) == (0, 4) and col.note_count() == 4


def test_a_deck_deleted_meanwhile_adds_nothing_and_says_so(col: Collection, deck: DeckId) -> None:
    col.decks.remove([deck])

    with pytest.raises(MissingDeck, match="the deck chosen for them no longer exists"):
        add_cards(col, [basic("Question")], deck_id=deck)
    assert col.note_count() == 0


def test_a_note_type_deleted_meanwhile_is_made_again(col: Collection, deck: DeckId) -> None:
    add_cards(col, [basic("First")], deck_id=deck)
    notetype = find_notetype(col, "basic")
    assert notetype is not None
    col.models.remove(notetype["id"])

    assert add_cards(col, [basic("First"), basic("Second")], deck_id=deck).added == 2
    assert [note["Front"] for note in notes_of(col, "basic")] == ["First", "Second"]


def test_unrendered_cards_use_their_draft_text(col: Collection, deck: DeckId) -> None:
    card = Card(id="raw", draft=BasicCard(question="Is `1 < 2`?", answer="**yes**"))

    add_cards(col, [card], deck_id=deck)

    assert notes_of(col, "basic")[0].fields == [*note_fields(card.draft).values(), ""]
    assert "<strong>yes</strong>" in notes_of(col, "basic")[0]["Back"]


def import_apkg(col: Collection, path: Path) -> None:
    col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=ImportAnkiPackageOptions())
    )


def test_apkg_imports_into_a_fresh_collection(tmp_path: Path, col: Collection) -> None:
    cards = [basic("Capital of Italy?", "Rome", tags=["geo"]), cloze("{{c1::Rome}} is in Italy")]
    path = tmp_path / "out.apkg"

    assert write_apkg(cards, path, deck_name="Geo::Europe") == 2

    import_apkg(col, path)
    [basic_note] = notes_of(col, "basic")
    [cloze_note] = notes_of(col, "cloze")
    assert basic_note.fields == ["Capital of Italy?", "Rome", "", ""]
    assert cloze_note["Text"] == "{{c1::Rome}} is in Italy"
    assert {t.lower() for t in basic_note.tags} == {"geo", "ai-generated"}
    assert col.decks.name(basic_note.cards()[0].did) == "Geo::Europe"
    # The imported note types are recognised as ours, so adding to them later reuses them.
    assert ensure_notetype(col, "basic")["id"] == basic_note.mid
    assert ensure_notetype(col, "cloze")["id"] == cloze_note.mid


def test_packages_share_their_note_types(tmp_path: Path, col: Collection) -> None:
    for name in ("first", "second"):
        path = tmp_path / f"{name}.apkg"
        write_apkg([basic(f"{name} basic"), cloze(f"{{{{c1::{name}}}}} cloze")], path, deck_name="D")
        import_apkg(col, path)

    assert col.note_count() == 4
    ours = [nt.name for nt in col.models.all_names_and_ids() if nt.name.startswith("AI Card Generator")]
    assert sorted(ours) == [SPECS["basic"].name, SPECS["cloze"].name]
