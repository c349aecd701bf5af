from __future__ import annotations

import pytest

from addon.pipeline.cards.lints import LINTS, is_blocking, lint_card, lint_cards, needs_repair, normalize
from addon.pipeline.models import BasicCard, Card, CardDraft, ClozeCard, LintFinding


def basic(question: str = "What does RSI measure?", answer: str = "Momentum", extra: str = "") -> BasicCard:
    return BasicCard(question=question, answer=answer, extra=extra)


def cloze(text: str, extra: str = "") -> ClozeCard:
    return ClozeCard(text=text, extra=extra)


def ids(draft: CardDraft) -> set[str]:
    return {finding.lint_id for finding in lint_card(draft)}


# lint id → drafts it must flag, drafts it must pass
CASES: dict[str, tuple[list[CardDraft], list[CardDraft]]] = {
    "empty-field": (
        [basic(answer=""), basic(question="  \n"), basic(answer="<br><div>&nbsp;</div>"), cloze("<p></p>")],
        [
            basic(),
            basic(answer='<img src="rsi.png">'),
            basic(extra=""),
            cloze("{{c1::RSI}} is a momentum index"),
        ],
    ),
    "answer-too-long": (
        [
            basic(answer=" ".join(["word"] * 16)),
            cloze("RSI {{c1::" + " ".join(["word"] * 16) + "}}"),
            basic(answer=r"\(S\) is " + " ".join(["word"] * 15)),  # a formula is a word too
        ],
        [
            basic(answer=" ".join(["word"] * 15)),
            basic(answer="```python\n" + "x = 1\n" * 20 + "```"),
            basic(answer="Momentum", extra=" ".join(["word"] * 40)),
            # LaTeX pieces and symbols are not words: each formula counts once
            basic(answer=r"\( S = k_B \ln W \), with \( W \) the number of microstates of the macrostate"),
            basic(answer=r"\[ \Delta S \geq \frac{\delta Q}{T} \] for any process, by Clausius"),
            basic(answer="$$ PV = n R T $$ for an ideal gas at low pressure"),
            basic(answer="Entropy S = k ln W → grows with W, the count of microstates"),
        ],
    ),
    "multiple-facts": (
        [
            basic(answer="- speed\n- magnitude"),
            basic(answer="1. speed\n2. magnitude"),
            basic(answer="<ul><li>speed</li><li>magnitude</li></ul>"),
            basic(answer="speed, magnitude and direction"),
            basic(answer="Newton; Leibniz; Euler"),
            basic(answer="It measures momentum; it ranges from 0 to 100"),
            basic(  # three sides are three facts, even in a comparison
                question="How do B-trees, LSM-trees and hash indexes store keys?",
                answer="B-tree: sorted pages; LSM-tree: sorted files; hash index: an in-memory map",
            ),
        ],
        [
            basic(answer="salt and pepper"),
            basic(answer="Paris, France"),
            basic(answer="A function that takes a, b and c"),
            basic(answer="The speed and magnitude of price changes"),
            basic(answer="`a, b, c = 1, 2, 3`"),
            cloze("{{c1::red}}, {{c2::green}} and {{c3::blue}}"),
            basic(answer="Building, testing and deployment become slower"),  # one fact, plural subject
            basic(question="Which three arguments does __exit__ get?", answer="Type, value and traceback"),
            # the two sides of one contrast
            basic(
                question="How do B-trees and LSM-trees write an update?",
                answer="B-tree: overwrites the page in place; LSM-tree: appends to a new sorted file",
            ),
            basic(
                question="How does a microstate differ from a macrostate?",
                answer="A microstate fixes every particle; a macrostate fixes only the totals",
            ),
            basic(
                question="Microstate vs macrostate?",
                answer="Exact arrangement of particles; measurable totals",
            ),
            # an explanation: the clause after the semicolon or comma continues the one before
            basic(
                question="Why does a CPU-bound task gain nothing from asyncio?",
                answer="It never awaits; so no other task can run while it computes",
            ),
            basic(
                question="Why does time.sleep freeze an asyncio program?",
                answer="It blocks the thread; because the loop runs in that thread, nothing else runs",
            ),
            basic(question="What happens to the writes?", answer="Buffered, so sequential, so fast"),
            # a restriction, a restatement or an explanation in other words, and in other languages
            *(
                basic(question=question, answer=answer)
                for question, answer in [
                    ("How does an LSM-tree write?", "It appends sorted files; not pages in place"),
                    ("What is a page?", "The unit a B-tree reads; i.e. one disk block"),
                    (
                        "Warum sinkt die Nachfrage?",
                        "Der Zins steigt; deshalb wird Kredit teurer für die Käufer",
                    ),
                    (
                        "Worin unterscheiden sich Mikro- und Makrozustand?",
                        "Der Mikrozustand legt jedes Teilchen fest; der Makrozustand nur die Summen",
                    ),
                ]
            ),
            basic(
                question="Why does asyncio code between two awaits need no lock, unlike code in threads?",
                answer="No other task runs until the next await; threads can be preempted anywhere",
            ),
        ],
    ),
    "question-contains-answer": (
        [
            basic(question="What is the capital of France? (Paris)", answer="Paris"),
            basic(question="Which *momentum indicator* ranges 0-100?", answer="Momentum indicator."),
            basic(  # a trailing clause that says it all
                question="Why does the EMA react faster than the SMA, given it weights recent prices more?",
                answer="It gives more weight to recent prices",
            ),
        ],
        [
            basic(question="What is the capital of France?", answer="Paris"),
            basic(question="Is RSI a leading or lagging indicator?", answer="Leading"),
            basic(question="What is 10 + 1?", answer="11"),
            basic(question="What does parse return?", answer="a"),
            basic(question="How does the SMA weight prices?", answer="Every price gets the same weight"),
            basic(
                question="Which momentum indicator ranges from 0 to 100?", answer="RSI, a momentum indicator"
            ),
            basic(  # a formula's \text{} labels are not answer words the question gives away
                question=r"What entropy does the reservoir at \(T_\text{hot}\) lose when it gives up heat Q?",
                answer=r"\(Q/T_\text{hot}\)",
            ),
        ],
    ),
    "trivial": (
        [
            basic(question="Is RSI a momentum indicator?", answer="Yes"),
            basic(question="Does the SMA lag price?", answer="No, it leads."),
            basic(question="Is 70 overbought?", answer="**True**"),
            cloze("RSI is {{c1::a}} momentum indicator"),
            basic(question="Which pronoun?", answer="it"),
        ],
        [
            basic(question="What does RSI measure?", answer="Momentum"),
            basic(question="Which reading is overbought?", answer="70"),
            cloze("RSI looks back {{c1::14}} periods"),
            basic(question="What does 'no' mean in German?", answer="Nein"),
            basic(
                question="Why does code between awaits need no lock?", answer="No other task runs until then"
            ),
        ],
    ),
    "cloze-in-basic": (
        [basic(question="{{c1::Paris}} is the capital of France"), basic(answer="{{C1::Paris}}")],
        [basic(question="What does `{x: 1}` denote in JSON?", answer="An object")],
    ),
    "cloze-missing": (
        [
            cloze("Paris is the capital of France"),
            cloze("{{C1::Paris}} is the capital"),
            cloze("{{c1::Paris"),
        ],
        [cloze("{{c1::Paris}} is the capital"), basic()],
    ),
    "cloze-syntax": (
        [
            cloze("{{c1::Paris}} is the capital of {{c2::France"),
            cloze("{{c1::Paris}} is the capital of {{C2::France}}"),
            cloze("{{c1::Paris}} is the capital of {{ c2::France}}"),
            cloze("{{c1:Paris}} is the capital"),
            cloze("{c1::Paris} is the capital"),
            cloze("{{c1::}} is the capital of {{c2::France}}"),
            cloze("{{c1::::hint}} is the capital"),
        ],
        [
            cloze("{{c1::Paris::city}} is the capital of {{c2::France}}"),
            cloze("{{c1::a {{c2::b}} c}}"),
            cloze("In Python, {{c1::`{c: 1}`}} is a dict"),
            cloze("A dict {c1: 1} and {{c1::braces}}}"),
        ],
    ),
    "cloze-numbering": (
        [cloze("{{c2::Paris}} and {{c3::France}}"), cloze("{{c1::a}} {{c3::b}}"), cloze("{{c0::a}}")],
        [cloze("{{c2::Paris}} and {{c1::France}}"), cloze("{{c1::a}} {{c1::b}} {{c2::c}}")],
    ),
    "cloze-duplicate": (
        [cloze("{{c1::Paris}} is in France; **{{c2::paris}}** has 2M people")],
        [cloze("{{c1::Paris}} and {{c1::Paris}} again"), cloze("{{c1::Paris}} is in {{c2::France}}")],
    ),
    "cloze-leak": (
        [
            cloze(  # the sibling deletion shows "moving average"
                "The {{c1::simple moving average}} weights prices equally; the {{c2::exponential moving"
                " average}} weights recent ones more."
            ),
            cloze("{{c1::Python}} was created by Guido van Rossum; Python 3 came out in 2008."),
        ],
        [
            cloze("The {{c1::SMA}} weights prices equally; the {{c2::EMA}} weights recent ones more."),
            cloze("{{c1::Paris}} is the capital of {{c2::France}}"),
            cloze("{{c1::Paris}} is in France; **{{c2::paris}}** has 2M people"),  # cloze-duplicate's job
        ],
    ),
    "cloze-many-numbers": (
        [cloze("{{c1::red}}, {{c2::green}} and {{c3::blue}} make white")],
        [cloze("{{c1::red}}, {{c1::green}} and {{c1::blue}} make white"), cloze("{{c1::a}} {{c2::b}}")],
    ),
    "extra-too-long": (
        [
            basic(extra=" ".join(["word"] * 51)),
            basic(extra="```python\n" + "x = 1\n" * 13 + "```"),
        ],
        [
            basic(extra=" ".join(["word"] * 50)),
            basic(extra="Pitfall: the first 14 values are empty.\n\n```python\n" + "x = 1\n" * 12 + "```"),
        ],
    ),
    "refers-to-source": (
        [
            basic(extra="The source claims 4 KiB pages; most B-trees use 4 to 16 KiB."),
            basic(question="According to the author, why do B-trees split pages?"),
            basic(extra="Die Quelle behauptet das Gegenteil."),
            cloze("Laut Text steigt der {{c1::Zins}}."),
        ],
        [
            basic(extra="Often stated wrongly: pages are always 4 KiB."),
            basic(question="Which source of light do plants use?", answer="The sun"),
            basic(question="Woher stammt die Quelle der Strahlung?", answer="Aus dem Kern"),
            basic(question="What does the text encoding UTF-8 store per character?", answer="1 to 4 bytes"),
            basic(answer="```python\n# the source says hi\nprint('hi')\n```"),
        ],
    ),
    "code-no-language": (
        [
            basic(answer="```\nx = 1\n```"),
            basic(extra="    indented code"),
            cloze("{{c1::x}}\n\n```nolang\ny\n```"),
        ],
        [
            basic(answer="```python\nx = 1\n```"),
            basic(answer="`inline code`"),
            basic(extra="~~~js\nf()\n~~~"),
        ],
    ),
    "unbalanced-html": (
        [
            basic(answer="<b>Momentum"),
            basic(answer="Momentum</i>"),
            basic(answer="<b><i>Momentum</b></i>"),
            basic(question="What does List<String> hold?"),
            cloze("{{c1::<div>Paris}}"),
        ],
        [
            basic(answer="<b>Momentum</b><br>index<br/><img src='x.png'>"),
            basic(answer="<ul><li>one<li>two</ul>"),
            basic(question="What does `List<String>` hold?"),
            basic(answer="```html\n<div>\n```"),
            basic(answer="if a < b and c > d"),
        ],
    ),
}


