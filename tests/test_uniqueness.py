"""The run owns uniqueness: topics of different chunks merged by meaning, recaps dropped, chunk overlaps given
once, and every Reviewer shown the cards of other topics that look like its own; and each agent gets the
passages of the source it needs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from addon.pipeline import CardsChanged, ProgressEvent, Source
from addon.pipeline.cards.similarity import Corpus, similarity, stems
from addon.pipeline.models import AnalyzedTopic, BasicCard, Card, CardDraft, ClozeCard, Provenance
from addon.pipeline.workflow.chunking import chunk_sources, chunk_text
from addon.pipeline.workflow.events import Batch, PlannedTopic
from addon.pipeline.workflow.excerpts import GAP, excerpt
from addon.pipeline.workflow.topics import merge_topics
from addon.pipeline.workflow.written import MAX_SHOWN, WrittenCards, repeats

from .fake_openai import FakeOpenAI, Reply, Request
from .pipeline_crew import Crew, cards_in, long_text, run, source_of, task, topics_of

pytestmark = pytest.mark.timeout(60)


def topic(name: str, *points: str, connections: tuple[str, ...] = (), **fields: Any) -> AnalyzedTopic:
    return AnalyzedTopic(name=name, key_points=list(points), connections=list(connections), **fields)


MOVING_AVERAGES = topic(
    "Moving averages",
    "SMA weights every price equally",
    "EMA weights recent prices more and reacts faster",
    "Golden cross: 50-day average crosses above the 200-day",
)
RSI = topic("Relative Strength Index", "RSI measures the speed of price changes", "Above 70 is overbought")


def test_the_same_name_in_two_chunks_is_one_topic() -> None:
    again = topic("moving  Averages!", "Death cross: 50-day average crosses below the 200-day", code=True)
    [plan] = merge_topics([(0, MOVING_AVERAGES), (1, again)])

    assert plan.topic.name == "Moving averages" and plan.chunks == [0, 1]
    assert plan.topic.key_points[-1].startswith("Death cross") and plan.topic.code


def test_a_later_chunk_joins_a_topic_with_mostly_the_same_points_and_brings_only_new_ones() -> None:
    renamed = topic(
        "Trend-following averages",
        "The EMA reacts faster because it weights recent prices more",
        "The SMA weights all prices equally",
        "Moving averages lag price, so they confirm trends",
        importance=3,
    )
    plans = merge_topics([(0, MOVING_AVERAGES), (0, RSI), (1, renamed)])

    assert [plan.topic.name for plan in plans] == ["Moving averages", "Relative Strength Index"]
    merged = plans[0]
    assert merged.chunks == [0, 1] and merged.topic.importance == 3
    assert merged.topic.key_points == [
        *MOVING_AVERAGES.key_points,
        "Moving averages lag price, so they confirm trends",
    ]


def test_a_recap_whose_points_all_repeat_earlier_ones_is_dropped() -> None:
    recap = topic(
        "Conclusion: reading indicators",
        "RSI measures the speed of price changes",
        "The EMA weights recent prices more, so it reacts faster",
    )
    new = topic("Bollinger Bands", "Bands widen when volatility rises")
    plans = merge_topics([(0, MOVING_AVERAGES), (0, RSI), (1, recap), (1, new)])

    assert [plan.topic.name for plan in plans] == [
        "Moving averages",
        "Relative Strength Index",
        "Bollinger Bands",
    ]


def test_topics_of_one_chunk_stay_apart_even_when_alike() -> None:
    simple = topic("Simple moving average", "Weights every price equally")
    exponential = topic("Exponential moving average", "Weights recent prices more")
    assert len(merge_topics([(0, simple), (0, exponential)])) == 2


def test_joined_chunks_give_their_overlap_once() -> None:
    text = long_text(12)
    chunks = chunk_sources([Source(text=text)], context_window=16_000)
    assert len(chunks) == 3 and chunks[0].text[-200:] in chunks[1].text  # they do overlap

    joined = chunk_text(chunks, [1, 2])
    assert text.endswith(joined)
    assert chunk_text(chunks, [0, 1]) in text


def test_similarity_finds_the_same_fact_asked_another_way() -> None:
    same = [
        "What does RSI measure? The speed and magnitude of recent price changes",
        "RSI measures the speed and magnitude of recent price changes.",
        "Which indicator measures the speed and magnitude of price changes? RSI",
    ]
    different = [
        "What is a golden cross? The 50-day average crossing above the 200-day average",
        "What is a death cross? The 50-day average crossing below the 200-day average",
        "What RSI reading signals overbought conditions? Above 70",
    ]
    corpus = Corpus([*same, *different])
    score = [[corpus.similarity(a, b) for b in corpus.stems] for a in corpus.stems]
    assert min(score[i][j] for i in range(3) for j in range(3)) > 0.75
    assert max(score[i][j] for i in range(3, 6) for j in range(6) if i != j) < 0.72
    assert stems("Prices, PRICE and priced?") == {"price", "price"[:5]} == {"price"}
    assert similarity("", "anything") == 0.0


def batch(key: int, *names: str) -> Batch:
    return Batch(
        source_index=0, index=key, topics=[PlannedTopic(topic=topic(name)) for name in names], text=""
    )


def cards(topic: str, *drafts: CardDraft) -> list[Card]:
    return [Card(id=f"{topic}{n}", draft=d, provenance=Provenance(topic=topic)) for n, d in enumerate(drafts)]


def test_written_cards_show_a_reviewer_what_earlier_batches_asked_alike() -> None:
    written = WrittenCards()
    rsi, momentum = batch(0, "RSI"), batch(1, "Momentum")
    written.update(
        rsi, cards("RSI", BasicCard(question="What does RSI measure?", answer="The speed of price changes"))
    )
    written.update(momentum, cards("Momentum", BasicCard(question="Who proposed RSI?", answer="Wilder")))
    later = cards("Later", BasicCard(question="What does RSI measure?", answer="Speed"))
    written.update(batch(2, "Later"), later)  # later in the plan: its Reviewer sees ours, not we its
    drafts: list[CardDraft] = [
        ClozeCard(text="The RSI measures the {{c1::speed}} of price changes."),
        BasicCard(question="What does momentum trading buy?", answer="Recent winners"),
    ]

    close = written.close_to(momentum, drafts)

    assert [json.loads(line) for line in close.lines] == [
        {"topic": "RSI", "front": "What does RSI measure?", "back": "The speed of price changes"}
    ]
    [finding] = close.findings[0]
    assert finding.lint_id == "near-duplicate" and '"RSI"' in finding.message
    assert close.findings[1] == []
    assert written.close_to(batch(3, "Other"), []).lines == []


def test_a_card_named_in_a_near_duplicate_finding_is_always_shown() -> None:
    written = WrittenCards()
    related = [
        BasicCard(question=f"What does RSI measure on chart {n}?", answer=f"The speed of price changes {n}")
        for n in range(MAX_SHOWN + 3)
    ]
    same = BasicCard(question="Which index measures momentum from 0 to 100?", answer="RSI")
    written.update(batch(0, "RSI"), cards("RSI", *related, same))
    drafts: list[CardDraft] = [
        *related[:2],
        BasicCard(question="Which index measures momentum on a 0 to 100 scale?", answer="The RSI"),
    ]

    close = written.close_to(batch(1, "Momentum"), drafts)

    assert len(close.lines) == MAX_SHOWN
    assert any("0 to 100" in line for line in close.lines) and close.findings[2]


def test_a_card_that_repeats_one_finished_before_it_is_dropped_and_said_so() -> None:
    finished = cards(
        "LSM-trees",
        BasicCard(
            question="Why do LSM-trees have a higher write throughput than B-trees?",
            answer="They write sequentially",
        ),
        BasicCard(question="What does compaction merge in an LSM-tree?", answer="SSTables"),
    )
    batch_cards = cards(
        "B-trees",
        BasicCard(
            question="Why is the write throughput of LSM-trees higher than that of B-trees?",
            answer="Sequential writes",
        ),
        BasicCard(
            question="What does compaction merge in an LSM-tree?", answer="Sorted runs"
        ),  # the same front
        ClozeCard(text="A B-tree updates pages {{c1::in place}}."),
        ClozeCard(text="A B-tree updates its pages {{c1::in place}}."),  # repeats the card before it
        BasicCard(question="Which B-tree pages does a write update?", answer="The leaf page and its parents"),
    )

    dropped = repeats(batch_cards, finished)

    assert [index for index, _ in dropped] == [0, 1, 3]
    assert dropped[0][1] == (
        'Dropped "Why is the write throughput of LSM-trees higher than that of B-trees?": it asks what '
        '"Why do LSM-trees have a higher write throughput than B-trees?" asks.'
    )
    assert repeats(finished, []) == []


def test_cards_built_alike_that_ask_for_different_things_both_stay() -> None:
    alike = cards(
        "RSI",
        BasicCard(question="Above which RSI reading is a stock called overbought?", answer="70"),
        BasicCard(question="Below which RSI reading is a stock called oversold?", answer="30"),
        ClozeCard(text="The RSI's {{c1::overbought}} line is at 70 by default."),
        ClozeCard(text="The RSI's {{c1::oversold}} line is at 30 by default."),
    )
    assert repeats(alike, []) == []


def same_card_everywhere(crew: Crew) -> Any:
    """The crew, except that every batch also writes one card on the same fact."""

    def answer(request: Request) -> Reply:
        reply = crew(request)
        if request.schema_name != "CardDrafts":
            return reply
        article = "the " if topics_of(request)[0]["name"] == "Squeeze" else ""
        same = {"kind": "basic", "front": f"What does {article}RSI measure?", "back": "Momentum", "extra": ""}
        return Reply.json({"cards": [*reply.data["cards"], same]})

    return answer


def test_a_reviewer_sees_the_earlier_batches_cards_that_look_alike_and_the_run_keeps_one(
    fake_openai: FakeOpenAI,
) -> None:
    crew = Crew(cards_per_topic=2)
    sources = [
        Source(text="## Squeeze\nBollinger Bands narrow before strong moves."),
        Source(text="## Golden Cross\nThe 50-day average crosses the 200-day."),
    ]
    fake_openai.on("CardDrafts", same_card_everywhere(crew))
    events: list[ProgressEvent] = []
    result = run(fake_openai, crew, sources, max_concurrency=1, on_event=events.append)

    reviews = crew.requests("Review")
    assert len(reviews) == 2
    assert sorted(source_of(review) or "" for review in reviews) == sorted(s.text for s in sources)
    # The second source's batch comes later in the plan: its Reviewer sees the first one's card, which stays.
    [seeing] = [review for review in reviews if "Cards of other topics that look close" in task(review)]
    assert source_of(seeing) == sources[1].text
    lines = task(seeing).splitlines()
    shown = lines[lines.index("Review these cards:") - 1]
    assert json.loads(shown)["front"] == "What does the RSI measure?"
    assert any(finding.startswith("near-duplicate: ") for finding in cards_in(seeing)[-1]["lint"])
    # The Reviewers kept both; the batch finished second drops its copy, and says so.
    rsi = [card for card in result.cards if "RSI measure?" in card.fields["Front"]]
    assert len(rsi) == 1 and len(result.cards) == 2 * 2 + 1
    [dropped] = [e for e in events if isinstance(e, CardsChanged) and e.role == "Formatter"]
    assert dropped.changes[0].startswith('Dropped "What does ') and "RSI measure?" in dropped.changes[0]


ARTICLE = (
    """# Indicators

