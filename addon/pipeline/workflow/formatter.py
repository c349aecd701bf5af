"""The Formatter: the deterministic formatting of `cards.formatting` (cloze renumbering, Markdown to sanitized
HTML, lints), then an LLM repair (`Agents.repair`, `prompts.FORMATTER`) only for the cards it finds broken;
last, the run's uniqueness check (`written.repeats`) as the batch is finished (`RunRecord.finish`).

Formatting takes a few milliseconds a card: it runs in a worker thread, so that the event loop meanwhile
sends the requests other batches are ready to make.
"""

from __future__ import annotations

import asyncio

from ..agents.team import Agents
from ..cards.formatting import format_card, format_cards
from ..cards.lints import needs_repair
from ..errors import PipelineError
from ..models import Card
from ..roles import Role
from .events import Batch
from .stages import touched
from .state import Finished, RunRecord


async def format_batch(agents: Agents, record: RunRecord, batch: Batch, cards: list[Card]) -> Finished:
    """The deterministic Formatter; only cards it finds broken go to the LLM for repair, all at once. The
    batch is then recorded as finished (`RunRecord.finish`), which leaves out a card that still cannot be
    rendered and one that repeats a card finished before it.

    A card whose repair fails is kept with its findings, and the failure is recorded.
    """
    formatted = [
        touched(card, Role.FORMATTER) for card in await asyncio.to_thread(format_cards, cards, record.markup)
    ]
    broken = [i for i, card in enumerate(formatted) if needs_repair(card)]
    repairs = await asyncio.gather(
        *(agents.repair(formatted[i].draft, formatted[i].lints, topic=batch.name) for i in broken),
        return_exceptions=True,
    )
    for index, repaired in zip(broken, repairs, strict=True):
        if isinstance(repaired, PipelineError):
            record.fail(f"{Role.FORMATTER}: {batch.name}", repaired)
        elif isinstance(repaired, BaseException):
            raise repaired
        else:
            formatted[index] = format_card(
                formatted[index].model_copy(update={"draft": repaired}), record.markup
            )
    return record.finish(batch, formatted)
