"""The team's roles, named once: step names, provenance, the Orchestrator's choices and its prompt come
from here."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TOPIC_ANALYZER = "Topic Analyzer"
    QA_GENERATOR = "Q&A Generator"
    CODE_EXPERT = "Code and Extra Field Expert"
    REVIEWER = "Reviewer"
    FORMATTER = "Formatter"
    ORCHESTRATOR = "Orchestrator"


JOBS: dict[Role, str] = {
    Role.TOPIC_ANALYZER: "breaks the text down into topics. Runs first.",
    Role.QA_GENERATOR: "writes cards for every topic. Needs topics.",
    Role.CODE_EXPERT: "writes the extra of cards on code topics. After the Q&A Generator, before Reviewer.",
    Role.REVIEWER: "checks and improves the cards. Needs cards.",
    Role.FORMATTER: "turns cards into importable notes, repairing broken ones. Runs after the review.",
}
"""The roles the Orchestrator hands work to, in the order they usually run, with what each one does."""

END = "END"
"""The Orchestrator's choice when the cards are ready."""

NEXT_STEPS: tuple[str, ...] = (*JOBS, END)
"""What the Orchestrator may choose."""
