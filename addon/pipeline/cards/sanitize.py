r"""An allowlist sanitizer for HTML that goes into a card.

Cards render in Anki's Chromium webview, which runs JavaScript and can call into Python, so every field
this add-on writes passes through here last. Tags outside the allowlist are unwrapped (their text stays)
or, for those whose content is code or UI, removed with their content. Attributes are allowlisted per
tag. A link (`href`) must be an absolute http, https or mailto address: a relative one would point into
Anki's own local web server. An image (`src`) must be the bare name of a file in the collection's media
folder: no scheme, no path, so that showing a card never fetches anything from a host (`//host/x`,
`\\host\x` and `/\host/x` are network paths, not names). `style` keeps only a few properties whose values
contain no functions, escapes or comments, which is all the code highlighter and Markdown tables write.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PreformattedString

from .anki_markup import STRICT, MarkupPolicy, guard_text

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
_NO_MATH = frozenset({"pre", "code"})
"""Where MathJax (as Anki sets it up) never looks for math."""
_GLOBAL_ATTRIBUTES = frozenset({"title", "style"})
_TAG_ATTRIBUTES = {
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
}
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})

STYLE_PROPERTIES = frozenset(
    "color background background-color font-weight font-style text-decoration text-align line-height"
    " padding border-radius white-space overflow-x".split()
)
_STYLE_VALUE = re.compile(r"[\w\s#.,%'\"-]+")
# Browsers ignore these inside a URL scheme, so `java\tscript:` is still `javascript:`.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f-\x9f]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
# A media file name: no scheme, path, query, fragment or percent-escape, not hidden, nothing ignorable.
_MEDIA_NAME = re.compile(r"[^./\\:%?#\x00-\x20\x7f-\x9f][^/\\:%?#\x00-\x1f\x7f-\x9f]*")


def sanitize_html(html: str, policy: MarkupPolicy = STRICT) -> str:
    """Return `html` with only allowlisted tags, attributes, URLs and styles left, and only the math and
    media tags `policy` keeps (`anki_markup`)."""
    soup = BeautifulSoup(html, "html.parser")
    sanitize_tree(soup, policy)
    return soup.decode()


def sanitize_tree(root: Tag, policy: MarkupPolicy = STRICT) -> None:
    """Sanitize a parsed tree in place."""
    for node in list(root.descendants):
        if node.decomposed:
            continue
        if isinstance(node, PreformattedString):  # comments, CDATA, doctypes, processing instructions
            node.extract()
        elif isinstance(node, Tag):
            _sanitize_tag(node)
    root.smooth()  # text split around a removed comment is one text once written out
    _guard_markup(root, policy)


def _guard_markup(root: Tag, policy: MarkupPolicy) -> None:
    """Anki's own markup, in every text node and attribute value, as `policy` allows."""
    for node in list(root.descendants):
        if isinstance(node, Tag):
            for name, value in list(node.attrs.items()):
                node[name] = guard_text(_text(value), policy, math_here=False)
        elif isinstance(node, NavigableString):
            math_here = not any(parent.name in _NO_MATH for parent in node.parents)
            if (guarded := guard_text(str(node), policy, math_here=math_here)) != node:
                node.replace_with(guarded)


def _sanitize_tag(tag: Tag) -> None:
    if tag.name in DROPPED_TAGS:
        tag.decompose()
        return
    if tag.name not in ALLOWED_TAGS:
        tag.unwrap()
        return
    allowed = _GLOBAL_ATTRIBUTES | _TAG_ATTRIBUTES.get(tag.name, frozenset())
    for name, value in list(tag.attrs.items()):
        clean = _clean_attribute(name, _text(value)) if name in allowed else None
        if clean:
            tag[name] = clean
        else:
            del tag[name]


def _text(value: str | list[str]) -> str:
    """An attribute's value as written (bs4 splits `class` and other multi-valued ones into lists)."""
    return " ".join(value) if isinstance(value, list) else value


def _clean_attribute(name: str, value: str) -> str | None:
    if name == "style":
        return clean_style(value)
    if name == "href":
        return value if is_link(value) else None
    if name == "src":
        return value if is_media_name(value) else None
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


def is_link(url: str) -> bool:
    """An absolute http, https or mailto address."""
    scheme = _SCHEME.match(_URL_IGNORED.sub("", url).lower())
    return scheme is not None and scheme.group(1) in _LINK_SCHEMES


def is_media_name(src: str) -> bool:
    """The bare name of a media file, which Anki serves from the collection's media folder."""
    return _MEDIA_NAME.fullmatch(src) is not None
