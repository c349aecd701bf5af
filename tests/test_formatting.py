from __future__ import annotations

import html
import importlib.metadata
import re

import pytest
from bs4 import BeautifulSoup, Tag

from addon.pipeline.cards import cloze
from addon.pipeline.cards.anki_markup import MarkupPolicy
from addon.pipeline.cards.formatting import format_card, format_cards
from addon.pipeline.cards.lints import needs_repair
from addon.pipeline.cards.render import render_markdown
from addon.pipeline.cards.sanitize import ALLOWED_TAGS, STYLE_PROPERTIES, sanitize_html
from addon.pipeline.models import BasicCard, Card, ClozeCard, LintFinding

XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<img src=x onerror=alert(1)>",
    '<IMG SRC="javascript:alert(1)">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#115;cript:alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example"><input name="a"><button formaction="x">go</button></form>',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:/">',
    "<style>body { display: none }</style>",
    '<div style="background: url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    '<p style="position: fixed; top: 0; color: red">x</p>',
    '<p style="color: \\72 ed">x</p>',
    '<p onclick="alert(1)" ONMOUSEOVER="alert(1)">x</p>',
    "<details open ontoggle=alert(1)>x</details>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<!--<script>alert(1)</script>--><![CDATA[<script>alert(1)</script>]]>",
    "<template><script>alert(1)</script></template>",
    "<b><i onclick=alert(1)><u><img src=x onerror=alert(1)></u></i></b>",
]
XSS_MARKDOWN = [
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1) 'title')",
    "<javascript:alert(1)>",
    "Text <img src=x onerror=alert(1)> in **Markdown**",
]
DANGEROUS_URL = re.compile(r"^\s*(javascript|vbscript|data):", re.IGNORECASE)


def assert_safe(html: str) -> None:
    assert "<script" not in html.lower()
    for tag in BeautifulSoup(html, "html.parser").find_all(True):
        assert isinstance(tag, Tag) and tag.name in ALLOWED_TAGS
        for name, value in tag.attrs.items():
            assert not name.startswith("on")
            assert not (name in ("href", "src") and DANGEROUS_URL.match(value))
            if name == "style":
                assert "(" not in value and "\\" not in value
                assert {d.split(":")[0].strip() for d in value.split(";")} <= STYLE_PROPERTIES


@pytest.mark.parametrize("html", XSS)
def test_sanitize_neutralizes(html: str) -> None:
    clean = sanitize_html(html)
    assert_safe(clean)
    assert sanitize_html(clean) == clean


@pytest.mark.parametrize("text", XSS + XSS_MARKDOWN)
def test_render_neutralizes(text: str) -> None:
    assert_safe(render_markdown(text))


def test_sanitize_keeps_text_of_removed_markup_but_not_code() -> None:
    assert sanitize_html('<font color="red">kept</font><script>gone()</script>') == "kept"
    assert sanitize_html('<p onclick="x" class="c" id="i">kept</p>') == "<p>kept</p>"
    assert sanitize_html('<a href="javascript:x()" title="t">link</a>') == '<a title="t">link</a>'


BENIGN = [
    "<b>bold</b> <i>italic</i> <em>em</em> <strong>strong</strong> <u>u</u> <s>s</s> <mark>m</mark>",
    "H<sub>2</sub>O and x<sup>2</sup><br/>next line",
    "<code>x = 1</code>",
    "<pre>  indented\n    code</pre>",
    '<ul><li>one</li><li>two</li></ul><ol start="3"><li>three</li></ol>',
    '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td colspan="2">1</td></tr></tbody></table>',
    '<a href="https://en.wikipedia.org/wiki/RSI" title="RSI">RSI</a> <a href="mailto:a@b.c">mail</a>',
    '<img alt="chart" src="rsi-chart.png"/> <img src="Diagramm für Zellen (1).svg"/>',
    "<ruby>漢<rt>かん</rt></ruby> <blockquote>quote</blockquote> <kbd>Ctrl</kbd>",
    '<span style="color: #FFAD66; font-weight: bold">def</span>',
    '<td style="text-align: left">cell</td>',
    "{{c1::Paris::capital}} is in <b>{{c2::France}}</b>",
]


@pytest.mark.parametrize("html", BENIGN)
def test_sanitize_keeps_benign_formatting(html: str) -> None:
    assert sanitize_html(html) == html


