r"""What Anki itself reads in a field beyond HTML, and what a run's cards may keep of it.

- `[latex]…[/latex]`, `[$]…[/$]`, `[$$]…[/$$]` (in any case, anywhere in the field's HTML, attributes and
  code included): Anki runs the LaTeX installed on the learner's computer to make images of them, guarded
  only by a list of forbidden commands.
- `\(…\)` and `\[…\]` in text outside `<pre>` and `<code>`: MathJax, which renders in the card's webview.
  Some of its commands put links, styles or extensions into the card (`\href`, `\style`, `\bbox`,
  `\require`…); they are never kept, whatever the setting.
- `[sound:…]` plays a media file, `[anki:tts …]…[/anki:tts]` reads text aloud, `[anki:play:…]` replays.

Cards are LLM output and the source may carry instructions, so a run's `MarkupPolicy` decides:
- MathJax is kept when the source has math markup of its own, or when the `math` setting says so;
  otherwise its delimiters are taken out and the formula stays as plain text.
- LaTeX tags are kept only with `math: "latex"`; otherwise they become MathJax where MathJax is kept,
  else plain text.
- A media tag is kept only when the source holds that very tag.

`guard_text` works on decoded text, as Anki and MathJax see it, so entities (`&#91;latex]`) cannot smuggle
anything past it; the sanitizer calls it on every text node and attribute value of a field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..settings import MathSetting

_LATEX_PAIR = re.compile(r"\[(latex|\$\$?)\](.*?)\[/\1\]", re.IGNORECASE | re.DOTALL)
_LATEX_TOKEN = re.compile(r"\[/?(?:latex|\$\$?)\]", re.IGNORECASE)
_DOLLARS = re.compile(r"\s*(\$\$?)(.*?)\1\s*", re.DOTALL)
"""A `[latex]` body that is one formula in `$…$` or `$$…$$`."""
_MEDIA_TAG = re.compile(r"\[sound:[^\]]*\]|\[/?anki:[^\]]*\]", re.IGNORECASE)
_MATHJAX_DELIMITER = re.compile(r"\\[()\[\]]")
_MATHJAX_DENIED = re.compile(
    r"\\(?:href|url|style|class|cssId|data|bbox|require|unicode|mmlToken|html|def|edef|gdef|xdef|let"
    r"|futurelet|newcommand|renewcommand|providecommand|newenvironment|renewenvironment|csname)(?![A-Za-z])"
)
_SOURCE_MATH = re.compile(
    r"\\\(|\\\[|\$\$|\[\$\$?\]|\[latex\]|\\begin\{|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$", re.IGNORECASE
)


@dataclass(frozen=True)
class MarkupPolicy:
    """What a run's cards may keep of Anki's own markup. The default keeps nothing."""

    mathjax: bool = False
    latex: bool = False
    media: frozenset[str] = field(default_factory=frozenset)
    """Media tags found in the source, exactly as written there."""

    @classmethod
    def for_sources(cls, texts: Iterable[str], math: MathSetting = "source") -> MarkupPolicy:
        texts = list(texts)
        return cls(
            mathjax=math != "source" or any(_SOURCE_MATH.search(text) for text in texts),
            latex=math == "latex",
            media=frozenset(tag for text in texts for tag in _MEDIA_TAG.findall(text)),
        )


STRICT = MarkupPolicy()


def guard_text(text: str, policy: MarkupPolicy, *, math_here: bool) -> str:
    """`text` (decoded, as Anki and MathJax read it) with only what `policy` keeps.

    `math_here` is False where MathJax never looks: in `<pre>`, `<code>` and attribute values.
    """
    text = _until_stable(text, lambda t: _MEDIA_TAG.sub(lambda m: _kept(m, policy.media), t))
    if not policy.latex:
        text = _LATEX_PAIR.sub(lambda m: _from_latex(m, mathjax=policy.mathjax), text)
        text = _until_stable(text, lambda t: _LATEX_TOKEN.sub("", t))
    if math_here and policy.mathjax:
        text = _until_stable(text, lambda t: _MATHJAX_DENIED.sub(lambda m: m.group(0)[1:], t))
    elif math_here:
        text = _until_stable(text, lambda t: _MATHJAX_DELIMITER.sub("", t))
    return text


def _kept(match: re.Match[str], allowed: frozenset[str]) -> str:
    return match.group(0) if match.group(0) in allowed else ""


def _from_latex(match: re.Match[str], *, mathjax: bool) -> str:
    """A LaTeX tag as MathJax (`[$]` inline, the others displayed), or its content as text."""
    kind, body = match.group(1), match.group(2)
    if kind.lower() == "latex" and (dollars := _DOLLARS.fullmatch(body)):
        kind, body = "$" if len(dollars.group(1)) == 1 else "$$", dollars.group(2)
    if not mathjax:
        return body
    return rf"\({body}\)" if kind == "$" else rf"\[{body}\]"


def _until_stable(text: str, step: Callable[[str], str]) -> str:
    """Apply `step` until it changes nothing: taking a token out may join the characters around it into
    a new one (`\\((` less `\\(` is `\\(`). Every change shortens the text, so this ends."""
    while (changed := step(text)) != text:
        text = changed
    return text
