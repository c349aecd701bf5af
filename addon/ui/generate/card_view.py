"""A card rendered as Anki shows it, both sides, in an Anki webview: the reviewer's page, CSS and scripts
(MathJax included), the card's own CSS, the night-mode body classes. Reusable: give it rendered HTML.

    view = CardView(mw, parent)
    view.start()                                           # after the window is shown: a webview is costly
    view.show_card(render_card(mw.col, "basic", fields))   # or view.show_message("Select a card")
    view.show_columns([("Now", [old]), ("Suggested", [new, newer])])   # side by side (the review window)
    view.cleanup()                                         # when the window closes
"""

from __future__ import annotations

import html as html_text
import json
from collections.abc import Sequence

from aqt.main import AnkiQt
from aqt.qt import QObject, QVBoxLayout, QWidget
from aqt.theme import theme_manager
from aqt.webview import AnkiWebView, AnkiWebViewKind

from ...notes.render import RenderedCard

SIDE_STYLE = """
<style>
.aicg-preview-side { margin: 0 0 1.2em; }
.aicg-preview-label { font: 11px sans-serif; text-transform: uppercase; letter-spacing: .08em;
  opacity: .6; margin: .6em 0 .3em; text-align: left; }
.aicg-preview-message { font: 14px sans-serif; opacity: .7; text-align: center; margin-top: 2em; }
.aicg-preview-columns { display: flex; gap: 1.5em; align-items: flex-start; }
.aicg-preview-column { flex: 1 1 0; min-width: 0; }
.aicg-preview-heading { font: bold 12px sans-serif; text-align: left; margin: .2em 0 .6em;
  padding-bottom: .3em; border-bottom: 1px solid rgba(128, 128, 128, .4); }
</style>
"""


class CardView(QWidget):
    def __init__(self, mw: AnkiQt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.web: AnkiWebView | None = None
        self._cleaned_up = False
        self.shown = ""
        """The HTML last shown (for tests and screenshots)."""
        self._shown_class = ""

    def start(self) -> None:
        """Create the webview with the reviewer's page, and show what was asked for meanwhile."""
        if self.web is not None or self._cleaned_up:
            return
        self.web = AnkiWebView(parent=self, kind=AnkiWebViewKind.PREVIEWER)
        self.web.setPlaybackRequiresGesture(True)
        self._layout.addWidget(self.web)
        self.web.stdHtml(
            self.mw.reviewer.revHtml(),
            css=["css/reviewer.css"],
            js=["js/mathjax.js", "js/vendor/mathjax/tex-chtml-full.js", "js/reviewer.js"],
            context=self,
        )
        self.web.set_bridge_command(lambda _cmd: None, self)  # no audio buttons or links act here
        if self.shown:
            self._show(self.shown, self._shown_class)

    def show_card(self, card: RenderedCard) -> None:
        """Both sides: the front, then the back as Anki shows it after the learner reveals the answer."""
        self._show(SIDE_STYLE + self._sides(card), theme_manager.body_classes_for_card_ord(card.ord))

    def show_columns(self, columns: Sequence[tuple[str, Sequence[RenderedCard | str]]]) -> None:
        """Columns side by side under their headings, each with cards (both sides) or messages."""
        html = "".join(
            f"<div class='aicg-preview-column'><div class='aicg-preview-heading'>{html_text.escape(title)}"
            f"</div>{''.join(self._item(item) for item in items)}</div>"
            for title, items in columns
        )
        first = next((i for _, items in columns for i in items if isinstance(i, RenderedCard)), None)
        classes = theme_manager.body_classes_for_card_ord(first.ord if first else 0)
        self._show(f"{SIDE_STYLE}<div class='aicg-preview-columns'>{html}</div>", classes)

    def show_message(self, text: str) -> None:
        self._show(f"{SIDE_STYLE}{_message(text)}", "")

    def cleanup(self) -> None:
        self._cleaned_up = True
        if self.web is not None:
            self.web.stop()  # a page still loading would yet reach for its bridge
            self.web.cleanup()  # deletes the page later
            _keep_until_destroyed(self.web)
            self.web = None

    def _sides(self, card: RenderedCard) -> str:
        which = f" (card {card.ord + 1} of {card.count})" if card.count > 1 else ""
        return (
            f"<div class='aicg-preview-label'>Front{which}</div>"
            f"<div class='aicg-preview-side'>{self._prepared(card.question)}</div>"
            f"<div class='aicg-preview-label'>Back</div>"
            f"<div class='aicg-preview-side'>{self._prepared(card.answer)}</div>"
        )

    def _item(self, item: RenderedCard | str) -> str:
        return self._sides(item) if isinstance(item, RenderedCard) else _message(item)

    def _prepared(self, text: str) -> str:
        return self.mw.prepare_card_text_for_display(text)

    def _show(self, body: str, body_class: str) -> None:
        self.shown, self._shown_class = body, body_class
        if self.web is not None:
            self.web.eval(f"_showQuestion({json.dumps(body)}, '', {json.dumps(body_class)});")


def _message(text: str) -> str:
    return f"<div class='aicg-preview-message'>{html_text.escape(text)}</div>"


_closing: set[QObject] = set()


def _keep_until_destroyed(web: AnkiWebView) -> None:
    """Hold the webview's Python side until Qt has deleted its page: the page's bridge object lives there,
    and a page still loading can send it a message meanwhile (Qt crashes on a bridge already gone)."""
    _closing.add(web)
    if (page := web.page()) is not None:
        page.destroyed.connect(lambda *_: _closing.discard(web))
    else:
        _closing.discard(web)
