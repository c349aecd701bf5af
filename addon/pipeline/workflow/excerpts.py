"""The part of a topic's source an agent needs: the passages most like what it works on.

Sending every agent the whole chunk costs its tokens on every request, invites cards on other topics' facts,
and on a small local model pushes the prompt past the context window. So the Q&A Generator gets the passages
that match its topic's name, key points and connections, and the Code and Extra Field Expert and the
Reviewer get those that match the cards they check. First, for each thing asked about, in order, its best
passage (so every key point and every card has its evidence, up to twice the limit); then the passages most
like anything asked, up to the limit, as long as they score at least `CLOSE` of the best one's score. Passages
keep their order, and `GAP` marks what is left out. A text within the limit is given whole.

A passage is a paragraph with what belongs to it: a heading with the paragraph after it, a code block or a
formula with the paragraph before it (which introduces it), a paragraph that starts in lower case ("where
W is …") with the one before. A long paragraph is cut at sentences (a line break alone ends none), never
inside a formula, and a sentence without a word of its own (a displayed formula) stays with the one before.
So a topic's formula comes with the words that match the topic, instead of being left out for want of words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..cards.lints import FORMULA
from ..cards.similarity import Corpus, stems

GENERATOR_CHARS_PER_CARD = 300
"""The Q&A Generator's share of the source per card planned: about 400 words for a central topic."""
CHECKING_CHARS_PER_CARD = 200
"""The share per card for the agents that check cards (Code and Extra Field Expert, Reviewer)."""
MIN_CHARS, MAX_CHARS = 1_600, 4_800
"""Bounds of an excerpt's limit: about 250 and 750 words."""
GAP = "[…]"
CLOSE = 0.7
"""Beyond each query's best passage, only passages scoring at least this share of the top score are added:
the generator and the Reviewer get their topic's passages, not loosely related ones."""

_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_FENCE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)
_HEADING = re.compile(r" {0,3}#{1,6} [^\n]*")
_MASKED = re.compile("\x00(\\d+)\x00")
"""A formula's place while a paragraph is cut at sentences."""
_SENTENCE = re.compile(r".+?(?:[.!?。！？]+(?=\s)|$)\s*", re.DOTALL)
"""A sentence with its trailing whitespace: up to a full stop (or ! ?) and a space; a line break alone does
not end one (paragraphs are often wrapped)."""


def generator_limit(cards: int) -> int:
    """The excerpt's limit for the Q&A Generator of a batch with this many cards planned."""
    return min(max(GENERATOR_CHARS_PER_CARD * cards, MIN_CHARS), MAX_CHARS)


def checking_limit(cards: int) -> int:
    """The excerpt's limit for an agent that checks this many cards."""
    return min(max(CHECKING_CHARS_PER_CARD * cards, MIN_CHARS), MAX_CHARS)


def excerpt(text: str, about: Sequence[str], limit: int) -> str:
    """The passages of `text` most like the texts in `about`, within about `limit` characters."""
    if len(text) <= limit:
        return text
    passages = _passages(text, limit)
    corpus = Corpus([*passages, *about])
    ours, asked = corpus.stems[: len(passages)], corpus.stems[len(passages) :]
    score = [[corpus.similarity(passage, query) for query in asked] for passage in ours]
    chosen: set[int] = set()
    size = 0

    def take(index: int, budget: int) -> None:
        nonlocal size
        if index not in chosen and size + len(passages[index]) <= budget:
            chosen.add(index)
            size += len(passages[index])

    for query in range(len(asked)):
        evidence = max(range(len(passages)), key=lambda p: score[p][query])
        if score[evidence][query] > 0:
            take(evidence, 2 * limit)
    best = [max(row, default=0.0) for row in score]
    for passage in sorted(range(len(passages)), key=lambda p: -best[p]):
        if best[passage] > 0 and best[passage] >= CLOSE * max(best):
            take(passage, limit)
    if not chosen:
        take(0, len(passages[0]))
    return _joined(passages, sorted(chosen))


def _passages(text: str, limit: int) -> list[str]:
    """The text's passages (see the module's docstring); long paragraphs cut at sentences into pieces of
    about a quarter of `limit`."""
    blocks: list[str] = []
    for block in _BLANK_LINES.split(text.strip()):
        if not block.strip():
            continue
        follows = blocks[-1] if blocks else ""
        if blocks and (
            len(_FENCE.findall(follows)) % 2
            or _HEADING.fullmatch(follows)
            or _FENCE.match(block)
            or not stems(FORMULA.sub(" ", block))
            or block[0].islower()
        ):
            blocks[-1] += "\n\n" + block
        else:
            blocks.append(block)
    pieces: list[str] = []
    for block in blocks:
        if len(block) <= limit // 2 or _FENCE.search(block):
            pieces.append(block)
            continue
        piece = ""
        for sentence in _sentences(block):
            if piece and len(piece) + len(sentence) > limit // 4 and stems(FORMULA.sub(" ", sentence)):
                pieces.append(piece.strip())
                piece = ""
            piece += sentence
        if piece.strip():
            pieces.append(piece.strip())
    return pieces


def _sentences(block: str) -> list[str]:
    """The block's sentences, formulas kept whole."""
    formulas = FORMULA.findall(block)
    numbered = iter(range(len(formulas)))
    masked = FORMULA.sub(lambda _: f"\x00{next(numbered)}\x00", block)
    return [_MASKED.sub(lambda m: formulas[int(m.group(1))], s) for s in _SENTENCE.findall(masked)]


def _joined(passages: Sequence[str], chosen: Sequence[int]) -> str:
    parts: list[str] = []
    for previous, index in zip([-1, *chosen], chosen, strict=False):
        if index != previous + 1:
            parts.append(GAP)
        parts.append(passages[index])
    if chosen[-1] != len(passages) - 1:
        parts.append(GAP)
    return "\n\n".join(parts)
