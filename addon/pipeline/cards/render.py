"""Markdown to the HTML a card field holds: cloze markers intact, code highlighted, sanitized.

Code blocks are highlighted with Pygments' "lightbulb" style in inline styles (Anki's note type CSS knows
nothing of Pygments classes). It is a dark style that brings its own background, so the block reads the
same in light and night mode, and every token colour in it has at least 4.5:1 contrast (WCAG AA) with that
background. Code blocks that hold cloze deletions are not highlighted: a deletion may split a token, and
the markers must stay plain text for Anki to find them.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache

import markdown
from bs4 import BeautifulSoup, Tag
from markdown.extensions import Extension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.nl2br import Nl2BrExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_all_lexers, get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import Token
from pygments.util import ClassNotFound

from . import cloze
from .anki_markup import STRICT, MarkupPolicy
from .sanitize import sanitize_tree

# nl2br: LLMs break lines where they mean a line break, and a card is too short for reflowed paragraphs.
CODE_STYLE = "lightbulb"
_LANGUAGE_CLASS = "language-"

_style = get_style_by_name(CODE_STYLE)
_PRE_STYLE = "; ".join(
    (
        f"background: {_style.background_color}",
        f"color: #{_style.style_for_token(Token)['color']}",
        "text-align: left",  # Anki's default card CSS centres text; code must not be.
        "padding: 0.5em 0.75em",
        "border-radius: 4px",
        "overflow-x: auto",
        "line-height: 125%",
    )
)
_formatter = HtmlFormatter(noclasses=True, nowrap=True, style=CODE_STYLE)
_local = threading.local()

# Markdown would eat MathJax's backslashes (`\(x\)` → `(x)`) and could split cloze markers, so while it
# runs, these stand aside as placeholders of private-use characters that nothing else produces.
_VERBATIM = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]|\[(\$\$?|latex)\].*?\[/\1\]", re.DOTALL)
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_PRIVATE_USE = re.compile("[\ue000\ue001]")

MAX_NESTING = 20
"""How deep quotes and lists may nest in a field (a `>` or two columns of indentation count one level).
Python-Markdown recurses once per level: a few hundred levels exhaust the stack, and deep indentation over
many lines takes minutes. Nobody writes a card that deep; a model stuck in a loop does."""
MAX_BRACKETS = 300
"""How many `[` a field may have outside code blocks: Python-Markdown looks for a link at each one, in time
that grows with the square of their number (6,000 of them take seconds)."""
MAX_HTML_DEPTH = 100
"""How deep HTML elements may nest in a rendered field; BeautifulSoup walks some trees recursively."""
_CODE_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_LINE_PREFIX = re.compile(r"[ \t>]*")


class RenderError(ValueError):
    """A field that cannot be rendered; str() says why, in words fit for the repair prompt."""


def render_markdown(text: str, policy: MarkupPolicy = STRICT) -> str:
    """Card-ready HTML for one field written in Markdown (raw HTML in it is allowed, then sanitized), with
    the math and media tags `policy` keeps."""
    if not text.strip():
        return ""
    soup = BeautifulSoup(markdown_to_html(text), "html.parser")
    _check_depth(soup)
    for code in soup.select("pre > code"):
        _highlight_block(code)
    sanitize_tree(soup, policy)
    _unwrap_single_paragraph(soup)
    return soup.decode().strip()


def _extensions() -> list[Extension]:
    """Markdown's extensions, as objects: named by string, Markdown looks them up among every installed
    package's entry points first (~100 ms holding the GIL at a session's first card, beside Anki's window)."""
    return [FencedCodeExtension(), TableExtension(), SaneListExtension(), Nl2BrExtension()]


@lru_cache(maxsize=512)
def markdown_to_html(text: str) -> str:
    """Markdown's own HTML for `text`, math and cloze markers intact; not sanitized (the lints read this)."""
    _check_shape(text)
    converter: markdown.Markdown | None = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = markdown.Markdown(extensions=_extensions())
    protected, stashed = _stash(text)
    return _PLACEHOLDER.sub(
        lambda m: html.escape(stashed[int(m.group(1))]), converter.reset().convert(_loosen_lists(protected))
    )


_LIST_ITEM = re.compile(r" {0,3}(?:[-*+]|\d{1,9}\.)\s+\S")


