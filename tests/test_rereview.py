"""The re-review route against the local OpenAI-compatible server: existing notes in batches to the Reviewer,
verdicts made consistent, the Code and Extra Field Expert and the Formatter on the suggested cards, hostile
rewrites sanitized, feedback, Stop and resume, a failed batch, and 500 notes within the request budget."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from addon.pipeline.models import ExistingNote, NoteCard, ReviewResult
from addon.pipeline.workflow.events import ProgressEvent
from addon.pipeline.workflow.rereview import NOTES_PER_BATCH, ReviewJob, plan_batches, review_notes
from addon.pipeline.workflow.review_events import VerdictsReady

from .card_safety import field_problems
from .fake_openai import FakeOpenAI, Reply, Request
from .faults import HOSTILE
from .pipeline_crew import Crew, notes_in, settings_for, source_of, task

SOURCE = "RSI measures momentum on a scale from 0 to 100. Its standard period is 14 days."


def basic(note_id: int, question: str, answer: str, *, source: str = "", extra: bool = True) -> ExistingNote:
    card = NoteCard(kind="basic", front=question, back=answer)
    return ExistingNote(
        note_id=note_id, card=card, has_extra=extra, source=source, source_id=99 if source else None
    )


def cloze(note_id: int, text: str) -> ExistingNote:
    return ExistingNote(note_id=note_id, card=NoteCard(kind="cloze", front=text))


MIXED = [
    basic(1, "What range does RSI have?", "0 to 100; 14 days by default", source=SOURCE),
    basic(
        2, "What does RSI measure?", "It measures the speed and the size of recent price changes of a stock"
    ),
    basic(3, "When did Wilder publish RSI?", "In 1878 (doubtful)"),
    basic(4, "Capital of France?", "Paris"),
    cloze(5, "{{c1::Paris}} is the capital of France"),
]


def review(server: FakeOpenAI, crew: Crew, notes: list[ExistingNote], **options: Any) -> ReviewResult:
    server.handler = crew
    feedback = options.pop("feedback", "")
    return asyncio.run(review_notes(notes, settings_for(server, **options), feedback=feedback))


def test_each_note_gets_a_verdict_with_reasons_in_one_request_per_batch(fake_openai: FakeOpenAI) -> None:
    crew = Crew()
    result = review(fake_openai, crew, MIXED)

    by_note = {verdict.note_id: verdict for verdict in result.verdicts}
    assert [by_note[n].action for n in range(1, 6)] == ["split", "rewrite", "flag", "keep", "keep"]
    split = by_note[1]
    assert [card.fields["Back"] for card in split.cards] == ["0 to 100", "14 days by default"]
    assert split.reasons == ["The answer holds several facts: one card each."]
    rewrite = by_note[2]
    assert rewrite.cards[0].fields["Back"] == "It measures the speed and the size of"
    assert by_note[3].flag == "doubtful" and by_note[3].reasons == ["The date looks wrong: check it."]
    assert not result.errors
    [request] = crew.requests("NoteVerdicts")  # five notes: one batch, one request
    assert len(notes_in(request)) == 5 and result.usage.requests == 1
    assert source_of(request) == f"[S1]\n{SOURCE}", "the source of the generated note, once"
    assert [n.get("source") for n in notes_in(request)] == ["S1", None, None, None, None]


def test_the_reviewer_sees_the_lints_and_kept_notes_keep_their_findings(fake_openai: FakeOpenAI) -> None:
    long_answer = basic(
        7, "What is RSI?", "a momentum indicator measuring speed and size of price moves " * 2
    )
    result = review(fake_openai, Crew(rereview=lambda notes, feedback: {"verdicts": []}), [long_answer])

    [request] = fake_openai.requests
    [note] = notes_in(request)
    assert any(line.startswith("answer-too-long") for line in note["lint"]), note
    [verdict] = result.verdicts
    assert verdict.lints, "the learner sees why, even for a note kept"


def test_notes_go_in_batches_with_notes_from_the_same_source_together() -> None:
    notes = [basic(n, f"Q{n}?", "A", source=f"text {n % 3}" if n % 2 else "") for n in range(1, 36)]

    batches = plan_batches(notes, context_window=16_000)

    assert all(len(batch.notes) <= NOTES_PER_BATCH for batch in batches)
    assert sorted(note.note_id for batch in batches for note in batch.notes) == list(range(1, 36))
    for batch in batches:
        assert len(batch.sources) == len({note.source for note in batch.notes if note.source})
    order = [note.source for batch in batches for note in batch.notes if note.source]
    runs = [source for number, source in enumerate(order) if number == 0 or order[number - 1] != source]
    assert sorted(runs) == ["text 0", "text 1", "text 2"], "each source's notes come together"
    long_notes = [basic(n, f"Q{n}?", "a long answer " * 20) for n in range(30)]
    assert len(plan_batches(long_notes, context_window=16_000)) == 3
    assert len(plan_batches(long_notes, context_window=1024)) == 8, "a small context window: smaller batches"


def test_rewrites_that_change_the_kind_or_give_several_cards_become_splits(fake_openai: FakeOpenAI) -> None:
    def odd_reviewer(notes: list[dict[str, Any]], feedback: str) -> dict[str, Any]:
        as_cloze = {"kind": "cloze", "front": "The capital of France is {{c1::Paris}}"}
        two = [
            {"kind": "basic", "front": "A?", "back": "a"},
            {"kind": "basic", "front": "B?", "back": "b"},
        ]
        same = {"kind": "basic", "front": notes[2]["front"], "back": notes[2]["back"]}
        return {
            "verdicts": [
                {"note": 1, "verdict": "rewrite", "reasons": ["cloze is better"], "cards": [as_cloze]},
                {"note": 2, "verdict": "rewrite", "reasons": ["two facts"], "cards": two},
                {"note": 3, "verdict": "rewrite", "reasons": ["fine"], "cards": [same]},
                {"note": 4, "verdict": "rewrite", "reasons": ["no card given"], "cards": []},
                {"note": 9, "verdict": "flag", "reasons": ["no such note"], "flag": "trivial"},
            ]
        }

    notes = [basic(n, f"Question {n}?", f"Answer {n}") for n in range(1, 5)]
    verdicts = review(fake_openai, Crew(rereview=odd_reviewer), notes).verdicts

    assert [v.action for v in verdicts] == ["split", "split", "keep", "flag"]
    assert "added as a new note" in verdicts[0].reasons[-1]
    assert len(verdicts[1].cards) == 2
    assert "gave no card" in verdicts[3].reasons[-1]


def test_a_cloze_rewrite_that_changes_the_cloze_numbers_becomes_a_split(fake_openai: FakeOpenAI) -> None:
    """Each cloze number is a card with its own history: a rewrite may not drop or move one."""
    rewrites = [
        "{{c1::TCP, UDP and QUIC}} are transport protocols",  # c2 and c3 would be left empty
        "{{c2::Paris}} is where {{c3::France}} is governed from",  # c1 would be left empty
        "{{c1::Paris}} is France's {{c2::capital}}",  # the same two cards, better asked
    ]

    def reviewer(notes: list[dict[str, Any]], feedback: str) -> dict[str, Any]:
        return {
            "verdicts": [
                {
                    "note": n,
                    "verdict": "rewrite",
                    "reasons": ["clearer"],
                    "cards": [{"kind": "cloze", "front": t}],
                }
                for n, t in enumerate(rewrites, start=1)
            ]
        }

    notes = [
        cloze(1, "{{c1::TCP}}, {{c2::UDP}} and {{c3::QUIC}} are transport protocols"),
        cloze(2, "{{c1::Paris}} is the capital of {{c2::France}} and {{c3::its largest city}}"),
        cloze(3, "{{c1::Paris}} is the capital of {{c2::France}}"),
    ]
    merged, moved, kept = review(fake_openai, Crew(rereview=reviewer), notes).verdicts

    assert (merged.action, moved.action, kept.action) == ("split", "split", "rewrite")
    assert merged.reasons[-1] == (
        "Its cloze numbers change (c1, c2, c3 → c1), and each number is a card, so it is added as a new note;"
        " the original is kept."
    )
    assert "(c1, c2, c3 → c2, c3)" in moved.reasons[-1]
    assert moved.cards[0].fields["Text"].startswith("{{c1::Paris}}"), "a new note's numbers run from 1"
    assert kept.cards[0].fields["Text"] == rewrites[2]


def test_hostile_rewrites_are_sanitized(fake_openai: FakeOpenAI) -> None:
    def hostile(notes: list[dict[str, Any]], feedback: str) -> dict[str, Any]:
        return {
            "verdicts": [
                {
                    "note": note["note"],
                    "verdict": "split",
                    "reasons": ["<b>bold</b> reason" + HOSTILE[:200]],
                    "cards": [
                        {
                            "kind": "basic",
                            "front": "Q?" + HOSTILE,
                            "back": "A" + HOSTILE,
                            "extra": HOSTILE,
                        },
                        {"kind": "cloze", "front": "{{c1::Paris}}" + HOSTILE, "extra": HOSTILE},
                    ],
                }
                for note in notes
            ]
        }

    result = review(fake_openai, Crew(rereview=hostile), MIXED[:2])

    fields = [value for v in result.verdicts for card in v.cards for value in card.fields.values()]
    assert len(fields) == 2 * 5
    for value in fields:
        assert field_problems(value, math=False) == [], value
    assert all(len(line) <= 300 for v in result.verdicts for line in v.reasons), "reasons are bounded"


def test_feedback_goes_to_the_reviewer_and_every_note_follows_it(fake_openai: FakeOpenAI) -> None:
    crew = Crew()
    result = review(fake_openai, crew, MIXED[3:], feedback="in German")

    [request] = crew.requests("NoteVerdicts")
    assert '"in German"' in task(request)
    assert [v.action for v in result.verdicts] == ["rewrite", "rewrite"]
    assert all(v.feedback == "in German" for v in result.verdicts)
    assert result.verdicts[1].cards[0].fields["Text"] == "{{c1::Paris}} is the capital of France (in German)"


def test_code_cards_get_the_expert_and_a_failed_batch_leaves_its_notes_unreviewed(
    fake_openai: FakeOpenAI,
) -> None:
    def rewrite_with_code(notes: list[dict[str, Any]], feedback: str) -> dict[str, Any]:
        if any("broken" in note["front"] for note in notes):
            raise RuntimeError("no reply for this batch")
        card = {"kind": "basic", "front": "What does `prices.diff()` return?", "back": "The changes"}
        return {
            "verdicts": [{"note": 1, "verdict": "rewrite", "reasons": ["name the call"], "cards": [card]}]
        }

    crew = Crew(rereview=rewrite_with_code)
    fake_openai.handler = crew

    def answer(request: Request) -> Reply:
        try:
            return crew(request)
        except RuntimeError as error:
            return Reply.error(400, str(error))

    fake_openai.handler = answer
    notes = [basic(1, "What gives the price changes?", "`prices.diff()` of the closing prices")]
    notes += [basic(n, f"Question {n}?", "Answer") for n in range(2, 11)]
    notes += [basic(n, f"broken {n}?", "Answer") for n in range(11, 21)]
    result = asyncio.run(review_notes(notes, settings_for(fake_openai)))

    assert sorted(v.note_id for v in result.verdicts) == list(range(1, 11))
    assert [e.step for e in result.errors] == ["Reviewer: notes 11–20"]
    [expert] = crew.requests("ExtraFields")  # the note shows code: the Expert writes the new card's extra
    assert "What does `prices.diff()` return?" in task(expert)
    assert "`prices.diff()` of the closing prices" in (source_of(expert) or ""), "checked against the note"
    assert "```python" in result.verdicts[0].cards[0].draft.extra


def test_code_a_model_invented_in_an_extra_does_not_come_back(fake_openai: FakeOpenAI) -> None:
    """A generated note's extra is no evidence for code: the Expert sees the source it was made from."""

    def rewrite(notes: list[dict[str, Any]], feedback: str) -> dict[str, Any]:
        card = {"kind": "basic", "front": "What does a tombstone mark?", "back": "A deleted key"}
        verdict = {"verdict": "rewrite", "reasons": ["shorter"], "cards": [card]}
        return {"verdicts": [{"note": note["note"], **verdict} for note in notes]}

    crew = Crew(rereview=rewrite)
    fake_openai.handler = crew
    invented = "```python\nstore.pop(key)\n```"
    prose = "An LSM-tree deletes a key by writing a tombstone."
    with_code = "Deleting: `store.delete(key)` writes a tombstone."
    card = NoteCard(kind="basic", front="What does delete do?", back="Writes a tombstone", extra=invented)
    sources = [(1, prose), (2, with_code)]
    notes = [ExistingNote(note_id=n, card=card, source=source, source_id=n) for n, source in sources]
    result = asyncio.run(review_notes(notes, settings_for(fake_openai)))

    assert [v.action for v in result.verdicts] == ["rewrite", "rewrite"]
    [expert] = crew.requests("ExtraFields")  # only for the note whose source shows code
    assert "`store.delete(key)`" in (source_of(expert) or "")
    assert "store.pop" not in (source_of(expert) or "") and prose not in (source_of(expert) or "")


