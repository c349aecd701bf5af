"""The blind judge of `python -m addon.cli eval`: the text's key ideas, then a verdict on every card.

The judge is told nothing about how the cards were made. It sees each card as a learner reviews it (a cloze
note is one card per number, its blank shown as "[...]"), numbered across the run; cards are judged in
batches of `BATCH`, and each batch carries the cards judged before it so that duplicates can be marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from ..llm.client import LLMClient
from ..models import KeyIdea, KeyIdeas, Verdicts
from . import prompts
from .edits import to_json

BATCH = 30
"""Cards per judge request."""
JUDGE = "Judge"


class LearnerCard(BaseModel):
    """One card as the learner reviews it."""

    note: str
    """The id of the card (note) in the run it comes from."""
    number: int = 1
    """The cloze number of this card; 1 for a basic note."""
    front: str
    back: str
    extra: str = ""


@dataclass
class Judge:
    llm: LLMClient

    async def ideas(self, text: str) -> list[KeyIdea]:
        messages = prompts.request(prompts.JUDGE_IDEAS, "List the key ideas of the source.", source=text)
        return (await self.llm.structured(KeyIdeas, messages, step=f"{JUDGE}: key ideas")).ideas

    async def verdicts(
        self,
        text: str,
        ideas: Sequence[KeyIdea],
        earlier: Sequence[LearnerCard],
        cards: Sequence[LearnerCard],
    ) -> Verdicts:
        """Verdicts on `cards`, numbered after the `earlier` ones, which are shown for duplicates."""
        listed = "\n".join(f"{n}. {idea.idea}" for n, idea in enumerate(ideas, start=1))
        before = f"Cards judged before these (for duplicates):\n{_lines(earlier, 1)}\n" if earlier else ""
        first = len(earlier) + 1
        task = f"Key ideas:\n{listed}\n{before}Judge these cards:\n{_lines(cards, first)}"
        messages = prompts.request(prompts.JUDGE_CARDS, task, source=text)
        step = f"{JUDGE}: cards {first} to {first + len(cards) - 1}"
        return await self.llm.structured(Verdicts, messages, step=step)


def _lines(cards: Sequence[LearnerCard], first: int) -> str:
    return "\n".join(
        to_json({"card": n, "front": c.front, "back": c.back, "extra": c.extra})
        for n, c in enumerate(cards, start=first)
    )
