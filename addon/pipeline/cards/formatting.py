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
        if not isinstance(error, RenderError):
            logger.warning("Card %s could not be rendered", card.id, exc_info=True)
        problem = str(error) if isinstance(error, RenderError) else f"an error ({type(error).__name__})"
        finding = LintFinding(lint_id=RENDER_FAILED, message=f"The card could not be rendered: {problem}.")
        return card.model_copy(update={"fields": {}, "lints": [finding]})


def format_cards(cards: Sequence[Card], policy: MarkupPolicy = STRICT) -> list[Card]:
    """`format_card` for a run's cards, with the lints that compare cards (among those that rendered)."""
    formatted = [format_card(card, policy) for card in cards]
    rendered = [i for i, card in enumerate(formatted) if not render_failed(card)]
    findings = with_cross_card_lints(
        [formatted[i].lints for i in rendered], [formatted[i].draft for i in rendered]
    )
    for index, card_findings in zip(rendered, findings, strict=True):
        formatted[index] = formatted[index].model_copy(update={"lints": card_findings})
    return formatted


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


def _formatted(card: Card, draft: CardDraft, findings: list[LintFinding], policy: MarkupPolicy) -> Card:
    return card.model_copy(update={"draft": draft, "fields": note_fields(draft, policy), "lints": findings})
