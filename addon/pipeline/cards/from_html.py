"""A note field's HTML as Markdown: what the agents read and the learner edits when existing notes are
reviewed, the reverse of `render.render_markdown` for what cards hold.

Anki's editor writes `<div>` lines, `<br>`, bold, italics, lists, links, images and code; those become their
Markdown. Underline, sub- and superscript and the like have no Markdown and stay inline HTML (the renderer
keeps them); tables stay HTML. Text that Markdown would read as markup (`*`, `` ` ``, `_` at word edges, a
tag-like `<`) is escaped, so rendering the Markdown again gives the same text. Cloze markers, MathJax and
media tags are plain text here and stay as they are.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import NavigableString

from .render import MAX_HTML_DEPTH

_BLOCKS = frozenset("address article aside blockquote dd div dl dt figure footer header li p section".split())
_KEPT_INLINE = frozenset("u sub sup s del ins mark small kbd abbr q ruby rt rp".split())
_DROPPED = frozenset("script style template noscript head title meta link".split())
_EMPHASIS = {"b": "**", "strong": "**", "i": "*", "em": "*"}
_HEADINGS = {f"h{n}": "#" * n for n in range(1, 7)}

_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_ESCAPED = re.compile(r"[*`]|(?<!\w)_|_(?!\w)|<(?=[A-Za-z/!?])|&(?=#?\w+;)")
_ESCAPES = {"<": "&lt;", "&": "&amp;"}
LINE, PARAGRAPH = "\ue010", "\ue011"
"""Where a block ends: at least a line break, or at least a blank line (private-use characters)."""
_BREAKS = re.compile(f"[ \n]*[{LINE}{PARAGRAPH}](?:[ \n]*[{LINE}{PARAGRAPH}])*\n*")


def html_to_markdown(html: str) -> str:
    """Markdown for a field's HTML; an empty string for a field with nothing in it."""
    soup = BeautifulSoup(html, "html.parser")
    parts: list[str] = []
    _convert(soup, parts, depth=0)
    text = _BREAKS.sub(_breaks, "".join(parts))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _breaks(match: re.Match[str]) -> str:
    """A run of block ends and line breaks: a blank line if a paragraph ends there, else as many line
    breaks as were written (at least one)."""
    run = match.group(0)
    return "\n\n" if PARAGRAPH in run else "\n" * max(1, run.count("\n"))


def _escape(text: str) -> str:
    """Text that Markdown would read as markup, escaped (backslashes stay: MathJax needs them)."""
    return _ESCAPED.sub(lambda m: _ESCAPES.get(m.group(0), f"\\{m.group(0)}"), text)


def _convert(node: Tag, parts: list[str], *, depth: int, list_depth: int = 0) -> None:
    if depth > MAX_HTML_DEPTH:  # deeper than any real card: the text is what is left of it
        parts.append(_escape(_SPACE.sub(" ", node.get_text())))
        return
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            text = _SPACE.sub(" ", str(child))
            if not parts or parts[-1].endswith(("\n", LINE, PARAGRAPH)):
                text = text.lstrip(" ")  # a line starts here: HTML's layout whitespace is not text
            parts.append(_escape(text))
        elif isinstance(child, Tag):
            _element(child, parts, depth=depth + 1, list_depth=list_depth)


def _inner(tag: Tag, *, depth: int, list_depth: int = 0) -> str:
    parts: list[str] = []
    _convert(tag, parts, depth=depth, list_depth=list_depth)
    return "".join(parts)


def _element(tag: Tag, parts: list[str], *, depth: int, list_depth: int) -> None:
    name = tag.name.lower()
    if name in _DROPPED:
        return
    if name == "br":
        parts.append("\n")
    elif name == "pre":
        code = tag.get_text().strip("\n")
        parts.append(f"{PARAGRAPH}```\n{code}\n```{PARAGRAPH}")
    elif name == "code":
        code = tag.get_text()
        fence = "``" if "`" in code else "`"
        parts.append(f"{fence}{code}{fence}")
    elif name in _EMPHASIS:
        inner = _inner(tag, depth=depth, list_depth=list_depth)
        mark = _EMPHASIS[name]
        parts.append(f"{mark}{inner.strip()}{mark}" if inner.strip() else inner)
    elif name in _HEADINGS:
        parts.append(f"{PARAGRAPH}{_HEADINGS[name]} {_inner(tag, depth=depth).strip()}{PARAGRAPH}")
    elif name in ("ul", "ol"):
        _list(tag, parts, depth=depth, list_depth=list_depth)
    elif name == "a":
        inner = _inner(tag, depth=depth, list_depth=list_depth)
        href = tag.get("href")
        linked = isinstance(href, str) and href and inner.strip()
        parts.append(f"[{inner.strip()}]({href})" if linked else inner)
    elif name == "img":
        values = {key: tag.get(key) for key in ("src", "alt")}
        attributes = "".join(f' {k}="{_attribute(v)}"' for k, v in values.items() if isinstance(v, str))
        parts.append(f"<img{attributes}>")
    elif name == "hr":
        parts.append(f"{PARAGRAPH}---{PARAGRAPH}")
    elif name == "table":
        parts.append(f"{PARAGRAPH}{tag.decode()}{PARAGRAPH}")
    elif name in _KEPT_INLINE:
        parts.append(f"<{name}>{_inner(tag, depth=depth, list_depth=list_depth)}</{name}>")
    elif name in _BLOCKS:
        gap = PARAGRAPH if name == "p" else LINE
        parts.append(f"{gap}{_inner(tag, depth=depth, list_depth=list_depth).strip(' ')}{gap}")
    else:  # span, font and the like: their text
        _convert(tag, parts, depth=depth, list_depth=list_depth)


def _list(tag: Tag, parts: list[str], *, depth: int, list_depth: int) -> None:
    """One line per item, `- ` or `1. `; nested lists indented four spaces, as Python-Markdown wants."""
    indent = "    " * list_depth
    items = [child for child in tag.children if isinstance(child, Tag) and child.name.lower() == "li"]
    lines = []
    for number, item in enumerate(items, start=1):
        bullet = f"{number}." if tag.name.lower() == "ol" else "-"
        text = _inner(item, depth=depth + 1, list_depth=list_depth + 1).strip()
        lines.append(f"{indent}{bullet} {text}")
    gap = LINE if list_depth else PARAGRAPH
    parts.append(gap + "\n".join(lines) + gap)


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