def _code_lines(lines: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Each line, and whether it belongs to a fenced code block (its fences included)."""
    fence: str | None = None
    for line in lines:
        if opener := _CODE_FENCE.match(line):
            fence = None if fence == opener.group(1) else fence or opener.group(1)
            yield line, True
        else:
            yield line, fence is not None


def _loosen_lists(text: str) -> str:
    """A blank line before a list that follows a line of text, outside code blocks: models write
    "Pitfalls:\n- a\n- b", and Python-Markdown starts a list only after a blank line."""
    lines: list[str] = []
    for line, code in _code_lines(text.split("\n")):
        if not code and _LIST_ITEM.match(line) and lines and _is_prose(lines[-1]):
            lines.append("")
        lines.append(line)
    return "\n".join(lines)


def _is_prose(line: str) -> bool:
    """A line of text that is not blank, not a list item and not indented (a list item's continuation)."""
    return bool(line.strip()) and not line[0].isspace() and not _LIST_ITEM.match(line)


def _check_shape(text: str) -> None:
    """RenderError if quotes and lists nest deeper than MAX_NESTING, or `[` are more than MAX_BRACKETS,
    code blocks aside: the shapes Markdown takes too long or too deep a stack to render."""
    brackets = 0
    for line, code in _code_lines(text.splitlines()):
        if code:
            continue
        prefix = _LINE_PREFIX.match(line)
        assert prefix is not None  # the pattern matches the empty string
        marks = prefix.group(0)
        depth = marks.count(">") + len(marks.replace(">", "").expandtabs(4)) // 2
        if depth > MAX_NESTING:
            raise RenderError(
                f"quotes or lists are nested {depth} levels deep; at most {MAX_NESTING} can be shown"
            )
        brackets += line.count("[")
    if brackets > MAX_BRACKETS:
        raise RenderError(f"it has {brackets} “[” outside code blocks; at most {MAX_BRACKETS} can be shown")


def _check_depth(soup: BeautifulSoup) -> None:
    """RenderError if elements nest deeper than MAX_HTML_DEPTH (measured without recursing)."""
    depth = {id(soup): 0}
    for node in soup.descendants:
        assert node.parent is not None  # every descendant has one
        level = depth[id(node.parent)] + 1
        if level > MAX_HTML_DEPTH:
            raise RenderError(f"HTML elements are nested more than {MAX_HTML_DEPTH} levels deep")
        if isinstance(node, Tag):
            depth[id(node)] = level


def _stash(text: str) -> tuple[str, list[str]]:
    """`text` with math and cloze markers swapped for numbered placeholders, and the text each replaced."""
    text = _PRIVATE_USE.sub("", text)
    spans = [match.span() for match in _VERBATIM.finditer(text)]
    spans += [span for span in cloze.marker_spans(text) if not any(a <= span[0] < b for a, b in spans)]
    parts: list[str] = []
    stashed: list[str] = []
    position = 0
    for start, end in sorted(spans):
        parts.append(f"{text[position:start]}\ue000{len(stashed)}\ue001")
        stashed.append(text[start:end])
        position = end
    parts.append(text[position:])
    return "".join(parts), stashed


def code_language(code: Tag) -> str | None:
    """The fence's language tag of a `<pre><code>` block from `markdown_to_html`, if it had one."""
    for css_class in code.get("class") or []:
        if css_class.startswith(_LANGUAGE_CLASS):
            return css_class.removeprefix(_LANGUAGE_CLASS)
    return None


@lru_cache(maxsize=128)
def find_lexer(language: str) -> Lexer | None:
    """The highlighter for a fence's language, or None. Cached: pygments looks the name up among all its
    lexers each time (a lexer keeps no state between `highlight` calls, so one per language is shared).
    Only pygments' own lexers: for a name it does not know, it would search every installed package's entry
    points for plugins (~100 ms holding the GIL, beside Anki's window)."""
    if language.lower() not in _builtin_lexer_names():
        return None
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


@lru_cache(maxsize=1)
def _builtin_lexer_names() -> frozenset[str]:
    return frozenset(alias for _, aliases, _, _ in get_all_lexers(plugins=False) for alias in aliases)


def _highlight_block(code: Tag) -> None:
    """Replace a `<pre><code>` block by our styled `<pre>`, highlighted if its language is known."""
    source = code.get_text()
    language = code_language(code)
    lexer = find_lexer(language) if language and not cloze.has_markers(source) else None
    body = highlight(source, lexer, _formatter) if lexer else html.escape(source, quote=False)
    # Parsed inside <pre> so that BeautifulSoup keeps whitespace-only runs (indentation) as they are.
    pre = BeautifulSoup(f"<pre>{body}</pre>", "html.parser").pre
    assert pre is not None and code.parent is not None
    pre["style"] = _PRE_STYLE
    code.parent.replace_with(pre)


def _unwrap_single_paragraph(soup: BeautifulSoup) -> None:
    """`<p>Paris</p>` → `Paris`: a one-paragraph field needs no paragraph margins."""
    children = [c for c in soup.contents if not (isinstance(c, str) and not c.strip())]
    if len(children) == 1 and isinstance(children[0], Tag) and children[0].name == "p":
        children[0].unwrap()