NETWORK_PATHS = [
    "//evil.example/x.png",
    "\\\\evil.example\\x.png",
    "/\\evil.example/x.png",
    "\\/evil.example/x.png",
    " //evil.example/x.png",
    "https://evil.example/pixel.png",
    "http://evil.example/pixel.png",
    "file:///etc/passwd",
    "/_anki/pages/x.png",
    "../collection.media/x.png",
    ".hidden.png",
    "x.png?track=1",
    "%2F%2Fevil.example%2Fx.png",
    "C:\\Users\\x.png",
]


@pytest.mark.parametrize("src", NETWORK_PATHS)
def test_images_only_name_media_files(src: str) -> None:
    assert sanitize_html(f'<img src="{html.escape(src)}" alt="a">') == '<img alt="a"/>'


@pytest.mark.parametrize(
    "href", ["//evil.example/", "\\\\evil.example", "/\\evil.example", "/_anki/x", "page.html", "#x"]
)
def test_links_are_absolute_web_or_mail_addresses(href: str) -> None:
    assert sanitize_html(f'<a href="{html.escape(href)}">x</a>') == "<a>x</a>"


# Markdown rendering


def test_markdown_basics() -> None:
    assert render_markdown("**RSI** is a *momentum* indicator") == (
        "<strong>RSI</strong> is a <em>momentum</em> indicator"
    )
    assert render_markdown("line one\nline two") == "line one<br/>\nline two"
    assert render_markdown("para one\n\npara two") == "<p>para one</p>\n<p>para two</p>"
    assert render_markdown("- a\n- b") == "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"
    assert render_markdown("   ") == ""
    table = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |")
    assert '<th style="text-align: left">a</th>' in table and "<td" in table


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Pitfalls:\n- a\n- b", "<p>Pitfalls:</p>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("Steps:\n1. a\n2. b", "<p>Steps:</p>\n<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
        ("**Why:** it lags\n* one", "<p><strong>Why:</strong> it lags</p>\n<ul>\n<li>one</li>\n</ul>"),
        ("- a\n  more\n- b", "<ul>\n<li>a<br/>\n  more</li>\n<li>b</li>\n</ul>"),
        ("price - cost\nmargin", "price - cost<br/>\nmargin"),
    ],
)
def test_a_list_right_after_a_line_is_a_list(text: str, html: str) -> None:
    """Models write "Pitfalls:\n- a\n- b"; Python-Markdown wants a blank line before a list."""
    assert render_markdown(text) == html


def test_a_dash_inside_a_code_block_stays_code() -> None:
    html = render_markdown("Run:\n```sh\nls\n- not a list\n```")
    assert "<li>" not in html and "ls\n- not a list" in BeautifulSoup(html, "html.parser").get_text()


CLOZE_SURVIVES = [
    ("{{c1::Paris}} is the capital of {{c2::France}}", "{{c1::Paris}} is the capital of {{c2::France}}"),
    ("{{c1::Paris::a city}} is the capital", "{{c1::Paris::a city}} is the capital"),
    ("Call {{c1::`len(x)`::a builtin}}", "Call {{c1::<code>len(x)</code>::a builtin}}"),
    ("{{c1::**bold** answer}}", "{{c1::<strong>bold</strong> answer}}"),
    ("{{c1::outer {{c2::inner}} text}}", "{{c1::outer {{c2::inner}} text}}"),
    ("{{c1::a_b_c}} and {{c2::x*y}}", "{{c1::a_b_c}} and {{c2::x*y}}"),
    ("`code with {{c1::deletion}}`", "<code>code with {{c1::deletion}}</code>"),
    ("{{c1::<b>html</b>}}", "{{c1::<b>html</b>}}"),
]


@pytest.mark.parametrize(("text", "html"), CLOZE_SURVIVES)
def test_cloze_markers_survive_markdown_and_sanitizing(text: str, html: str) -> None:
    assert render_markdown(text) == html


def test_cloze_in_table_cell_and_code_block() -> None:
    assert "<td>{{c1::RSI}}</td>" in render_markdown("| name |\n|---|\n| {{c1::RSI}} |")
    block = render_markdown("```python\ndef f():\n    return {{c1::x + 1::expr}}\n```")
    assert "return {{c1::x + 1::expr}}" in block and "<span" not in block


