"""The deterministic Formatter: safe fixes, lints, then Markdown to sanitized note fields.

Note fields are named as the add-on's note types name them: basic cards fill Front, Back and Extra;
cloze cards fill Text and Extra. The only fix made without asking the LLM is cloze renumbering, which
never changes which text a card hides; everything else is reported as a lint.

Cards are formatted one by one: a card that cannot be linted or rendered (a pathological reply) gets the
blocking finding `render-failed` and no fields, and goes to the LLM for repair like any broken card; the
other cards are not affected.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..models import BasicCard, Card, CardDraft, LintFinding
from . import cloze
from .anki_markup import STRICT, MarkupPolicy
from .lints import RENDER_FAILED, lint_card, with_cross_card_lints
from .render import RenderError, render_markdown

logger = logging.getLogger(__name__)


def format_card(card: Card, policy: MarkupPolicy = STRICT) -> Card:
    """A copy of `card` with its draft fixed, `fields` rendered and `lints` replaced by a fresh run.

    `policy` says which math and media tags the fields keep. Lints that compare cards (duplicate fronts)
    need `format_cards`.
    """
    try:
        draft = fix_draft(card.draft)
        return _formatted(card, draft, lint_card(draft), policy)
    except Exception as error:  # one pathological card must not cost the others
        return card.model_copy(update={"fields": {}, "lints": [_failure(error)]})


def format_cards(cards: Sequence[Card], policy: MarkupPolicy = STRICT) -> list[Card]:
    """`format_card` for a run's cards, with the lints that compare cards (among those that rendered)."""
    formatted = [format_card(card, policy) for card in cards]
    findings = _compared([card.lints for card in formatted], [card.draft for card in formatted])
    return [card.model_copy(update={"lints": f}) for card, f in zip(formatted, findings, strict=True)]


def lint_drafts(drafts: Sequence[CardDraft]) -> list[list[LintFinding]]:
    """The lints of each draft and those that compare them; a draft that cannot be linted gets
    `render-failed` instead and is left out of the comparisons."""
    return _compared([_lint(draft) for draft in drafts], drafts)


def render_failed(card: Card) -> bool:
    return any(finding.lint_id == RENDER_FAILED for finding in card.lints)


def fix_draft(draft: CardDraft) -> CardDraft:
    """The draft with the fixes that are safe to make without asking: cloze numbers run from 1."""
    if isinstance(draft, BasicCard):
        return draft
    return draft.model_copy(update={"text": cloze.renumber(draft.text)})


def note_fields(draft: CardDraft, policy: MarkupPolicy = STRICT) -> dict[str, str]:
    """Sanitized HTML per note field."""
    if isinstance(draft, BasicCard):
        sides = {"Front": draft.question, "Back": draft.answer, "Extra": draft.extra}
    else:
        sides = {"Text": draft.text, "Extra": draft.extra}
    return {name: render_markdown(text, policy) for name, text in sides.items()}


def _lint(draft: CardDraft) -> list[LintFinding]:
    try:
        return lint_card(draft)
    except Exception as error:  # as in format_card
        return [_failure(error)]


def _failure(error: Exception) -> LintFinding:
    if not isinstance(error, RenderError):
        logger.warning("A card could not be rendered", exc_info=True)
    problem = str(error) if isinstance(error, RenderError) else f"an error ({type(error).__name__})"
    return LintFinding(lint_id=RENDER_FAILED, message=f"The card could not be rendered: {problem}.")


def _compared(findings: Sequence[list[LintFinding]], drafts: Sequence[CardDraft]) -> list[list[LintFinding]]:
    """Each card's findings with the lints that compare cards, among the cards that could be linted."""
    linted = [i for i, own in enumerate(findings) if not any(f.lint_id == RENDER_FAILED for f in own)]
    compared = with_cross_card_lints([findings[i] for i in linted], [drafts[i] for i in linted])
    result = list(findings)
    for index, own in zip(linted, compared, strict=True):
        result[index] = own
    return result


def _formatted(card: Card, draft: CardDraft, findings: list[LintFinding], policy: MarkupPolicy) -> Card:
    return card.model_copy(update={"draft": draft, "fields": note_fields(draft, policy), "lints": findings})
