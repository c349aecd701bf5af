"""Deterministic checks run on every card draft.

Each lint has a stable id (shown to users, the CLI and the repair prompt) and is one small function that
yields `(field, message)` pairs. Blocking lints mark cards that would import broken (an empty side, a cloze
Anki cannot read, markup that swallows the rest of the field); the workflow sends those to the LLM for
repair. The others are advice for the Reviewer and the user.

Fields are Markdown that may hold HTML, read the way `render.markdown_to_html` renders them, so code in
backticks is never mistaken for markup and `**` never counts as a word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from typing import TypeVar

from bs4 import BeautifulSoup

from ..models import BasicCard, Card, CardDraft, ClozeCard, LintFinding
from . import cloze
from .render import RenderError, code_language, find_lexer, markdown_to_html
from .similarity import Corpus, stems, words_of

MAX_ANSWER_WORDS = 15
MAX_ENUMERATED_ITEM_WORDS = 4
MAX_EXTRA_WORDS = 50
"""The prompts ask for at most 40 words of Extra; the lint leaves some slack."""
MAX_EXTRA_CODE_LINES = 12
ANSWER_IN_QUESTION = 0.75
"""The share of an answer's meaningful words that, found in the question, give the answer away."""
CLOZE_LEAK = 0.5
"""The share of a deletion's meaningful words that, visible on its card, give it away."""
MAX_CLOZE_NUMBERS = 2
NEAR_DUPLICATE = 0.72
"""Similarity (`similarity.Corpus`) from which two cards count as asking the same thing."""
FORMULA = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|\$[^$\n]+\$", re.DOTALL)
"""A formula: $$…$$, \\[…\\], \\(…\\) (MathJax, as Anki reads it) or $…$ (as Markdown sources write it)."""


@dataclass(frozen=True)
class Lint:
    id: str
    description: str
    blocking: bool


LINTS: dict[str, Lint] = {}
"""Every lint by id, in the order they run: for docs, the CLI's `lint` command and the UI."""

Findings = Iterator[tuple[str, str]]
"""What a check yields: (draft field, message)."""
Check = TypeVar("Check", bound=Callable[..., Findings])
_BASIC, _CLOZE = (BasicCard,), (ClozeCard,)
_CHECKS: list[tuple[str, tuple[type, ...], Callable[..., Findings]]] = []


def _declare(lint_id: str, description: str, *, blocking: bool = False) -> None:
    LINTS[lint_id] = Lint(lint_id, description, blocking)


RENDER_FAILED = "render-failed"
_declare(
    RENDER_FAILED,
    "The card could not be rendered (quotes or lists nested too deep, or a reply the renderer chokes on).",
    blocking=True,
)


def _check(
    lint_id: str, description: str, *, kinds: tuple[type, ...] = _BASIC + _CLOZE, blocking: bool = False
) -> Callable[[Check], Check]:
    """Register a check that runs on drafts of the given kinds."""
    _declare(lint_id, description, blocking=blocking)

    def register(check: Check) -> Check:
        _CHECKS.append((lint_id, kinds, check))
        return check

    return register


def lint_card(draft: CardDraft) -> list[LintFinding]:
    return [
        LintFinding(lint_id=lint_id, field=field, message=message)
        for lint_id, kinds, check in _CHECKS
        if isinstance(draft, kinds)
        for field, message in check(draft)
    ]


def lint_cards(drafts: Sequence[CardDraft]) -> list[list[LintFinding]]:
    """`lint_card` for each draft, plus the lints that compare cards within the run."""
    return with_cross_card_lints([lint_card(draft) for draft in drafts], drafts)


def with_cross_card_lints(
    findings: Sequence[Sequence[LintFinding]], drafts: Sequence[CardDraft]
) -> list[list[LintFinding]]:
    """Each card's `findings` with the lints that compare cards redone for `drafts` taken as one run.

    Cheap next to `lint_cards`: the per-card lints are kept, not run again.
    """
    redone = [[finding for finding in own if finding.lint_id not in CROSS_CARD] for own in findings]
    for index, finding in (*_duplicate_fronts(drafts), *_near_duplicates(drafts)):
        redone[index].append(finding)
    return redone


