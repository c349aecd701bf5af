"""The judge's figures: cards as a learner reviews them, a note counted by its worst card, coverage by good
cards only, verdicts the judge left out or gave twice; and the judge's requests over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from addon.pipeline.agents.judge import BATCH
from addon.pipeline.models import BasicCard, Card, ClozeCard, KeyIdea, RunResult, Usage
from addon.pipeline.workflow.evaluation import JudgedCard, evaluate, learner_cards, summarize

from .fake_openai import FakeOpenAI, Reply
from .pipeline_crew import Crew, cards_in, source_of, task

pytestmark = pytest.mark.timeout(60)

CARDS = [
    Card(id="b", draft=BasicCard(question="What does RSI measure?", answer="Momentum", extra="Why: …")),
    Card(
        id="c",
        draft=ClozeCard(text="{{c1::SMA}} weights prices equally, {{c2::EMA::which?}} recent ones more"),
    ),
]
IDEAS = [
    KeyIdea(idea="RSI is a momentum index", integrating=False),
    KeyIdea(idea="SMA vs EMA", integrating=True),
]


def test_a_cloze_note_is_one_card_per_number_as_the_learner_sees_it() -> None:
    reviewed = learner_cards(CARDS)

    assert [(c.note, c.number) for c in reviewed] == [("b", 1), ("c", 1), ("c", 2)]
    assert reviewed[0].front == "What does RSI measure?" and reviewed[0].back == "Momentum"
    assert reviewed[1].front == "[...] weights prices equally, EMA recent ones more"
    assert reviewed[2].front == "SMA weights prices equally, [which?] recent ones more"
    assert reviewed[2].back == "SMA weights prices equally, EMA recent ones more"


def judged(
    note: str, number: int, verdict: str | None, *defects: str, ideas: tuple[int, ...] = ()
) -> JudgedCard:
    return JudgedCard.model_validate(
        {
            "note": note,
            "number": number,
            "front": "?",
            "back": "!",
            "verdict": verdict,
            "defects": list(defects),
            "ideas": list(ideas),
        }
    )


def test_a_note_counts_by_its_worst_card_and_only_good_cards_cover_ideas() -> None:
    cards = [
        judged("b", 1, "usable", ideas=(1,)),
        judged("c", 1, "polish", "L", ideas=(2,)),
        judged("c", 2, "unusable", "L", "L", "D", ideas=(2,)),
        judged("d", 1, "rework", "A", ideas=(3, 99)),
        judged("e", 1, None),
    ]
    run = RunResult(usage=Usage(requests=6, prompt_tokens=2_000))
    summary = summarize(
        "one two three four", run, IDEAS + [KeyIdea(idea="x", integrating=True)], cards, Usage()
    )

    assert summary.classes == {"usable": 1, "polish": 1, "unusable": 1, "rework": 1}
    assert summary.note_classes == {"usable": 1, "unusable": 1, "rework": 1}
    assert summary.defects == {"L": 2, "D": 1, "A": 1}, "a letter counts once per card"
    assert (summary.covered, summary.ideas, summary.integrating_covered, summary.integrating) == (2, 3, 1, 2)
    table = summary.table()
    assert "| not judged | 1 |" in table and "| usable or polish | 2 (50.0%) |" in table
    assert "| notes usable or polish | 1 (33.3%) |" in table
    assert "| requests | 6 (1500.0 per 1,000 words) |" in table
    assert "| prompt tokens | 2,000 (1,000 per usable or polish card) |" in table


def test_the_judge_sees_the_source_the_ideas_and_earlier_cards_in_batches(fake_openai: FakeOpenAI) -> None:
    many = [
        Card(id=str(n), draft=BasicCard(question=f"Question {n}?", answer=f"Answer {n}")) for n in range(40)
    ]
    crew = Crew()
    fake_openai.handler = crew
    fake_openai.on(
        lambda request: request.schema_name == "Verdicts" and "Question 35?" in task(request), crew
    )
    evaluation = asyncio.run(evaluate("The text.", RunResult(cards=many), fake_openai.settings()))

    first, second = sorted(crew.requests("Verdicts"), key=lambda request: len(task(request)))
    assert source_of(first) == "The text." and task(first).startswith("Key ideas:\n1. RSI measures momentum")
    assert [card["card"] for card in cards_in(first)] == list(range(1, BATCH + 1))
    assert [card["card"] for card in cards_in(second)] == list(range(1, 41)), "earlier cards shown first"
    assert "Cards judged before these (for duplicates):" in task(second)
    assert all(card.verdict is not None for card in evaluation.cards)
    assert evaluation.summary.cards == 40 and evaluation.summary.judge_usage.requests == 3


def test_verdicts_left_out_or_given_twice(fake_openai: FakeOpenAI) -> None:
    twice = {"card": 1, "comment": "", "defects": [], "verdict": "usable", "ideas": []}
    fake_openai.on("KeyIdeas", Reply.json({"ideas": []}))
    fake_openai.on(
        "Verdicts", Reply.json({"cards": [twice, {**twice, "verdict": "unusable"}, {**twice, "card": 9}]})
    )
    evaluation = asyncio.run(evaluate("Text.", RunResult(cards=CARDS), fake_openai.settings()))

    assert [card.verdict for card in evaluation.cards] == ["usable", None, None]
    assert "| not judged | 2 |" in evaluation.summary.table()