An introduction that says nothing in particular about any indicator at all.

## RSI

The RSI measures the speed of price changes on a scale from 0 to 100.

```python
rsi = 100 - 100 / (1 + gain / loss)
```

## Moving averages

The EMA weights recent prices more than the SMA, so it reacts faster.

## Volume

Volume counts the shares traded in a day; rising prices on rising volume confirm a trend.
"""
    + "\n\nFiller paragraph about the weather and nothing else, repeated to make the text long." * 30
)


def test_an_excerpt_keeps_the_passages_asked_about_in_order_and_marks_the_gaps() -> None:
    text = excerpt(ARTICLE, ["How the EMA differs from the SMA", "What the RSI measures"], 600)

    assert text.startswith(GAP) and text.endswith(GAP)
    [shown] = [part.strip() for part in text.split(GAP) if part.strip()]  # neighbours: no gap between
    assert shown.startswith("## RSI\n") and "rsi = 100 - 100" in shown, "heading and code stay with it"
    assert "```\n\n## Moving averages\n\nThe EMA weights" in shown
    assert "Volume" not in text and "weather" not in text


def test_an_excerpt_of_a_short_text_is_the_text() -> None:
    assert excerpt("## RSI\nShort.", ["anything"], 600) == "## RSI\nShort."


def test_every_query_gets_its_passage_before_the_limit_is_filled() -> None:
    long_passage = "The RSI " + "measures momentum " * 40
    text = "\n\n".join([long_passage, "Volume confirms trends.", "Filler text. " * 60])
    shown = excerpt(text, ["RSI momentum", "Volume confirms"], 500)
    assert "Volume confirms trends." in shown, (
        "the second query's evidence, though the first filled the limit"
    )
    assert excerpt(text, ["nothing matches here"], 500).startswith("The RSI"), "nothing alike: the start"


PHYSICS = """## Compound interest

