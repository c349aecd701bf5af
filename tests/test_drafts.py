"""The drafts journal (atomic, bounded, survives a crash, sets unreadable files aside) and a run's drafts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from addon.drafts import DraftCard, DraftRun, DraftSession, drafts_journal, unfinished
from addon.journal import Journal
from addon.pipeline.models import BasicCard, Card, ClozeCard, Provenance, RunResult, Source

ROOT = Path(__file__).resolve().parent.parent


def card(card_id: str, question: str = "", *, note: int | None = None, replaces: str | None = None) -> Card:
    draft = BasicCard(question=question or f"Question {card_id}?", answer="An answer")
    return Card(id=card_id, draft=draft, provenance=Provenance(source_note_id=note), replaces=replaces)


def a_run(*ids: str) -> DraftRun:
    return DraftRun(
        title="RSI", sources=[Source(text="text", title="RSI")], cards=[DraftCard(card=card(i)) for i in ids]
    )


def test_saved_runs_load_back_newest_first(tmp_path: Path) -> None:
    journal = drafts_journal(tmp_path)
    journal.save("one", a_run("a"))
    journal.save("two", a_run("b", "c"))
    journal.save("one", a_run("a", "d"))  # the newest version of an entry replaces the older one

    entries, problems = drafts_journal(tmp_path).load()

    assert problems == []
    assert [entry.id for entry in entries] == ["one", "two"]
    assert [d.card.id for d in entries[0].payload.cards] == ["a", "d"]
    assert entries[0].created <= entries[0].updated
    assert sorted(p.name for p in (tmp_path / "drafts").iterdir()) == [
        "generate-one.json",
        "generate-two.json",
    ]


def test_the_journal_keeps_only_the_newest_entries(tmp_path: Path) -> None:
    journal = Journal(tmp_path, kind="generate", payload=DraftRun, keep=3)
    for n in range(6):
        journal.save(f"run{n}", a_run(str(n)))
        journal.flush()

    entries, _ = journal.load()
    assert [entry.id for entry in entries] == ["run5", "run4", "run3"]


def test_an_unreadable_file_is_set_aside_with_a_message_and_the_rest_load(tmp_path: Path) -> None:
    journal = drafts_journal(tmp_path)
    journal.save("good", a_run("a"))
    journal.flush()
    (tmp_path / "drafts" / "generate-bad.json").write_text('{"kind": "generate", "id": "bad", "payl')
    (tmp_path / "drafts" / "generate-old.json").write_text(json.dumps({"kind": "generate", "id": "x"}))

    entries, problems = drafts_journal(tmp_path).load()

    assert [entry.id for entry in entries] == ["good"]
    assert len(problems) == 2 and all("set aside" in problem for problem in problems)
    names = sorted(p.name for p in (tmp_path / "drafts").iterdir())
    assert names[0] == "generate-bad.json." + names[0].split(".")[2] + ".unreadable"
    assert drafts_journal(tmp_path).load()[1] == [], "reported once"


def test_journals_of_other_kinds_share_the_folder_without_seeing_each_other(tmp_path: Path) -> None:
    drafts_journal(tmp_path).save("g", a_run("a"))
    drafts_journal(tmp_path).flush()
    reviews = Journal(tmp_path / "drafts", kind="review", payload=Source)
    reviews.save("r", Source(text="a note"))
    reviews.flush()

    assert [entry.id for entry in drafts_journal(tmp_path).load()[0]] == ["g"]
    assert [entry.payload.text for entry in reviews.load()[0]] == ["a note"]


CRASH = """
import os, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from addon.drafts import DraftCard, DraftRun, drafts_journal
from addon.pipeline.models import BasicCard, Card
from addon.pipeline.models import Source

journal = drafts_journal(Path({folder!r}))
def run(n):
    draft = BasicCard(question="Q" * 1000, answer="A" * 1000)  # each at its bound
    cards = [DraftCard(card=Card(id=str(i), draft=draft)) for i in range(n)]
    return DraftRun(title="t", sources=[Source(text="x")], cards=cards)
