"""Notes as sources, provenance both ways, duplicates, the Source field on older note types, rendering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from anki.collection import Collection
from anki.decks import DeckId
from anki.notes import Note

from addon.notes import Origin, add_cards, ensure_notetype
from addon.notes.duplicates import duplicate_key, existing_keys
from addon.notes.insert import MissingDeck
from addon.notes.notetypes import SPECS, find_notetype, needs_new_fields
from addon.notes.provenance import generated_from_search, source_note_ids, source_notes_search
from addon.notes.render import render_card
from addon.notes.sources import html_to_text, note_sources, source_from_fields
from addon.pipeline.models import BasicCard, Card, Provenance


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    collection = Collection(str(tmp_path / "collection.anki2"))
    yield collection
    collection.close()


def add_basic(col: Collection, front: str, back: str, deck: str = "Default") -> Note:
    note = col.new_note(col.models.by_name("Basic"))
    note["Front"], note["Back"] = front, back
    deck_id = col.decks.id(deck)
    assert deck_id is not None
    col.add_note(note, deck_id)
    return note


def generated(question: str, source: int | None) -> Card:
    draft = BasicCard(question=question, answer="An answer")
    fields = {"Front": question, "Back": "An answer", "Extra": ""}
    return Card(id=f"id-{question}", draft=draft, fields=fields, provenance=Provenance(source_note_id=source))


def test_html_fields_become_readable_text_without_media() -> None:
    html = (
        "<div><b>RSI</b> measures momentum.</div><div>Range:&nbsp;0&ndash;100<br>Period: 14</div>"
        '<img src="chart.png"> [sound:rsi.mp3]<ul><li>overbought &gt; 70</li><li>oversold &lt; 30</li></ul>'
        "The {{c1::signal line::name}} is an EMA."
    )
    assert html_to_text(html) == (
        "RSI measures momentum.\nRange: 0–100\nPeriod: 14\noverbought > 70\noversold < 30\n"
        "The signal line is an EMA."
    )


def test_a_note_is_a_source_with_its_fields_title_and_deck(col: Collection) -> None:
    note = add_basic(col, "What does <i>RSI</i> measure?", "Momentum<br>(speed of price changes)", "Trading")
    empty = add_basic(col, "<img src='x.png'>", "")

    [source] = note_sources(col, [note.id, empty.id])

    assert source.note_id == note.id
    assert source.title == "What does RSI measure?"
    assert source.text == "Front: What does RSI measure?\n\nBack: Momentum\n(speed of price changes)"
    assert source.deck_id == col.decks.id("Trading")


def test_an_unsaved_note_from_the_add_window_is_a_source_too() -> None:
    source = source_from_fields(["Front", "Back"], ["A" * 200, "b"])
    assert source.note_id is None and source.deck_id is None
    assert len(source.title) == 80 and source.title.endswith("…")


def test_provenance_leads_from_the_source_note_to_its_cards_and_back(col: Collection) -> None:
    source = add_basic(col, "RSI", "Momentum", "Trading")
    other = add_basic(col, "MACD", "Trend")
    trading = col.decks.id("Trading")
    assert trading is not None
    origins = {
        source.id: Origin("RSI", source.id, trading),
        other.id: Origin("MACD", other.id, None),
    }
    cards = [generated("What is RSI?", source.id), generated("What is MACD?", other.id)]
    default = col.decks.id("Generated")
    assert default is not None

    result = add_cards(col, cards, deck_id=default, origins=origins)

    from_rsi = col.find_notes(generated_from_search([source.id]))
    assert list(from_rsi) == [result.note_ids["id-What is RSI?"]]
    rsi_note = col.get_note(from_rsi[0])
    assert rsi_note["Source"] == f"RSI (nid:{source.id})"
    assert rsi_note.cards()[0].did == trading, "a card goes to its note's deck"
    macd_note = col.get_note(result.note_ids["id-What is MACD?"])
    assert macd_note.cards()[0].did == default
    back = source_note_ids(col, [rsi_note.id, macd_note.id])
    assert back == [source.id, other.id]
    assert list(col.find_notes(source_notes_search(back))) == sorted([source.id, other.id])
    assert {"ai-generated", f"ai-source::{source.id}"} <= set(rsi_note.tags)


def test_a_source_note_s_deck_deleted_meanwhile_adds_nothing_and_says_so(col: Collection) -> None:
    source = add_basic(col, "RSI", "Momentum", "Trading")
    trading, default = col.decks.id("Trading"), col.decks.id("Generated")
    assert trading is not None and default is not None
    col.decks.remove([trading])  # after the window opened with the note

    with pytest.raises(MissingDeck, match="the deck of one of their source notes no longer exists"):
        add_cards(
            col,
            [generated("What is RSI?", source.id)],
            deck_id=default,
            origins={source.id: Origin("RSI", source.id, trading)},
        )
    assert col.find_notes("tag:ai-generated") == []


def test_pasted_text_gets_its_title_in_the_source_field(col: Collection) -> None:
    deck = col.decks.id("Default")
    assert deck is not None
    result = add_cards(
        col, [generated("Q?", None)], deck_id=DeckId(deck), origins={None: Origin("My <article>")}
    )
    note = col.get_note(next(iter(result.note_ids.values())))
    assert note["Source"] == "My &lt;article&gt;"
    assert [tag for tag in note.tags if tag.startswith("ai-source")] == []


def test_an_older_note_type_gets_the_source_field_only_when_allowed(col: Collection) -> None:
    notetype = ensure_notetype(col, "basic")
    col.models.remove_field(notetype, notetype["flds"][3])  # as the previous version made it
    col.models.update_dict(notetype)
    assert needs_new_fields(col)
    deck = col.decks.id("Default")
    assert deck is not None
    source = add_basic(col, "RSI", "Momentum")

    add_cards(
        col,
        [generated("One?", source.id)],
        deck_id=deck,
        origins={source.id: Origin("RSI", source.id)},
        add_fields=False,
    )
    assert needs_new_fields(col)
    add_cards(
        col, [generated("Two?", source.id)], deck_id=deck, origins={source.id: Origin("RSI", source.id)}
    )
    assert not needs_new_fields(col)

    notes = [col.get_note(nid) for nid in col.find_notes(generated_from_search([source.id]))]
    assert sorted(note["Source"] for note in notes) == ["", f"RSI (nid:{source.id})"]
    basic_type = find_notetype(col, "basic")
    assert basic_type is not None and [f["name"] for f in basic_type["flds"]] == list(SPECS["basic"].fields)


def test_duplicates_are_compared_the_way_the_lints_compare_cards(col: Collection) -> None:
    assert duplicate_key("<b>What is  RSI?</b>") == duplicate_key("what is rsi") == "what is rsi"
    assert duplicate_key("{{c1::Paris}} is in&nbsp;France.") == "paris is in france"
    assert duplicate_key("<img src='a.png'>") == ""
    deck = col.decks.id("Default")
    assert deck is not None
    add_cards(col, [generated("What is RSI?", None)], deck_id=deck)

    assert existing_keys(col, "basic") == {"what is rsi"} and existing_keys(col, "cloze") == set()
    result = add_cards(col, [generated("What is RSI", None)], deck_id=deck)
    assert result.skipped == 1


def test_cards_render_as_anki_will_show_them(col: Collection) -> None:
    basic = render_card(col, "basic", {"Front": "What is RSI?", "Back": "<b>Momentum</b>", "Extra": "More"})
    assert "What is RSI?" in basic.question and "Momentum" not in basic.question
    assert '<hr id="answer">' in basic.answer and "<b>Momentum</b>" in basic.answer and "More" in basic.answer
    assert ".nightMode" in basic.question and basic.count == 1

    cloze = render_card(col, "cloze", {"Text": "{{c1::Paris}} is in {{c2::France}}"}, ord=1)
    assert (cloze.ord, cloze.count) == (1, 2)
    assert "[...]" in cloze.question and "Paris" in cloze.question and ">France<" not in cloze.question
    assert ">France<" in cloze.answer
