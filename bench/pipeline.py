"""The planned route against the orchestrator route, over real HTTP to the fake OpenAI server, which waits a
fixed latency before every reply and answers with the scripted crew of the tests (realistic sizes: 9 cards
a topic, an Extra of a few sentences per card, code examples from the Code and Extra Field Expert).

    .venv/bin/python -m bench.pipeline [--latency 1.0] [--concurrency 4] [--cards-per-topic 9] [--no-seed]

Two texts: five topics (one with code), and a long text in three chunks (twelve topics). For each, a Markdown
table with one row per route (requests, also per 1,000 words of the text), then the ratios planned /
orchestrator. "Latencies" is wall time divided by
the latency: how many request round trips the run waited for one after another.
The seed row replays the seed design's ideal orchestrated path for reference: twelve sequential requests
(six Orchestrator decisions with the state in the prompt, five agents, the final transform), each resending
the conversation so far, with replies as long as the crew's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from pprint import pformat

from llama_index.core.llms import ChatMessage, MessageRole

from addon.pipeline import RunResult, Source
from addon.pipeline.llm.client import LLMClient
from tests.fake_openai import FakeOpenAI, Reply
from tests.pipeline_crew import FIVE_TOPICS, Crew, card_for, long_text, run, topics_in

ROUTES = ("planned", "orchestrator")


@dataclass(frozen=True)
class Row:
    route: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cards: int
    words: int

    def cells(self, latency: float) -> list[str]:
        cards = max(self.cards, 1)
        return [
            self.route,
            str(self.requests),
            f"{1000 * self.requests / self.words:.1f}",
            f"{self.prompt_tokens:,}",
            f"{self.completion_tokens:,}",
            f"{self.seconds:.2f} s",
            f"{self.seconds / latency:.1f}",
            str(self.cards),
            f"{self.requests / cards:.2f}",
            f"{self.prompt_tokens / cards:,.0f}",
        ]


def measure(route: str, text: str, args: argparse.Namespace) -> Row:
    with FakeOpenAI(latency=args.latency) as server:
        crew = Crew(cards_per_topic=args.cards_per_topic)
        started = time.perf_counter()
        result = run(server, crew, [Source(text=text)], mode=route, max_concurrency=args.concurrency)
        seconds = time.perf_counter() - started
    _complain(route, result)
    usage = result.usage
    return Row(
        route,
        usage.requests,
        usage.prompt_tokens,
        usage.completion_tokens,
        seconds,
        len(result.cards),
        len(text.split()),
    )


def warm_up() -> None:
    """One small run per route first, so that one-time costs (TLS setup, schema building, the highlighter's
    lexers) are not counted in the first row."""
    with FakeOpenAI() as server:
        for route in ROUTES:
            run(server, Crew(cards_per_topic=2), [Source(text=FIVE_TOPICS)], mode=route)


def _complain(route: str, result: RunResult) -> None:
    for error in result.errors:
        print(f"<!-- {route}: {error.step}: {error.message} -->")


# The seed, replayed

SEED_ORCHESTRATOR = (
    "You are the Orchestrator agent. Your task is to coordinate the interaction between all agents to "
    "create high-quality flashcards.\n\nCurrent State:\n{state}\n\nAvailable agents:\n* Topic Analyzer - "
    "Breaks down complex topics\n* Q&A Generator - Creates flashcards\n* Code and Extra Field Expert - Adds "
    "code\n* Reviewer - Improves card quality\n* Formatter - Formats cards\n\nOutput only the next agent."
)
SEED_AGENTS = {
    "Topic Analyzer": "You are the Topic Analyzer agent. Identify key topics for flashcard creation.",
    "Q&A Generator": "You are an educational content creator specializing in Anki flashcard generation.",
    "Code and Extra Field Expert": "You are the Code and Extra Field Expert agent. Add code and extras.",
    "Reviewer": "You are the Reviewer agent. Review and refine Anki flashcards.",
    "Formatter": "You are the Formatter agent. Ensure proper XML structure and markdown formatting.",
}


def seed_replies(text: str, cards_per_topic: int) -> dict[str, str]:
    """What each seed agent answers, as long as the crew's answers: topics, then all cards as XML."""
    topics = topics_in(text)
    cards = [card_for(topic, n) for topic in topics for n in range(cards_per_topic)]
    xml = "\n".join(
        f"<card><question>{c['front']}</question><answer>{c['back']}</answer>"
        f"<extra>{c['extra']}</extra></card>"
        for c in cards
    )
    return {
        "Topic Analyzer": json.dumps(topics),
        **dict.fromkeys(("Q&A Generator", "Code and Extra Field Expert", "Reviewer", "Formatter"), xml),
        "transform": json.dumps({"cards": cards}),
    }


