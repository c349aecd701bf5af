"""Every text and list a model fills in is bounded (README, "Reliability"), in the JSON schema it is sent
and when its reply is validated: a text beyond its bound is asked for again, a list is cut to its bound."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from addon.pipeline import Source, models
from addon.pipeline.models import MAX_CARDS, MAX_SPLIT, MAX_TEXT, CardDrafts, Review, WrittenCard

from .fake_openai import FakeOpenAI, Reply, Request
from .pipeline_crew import Crew, first_ask, made_up_word, run

ONE_TOPIC = Source(text="## Photosynthesis\nPlants turn light into sugar in their chloroplasts.\n")

REPLIES = [
    models.TopicAnalysis,
    models.CardDrafts,
    models.ExtraFields,
    models.Review,
    models.Revision,
    models.RepairedCard,
    models.Decision,
    models.decision_offering(("Reviewer", "END")),
    models.KeyIdeas,
    models.Verdicts,
]


def unbounded(schema: dict[str, Any], definitions: dict[str, Any], where: str = "") -> list[str]:
    """Strings without maxLength (enums aside) and arrays without maxItems, anywhere in `schema`."""
    if "$ref" in schema:
        return unbounded(definitions[schema["$ref"].rsplit("/", 1)[1]], definitions, where)
    found = []
    if schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
        found += [where] if "maxLength" not in schema else []
    if schema.get("type") == "array":
        found += [where] if "maxItems" not in schema else []
        found += unbounded(schema["items"], definitions, f"{where}[]")
    for name, value in schema.get("properties", {}).items():
        found += unbounded(value, definitions, f"{where}.{name}")
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += unbounded(option, definitions, where)
    return found


@pytest.mark.parametrize("reply", REPLIES, ids=[reply.__name__ for reply in REPLIES])
def test_every_text_and_list_a_model_fills_is_bounded(reply: type[BaseModel]) -> None:
    schema = reply.model_json_schema()
    assert unbounded(schema, schema.get("$defs", {})) == []


def test_a_text_beyond_its_bound_is_asked_for_again(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2)

    def wordy(request: Request) -> Reply:
        reply = crew(request)
        if request.schema_name == "CardDrafts" and first_ask(request) == request.messages:
            cards = [{**card, "back": "word " * MAX_TEXT} for card in reply.data["cards"]]
            return Reply.json({"cards": cards})
        return reply

    result = run(fake_openai, wordy, [ONE_TOPIC])

    assert len(result.cards) == 2 and not result.errors
    repair = [r for r in fake_openai.requests if r.schema_name == "CardDrafts"][1]
    assert f"back: String should have at most {MAX_TEXT} characters" in repair.messages[-1]["content"]


def test_a_question_has_a_question_s_bound_though_the_front_may_hold_a_cloze() -> None:
    long = "word " * (MAX_TEXT // 5 + 1)
    assert WrittenCard(kind="cloze", front=long + "{{c1::end}}").front
    for kind in ("basic", "cloze"):
        card = {"kind": kind, "front": long, "back": "x"}
        with pytest.raises(ValidationError, match="a question has at most 1,000 characters"):
            WrittenCard.model_validate(card)


def test_too_many_cards_are_cut_to_the_bound(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=MAX_CARDS + 5)
    result = run(fake_openai, crew, [ONE_TOPIC])

    assert len(result.cards) == MAX_CARDS and not result.errors
    assert len(crew.requests("CardDrafts")) == 1
    assert CardDrafts.model_json_schema()["properties"]["cards"]["maxItems"] == MAX_CARDS


def test_a_card_is_split_into_at_most_the_bound(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2)

    def split_wide(request: Request) -> Reply:
        if request.schema_name == "Review":
            cards = [  # distinct cards: repeats of each other would be dropped
                {"kind": "basic", "front": f"What is {made_up_word(n)}?", "back": made_up_word(n, "back")}
                for n in range(MAX_SPLIT + 5)
            ]
            return Reply.json({"edits": [{"card": 1, "action": "split", "cards": cards}], "changes": []})
        return crew(request)

    result = run(fake_openai, split_wide, [ONE_TOPIC])

    assert len(result.cards) == MAX_SPLIT + 1 and not result.errors
    assert Review.model_json_schema()["$defs"]["CardEdit"]["properties"]["cards"]["maxItems"] == MAX_SPLIT