def test_stop_keeps_the_verdicts_made_and_the_rest_can_be_reviewed_later(fake_openai: FakeOpenAI) -> None:
    first_batch_done = threading.Event()

    def slow_after_first(schema: str, request: Request) -> float:
        return 0.0 if '"Q1?"' in task(request) else 30.0

    fake_openai.handler = Crew(delay=slow_after_first)
    notes = [basic(n, f"Q{n}?", "one; two") for n in range(1, 31)]
    settings = settings_for(fake_openai)
    events: list[ProgressEvent] = []

    def on_event(event: ProgressEvent) -> None:
        events.append(event)
        if isinstance(event, VerdictsReady):
            first_batch_done.set()

    job = ReviewJob(notes, settings, on_event=on_event)
    job.start()
    assert first_batch_done.wait(30)
    job.cancel()
    result = job.result(timeout=10)

    assert result.cancelled
    reviewed = {v.note_id for v in result.verdicts}
    assert reviewed == set(range(1, 11)), "the first batch is kept; the others were not reviewed"
    assert [v.action for v in result.verdicts] == ["split"] * 10
    ready = [e for e in events if isinstance(e, VerdictsReady)]
    assert [v.note_id for e in ready for v in e.verdicts] == sorted(reviewed), "each verdict streamed once"

    fake_openai.handler = Crew()
    rest = asyncio.run(review_notes([n for n in notes if n.note_id not in reviewed], settings))
    assert sorted(v.note_id for v in rest.verdicts) == list(range(11, 31))


def test_five_hundred_notes_complete_within_the_request_budget(fake_openai: FakeOpenAI) -> None:
    notes = []
    for n in range(500):
        if n % 4 == 0:
            notes.append(basic(n, f"Which two facts about item {n}?", f"fact a{n}; fact b{n}"))
        elif n % 4 == 1:
            notes.append(basic(n, f"What is item {n}?", " ".join(["a long answer about the item"] * 4)))
        elif n % 4 == 2:
            notes.append(cloze(n, f"Item {{{{c1::{n}}}}} is fine"))
        else:
            notes.append(basic(n, f"Item {n}?", "fine", source=f"The source text of group {n // 40}."))
    crew = Crew()
    result = review(fake_openai, crew, notes)

    assert not result.errors
    assert len(result.verdicts) == 500
    settings = settings_for(fake_openai)
    assert result.usage.requests <= settings.max_requests_per_run
    assert result.usage.requests <= 500 / NOTES_PER_BATCH + 10, result.usage.requests
    actions = [v.action for v in result.verdicts]
    assert actions.count("split") == 125 and actions.count("rewrite") == 125
