"""A scripted crew behind the fake OpenAI server: plausible replies for every agent, read off each request.

The pipeline tests and `bench/pipeline.py` both use it. Requests are told apart by the JSON schema they ask
for (each agent has its own output model); the reply is built from what the request carries, so a test can
check that an agent got what it needs, and nothing else. Texts are Markdown with one `## heading` per topic,
which is how the scripted Topic Analyzer finds topics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from addon.pipeline import PipelineSettings, ProgressEvent, RunResult, Source, generate

from .fake_openai import FakeOpenAI, Reply, Request

_SOURCE = re.compile(r"<source>\n(.*)\n</source>", re.DOTALL)

ReviewPolicy = Callable[[list[dict[str, Any]]], dict[str, Any]]
NotesPolicy = Callable[[list[dict[str, Any]], str], dict[str, Any]]
"""The Reviewer of existing notes: (the notes a request carries, the learner's feedback) → its reply."""


def settings_for(
    server: FakeOpenAI, *, llm: dict[str, Any] | None = None, **options: Any
) -> PipelineSettings:
    return PipelineSettings(llm=server.settings(**(llm or {})), **options)


def run(
    server: FakeOpenAI,
    crew: Crew,
    sources: Sequence[Source] | None = None,
    *,
    on_event: Callable[[ProgressEvent], None] | None = None,
    llm: dict[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """One pipeline run against `server` answered by `crew`; `options` are PipelineSettings fields."""
    server.handler = crew
    settings = settings_for(server, llm=llm, **options)
    return asyncio.run(generate(sources or [Source(text=FIVE_TOPICS)], settings, on_event=on_event))


def task(request: Request) -> str:
    """The per-call part of a request: its last message before any reply (a repair request adds the bad
    reply and what is wrong with it), after the source if it carries one."""
    content = first_ask(request)[-1].get("content") or ""
    return content.split("\n</source>\n\n", 1)[-1]


def first_ask(request: Request) -> list[dict[str, Any]]:
    """The request's messages up to the first reply of the model: the conversation of the first attempt."""
    messages = []
    for message in request.messages:
        if message.get("role") in ("assistant", "tool"):
            break
        messages.append(message)
    return messages


def source_of(request: Request) -> str | None:
    for message in request.messages:
        if match := _SOURCE.search(message.get("content") or ""):
            return match.group(1)
    return None


def is_excerpt_of(excerpt: str | None, text: str) -> bool:
    """Whether `excerpt` is made of passages of `text`, in order, joined by "[…]" where some are left out."""
    position = 0
    for gap in (excerpt or "").split("[…]"):
        for passage in (p.strip() for p in gap.split("\n\n") if p.strip()):
            found = text.find(passage, position)
            if found < 0:
                return False
            position = found + len(passage)
    return bool(excerpt)


def cards_in(request: Request) -> list[dict[str, Any]]:
    """The numbered cards a request carries (one JSON object per line)."""
    return [json.loads(line) for line in task(request).splitlines() if line.startswith('{"card":')]


def notes_in(request: Request) -> list[dict[str, Any]]:
    """The numbered notes a re-review request carries (one JSON object per line)."""
    return [json.loads(line) for line in task(request).splitlines() if line.startswith('{"note":')]


def feedback_in(request: Request) -> str:
    marker = "with this feedback: "
    line = next((line for line in task(request).splitlines() if marker in line), "")
    if not line:
        return ""
    return json.loads(line.split(marker, 1)[1].rsplit(". Give every note", 1)[0])


def topics_of(request: Request) -> list[dict[str, Any]]:
    """The topics a Q&A Generator request carries, one JSON object per line after "Your topics:"."""
    lines = task(request).splitlines()
    listed = lines[lines.index("Your topics:") + 1 :]
    return [json.loads(line) for line in listed if line.startswith('{"topic":')]


def state_in(request: Request) -> dict[str, Any]:
    lines = task(request).splitlines()
    return json.loads(lines[lines.index("The state of the work:") + 1])


def keep_all(cards: list[dict[str, Any]]) -> dict[str, Any]:
    return {"edits": [], "changes": []}


def tighten_first(cards: list[dict[str, Any]]) -> dict[str, Any]:
    """What a reviewer typically does: one card rewritten, the rest kept."""
    first = {key: value for key, value in cards[0].items() if key not in ("card", "lint")}
    if first["kind"] == "basic":
        first["back"] = " ".join(first["back"].split()[:6])
    return {
        "edits": [{"card": 1, "action": "rewrite", "cards": [first]}],
        "changes": ["Card 1: shorter answer."],
    }


def improve_notes(notes: list[dict[str, Any]], feedback: str) -> dict[str, Any]:
    """What a reviewer does to a learner's notes, read off each note: an answer listing facts with ";" is
    split, one fact per card; an answer over 12 words is cut to the fact asked; a note saying "(doubtful)" is
    flagged; the rest is kept. With feedback, every note is rewritten to follow it."""
    verdicts = []
    for note in notes:
        number, kind, front, back = note["note"], note["kind"], note["front"], note["back"]
        if feedback:
            after = f"{front} ({feedback})" if kind == "cloze" else front
            answer = "" if kind == "cloze" else f"{_words(back, 6)} ({feedback})"
            card = {"kind": kind, "front": after, "back": answer, "extra": ""}
            verdicts.append(_verdict(number, "rewrite", [f"As asked: {feedback}"], [card]))
        elif "(doubtful)" in f"{front} {back}":
            verdicts.append(
                _verdict(number, "flag", ["The date looks wrong: check it."], [], flag="doubtful")
            )
        elif kind == "basic" and ";" in back:
            parts = [part.strip() for part in back.split(";") if part.strip()]
            cards = [
                {"kind": "basic", "front": f"{front.rstrip('?')} (fact {n + 1})?", "back": part, "extra": ""}
                for n, part in enumerate(parts)
            ]
            verdicts.append(
                _verdict(number, "split", ["The answer holds several facts: one card each."], cards)
            )
        elif kind == "basic" and len(back.split()) > 12:
            card = {"kind": "basic", "front": front, "back": _words(back, 8), "extra": note["extra"]}
            verdicts.append(
                _verdict(number, "rewrite", ["The answer is too long: cut to the fact asked."], [card])
            )
    return {"verdicts": verdicts}


def _verdict(
    number: int, verdict: str, reasons: list[str], cards: list[dict[str, Any]], flag: str = ""
) -> dict[str, Any]:
    return {"note": number, "verdict": verdict, "reasons": reasons, "flag": flag, "cards": cards}


def _words(text: str, count: int) -> str:
    return " ".join(text.split()[:count]).rstrip(".,;")


@dataclass
class Crew:
    """Answers every agent's request. Tune it per test; `seen` records (schema, request) pairs."""

    cards_per_topic: int = 9
    review: ReviewPolicy = tighten_first
    rereview: NotesPolicy = improve_notes
    fail_topics: set[str] = field(default_factory=set)
    decisions: list[str] | None = None
    """Scripted Orchestrator choices, in order; None follows the seed's ideal path from the state."""
    broken: set[int] = field(default_factory=set)
    """Numbers (from 0) of the cards of every topic that come out broken: a cloze without a deletion."""
    delay: Callable[[str, Request], float] = lambda schema, request: 0.0
    seen: list[tuple[str, Request]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Reply:
        schema = request.schema_name or ""
        with self._lock:
            self.seen.append((schema, request))
        answer = getattr(self, f"_{schema.lower()}", None)
        if answer is None:
            return Reply.error(400, f"pipeline_crew: unknown schema {schema!r}")
        reply: Reply = answer(request)
        return dataclasses.replace(reply, delay=self.delay(schema, request))

    def requests(self, schema: str) -> list[Request]:
        return [request for name, request in self.seen if name == schema]

    def _topicanalysis(self, request: Request) -> Reply:
        return Reply.json({"language": "English", "topics": topics_in(source_of(request) or "")})

    def _carddrafts(self, request: Request) -> Reply:
        topics = topics_of(request)
        if any(topic["name"] in self.fail_topics for topic in topics):
            return Reply.error(400, "the model refused")
        cards = [
            {**card_for(topic, n, broken=n in self.broken), "topic": topic["topic"]}
            for topic in topics
            for n in range(self.cards_per_topic)
        ]
        return Reply.json({"cards": cards})

    def _extrafields(self, request: Request) -> Reply:
        extras = [{"card": card["card"], "extra": _code_extra(card)} for card in cards_in(request)]
        return Reply.json({"extras": extras})

    def _review(self, request: Request) -> Reply:
        return Reply.json(self.review(cards_in(request)))

    def _noteverdicts(self, request: Request) -> Reply:
        return Reply.json(self.rereview(notes_in(request), feedback_in(request)))

    def _repairedcard(self, request: Request) -> Reply:
        card = cards_in(request)[0]
        return Reply.json(
            {
                "card": {
                    "kind": "basic",
                    "front": f"What does the repair fix in {made_up_word(card['front'])}?",
                    "back": f"A card about {made_up_word(card['front'], 'back')}",
                    "extra": card["extra"],
                }
            }
        )

    def _revision(self, request: Request) -> Reply:
        feedback = json.loads(task(request).splitlines()[0].removeprefix("The learner's feedback: "))
        edits = [
            {
                "card": card["card"],
                "action": "rewrite",
                "cards": [
                    {
                        "kind": "cloze",
                        "front": f"Revised ({feedback}): {{{{c1::fact {card['card']}}}}}",
                        "back": "",
                        "extra": "",
                    }
                ],
            }
            for card in cards_in(request)
        ]
        return Reply.json({"edits": edits, "changes": [f"Applied: {feedback}"] * len(edits)})

    def _keyideas(self, request: Request) -> Reply:
        return Reply.json({"ideas": JUDGED_IDEAS})

    def _verdicts(self, request: Request) -> Reply:
        return Reply.json({"cards": [verdict_on(card) for card in cards_in(request)]})

    def _decision(self, request: Request) -> Reply:
        if self.decisions is not None:
            with self._lock:
                choice = self.decisions.pop(0) if self.decisions else "END"
        else:
            choice = ideal_next(state_in(request))
        return Reply.json({"next_agent": choice, "reason": "scripted"})


JUDGED_IDEAS = [
    {"idea": "RSI measures momentum on a 0-100 scale", "integrating": False},
    {"idea": "Why moving averages confirm rather than predict trends", "integrating": True},
]


def verdict_on(card: dict[str, Any]) -> dict[str, Any]:
    """The scripted judge: a card on point 1 duplicates another, a cloze needs polish, the rest are usable."""
    if "point 1)" in card["front"]:
        return {
            "card": card["card"],
            "comment": "dup",
            "defects": ["D", "T"],
            "verdict": "unusable",
            "ideas": [],
        }
    if "[...]" in card["front"]:
        return {"card": card["card"], "comment": "hint", "defects": ["L"], "verdict": "polish", "ideas": [2]}
    return {"card": card["card"], "comment": "", "defects": [], "verdict": "usable", "ideas": [1]}


def ideal_next(state: dict[str, Any]) -> str:
    """The seed's ideal path: analyze, generate, enrich if needed, review, format, end."""
    if state["topics"] is None:
        return "Topic Analyzer"
    if not state["cards"]:
        return "Q&A Generator"
    if state["cards_needing_code_expert"]:
        return "Code and Extra Field Expert"
    if not state["reviewed"]:
        return "Reviewer"
    if not state["formatted"]:
        return "Formatter"
    return "END"


def topics_in(text: str) -> list[dict[str, Any]]:
    """The topics the scripted Topic Analyzer finds: one per `## heading`."""
    return [topic_of(section) for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]]


def topic_of(section: str) -> dict[str, Any]:
    name, _, body = section.partition("\n")
    words = [w.strip(".,;:()`") for w in body.split() if len(w) > 7]
    points = list(dict.fromkeys(words))
    return {
        "name": name.strip(),
        "importance": 3 if len(points) > 8 else 2,
        "key_points": [f"What {point} means for {name.strip()}" for point in points[:6]],
        "connections": [f"Why {name.strip()} matters"],
        "code": "```" in body,
    }


def card_for(topic: dict[str, Any], n: int, *, broken: bool = False) -> dict[str, Any]:
    """Card `n` of a topic, in the flat shape agents write: mostly basic, every third a cloze."""
    name = topic["name"]
    concepts = [point.removeprefix("What ").split(" means")[0] for point in topic["key_points"]]
    concept = (concepts or ["concept"])[n % max(1, len(concepts))]
    extra = (
        f"Pitfall: reading {concept} alone, without the trend that frames it, misleads traders of {name} "
        f"(example {n + 1})."
    )
    if broken:
        return {
            "kind": "cloze",
            "front": f"In {name}, {concept} has no deletion.",
            "back": "",
            "extra": extra,
        }
    if n % 3 == 2:
        concept = (concepts or ["concept"])[n // 3 % max(1, len(concepts))]
        front = f"In {name}, the term {{{{c1::{concept}}}}} names the {made_up_word(name, n)} idea {n + 1}."
        return {"kind": "cloze", "front": front, "back": "", "extra": extra}
    return {
        "kind": "basic",
        "front": f"In {name}, what role does {concept} play for {made_up_word(name, n)} (point {n + 1})?",
        "back": f"It signals {made_up_word(name, n, 'back')}",
        "extra": extra,
    }


def made_up_word(*seed: object) -> str:
    """A word of its own for each card, so that the crew's cards, alike by design, are not taken for
    repeats of each other."""
    digest = hashlib.sha1(repr(seed).encode()).digest()
    return "".join("bcdfghjklmnprstvz"[byte % 17] + "aeiou"[byte // 17 % 5] for byte in digest[:3])


def _code_extra(card: dict[str, Any]) -> str:
    return (
        "```python\n# average gain over 14 periods\n"
        "gain = prices.diff().clip(lower=0).rolling(14).mean()\n```\n\n"
        "Pitfall: the first 14 values are empty (NaN)."
    )


FIVE_TOPICS = """# Reading a price chart with indicators

## Relative Strength Index
The Relative Strength Index (RSI) is a momentum indicator used in technical analysis. It measures the speed
and magnitude of recent price changes to evaluate overbought or oversold conditions. RSI is displayed as an
oscillator on a scale from 0 to 100. Readings above 70 generally indicate overbought conditions, while
readings below 30 indicate oversold conditions. The standard lookback period is 14 periods, as J. Welles
Wilder proposed in 1978. RSI can also reveal divergences: when price makes a new high but RSI does not, the
upward momentum is weakening. Failure swings, where RSI crosses back through 70 or 30 without price
confirming, are another signal Wilder described.

## Moving Averages
A moving average smooths a price series by averaging the last N closing prices. The simple moving average
(SMA) weights every price equally, while the exponential moving average (EMA) gives more weight to recent
prices and therefore reacts faster. Traders watch the 50-day and 200-day moving averages in particular. When
the 50-day average crosses above the 200-day average, the event is called a golden cross and is read as a
bullish signal; the opposite crossing is called a death cross. Moving averages lag price by construction, so
they confirm trends rather than predict them.

## Bollinger Bands
Bollinger Bands, developed by John Bollinger in the 1980s, place a band two standard deviations above and
below a 20-period simple moving average. Because the bands are built from the standard deviation, they widen
when volatility rises and narrow when it falls. A narrowing of the bands, called a squeeze, often comes
before a strong move. Prices touching the upper band are not by themselves a sell signal: in a strong
uptrend, prices can walk along the upper band for a long time.

## MACD
The Moving Average Convergence Divergence (MACD) indicator, created by Gerald Appel, subtracts the 26-period
EMA from the 12-period EMA. A 9-period EMA of the MACD line, called the signal line, is plotted on top of it.
When the MACD line crosses above the signal line, momentum is turning up; a cross below suggests it is
turning down. The histogram shows the distance between the two lines, so a shrinking histogram warns that a
crossover may come soon.

## Computing RSI in Python
To calculate the RSI in Python, you can use the pandas library. First compute the price changes with diff(),
then separate gains from losses, average each over 14 periods with rolling(), and combine them:

```python
def rsi(prices, periods=14):
    delta = prices.diff()
    gain = delta.clip(lower=0).rolling(periods).mean()
    loss = (-delta.clip(upper=0)).rolling(periods).mean()
    return 100 - 100 / (1 + gain / loss)
```

The first values of the result are empty (NaN) because a full window of 14 prices is needed. Wilder's own
method uses a smoothed average rather than a simple rolling mean, so values differ slightly from charting
tools.
"""


def long_text(topics: int = 12, paragraphs: int = 4) -> str:
    """A text of `topics` sections, long enough to be analysed in several chunks."""
    sentences = [
        "Analysts of {t} compare today's reading with the readings of the last weeks.",
        "The indicator behind {t} was popular with floor traders long before personal computers.",
        "Critics of {t} point out that any rule tuned on old prices can fail on new ones.",
        "Textbooks present {t} with a worked example on the daily chart of a large index.",
        "A practical habit is to confirm every {t} signal with the volume of the same day.",
        "Beginners tend to overtrade the first time {t} gives a clear signal.",
    ]
    sections = []
    for n in range(topics):
        name = f"Indicator family {n + 1}"
        body = "\n\n".join(
            " ".join(s.format(t=f"{name} variant {p + 1}") for s in sentences) for p in range(paragraphs)
        )
        sections.append(f"## {name}\n{body}")
    return "# A long survey of indicators\n\n" + "\n\n".join(sections)
