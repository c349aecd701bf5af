"""The deterministic Formatter: safe fixes, lints, then Markdown to sanitized note fields.

Note fields are named as the add-on's note types name them: basic cards fill Front, Back and Extra;
cloze cards fill Text and Extra. The only fix made without asking the LLM is cloze renumbering, which
never changes which text a card hides; everything else is reported as a lint.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import BasicCard, Card, CardDraft, LintFinding
from . import cloze
from .anki_markup import STRICT, MarkupPolicy
from .lints import lint_card, lint_cards
from .render import render_markdown


def format_card(card: Card, policy: MarkupPolicy = STRICT) -> Card:
    """A copy of `card` with its draft fixed, `fields` rendered and `lints` replaced by a fresh run.

    `policy` says which math and media tags the fields keep. Lints that compare cards (duplicate fronts)
    need `format_cards`.
    """
    draft = fix_draft(card.draft)
    return _formatted(card, draft, lint_card(draft), policy)


def format_cards(cards: Sequence[Card], policy: MarkupPolicy = STRICT) -> list[Card]:
    """`format_card` for a run's cards, with the lints that compare cards."""
    drafts = [fix_draft(card.draft) for card in cards]
    return [
        _formatted(card, draft, findings, policy)
        for card, draft, findings in zip(cards, drafts, lint_cards(drafts), strict=True)
    ]


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