journal.save("crash", run(3))
journal.flush()
journal.save("crash", run(400))
os._exit(9)  # Anki dies while the larger version is being written
"""


def test_a_crash_mid_write_leaves_the_old_entry_or_the_new_one(tmp_path: Path) -> None:
    script = CRASH.format(root=str(ROOT), folder=str(tmp_path))
    for _ in range(3):
        subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False, timeout=60)
        entries, problems = drafts_journal(tmp_path).load()
        assert problems == []
        assert [len(entry.payload.cards) for entry in entries] in ([3], [400])
    assert not [p for p in (tmp_path / "drafts").iterdir() if p.suffix == ".tmp" and p.stat().st_size == 0]


# The drafts of one run


def test_batches_stream_in_run_order_and_a_repeated_batch_replaces_untouched_cards() -> None:
    run = DraftRun(title="t", sources=[Source(text="x")])
    run.put_batch((0, 1), [card("b1"), card("b2")])
    run.put_batch((0, 0), [card("a1")])
    run.put_batch((0, 2), [card("c1")])
    assert [d.card.id for d in run.cards] == ["a1", "b1", "b2", "c1"]

    run.cards[1].edited = True
    run.cards[1].card = card("b1", "Edited by the learner?")
    run.cards[2].accepted = False
    run.put_batch((0, 1), [card("b1", "Reformatted?"), card("b2", "Reformatted?"), card("b3")])

    assert [d.card.id for d in run.cards] == ["a1", "b1", "b2", "b3", "c1"]
    assert run.cards[1].card.draft.question == "Edited by the learner?"
    assert run.cards[2].card.draft.question == "Reformatted?" and not run.cards[2].accepted


def test_the_final_result_brings_cross_card_lints_but_keeps_edits() -> None:
    run = DraftRun(title="t", sources=[Source(text="x")])
    run.put_batch((0, 0), [card("a"), card("b")])
    run.cards[1].edited = True
    finding = {"lint_id": "duplicate-card", "message": "Same front as card 1."}
    linted = [d.card.model_copy(update={"lints": [finding]}) for d in run.cards]

    run.finish(RunResult(cards=[*linted, card("late")]), "stopped", "Stopped")

    assert run.cards[0].card.lints and not run.cards[1].card.lints
    assert [d.card.id for d in run.cards] == ["a", "b", "late"]
    assert [d.card.id for d in run.cards] == ["a", "b", "late"]
    assert (run.status, run.message) == ("stopped", "Stopped")


def test_regenerated_cards_take_the_place_of_the_card_they_replace() -> None:
    run = a_run("a", "a.x1", "b")
    run.cards[1].accepted = False
    cloze = ClozeCard(text="{{c1::New}} card")
    result = RunResult(
        cards=[
            Card(id="a.x1", draft=cloze, replaces="a.x1"),
            Card(id="a.x1.y", draft=cloze, replaces="a.x1"),
        ]
    )

    rows = run.replace(result)

    assert [d.card.id for d in run.cards] == ["a", "a.x1", "a.x1.y", "b"]
    assert rows == [1, 2]
    assert run.cards[1].card.replaces is None and isinstance(run.cards[1].card.draft, ClozeCard)
    assert not run.cards[1].accepted and not run.cards[2].accepted, "the learner's choice carries over"


def test_added_cards_are_marked_and_no_longer_pending() -> None:
    run = a_run("a", "b", "c")
    run.cards[2].accepted = False
    run.mark_added({"a": 111}, duplicates=["b"])

    assert [(d.outcome, d.note_id) for d in run.cards] == [("added", 111), ("duplicate", None), (None, None)]
    assert [d.card.id for d in run.pending()] == ["c"] and run.to_add() == []


def test_a_run_journaled_while_running_comes_back_interrupted_and_unfinished(tmp_path: Path) -> None:
    journal = drafts_journal(tmp_path)
    session = DraftSession(journal, a_run("a"))
    session.save()
    done = DraftSession(journal, a_run("b"))
    done.run.mark_added({"b": 1}, [])
    done.save()

    entries = unfinished(drafts_journal(tmp_path).load()[0])
    assert [entry.id for entry in entries] == [session.id]
    resumed = DraftSession.resume(journal, entries[0])
    assert resumed.run.status == "interrupted" and resumed.id == session.id


def test_source_of_a_card_is_its_note_else_the_pasted_text() -> None:
    run = DraftRun(title="t", sources=[Source(text="one", note_id=1), Source(text="two", note_id=2)])
    assert run.source_of(card("a", note=2)).text == "two"
    assert run.source_of(card("b")).text == "one"