def test_placeholder_characters_in_input_are_dropped() -> None:
    assert render_markdown("a \ue0000\ue001 b {{c1::x}}") == "a 0 b {{c1::x}}"


MATH = [
    r"Euler: \(e^{i\pi} + 1 = 0\)",
    r"\[\sum_{i=1}^n i = \frac{n(n+1)}{2}\]",
    r"\(a_1 * b_2 * c\) and \(x_i\)",
    r"{{c1::\(x^2\)::a square}} and \(y = {{c2::2}}\)",
    r"[latex]a \\ b_1*c*[/latex] and [$]x_1[/$]",
]


KEEP_ALL = MarkupPolicy(mathjax=True, latex=True)


@pytest.mark.parametrize("text", MATH)
def test_math_survives_markdown(text: str) -> None:
    assert render_markdown(text, KEEP_ALL) == text


def test_math_is_escaped_as_text() -> None:
    assert render_markdown(r"\(a <b> c\)", KEEP_ALL) == r"\(a &lt;b&gt; c\)"


# Code


def test_code_fence_is_highlighted_with_inline_styles() -> None:
    source = '@cache\ndef f(x: int) -> bool:\n    """Doc."""\n    return x < 0x1F or print(f"{x!r}")  # why\n'
    html = render_markdown(f"```python\n{source}```")
    pre = BeautifulSoup(html, "html.parser").pre
    assert pre is not None and "background: #1d2331" in pre["style"] and "text-align: left" in pre["style"]
    keyword = pre.find("span", string="def")
    assert keyword is not None and keyword["style"].startswith("color: #")
    assert pre.get_text() == source
    assert "class=" not in html
    assert sanitize_html(html) == html


def test_unknown_or_missing_language_is_plain_escaped_code(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[object] = []
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: searched.append(kw))
    for fence in ("```nosuchlanguage", "```"):
        html = render_markdown(f"{fence}\nif a < b: <b>x</b>\n```")
        assert html.startswith('<pre style="background: #1d2331;')
        assert "if a &lt; b: &lt;b&gt;x&lt;/b&gt;" in html and "<span" not in html
    assert "<span" in render_markdown("```Python3\nif a < b: pass\n```"), "pygments' own, in any case"
    assert not searched, "no search of every installed package for pygments plugins (~100 ms)"


def test_script_in_code_block_is_text() -> None:
    html = render_markdown("```html\n<script>alert(1)</script>\n```")
    assert_safe(html)
    assert BeautifulSoup(html, "html.parser").get_text() == "<script>alert(1)</script>\n"
    assert "&lt;" in html


# Cloze helpers


def test_scan() -> None:
    scan = cloze.scan("{{c1::a {{c2::b::h2}} c::hint}} {{C3::x}} {{c4::open")
    assert [(d.number, d.answer, d.hint) for d in scan.deletions] == [
        (1, "a {{c2::b::h2}} c", "hint"),
        (2, "b", "h2"),
    ]
    assert scan.unclosed == [4] and scan.malformed == ["{{C3::"]
    assert cloze.scan("a }} b :: c").deletions == []


def test_renumber_keeps_groups_and_order() -> None:
    assert (
        cloze.renumber("{{c3::a}} {{c5::b}} {{c3::c}} {{c9::d}}") == "{{c1::a}} {{c2::b}} {{c1::c}} {{c3::d}}"
    )
    assert cloze.renumber("{{c2::a}} {{c1::b}}") == "{{c2::a}} {{c1::b}}"
    assert cloze.renumber("{{c0::a}}") == "{{c1::a}}"


def test_the_front_of_each_cloze_card() -> None:
    text = "{{c1::Paris}} is in {{c2::France::country}}, {{c1::Lyon}} too; {{c3::a {{c4::b}} c}}"
    assert cloze.numbers(text) == [1, 2, 3, 4]
    assert cloze.front_of(text, 1) == "[...] is in France, [...] too; a b c"
    assert cloze.front_of(text, 2) == "Paris is in [country], Lyon too; a b c"
    assert cloze.front_of(text, 4) == "Paris is in France, Lyon too; a [...] c"


def test_strip_markers_and_marker_spans() -> None:
    text = "{{c1::a {{c2::b::h}} c::hint}} and }} {{c4::open"
    assert cloze.strip_markers(text) == "a b c and }} {{c4::open"
    assert [text[a:b] for a, b in cloze.marker_spans(text)] == ["{{c1::", "{{c2::", "}}", "}}"]


