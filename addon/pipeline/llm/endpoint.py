"""How the add-on names a model server and words its refusals, shared by every request it makes (chat
completions, the model list, the local-server probe). httpx only: no llama-index.
"""

from __future__ import annotations

from http import HTTPStatus

import httpx


def endpoint(base_url: str) -> str:
    """Host and port of the server, for messages: never the whole URL, which may carry credentials."""
    url = httpx.URL(base_url)
    return f"{url.host}:{url.port}" if url.port else url.host


def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def status_text(code: int) -> str:
    """`401 Unauthorized`; the bare number for codes without a standard phrase."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def key_refused(status: int, where: str, *, has_key: bool) -> str:
    """A 401 or 403 in words: the key was rejected, or the server wants one and none is set."""
    if has_key:
        return f"The API key was rejected ({status_text(status)}) by the model server at {where}."
    return f"The model server at {where} wants an API key ({status_text(status)}); none is set."


def server_detail(response: httpx.Response, api_key: str, limit: int = 200) -> str:
    """The error text of a refusal: one line, short, and without our key should the server echo it."""
    try:
        error = response.json().get("error")
        text = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        text = response.text
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    if api_key:
        text = text.replace(api_key, "[API key]")
    return text if len(text) <= limit else text[: limit - 1] + "…"