def test_every_lint_has_cases() -> None:
    assert set(CASES) | {"duplicate-card", "near-duplicate", "render-failed"} == set(LINTS)


ROWS = [
    (lint_id, draft, fires)
    for lint_id, (bad, good) in CASES.items()
    for fires, drafts in ((True, bad), (False, good))
    for draft in drafts
]


@pytest.mark.parametrize(("lint_id", "draft", "fires"), ROWS, ids=repr)
def test_lint(lint_id: str, draft: CardDraft, fires: bool) -> None:
    assert (lint_id in ids(draft)) is fires


def test_good_cards_are_clean() -> None:
    assert lint_card(basic()) == []
    assert lint_card(cloze("{{c1::RSI}} measures {{c2::momentum::what?}}", extra="- a\n- b")) == []


def test_finding_names_field_and_says_why() -> None:
    [finding] = lint_card(basic(answer="<b>Momentum"))
    assert finding == LintFinding(
        lint_id="unbalanced-html", field="answer", message="Unbalanced HTML: <b> is not closed."
    )
    [finding] = lint_card(cloze("{{c2::Paris}} and {{c4::France}}"))
    assert finding.message == "Deletions are numbered c2, c4; Anki expects c1 to c2."


def test_duplicate_card_across_run() -> None:
    drafts: list[CardDraft] = [
        basic(question="What is RSI?"),
        basic(question="what  is <b>RSI</b>"),
        basic(question="What is MACD?"),
        cloze("What is {{c1::RSI}}?"),
    ]
    findings = lint_cards(drafts)
    assert [[f.lint_id for f in card] for card in findings] == [
        [],
        ["duplicate-card"],
        [],
        ["duplicate-card"],
    ]
    assert findings[1][0].message == "Same front as card 1."
    assert findings[3][0].field == "text"