def is_blocking(finding: LintFinding) -> bool:
    lint = LINTS.get(finding.lint_id)
    return lint is not None and lint.blocking


def needs_repair(card: Card) -> bool:
    """Whether the card has a blocking finding and should go back to the LLM before import."""
    return any(is_blocking(finding) for finding in card.lints)


# Reading fields


def _fields(draft: CardDraft) -> dict[str, str]:
    if isinstance(draft, BasicCard):
        return {"question": draft.question, "answer": draft.answer, "extra": draft.extra}
    return {"text": draft.text, "extra": draft.extra}


def _front(draft: CardDraft) -> tuple[str, str]:
    return ("question", draft.question) if isinstance(draft, BasicCard) else ("text", draft.text)


def front_text(draft: CardDraft) -> str:
    """What the card shows before the answer: the question, or the cloze text."""
    return _front(draft)[1]


def answer_text(draft: CardDraft) -> str:
    """What the learner has to recall: the answer, or the cloze's deleted words."""
    if isinstance(draft, BasicCard):
        return draft.answer
    return " ".join(deletion.answer for deletion in cloze.scan(draft.text).deletions)


CACHED_FIELD_CHARS = 20_000
"""Fields up to this long are parsed once for all the lints; a longer one (a learner's edit can be any
length) is parsed each time rather than kept in memory."""


def _soup(text: str) -> BeautifulSoup:
    """A field's HTML as the lints read it. Parsed once for all of them (a card's lints ask for the same
    few fields some twenty times, and parsing is most of a card's formatting time, competing with Anki's
    main thread for the GIL), so it is shared between lints and threads: read it, never change it."""
    return _cached_soup(text) if len(text) <= CACHED_FIELD_CHARS else _parse(text)


@lru_cache(maxsize=1024)
def _cached_soup(text: str) -> BeautifulSoup:
    return _parse(text)


def _parse(text: str) -> BeautifulSoup:
    return BeautifulSoup(markdown_to_html(text), "html.parser")


@lru_cache(maxsize=1024)
def _prose(text: str) -> str:
    """Visible text without code blocks or inline code."""
    return " ".join(s for s in _soup(text).strings if s.find_parent(["pre", "code"]) is None)


def card_text(draft: CardDraft) -> str:
    """What a card asks and answers, as one text: question and answer, or the cloze with its answers."""
    if isinstance(draft, BasicCard):
        return f"{draft.question} {draft.answer}"
    return cloze.strip_markers(draft.text)


@lru_cache(maxsize=1024)
def normalize(text: str) -> str:
    """Text as compared across cards: cloze markers, markup and punctuation gone, case folded."""
    stripped = cloze.strip_markers(text)
    try:
        plain = _soup(stripped).get_text(" ")
    except RenderError:  # a shape Markdown cannot afford (render.py): compared as written
        plain = stripped
    return " ".join(re.sub(r"[\W_]+", " ", plain.casefold()).split())


# Lints on one card


@_check("empty-field", "The question, answer or cloze text is empty, blank or markup only.", blocking=True)
def _empty_field(draft: CardDraft) -> Findings:
    if isinstance(draft, BasicCard):
        required = [("question", draft.question), ("answer", draft.answer)]
    else:
        required = [("text", draft.text)]
    for field, text in required:
        soup = _soup(text)
        if not soup.get_text().strip() and soup.find("img") is None:
            yield field, f"The {field} is empty."


def word_count(text: str) -> int:
    """The words of a text: a formula counts as one, a lone symbol (=, →) as none."""
    words = FORMULA.sub(" formula ", text).split()
    return sum(1 for word in words if any(character.isalnum() for character in word))


@_check(
    "answer-too-long",
    f"An answer or cloze deletion has more than {MAX_ANSWER_WORDS} words (code blocks not counted, a"
    " formula counted as one word).",
)
def _answer_too_long(draft: CardDraft) -> Findings:
    if isinstance(draft, BasicCard):
        answers = [("answer", draft.answer)]
    else:
        answers = [("text", deletion.answer) for deletion in cloze.scan(draft.text).deletions]
    for field, answer in answers:
        words = word_count(_prose(answer))
        if words > MAX_ANSWER_WORDS:
            yield field, f"The answer has {words} words; keep it short and move detail to Extra."