# The Formatter


def test_format_basic_card() -> None:
    card = Card(
        id="1",
        draft=BasicCard(
            question="What is `len`?", answer="A builtin", extra="See *docs*\n\n<script>x</script>"
        ),
        lints=[LintFinding(lint_id="stale", message="from an earlier run")],
    )
    formatted = format_card(card)
    assert formatted.fields == {
        "Front": "What is <code>len</code>?",
        "Back": "A builtin",
        "Extra": "See <em>docs</em>",
    }
    assert formatted.lints == [] and card.fields == {} and formatted.id == "1"


def test_format_cloze_card_renumbers_and_lints() -> None:
    card = Card(id="c", draft=ClozeCard(text="{{c2::Paris}} is in {{c4::France::country}}", extra=""))
    formatted = format_card(card)
    assert isinstance(formatted.draft, ClozeCard)
    assert formatted.draft.text == "{{c1::Paris}} is in {{c2::France::country}}"
    assert formatted.fields == {"Text": "{{c1::Paris}} is in {{c2::France::country}}", "Extra": ""}
    assert formatted.lints == [] and not needs_repair(formatted)


def test_format_flags_cards_for_repair() -> None:
    broken = format_card(Card(id="b", draft=ClozeCard(text="{{c1::Paris is the capital")))
    assert needs_repair(broken)
    assert {f.lint_id for f in broken.lints} == {"cloze-missing", "cloze-syntax"}


def test_format_cards_adds_cross_card_lints() -> None:
    answers = ["An index", "A momentum index"]
    cards = [
        Card(id=str(i), draft=BasicCard(question="What is RSI?", answer=a)) for i, a in enumerate(answers)
    ]
    first, second = format_cards(cards)
    assert first.lints == [] and [f.lint_id for f in second.lints] == ["duplicate-card"]


PATHOLOGICAL = [
    (">" * 3000 + " deep", "quotes or lists are nested 3000 levels deep; at most 20 can be shown"),
    ("\n".join("  " * i + "- x" for i in range(40)), "quotes or lists are nested 21 levels deep"),
    ("[" * 3000 + "](x)", "it has 3000 “[” outside code blocks; at most 300 can be shown"),
    ("<div>" * 500 + "x", "HTML elements are nested more than 100 levels deep"),
    ("<b>" * 1200, "HTML elements are nested more than 100 levels deep"),
]


@pytest.mark.parametrize(("extra", "problem"), PATHOLOGICAL)
def test_a_card_that_cannot_be_rendered_gets_a_blocking_finding(extra: str, problem: str) -> None:
    card = format_card(Card(id="p", draft=BasicCard(question="Deep?", answer="Yes", extra=extra)))

    assert card.fields == {} and needs_repair(card)
    (finding,) = card.lints
    assert finding.lint_id == "render-failed" and problem in finding.message


def test_code_blocks_may_hold_brackets_and_indentation() -> None:
    lines = [" " * (4 + 44 * (i % 2)) + f"m[[[[[{i}]]]]]" for i in range(120)]  # 600 "[", 48 columns deep
    code = "```python\n" + "\n".join(lines) + "\n```"
    card = format_card(Card(id="c", draft=BasicCard(question="Code?", answer="Yes", extra=code)))

    assert not needs_repair(card) and "render-failed" not in {finding.lint_id for finding in card.lints}
    assert "m[[[[[119]]]]]" in BeautifulSoup(card.fields["Extra"], "html.parser").get_text()


def test_one_card_that_cannot_be_rendered_leaves_the_others_alone() -> None:
    cards = [
        Card(id="a", draft=BasicCard(question="What is RSI?", answer="A momentum indicator")),
        Card(id="b", draft=BasicCard(question="Deep?", answer="x", extra=">" * 500)),
        Card(id="c", draft=BasicCard(question="What is RSI?", answer="A momentum indicator")),
    ]
    first, broken, duplicate = format_cards(cards)

    assert first.fields and first.lints == [] and broken.fields == {}
    assert [f.lint_id for f in broken.lints] == ["render-failed"]
    assert [f.lint_id for f in duplicate.lints] == ["duplicate-card"]