Money grows by compound interest when the interest is added to the principal each period. The amount after
t years at a yearly rate r, compounded n times a year, is

$$A = P\\left(1 + \\frac{r}{n}\\right)^{nt}$$

where P is the principal. More frequent compounding gives slightly more.

## Radioactive decay

Unstable nuclei decay at random, and the number left falls exponentially with time. The half-life is the
time after which half the nuclei are left: \\(N(t) = N_0 \\cdot 2^{-t/T_{1/2}}\\), with
\\(N_0 = 6.02 \\times 10^{23}\\) nuclei at the start in the textbook's example.
\\[
\\lambda = \\frac{\\ln 2}{T_{1/2}}
\\]
The decay constant above links the two descriptions of the same process.

""" + "\n\n".join(f"Filler paragraph {n} about the weather and nothing else at all." for n in range(40))


def test_an_excerpt_keeps_its_topics_formula_and_leaves_out_unrelated_ones() -> None:
    asked = ["Compound interest", "The amount after t years: A = P(1 + r/n)^(nt)", "Compounding more often"]
    interest = excerpt(PHYSICS, asked, 1_000)
    assert "$$A = P\\left(1 + \\frac{r}{n}\\right)^{nt}$$" in interest, "a formula paragraph joins its intro"
    assert "where P is the principal" in interest, (
        "a paragraph starting in lower case continues the one before"
    )
    assert "T_{1/2}" not in interest

    decay = excerpt(PHYSICS, ["Half-life of radioactive decay", "The decay constant"], 1_000)
    assert "\\(N(t) = N_0 \\cdot 2^{-t/T_{1/2}}\\)" in decay and "10^{23}\\)" in decay, "never cut inside"
    assert "\\lambda = \\frac{\\ln 2}{T_{1/2}}" in decay, "a displayed formula stays with its sentence"
    assert "$$A = P" not in decay
