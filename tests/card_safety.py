r"""An independent check of what reaches a card, written from what a browser, MathJax and Anki do with a field
rather than from the sanitizer's code (it shares none of it).

`field_problems(html)` lists what is unsafe in one stored field: a tag or attribute outside the allowlist,
an event handler, a link that is not http(s)/mailto, an image that is not a bare media file name (so no
fetch from any host), a style with functions or escapes, a LaTeX tag Anki would compile, a media tag the
source did not hold, a MathJax command that reaches outside the formula. `rendered_problems(col, note_ids)`
renders the notes' cards with Anki itself and lists scripts, event handlers, LaTeX images and sounds.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection as Container
from collections.abc import Iterable
from html.parser import HTMLParser

from anki.collection import Collection
from anki.notes import NoteId

TAGS = set(
    "a abbr b blockquote br caption code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark"
    " ol p pre q rp rt ruby s samp small span strong sub sup table tbody td tfoot th thead tr u ul".split()
)
ATTRIBUTES = {"title", "style", "href", "src", "alt", "width", "height", "start", "colspan", "rowspan"}
LINK = re.compile(r"(https?|mailto):", re.IGNORECASE)
MEDIA_NAME = re.compile(r"[^./\\:%?#\s][^/\\:%?#\x00-\x1f]*")
STYLE_DANGER = re.compile(r"[(\\<@]|/\*|url|expression|import", re.IGNORECASE)
LATEX_TAG = re.compile(r"\[/?(latex|\$\$?)\]", re.IGNORECASE)
MEDIA_TAG = re.compile(r"\[sound:[^\]]*\]|\[/?anki:[^\]]*\]", re.IGNORECASE)
MATHJAX_OUTSIDE = re.compile(r"\\(href|url|style|class|cssId|data|bbox|require|unicode|mmlToken|html)\b")
MATHJAX = re.compile(r"\\[(\[]")


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: list[tuple[str, bool]] = []  # (decoded text, inside pre/code)
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"tag <{tag}>")
        if tag in ("pre", "code"):
            self._code += 1
        for name, value in attrs:
            value = value or ""
            if name not in ATTRIBUTES:
                self.problems.append(f"attribute {name}")
            elif name == "href" and not LINK.match(re.sub(r"[\x00-\x20]", "", value)):
                self.problems.append(f"link {value!r}")
            elif name == "src" and not MEDIA_NAME.fullmatch(value):
                self.problems.append(f"image source {value!r}")
            elif name == "style" and STYLE_DANGER.search(value):
                self.problems.append(f"style {value!r}")
            self.texts.append((value, True))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("pre", "code"):
            self._code = max(0, self._code - 1)

    def handle_data(self, data: str) -> None:
        self.texts.append((data, self._code > 0))

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")


def field_problems(
    field: str, *, media: Container[str] = (), latex: bool = False, math: bool = True
) -> list[str]:
    """What is unsafe in one stored field. `media`: the media tags the source held; `latex`: the run kept
    LaTeX tags on purpose; `math`: MathJax may stay (else its delimiters are a problem too)."""
    parser = _Fields()
    parser.feed(field)
    parser.close()
    problems = list(parser.problems)
    for text in (field, html.unescape(field)):  # as Anki reads it, and as an editor may save it back
        if not latex and LATEX_TAG.search(text):
            problems.append(f"LaTeX tag in {text[:80]!r}")
        problems += [f"media tag {tag}" for tag in MEDIA_TAG.findall(text) if tag not in media]
    for text, in_code in parser.texts:  # MathJax reads formulas within one text, never in code
        if in_code or not MATHJAX.search(text):
            continue
        if MATHJAX_OUTSIDE.search(text):
            problems.append(f"MathJax command in {text[:80]!r}")
        if not math:
            problems.append(f"MathJax in {text[:80]!r}")
    return problems


def rendered_problems(col: Collection, note_ids: Iterable[NoteId], *, sounds: bool = False) -> list[str]:
    """Each card of these notes as Anki renders it: no script, no event handler, no LaTeX image, and no
    sound unless `sounds`."""
    problems = []
    for note_id in note_ids:
        for card in col.get_note(note_id).cards():
            problems += [
                f"{problem} in card {card.id}" for problem in html_problems(card.question() + card.answer())
            ]
            if not sounds and (card.question_av_tags() or card.answer_av_tags()):
                problems.append(f"sound in card {card.id}")
    return problems


def html_problems(rendered: str) -> list[str]:
    """What is unsafe in a card's HTML as Anki rendered it: a script, an event handler, a LaTeX image."""
    problems = []
    if re.search(r"<script|<[^>]*\son\w+\s*=", rendered, re.IGNORECASE):
        problems.append("script")
    if re.search(r"src=\"latex-", rendered):
        problems.append("LaTeX image")
    return problems