_ITEM_SEPARATOR = re.compile(r"\s*[,;]\s+|\s+(?:and|or)\s+", re.IGNORECASE)
_COUNTS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_CONTINUES = frozenset(
    """because so since hence therefore thus which as otherwise that but while whereas yet unlike instead not
    only rather weil denn daher deshalb deswegen darum somit sodass dadurch aber doch jedoch sondern während
    statt anstatt nicht nur car donc mais sinon pas porque pero sino perché quindi ma""".split()
)
"""Words that open a clause continuing the one before: an explanation, a restriction, or the other side of a
contrast (in English, German, French, Spanish and Italian; "also" is left out: in English it adds a fact)."""
_CONTINUING_PHRASES = (
    "e g ",
    "i e ",
    "that is ",
    "in other words ",
    "for example ",
    "d h ",
    "z b ",
    "das heißt",
)
"""Openings, as `normalize` writes them, of a clause that restates or illustrates the one before."""
_CONTRAST = frozenset(
    """differ differs difference differences distinguish compare contrast versus vs but unlike whereas
    unterscheiden unterscheidet unterschied unterschiede gegensatz vergleich während différence
    diferencia""".split()
)
"""Words of a question that asks for one contrast between two things ("Why X but not Y?")."""
_LABELLED = re.compile(r"\s*[^:;]{1,40}:\s")
"""A clause that names its side of a contrast: "B-tree: …"."""


def _asks_for(question: str, count: int) -> bool:
    """Whether the question says how many items it wants ("Which three arguments…?"): a set to be known."""
    words = normalize(question).split()
    return str(count) in words or (count < len(_COUNTS) and _COUNTS[count] in words)


@_check(
    "multiple-facts",
    "The answer holds several facts: a list, an enumeration of 3 or more short items (“A, B and C”),"
    " or clauses joined by a semicolon. Two items joined by “and” (“salt and pepper”) pass, and so do a"
    " statement about several things (“A, B and C become slower”), a question that says how many"
    " items it wants (“Which three…?”), clauses that explain, restrict, restate or contrast (“…; so …”,"
    " “…; not …”, “…; i.e. …”, “…, whereas …”; in English, German, French, Spanish, Italian) and the two"
    " sides of one contrast (“B-tree: …; LSM-tree: …”, or a question asking how two things differ).",
    kinds=_BASIC,
)
def _multiple_facts(draft: BasicCard) -> Findings:
    items = max((len(lst.find_all("li")) for lst in _soup(draft.answer).find_all(["ul", "ol"])), default=0)
    prose = _prose(draft.answer)
    enumerated = [item for item in _ITEM_SEPARATOR.split(prose.strip()) if item]
    clauses = [clause for clause in prose.split(";") if len(clause.split()) >= 3]
    if items >= 2:
        yield "answer", f"The answer is a list of {items} items; make one card per item or use a cloze."
    elif (
        len(enumerated) >= 3
        and all(len(item.split()) <= MAX_ENUMERATED_ITEM_WORDS for item in enumerated)
        and len(enumerated[-1].split()) <= 2  # "A, B and C become slower" is one statement
        and not _asks_for(draft.question, len(enumerated))
        and not any(_continues(item) for item in enumerated[1:])
    ):
        yield "answer", f"The answer enumerates {len(enumerated)} items; make one card per item."
    elif len(clauses) >= 2 and not _one_fact(draft.question, clauses):
        yield "answer", "The answer joins separate statements with a semicolon; make one card per fact."


def _continues(clause: str) -> bool:
    text = normalize(clause)
    words = text.split()
    return bool(words) and (words[0] in _CONTINUES or f"{text} ".startswith(_CONTINUING_PHRASES))


