"""How alike two short texts are, cheaply: shared word stems, weighted by how rare they are.

Used to find near-duplicate cards across a run, to merge topics that chunks of one text found under
different names, and to pick which cards of other topics the Reviewer sees. No model, no download:

- words are cut to a stem (a trailing plural "s" dropped, then the first `STEM` letters), which matches
  most inflections in English and other European languages;
- common English function words and words of one or two letters are dropped (numbers are kept);
- each stem is weighted by its smoothed inverse document frequency over the texts being compared, so words
  that every card of a run shares (the subject's name, "what", "does") count less than the rare ones;
- the similarity is the cosine of the two weighted stem sets: 0 (nothing shared) to 1 (the same stems).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

STEM = 5
_WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    """a about again against all also am an and any are as at be because been being between both but by
    can could did do does doing during each for from further had has have having he her here hers him his
    how i if in into is it its itself just me my nor now of off on once only or other our out own same she
    should so some such than that the their theirs them then there these they this those through to too
    until very was we were what when where which while who whom why will with would you your yours called
    name named use used using""".split()
)


def stem(word: str) -> str | None:
    """The stem of one word, or None for a word that carries no meaning of its own."""
    word = word.casefold()
    if word in STOPWORDS or (len(word) <= 2 and not word.isdigit()):
        return None
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:STEM]


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def stems(text: str) -> frozenset[str]:
    """The stems of the words of `text` that carry meaning."""
    return frozenset(found for word in words(text) if (found := stem(word)) is not None)


def words_of(text: str, wanted: frozenset[str]) -> list[str]:
    """The words of `text` whose stems are among `wanted`, each once, in order: for messages."""
    return list(dict.fromkeys(word for word in words(text) if stem(word) in wanted))


class Corpus:
    """Texts to compare with each other; the rarer a stem among them, the more it weighs."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.stems = [stems(text) for text in texts]
        frequency = Counter(stem for found in self.stems for stem in found)
        size = len(self.stems)
        self._idf = {stem: math.log((size + 1) / (count + 1)) + 1 for stem, count in frequency.items()}
        self._unseen = math.log(size + 1) + 1

    def weight(self, stem: str) -> float:
        return self._idf.get(stem, self._unseen)

    def similarity(self, first: frozenset[str], second: frozenset[str]) -> float:
        """Cosine of the two stem sets weighted by rarity: 0 to 1."""
        if not first or not second:
            return 0.0
        shared = sum(self.weight(stem) ** 2 for stem in first & second)
        if not shared:
            return 0.0
        norm = math.sqrt(sum(self.weight(s) ** 2 for s in first) * sum(self.weight(s) ** 2 for s in second))
        return shared / norm

    def most_similar(self, index: int, candidates: Sequence[int]) -> tuple[int, float] | None:
        """The candidate (an index into the corpus) most like text `index`, with its similarity."""
        scored = [(other, self.similarity(self.stems[index], self.stems[other])) for other in candidates]
        return max(scored, key=lambda pair: pair[1], default=None)


def similarity(first: str, second: str) -> float:
    """How alike two texts are, weighted over just the two of them."""
    corpus = Corpus([first, second])
    return corpus.similarity(corpus.stems[0], corpus.stems[1])
