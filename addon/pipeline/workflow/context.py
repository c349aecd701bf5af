"""A warning when a request would not fit the context window the settings state.

Ollama and other local servers cut a prompt longer than their context window without a word, and the model
answers from what is left; others refuse a request whose prompt and longest reply (`max_tokens`) exceed
it. `LLMSettings.context_window` is the user's statement of the server's window: chunks are sized from it,
and every request's prompt is measured against it (estimated with `chunking.word_pieces`). A prompt that
leaves less room than the reply the request asks for (`LLMSettings.reply_tokens`) gets one plain line in
the run's errors, once per run; the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llama_index.core.llms import ChatMessage

from ..settings import LLMSettings
from .chunking import word_pieces

CONTEXT_STEP = "context window"
"""The step the warning names in the run's errors."""


class ContextCheck:
    """Measures each request's prompt; the first that does not fit is reported through `warn`."""

    def __init__(self, settings: LLMSettings, warn: Callable[[str], None]) -> None:
        self._window = settings.context_window
        self._reply = settings.reply_tokens
        self._warn = warn
        self._warned = False

    def __call__(self, messages: Sequence[ChatMessage]) -> None:
        if self._warned:
            return
        needed = sum(len(word_pieces(message.content or "")) for message in messages) + self._reply
        if needed > self._window:
            self._warned = True
            self._warn(
                f"A request needs a context window of about {needed:,} tokens with its reply, more than the "
                f"{self._window:,} the settings give: a server with a smaller window (Ollama's default) "
                "silently cuts the text. Raise the server's window (Ollama: num_ctx) and the setting "
                "context_window to match, or give a shorter text."
            )