def _one_fact(question: str, clauses: list[str]) -> bool:
    """Whether clauses joined by semicolons make one fact: each continues the one before, or they are the
    two sides of one contrast."""
    if all(_continues(clause) for clause in clauses[1:]):
        return True
    asks_contrast = not _CONTRAST.isdisjoint(normalize(question).split())
    return len(clauses) == 2 and (asks_contrast or all(_LABELLED.match(clause) for clause in clauses))


@_check(
    "question-contains-answer",
    f"At least {ANSWER_IN_QUESTION:.0%} of the answer's meaningful words (stems, common words left out)"
    " appear in the question; either/or questions are exempt.",
    kinds=_BASIC,
)
def _question_contains_answer(draft: BasicCard) -> Findings:
    if " or " not in f" {normalize(draft.question)} ":
        if words := _given_away(draft.answer, draft.question, ANSWER_IN_QUESTION):
            yield "question", f"The question already holds the answer's words ({words}): it gives it away."


def _given_away(answer: str, shown: str, share: float) -> str:
    """The answer's meaningful words that `shown` holds, comma-separated, when they are at least `share` of
    them; else "". Formulas do not count: their commands and labels (`\\text{hot}`) are not words."""
    wanted = stems(normalize(FORMULA.sub(" ", answer)))
    found = wanted & stems(normalize(FORMULA.sub(" ", shown)))
    return ", ".join(words_of(_prose(answer), found)) if wanted and len(found) >= share * len(wanted) else ""


_YES_NO = re.compile(r"\s*(yes|no|true|false)\s*($|[,.;:!—–-])", re.IGNORECASE)
"""An answer that is yes/no or true/false, alone or followed by punctuation ("No, it leads."), not a sentence
that starts with the word ("No other task runs")."""


@_check(
    "trivial",
    "The answer is yes/no or true/false, or an answer or cloze deletion holds no meaningful word"
    " (only words like “the”, “it”, “and”).",
)
def _trivial(draft: CardDraft) -> Findings:
    if isinstance(draft, BasicCard):
        answers = [("answer", draft.answer)]
        if _YES_NO.match(_prose(draft.answer)):
            yield "answer", "A yes/no answer is guessed half the time; ask for the thing itself."
            return
    else:
        answers = [("text", deletion.answer) for deletion in cloze.scan(draft.text).deletions]
    for field, answer in answers:
        plain = normalize(answer)
        if plain and not stems(plain):
            yield field, f"“{plain}” is not worth a card: it holds no meaningful word."


@_check(
    "cloze-in-basic",
    "A basic card contains cloze markers, which it would show as typed.",
    blocking=True,
    kinds=_BASIC,
)
def _cloze_in_basic(draft: BasicCard) -> Findings:
    for field, text in (("question", draft.question), ("answer", draft.answer)):
        scan = cloze.scan(text)
        if scan.deletions or scan.malformed:
            yield field, "Cloze markers only work in a cloze card."


@_check(
    "cloze-missing",
    "A cloze card has no {{c1::…}} deletion that Anki recognizes.",
    blocking=True,
    kinds=_CLOZE,
)
def _cloze_missing(draft: ClozeCard) -> Findings:
    if not cloze.scan(draft.text).deletions:
        yield "text", "The text has no cloze deletion like {{c1::answer}}."


@_check(
    "cloze-syntax",
    "A cloze deletion is never closed, empty, or written in a form Anki ignores ({{C1::, {{c1:, {c1::).",
    blocking=True,
    kinds=_CLOZE,
)
def _cloze_syntax(draft: ClozeCard) -> Findings:
    scan = cloze.scan(draft.text)
    for number in scan.unclosed:
        yield "text", f"{{{{c{number}::… is never closed with }}}}."
    for opener in scan.malformed:
        yield "text", f"“{opener}” is not a cloze opener Anki reads; write {{{{c1::answer}}}}."
    for deletion in scan.deletions:
        if not _soup(deletion.answer).get_text().strip():
            yield "text", f"c{deletion.number} deletes nothing."


