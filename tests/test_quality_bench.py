"""bench/quality: cards.md read back as written, and the re-review measurement end to end against the local
OpenAI-compatible server (the scripted crew plays the Reviewer), down to the blind judge's table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from addon.pipeline.models import NoteCard
from bench.quality import review_run, review_score
from bench.quality.cards_md import cards_for_the_judge, read_cards

from .fake_openai import FakeOpenAI
from .pipeline_crew import Crew, source_of

RESULTS = Path(__file__).parents[1] / "bench" / "quality" / "results"


@pytest.mark.parametrize("run", sorted(p.name for p in RESULTS.iterdir() if (p / "cards.md").exists()))
def test_every_recorded_cards_file_reads_back_to_the_same_notes(run: str) -> None:
    markdown = (RESULTS / run / "cards.md").read_text(encoding="utf-8")
    name, notes = read_cards(markdown)
    assert notes and name.endswith(".md")
    assert cards_for_the_judge(name, [note.draft() for note in notes]) == markdown


def test_the_pick_takes_every_weak_note_and_a_spread_of_usable_ones() -> None:
    classes = ["usable"] * 20 + ["polish", "rework", "unusable"] + ["usable"] * 20
    assert review_run.pick(classes, 11) == [3, 8, 13, 18, 21, 22, 23, 26, 31, 36, 41]  # 3 weak + 8 spread
    assert len(review_run.pick(classes * 4, 8)) == 12 + 2, "weak notes are never left out"
    assert review_run.pick(["usable"] * 3, 30) == [1, 2, 3]


NOTES = [
    NoteCard(kind="basic", front="What range does RSI have?", back="0 to 100; 14 days by default"),
    NoteCard(
        kind="basic",
        front="What does RSI measure?",
        back="It measures the speed and the size of recent price changes of a stock over its period",
    ),
    NoteCard(kind="basic", front="When did Wilder publish RSI?", back="In 1878 (doubtful)"),
    NoteCard(kind="basic", front="Who devised RSI?", back="J. Welles Wilder"),
    NoteCard(kind="cloze", front="RSI's standard period is {{c1::14 days}}.", extra="Wilder's choice."),
    NoteCard(kind="basic", front="Which RSI level suggests overbought?", back="Above 70"),
]
CLASSES = ["rework", "polish", "unusable", "usable", "usable", "usable"]
TEXT = "RSI, devised by J. Welles Wilder, measures momentum from 0 to 100. Its standard period is 14 days."


def judged(numbers: range, classes: dict[int, str]) -> dict[str, object]:
    return {"notes": [{"note": n, "class": classes.get(n, "usable"), "defects": ""} for n in numbers]}


def test_review_run_writes_both_sets_blind_and_review_score_compares_them(
    fake_openai: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, out, text = tmp_path / "base", tmp_path / "run", tmp_path / "rsi.md"
    base.mkdir()
    text.write_text(TEXT, encoding="utf-8")
    (base / "cards.md").write_text(cards_for_the_judge("rsi.md", [n.draft() for n in NOTES]))
    (base / "judgement.json").write_text(json.dumps(judged(range(1, 7), dict(enumerate(CLASSES, 1)))))
    crew = Crew()
    fake_openai.handler = crew

    args = ["--from", str(base), "--text", str(text), "--port", str(fake_openai.port), "--out", str(out)]
    review_run.main([*args, "--notes", "4"])

    [request] = crew.requests("NoteVerdicts")
    assert source_of(request) == f"[S1]\n{TEXT}", "the text is the notes' source, sent once"
    key = json.loads((out / "key.json").read_text())
    assert {key["before"], key["after"]} == {"A", "B"}
    assert [(n["note"], n["verdict"], n["before"], n["after"]) for n in key["notes"]] == [
        (1, "split", 1, [1, 2]),
        (2, "rewrite", 2, [3]),
        (3, "flag", 3, [4]),
        (5, "keep", 4, [5]),
    ]
    _, before = read_cards((out / f"set-{key['before']}.md").read_text())
    _, after = read_cards((out / f"set-{key['after']}.md").read_text())
    assert before == [NOTES[n - 1] for n in (1, 2, 3, 5)]
    assert [card.back for card in after[:2]] == ["0 to 100", "14 days by default"]
    assert after[2].back == "It measures the speed and the size of"
    assert after[3:] == [NOTES[2], NOTES[4]], "a flagged note and a kept one stay as they were"
    for set_file in out.glob("set-*.md"):
        assert "before" not in set_file.read_text() and "after" not in set_file.read_text()
    assert json.loads((out / "review.json").read_text())["verdicts"]
    assert json.loads((out / "usage.json").read_text())["usage"]["requests"] == 1

    # The judge finds the kept usable note spoiled after the review, and the split's cards usable.
    before_judged = judged(range(1, 5), {1: "rework", 2: "polish", 3: "unusable"})
    after_judged = judged(range(1, 6), {3: "polish", 4: "unusable", 5: "polish"})
    (out / f"judgement-{key['before']}.json").write_text(json.dumps(before_judged))
    (out / f"judgement-{key['after']}.json").write_text(json.dumps(after_judged))
    capsys.readouterr()
    review_score.main([str(out)])
    table = capsys.readouterr().out
    assert "| rsi before | 4 | 4 | 25.0% | 50.0% | 25.0% | — |" in table
    assert "| rsi after | 5 | 5 | 40.0% | 80.0% | 20.0% | — |" in table
    assert "| total | 1 | 1 | 1 | 1 | 0 | 0 of 1 |" in table
