"""Words for people: counts that agree with their nouns."""

from __future__ import annotations


def count_of(number: int, noun: str) -> str:
    """A count for people: "1 request", "2 requests", "1,000 notes"."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
