"""Note fields' HTML as Markdown (`cards/from_html.py`): what Anki's editor writes comes out as the Markdown
that renders back to the same card, and Markdown's own characters in the text stay text."""

from __future__ import annotations

import pytest

from addon.pipeline.cards.anki_markup import MarkupPolicy
from addon.pipeline.cards.from_html import html_to_markdown
from addon.pipeline.cards.render import render_markdown


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("", ""),
        ("<div><br></div>", ""),
        ("What is <b>RSI</b>?", "What is **RSI**?"),
        ("<i>Homo</i> <em>sapiens</em>", "*Homo* *sapiens*"),
        ("<div>Line one</div><div>Line two<br>three</div>", "Line one\nLine two\nthree"),
        ("<p>Para one</p><p>Para two</p>", "Para one\n\nPara two"),
        ("<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>", "- one\n- two\n    - nested"),
        ("<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"),
        ("Use <code>x*y</code>", "Use `x*y`"),
        ("<pre>def f():\n    return 1</pre>", "```\ndef f():\n    return 1\n```"),
        ('See <a href="https://x.org">the docs</a>', "See [the docs](https://x.org)"),
        ('<img src="chart.png">', '<img src="chart.png">'),
        ("H<sub>2</sub>O, E=mc<sup>2</sup>, <u>under</u>", "H<sub>2</sub>O, E=mc<sup>2</sup>, <u>under</u>"),
        ("a * b, snake_case, _x_", "a \\* b, snake_case, \\_x\\_"),
        ("3 &lt; 4 and &lt;div&gt; and &amp;lt;", "3 < 4 and &lt;div> and &amp;lt;"),
        ("{{c1::Paris}} is in \\(x^2\\) [sound:a.mp3]", "{{c1::Paris}} is in \\(x^2\\) [sound:a.mp3]"),
        ("<span style='color:red'>red</span> <font>old</font>", "red old"),
        ("<h2>Title</h2>body", "## Title\n\nbody"),
        ("text<script>alert(1)</script><!-- note -->", "text"),
    ],
)
def test_html_becomes_markdown(html: str, markdown: str) -> None:
    assert html_to_markdown(html) == markdown


@pytest.mark.parametrize(
    "markdown",
    [
        "What does **RSI** measure?",
        "Line one\nLine two",
        "- one\n- two\n    - nested",
        "1. first\n2. second",
        "Call `rolling(14)` first.\n\n```\nx = prices.diff()\n```",
        "See [the docs](https://pandas.pydata.org/docs/)",
        "{{c1::Paris}} is the capital of {{c2::France}}",
        "The area is \\(\\pi r^2\\) [sound:circle.mp3]",
        "a \\* b and \\_x\\_ stay text, 3 < 4",
    ],
)
def test_rendered_markdown_comes_back_the_same(markdown: str) -> None:
    policy = MarkupPolicy(mathjax=True, media=frozenset({"[sound:circle.mp3]"}))
    html = render_markdown(markdown, policy)
    again = html_to_markdown(html)
    assert render_markdown(again, policy) == html
    assert again == markdown


def test_highlighted_code_comes_back_as_its_code() -> None:
    html = render_markdown("```python\nx = prices.diff()  # *changes*\n```")
    assert "<span" in html  # highlighted
    assert html_to_markdown(html) == "```\nx = prices.diff()  # *changes*\n```"


def test_hostile_nesting_gives_its_text() -> None:
    html = "<div>" * 5_000 + "deep" + "</div>" * 5_000
    assert html_to_markdown(html) == "deep"