async def seed_path(server: FakeOpenAI, text: str, cards_per_topic: int) -> RunResult:
    replies = seed_replies(text, cards_per_topic)
    llm = LLMClient(server.settings())
    history: list[ChatMessage] = []
    state = {"input_text": text, "topics": "", "qa_cards": "", "review_status": "pending"}
    try:
        for agent in [*SEED_AGENTS, "END"]:
            server.script(Reply.text(agent))
            system = SEED_ORCHESTRATOR.format(state=pformat(state, indent=2))
            decide = "Decide which agent to run next based on the current state."
            await llm.text([_system(system), *history, _user(decide)], step="Orchestrator")
            if agent == "END":
                break
            server.script(Reply.text(replies[agent]))
            ask = _user(f"Work on this:\n\n{state['qa_cards'] or state['topics'] or text}")
            answer = await llm.text([_system(SEED_AGENTS[agent]), *history, ask], step=agent)
            history += [ask, ChatMessage(role=MessageRole.ASSISTANT, content=answer)]
            state["topics" if agent == "Topic Analyzer" else "qa_cards"] = answer
        server.script(Reply.text(replies["transform"]))
        await llm.text([_user(state["qa_cards"])], step="transform")
    finally:
        await llm.aclose()
    return RunResult(usage=llm.usage.snapshot())


def measure_seed(text: str, args: argparse.Namespace) -> Row:
    with FakeOpenAI(latency=args.latency) as server:
        started = time.perf_counter()
        usage = asyncio.run(seed_path(server, text, args.cards_per_topic)).usage
        seconds = time.perf_counter() - started
    cards = len(topics_in(text)) * args.cards_per_topic
    return Row(
        "seed (replayed)",
        usage.requests,
        usage.prompt_tokens,
        usage.completion_tokens,
        seconds,
        cards,
        len(text.split()),
    )


def _system(content: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.SYSTEM, content=content)


def _user(content: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=content)


# Report

HEADER = [
    "route",
    "requests",
    "requests/1k words",
    "prompt tokens",
    "completion tokens",
    "wall time",
    "latencies",
    "cards",
    "requests/card",
    "prompt tokens/card",
]


def table(title: str, rows: list[Row], latency: float) -> str:
    words = f"{rows[0].words:,} words"
    lines = [f"### {title} ({words})", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells(latency)) + " |" for row in rows]
    planned, orchestrator = rows[0], rows[1]
    lines += ["", "planned / orchestrator: " + ratios(planned, orchestrator)]
    if len(rows) > 2:
        lines += ["planned / seed: " + ratios(planned, rows[2])]
    return "\n".join(lines)


def ratios(a: Row, b: Row) -> str:
    per_card = (a.requests / a.cards) / (b.requests / b.cards)
    prompt = (a.prompt_tokens / a.cards) / (b.prompt_tokens / b.cards)
    wall = a.seconds / b.seconds
    return f"wall time {wall:.2f}×, requests/card {per_card:.2f}×, prompt tokens/card {prompt:.2f}×"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=1.0, help="seconds before every reply (default 1)")
    parser.add_argument("--concurrency", type=int, default=4, help="max_concurrency (default 4)")
    parser.add_argument("--cards-per-topic", type=int, default=9)
    parser.add_argument("--no-seed", action="store_true", help="leave out the replayed seed path")
    args = parser.parse_args()
    print(f"Fake server latency {args.latency:g} s per request, max_concurrency {args.concurrency}.\n")
    warm_up()
    for title, text in (("Five topics, one with code", FIVE_TOPICS), ("Long text, 12 topics", long_text(12))):
        rows = [measure(route, text, args) for route in ROUTES]
        if not args.no_seed:
            rows.append(measure_seed(text, args))
        print(table(title, rows, args.latency) + "\n")


if __name__ == "__main__":
    main()