@_check(
    "cloze-numbering",
    "Cloze numbers do not run 1, 2, 3… without gaps (the Formatter renumbers them).",
    kinds=_CLOZE,
)
def _cloze_numbering(draft: ClozeCard) -> Findings:
    numbers = sorted({deletion.number for deletion in cloze.scan(draft.text).deletions})
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        used = ", ".join(f"c{n}" for n in numbers)
        yield "text", f"Deletions are numbered {used}; Anki expects c1 to c{len(numbers)}."


@_check(
    "cloze-duplicate",
    "The same text is deleted under two different cloze numbers, so each card shows the other's answer.",
    kinds=_CLOZE,
)
def _cloze_duplicate(draft: ClozeCard) -> Findings:
    numbers_by_answer: dict[str, set[int]] = {}
    for deletion in cloze.scan(draft.text).deletions:
        numbers_by_answer.setdefault(normalize(deletion.answer), set()).add(deletion.number)
    for answer, numbers in numbers_by_answer.items():
        if answer and len(numbers) > 1:
            used = " and ".join(f"c{n}" for n in sorted(numbers))
            yield "text", f"“{answer}” is deleted by {used}; one card reveals the other's answer."


@_check(
    "cloze-leak",
    f"At least {CLOZE_LEAK:.0%} of a deletion's meaningful words are visible on its own card: in the"
    " sentence around it, in its hint, or in a sibling deletion, which that card shows.",
    kinds=_CLOZE,
)
def _cloze_leak(draft: ClozeCard) -> Findings:
    deletions = cloze.scan(draft.text).deletions
    for number in cloze.numbers(draft.text):
        hidden = [d.answer for d in deletions if d.number == number]
        if any(normalize(d.answer) in map(normalize, hidden) for d in deletions if d.number != number):
            continue  # the same text under another number: cloze-duplicate says so
        if words := _given_away(" ".join(hidden), cloze.front_of(draft.text, number), CLOZE_LEAK):
            yield "text", f"The card of c{number} shows its answer's words ({words}) elsewhere in the text."


@_check(
    "cloze-many-numbers",
    f"A cloze has more than {MAX_CLOZE_NUMBERS} numbers: every card shows the other answers, and a list"
    " is tested item by item.",
    kinds=_CLOZE,
)
def _cloze_many_numbers(draft: ClozeCard) -> Findings:
    numbers = {deletion.number for deletion in cloze.scan(draft.text).deletions}
    if len(numbers) > MAX_CLOZE_NUMBERS:
        yield (
            "text",
            f"{len(numbers)} numbers make {len(numbers)} cards that hint at each other: keep one idea per"
            " card, or give a list that must be known one number.",
        )


@_check(
    "extra-too-long",
    f"The Extra has more than {MAX_EXTRA_WORDS} words of prose or more than {MAX_EXTRA_CODE_LINES} lines"
    " of code.",
)
def _extra_too_long(draft: CardDraft) -> Findings:
    words = len(_prose(draft.extra).split())
    code_lines = sum(len(code.get_text().strip().splitlines()) for code in _soup(draft.extra).select("pre"))
    if words > MAX_EXTRA_WORDS:
        yield "extra", f"The Extra has {words} words; keep one why or one pitfall, in two sentences."
    if code_lines > MAX_EXTRA_CODE_LINES:
        yield "extra", f"The Extra's code has {code_lines} lines; keep the few that show the idea."


_SOURCE_TALK = re.compile(
    r"\b(?:(?:the|this) (?:source|text|article|author|passage)(?: text)? (?:says|said|claims?|claimed"
    r"|states?|stated|mentions?|argues?|writes?|suggests?)|according to the (?:source|text|article|author)"
    r"|(?:die|diese|der|dieser) (?:Quelle|Text|Artikel|Autor|Autorin) (?:behauptet|sagt|nennt|schreibt"
    r"|meint|erwähnt)|laut (?:der |dem )?(?:Quelle|Text|Artikel|Autor|Autorin))\b",
    re.IGNORECASE,
)
"""What the source, the text or its author says, in English or German: "The source claims …", "laut Text"."""


