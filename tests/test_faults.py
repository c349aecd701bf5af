"""The fault suite (tests/faults.py): every fault, run as the dialog runs the pipeline and as the command
line does, ends with the cards made so far (0 lost, 0 duplicated, 0 unsafe, as inserted into and rendered
by Anki) and, where something failed, errors that are one clear line each."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from .fake_openai import Reply, Request
from .faults import FAULTS, Fault, Outcome, nested, run_cli, run_pipeline
from .pipeline_crew import Crew

pytestmark = pytest.mark.timeout(180)


def check(outcome: Outcome, fault: Fault, surface: str = "pipeline") -> None:
    assert outcome.lost == 0, f"{outcome.lost} of {outcome.made} cards lost"
    assert outcome.duplicates == 0
    assert outcome.unsafe == []
    assert outcome.clear, outcome.errors
    assert bool(outcome.cards) == fault.cards, (outcome.cards, outcome.errors)
    error = fault.dialog_error if surface == "dialog" and fault.dialog_error else fault.error
    if error:
        assert any(error in message for message in outcome.errors), outcome.errors
    if not fault.cards and fault.stop_when is None:
        assert outcome.errors, "a run without cards says why"


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_pipeline(fault: Fault) -> None:
    check(run_pipeline(fault), fault)


CLI_FAULTS = [fault for fault in FAULTS if "cli" in fault.surfaces]


@pytest.mark.parametrize("fault", CLI_FAULTS, ids=[fault.name for fault in CLI_FAULTS])
def test_cli(fault: Fault, tmp_path: Path) -> None:
    check(run_cli(fault, tmp_path), fault)


def test_a_card_still_broken_after_its_repair_is_left_out_and_said_so() -> None:
    def nested_always(request: Request, crew: Crew) -> Reply:
        reply = nested(request, crew)
        if request.schema_name == "RepairedCard":
            card = {**reply.data["card"], "extra": ">" * 500 + " still too deep"}
            return dataclasses.replace(reply, data={"card": card})
        return reply

    outcome = run_pipeline(Fault("nested, repair fails", nested_always))

    # The first card of each of the two batches.
    assert outcome.cards == outcome.made - 2 and outcome.left_out == 2 and outcome.lost == 0
    assert (
        outcome.errors.count(
            "A card was left out. The card could not be rendered: quotes or lists are nested 500 levels deep;"
            " at most 20 can be shown."
        )
        == 2
    )