def test_near_duplicates_across_the_run() -> None:
    drafts: list[CardDraft] = [
        basic(question="What does RSI measure?", answer="The speed and magnitude of recent price changes"),
        basic(question="What is a golden cross?", answer="The 50-day average crossing above the 200-day"),
        cloze("RSI measures the {{c1::speed and magnitude}} of recent price changes."),
        basic(question="What is a death cross?", answer="The 50-day average crossing below the 200-day"),
        basic(question="Which indicator measures the speed and magnitude of price changes?", answer="RSI"),
        basic(question="What does RSI measure?", answer="Momentum"),  # the same front: duplicate-card
    ]
    findings = lint_cards(drafts)
    assert [[(f.lint_id, f.message) for f in card] for card in findings] == [
        [],
        [],
        [("near-duplicate", "Asks nearly the same as card 1; keep the better one.")],
        [],
        [("near-duplicate", "Asks nearly the same as card 1; keep the better one.")],
        [("duplicate-card", "Same front as card 1.")],
    ]


def test_finding_messages_name_the_words_that_leak() -> None:
    [finding] = lint_card(
        basic(question="Which *momentum indicator* ranges 0-100?", answer="Momentum indicator")
    )
    assert (
        finding.message
        == "The question already holds the answer's words (Momentum, indicator): it gives it away."
    )
    [finding] = lint_card(cloze("{{c1::Python}} was made by Guido; Python 3 came in 2008."))
    assert finding.message == "The card of c1 shows its answer's words (Python) elsewhere in the text."


