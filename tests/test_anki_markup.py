"""What cards keep of Anki's own markup (LaTeX, MathJax, media tags), decided per run from the source and
the `math` setting, and checked on decoded text so that entities and comments smuggle nothing through."""

from __future__ import annotations

import pytest

from addon.pipeline.cards.anki_markup import MarkupPolicy
from addon.pipeline.cards.render import render_markdown
from addon.pipeline.cards.sanitize import sanitize_html

PLAIN_SOURCE = MarkupPolicy.for_sources(["Photosynthesis turns light into sugar."])
MATH_SOURCE = MarkupPolicy.for_sources([r"The area is \(\pi r^2\)."])


@pytest.mark.parametrize(
    ("source", "math", "mathjax", "latex"),
    [
        ("Plain prose, $5 or $6.", "source", False, False),
        (r"Area \(\pi r^2\)", "source", True, False),
        (r"\[x\]", "source", True, False),
        ("$$x^2$$", "source", True, False),
        (r"costs $\frac{1}{2}$ more", "source", True, False),
        ("[latex]x[/latex]", "source", True, False),
        ("[$]x[/$]", "source", True, False),
        (r"\begin{align} x \end{align}", "source", True, False),
        ("Plain prose", "mathjax", True, False),
        ("Plain prose", "latex", True, True),
    ],
)
def test_the_policy_follows_the_source_and_the_setting(
    source: str, math: str, mathjax: bool, latex: bool
) -> None:
    policy = MarkupPolicy.for_sources([source], math)  # type: ignore[arg-type]
    assert (policy.mathjax, policy.latex) == (mathjax, latex)


def test_math_from_the_model_is_plain_text_when_the_source_has_none() -> None:
    assert render_markdown(r"Energy: \(E = mc^2\) and \[a^2\]", PLAIN_SOURCE) == "Energy: E = mc^2 and a^2"
    assert render_markdown("[$]x_1[/$] and [latex]\\input{/etc/passwd}[/latex]", PLAIN_SOURCE) == (
        "x_1 and \\input{/etc/passwd}"
    )


def test_latex_tags_become_mathjax_when_math_is_kept() -> None:
    assert render_markdown("[$]x_1[/$], [$$]y[/$$], [LATEX]$z$[/LATEX], [latex]w[/latex]", MATH_SOURCE) == (
        r"\(x_1\), \[y\], \(z\), \[w\]"
    )


def test_latex_tags_stay_only_with_the_latex_setting() -> None:
    policy = MarkupPolicy.for_sources(["prose"], "latex")
    assert (
        render_markdown("[latex]\\LaTeX[/latex] and [$]x[/$]", policy)
        == "[latex]\\LaTeX[/latex] and [$]x[/$]"
    )


@pytest.mark.parametrize(
    "html",
    [
        "[latex]\\write18{rm -rf ~}[/latex]",
        "&#91;latex]x&#91;/latex]",
        "[lat<!-- -->ex]x[/latex]",
        "<b title='[latex]x[/latex]'>t</b>",
        "<pre>[$$]x[/$$]</pre>",
        "[latex][latex]x[/latex]]",
        "[[$]$]x",
    ],
)
def test_no_latex_tag_reaches_a_card_without_the_setting(html: str) -> None:
    clean = sanitize_html(html, MATH_SOURCE).lower()
    assert "[latex]" not in clean and "[$]" not in clean and "[$$]" not in clean and "[/" not in clean


@pytest.mark.parametrize(
    "text",
    [
        r"\(\href{javascript:alert(1)}{x}\)",
        r"\(\style{background: url(https://evil.example/p.png)}{x}\)",
        r"\(\bbox[background: url(https://evil.example/p.png)]{x}\)",
        r"\(\class{x}{y} \cssId{i}{y} \data{a=b}{y} \require{html} \unicode{x41}\)",
        r"\(\let\h\href \def\g{\href} \newcommand{\n}{\href}\)",
        r"\(\\href{javascript:x}{y}\)",
        "&#92;(&#92;href{javascript:alert(1)}{x}&#92;)",
    ],
)
def test_mathjax_commands_that_reach_outside_the_formula_are_taken_out(text: str) -> None:
    html = render_markdown(text, KEEP_MATH := MarkupPolicy(mathjax=True))
    for command in ("href", "style", "bbox", "class", "cssId", "data", "require", "unicode", "let", "def"):
        assert f"\\{command}" not in html and f"\\{command}" not in sanitize_html(html, KEEP_MATH)


@pytest.mark.parametrize(
    "html", ["&#92;(x&#92;)", "\\<!-- -->(x\\)", "\\\\((x\\))", "<b>\\(</b>x<b>\\)</b>", "<p>\\[x\\]</p>"]
)
def test_no_mathjax_delimiter_survives_without_math(html: str) -> None:
    clean = sanitize_html(html, PLAIN_SOURCE)
    assert "\\(" not in clean and "\\)" not in clean and "\\[" not in clean and "\\]" not in clean


def test_mathjax_in_code_is_code() -> None:
    text = "```python\nre.compile(r'\\(\\d+\\)')\n```\n\nand `\\(x\\)`"
    html = render_markdown(text, PLAIN_SOURCE)
    assert ">'\\(\\d+\\)'</span>" in html
    assert "<code>\\(x\\)</code>" in html


def test_media_tags_stay_only_when_the_source_has_them() -> None:
    policy = MarkupPolicy.for_sources(["Listen: [sound:hello.mp3]"])
    text = (
        "[sound:hello.mp3] [sound:other.mp3] [SOUND:x.mp3] [anki:tts lang=en_US]hi[/anki:tts] [anki:play:q:0]"
    )
    assert render_markdown(text, policy) == "[sound:hello.mp3]   hi"
    assert sanitize_html("<i title='[sound:x.mp3]'>[sou<!-- -->nd:y.mp3]</i>", policy) == '<i title=""></i>'
