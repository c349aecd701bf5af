"""`Route`: the base of both workflows, made for one run: settings, agents, record, the cards written."""

from __future__ import annotations

from typing import Any

from workflows import Workflow

from ..agents.team import Agents
from ..settings import PipelineSettings
from .state import RunRecord
from .written import WrittenCards


class Route(Workflow):
    """The workflow of a route, made for one run: its settings, its agents and its record."""

    def __init__(self, settings: PipelineSettings, agents: Agents, record: RunRecord, **kwargs: Any) -> None:
        super().__init__(timeout=settings.run_timeout, **kwargs)
        self.settings = settings
        self.agents = agents
        self.record = record
        self.written = WrittenCards()
        """The cards every topic has written so far: the run, not each topic, owns uniqueness."""
