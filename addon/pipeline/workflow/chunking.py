"""Long sources in chunks that the Topic Analyzer reads in parallel (topics.py merges their topics back).

Splitting uses llama-index's `SentenceSplitter` with a word-piece token estimate and a regex sentence
splitter, so neither tiktoken nor nltk is ever imported (the add-on vendors neither).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from llama_index.core.node_parser.text.sentence import SentenceSplitter
from pydantic import BaseModel

from ..models import Source

MIN_CHUNK_TOKENS = 256
CHUNK_SHARE = 4
"""A chunk takes at most 1/CHUNK_SHARE of the context window: the rest is for the prompt and the reply."""
MAX_CHUNKS_PER_TOPIC = 2
"""A topic found in several chunks gets this many of them as its source text, to bound the prompt."""

_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
"""Chinese, Japanese and Korean characters: about a token each, and not separated by spaces."""
_PIECE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]{{1,4}}|[^\w\s]")
_SENTENCE = re.compile(r"[^.!?。！？؟۔।\n]+(?:[.!?。！？؟۔।]+|\n+|$)\s*")


class Chunk(BaseModel):
    source_index: int
    index: int
    count: int
    """How many chunks its source has."""
    text: str

    @property
    def label(self) -> str:
        """Where the chunk is, for progress messages: "part 2 of 3", or nothing for a whole source."""
        return f"part {self.index + 1} of {self.count}" if self.count > 1 else ""

    @property
    def part(self) -> str:
        """The note for the analyzer prompt when the source comes in several parts."""
        return f"This is part {self.index + 1} of {self.count} of the source." if self.count > 1 else ""


def word_pieces(text: str) -> list[str]:
    """A tokenizer stand-in, close to BPE counts: words in pieces of up to four characters, each CJK
    character, punctuation."""
    return _PIECE.findall(text)


def sentences(text: str) -> list[str]:
    """Sentences with their trailing whitespace, so that joining them gives back the text."""
    return _SENTENCE.findall(text) or [text]


def chunk_tokens(context_window: int) -> int:
    return max(MIN_CHUNK_TOKENS, context_window // CHUNK_SHARE)


def split_text(text: str, context_window: int) -> list[str]:
    size = chunk_tokens(context_window)
    splitter = SentenceSplitter(
        chunk_size=size,
        chunk_overlap=size // 16,
        tokenizer=word_pieces,
        chunking_tokenizer_fn=sentences,
        paragraph_separator="\n\n",
    )
    return splitter.split_text(text) or [text]


def chunk_sources(sources: Sequence[Source], context_window: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for source_index, source in enumerate(sources):
        parts = split_text(source.text, context_window)
        chunks += [
            Chunk(source_index=source_index, index=i, count=len(parts), text=part)
            for i, part in enumerate(parts)
        ]
    return chunks


def chunk_text(chunks: Sequence[Chunk], indices: Iterable[int]) -> str:
    """The text of some of a source's chunks, in order, at most MAX_CHUNKS_PER_TOPIC of them; the first
    chunk if none of `indices` is one of them. Neighbouring chunks overlap: the overlap is given once."""
    known = sorted({i for i in indices if 0 <= i < len(chunks)}) or [0]
    known = known[:MAX_CHUNKS_PER_TOPIC]
    text = chunks[known[0]].text
    for previous, index in zip(known, known[1:], strict=False):
        part = chunks[index].text
        overlap = _overlap(chunks[previous].text, part) if previous + 1 == index else 0
        rest = part[overlap:]
        text += rest if overlap and rest[:1].isspace() else (" " if overlap else "\n\n") + rest
    return text


def _overlap(first: str, second: str) -> int:
    """How many characters at the start of `second` repeat the end of `first`."""
    for size in range(min(len(first), len(second)), 0, -1):
        if first.endswith(second[:size]):
            return size
    return 0
