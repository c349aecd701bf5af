"""An allowlist sanitizer for HTML that goes into a card.

Cards render in Anki's Chromium webview, which runs JavaScript and can call into Python, so every field
this add-on writes passes through here last. Tags outside the allowlist are unwrapped (their text stays)
or, for those whose content is code or UI, removed with their content. Attributes are allowlisted per
tag; URLs must be relative or use an allowed scheme (`data:` never is); `style` keeps only a few
properties whose values contain no functions, escapes or comments, which is all the code highlighter
and Markdown tables write.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.element import PreformattedString

ALLOWED_TAGS = frozenset(
    "a abbr b blockquote br caption code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark"
    " ol p pre q rp rt ruby s samp small span strong sub sup table tbody td tfoot th thead tr u ul".split()
)
# Removed with everything inside: their content is code, styles, embedded documents or form controls.
DROPPED_TAGS = frozenset(
    "script style iframe frame frameset object embed applet template noscript noembed noframes svg math"
    " form input button select textarea option link meta base title head xmp plaintext audio video"
    " source track canvas dialog portal".split()
)
_GLOBAL_ATTRIBUTES = frozenset({"title", "style"})
_TAG_ATTRIBUTES = {
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
}
_URL_ATTRIBUTES = {"href": frozenset({"http", "https", "mailto"}), "src": frozenset({"https"})}

STYLE_PROPERTIES = frozenset(
    "color background background-color font-weight font-style text-decoration text-align line-height"
    " padding border-radius white-space overflow-x".split()
)
_STYLE_VALUE = re.compile(r"[\w\s#.,%'\"-]+")
# Browsers ignore these inside a URL scheme, so `java\tscript:` is still `javascript:`.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f-\x9f]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")


def sanitize_html(html: str) -> str:
    """Return `html` with only allowlisted tags, attributes, URLs and styles left."""
    soup = BeautifulSoup(html, "html.parser")
    sanitize_tree(soup)
    return soup.decode()


def sanitize_tree(root: Tag) -> None:
    """Sanitize a parsed tree in place."""
    for node in list(root.descendants):
        if node.decomposed:
            continue
        if isinstance(node, PreformattedString):  # comments, CDATA, doctypes, processing instructions
            node.extract()
        elif isinstance(node, Tag):
            _sanitize_tag(node)


def _sanitize_tag(tag: Tag) -> None:
    if tag.name in DROPPED_TAGS:
        tag.decompose()
        return
    if tag.name not in ALLOWED_TAGS:
        tag.unwrap()
        return
    allowed = _GLOBAL_ATTRIBUTES | _TAG_ATTRIBUTES.get(tag.name, frozenset())
    for name, value in list(tag.attrs.items()):
        text = " ".join(value) if isinstance(value, list) else value
        clean = _clean_attribute(name, text) if name in allowed else None
        if clean:
            tag[name] = clean
        else:
            del tag[name]


def _clean_attribute(name: str, value: str) -> str | None:
    if name == "style":
        return clean_style(value)
    if name in _URL_ATTRIBUTES:
        return value if _url_allowed(value, _URL_ATTRIBUTES[name]) else None
    return value


def clean_style(style: str) -> str | None:
    """Keep allowlisted `property: value` pairs with plain values; None when nothing is left."""
    kept = []
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if colon and name in STYLE_PROPERTIES and _STYLE_VALUE.fullmatch(value):
            kept.append(f"{name}: {value}")
    return "; ".join(kept) or None


def _url_allowed(url: str, schemes: frozenset[str]) -> bool:
    scheme = _SCHEME.match(_URL_IGNORED.sub("", url).lower())
    return scheme is None or scheme.group(1) in schemes