@_check(
    "refers-to-source",
    "The card speaks of the text it was made from (“the source claims…”, “according to the author”, “laut"
    " Text”); the learner reviews it later without that text.",
)
def _refers_to_source(draft: CardDraft) -> Findings:
    for field, text in _fields(draft).items():
        if found := _SOURCE_TALK.search(_prose(text)):
            advice = "state the fact, or name the misconception (“Often stated wrongly: …”)"
            yield field, f"“{found.group(0)}”: the learner will not have the text at hand; {advice}."


@_check("code-no-language", "A code block has no language tag, or one the highlighter does not know.")
def _code_no_language(draft: CardDraft) -> Findings:
    for field, text in _fields(draft).items():
        for code in _soup(text).select("pre > code"):
            language = code_language(code)
            if language is None:
                yield field, "A code block has no language tag (```python); it is not highlighted."
            elif find_lexer(language) is None:
                yield field, f"The code language “{language}” is unknown; the block is not highlighted."


@_check(
    "unbalanced-html",
    "HTML tags in a field are not closed, close nothing or overlap (text like List<String> outside"
    " backticks counts as a tag).",
    blocking=True,
)
def _unbalanced_html(draft: CardDraft) -> Findings:
    for field, text in _fields(draft).items():
        problems = _TagBalance.problems(markdown_to_html(text))
        if problems:
            yield field, "Unbalanced HTML: " + "; ".join(problems) + "."


class _TagBalance(HTMLParser):
    """Finds tags left open, stray end tags and overlaps, which a browser would silently repair."""

    VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
    # End tags HTML lets you leave out.
    OPTIONAL_END = frozenset("p li dt dd tr td th thead tbody tfoot colgroup caption option rt rp".split())

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.found: list[str] = []

    @classmethod
    def problems(cls, html: str) -> list[str]:
        parser = cls()
        parser.feed(html)
        parser.close()
        parser._report_unclosed(parser.open)
        return parser.found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if tag not in self.open:
            self.found.append(f"</{tag}> closes nothing")
            return
        at = len(self.open) - 1 - self.open[::-1].index(tag)
        self._report_unclosed(self.open[at + 1 :])
        del self.open[at:]

    def _report_unclosed(self, tags: list[str]) -> None:
        self.found += [f"<{tag}> is not closed" for tag in tags if tag not in self.OPTIONAL_END]


# Lints across cards

DUPLICATE_CARD = "duplicate-card"
_declare(DUPLICATE_CARD, "Another card in the run has the same front, ignoring case, markup and punctuation.")
NEAR_DUPLICATE_CARD = "near-duplicate"
_declare(
    NEAR_DUPLICATE_CARD,
    "Another card in the run asks nearly the same (question and answer, or cloze text, compared by shared"
    f" meaningful words weighted by rarity: similarity {NEAR_DUPLICATE} or more).",
)
CROSS_CARD = (DUPLICATE_CARD, NEAR_DUPLICATE_CARD)


def _duplicate_fronts(drafts: Sequence[CardDraft]) -> Iterator[tuple[int, LintFinding]]:
    first_seen: dict[str, int] = {}
    for index, draft in enumerate(drafts):
        field, front = _front(draft)
        key = normalize(front)
        if not key:
            continue
        if key in first_seen:
            message = f"Same front as card {first_seen[key] + 1}."
            yield index, LintFinding(lint_id=DUPLICATE_CARD, field=field, message=message)
        else:
            first_seen[key] = index


def _near_duplicates(drafts: Sequence[CardDraft]) -> Iterator[tuple[int, LintFinding]]:
    """Each card that asks nearly what an earlier card asks, unless it has the very same front."""
    corpus = Corpus(normalize(card_text(draft)) for draft in drafts)
    fronts = [normalize(_front(draft)[1]) for draft in drafts]
    for index in range(1, len(drafts)):
        earlier = [other for other in range(index) if fronts[other] != fronts[index]]
        found = corpus.most_similar(index, earlier)
        if found and found[1] >= NEAR_DUPLICATE:
            message = f"Asks nearly the same as card {found[0] + 1}; keep the better one."
            yield (
                index,
                LintFinding(lint_id=NEAR_DUPLICATE_CARD, field=_front(drafts[index])[0], message=message),
            )