def test_registry_describes_every_lint() -> None:
    for lint_id, lint in LINTS.items():
        assert lint.id == lint_id and lint.description.endswith((".", ")"))
    blocking = {lint_id for lint_id, lint in LINTS.items() if lint.blocking}
    assert blocking == {
        "empty-field",
        "cloze-in-basic",
        "cloze-missing",
        "cloze-syntax",
        "unbalanced-html",
        "render-failed",
    }


def test_needs_repair_only_for_blocking_findings() -> None:
    advice = LintFinding(lint_id="answer-too-long", message="long")
    broken = LintFinding(lint_id="cloze-syntax", message="unclosed")
    assert not is_blocking(advice) and is_blocking(broken)
    assert not is_blocking(LintFinding(lint_id="from-the-reviewer", message="?"))
    assert not needs_repair(Card(id="1", draft=basic(), lints=[advice]))
    assert needs_repair(Card(id="1", draft=basic(), lints=[advice, broken]))


def test_normalize() -> None:
    assert normalize("  What is <b>RSI</b>,\n the *index*? ") == "what is rsi the index"
    assert normalize("{{c1::Paris::city}} is {{c2::big}}!") == "paris is big"
    # A shape Markdown cannot afford (render.py) is compared as written: the Reviewer's and the run's
    # comparisons of cards must not fail on a card the Formatter will flag.
    assert normalize("Deep?" + "[x]" * 400) == "deep" + " x" * 400
