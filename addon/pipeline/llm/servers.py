"""Which models a server lists (`GET /models`), and which local servers answer on their usual ports.

httpx and pydantic only, so the settings window can look before llama-index has loaded. Each function runs
its own event loop: call it from a background thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ValidationError

from ..errors import LLMError
from .endpoint import auth_headers, endpoint, key_refused, server_detail, status_text
from .http import new_client
from .presets import LOCAL_PRESETS, Preset, local_url

PROBE_TIMEOUT = 1.0
"""Seconds a local port gets to answer: a server on this computer answers in milliseconds."""


class _Model(BaseModel):
    id: str


class _ModelList(BaseModel):
    data: list[_Model]


@dataclass(frozen=True)
class LocalServer:
    """A server found on this computer, with the models it lists."""

    preset: Preset
    base_url: str
    models: tuple[str, ...]

    def describe(self) -> str:
        """`Ollama on port 11434 (3 models)`."""
        count = len(self.models)
        return f"{self.preset.name} on port {self.preset.port} ({count} model{'' if count == 1 else 's'})"


def list_models(base_url: str, api_key: str = "", *, timeout: float = 10.0) -> list[str]:
    """The model names the server lists, sorted; LLMError saying why when it cannot or will not."""

    async def main() -> list[str]:
        async with new_client(timeout) as http:
            return await fetch_models(http, base_url, api_key)

    return asyncio.run(main())


def find_local_servers(
    candidates: Sequence[Preset] = LOCAL_PRESETS, *, timeout: float = PROBE_TIMEOUT
) -> list[LocalServer]:
    """The candidates answering `/v1/models` on 127.0.0.1, probed all at once (about `timeout` at worst)."""

    async def main() -> list[LocalServer]:
        async with new_client(timeout) as http:
            found = await asyncio.gather(*(_probe(http, preset) for preset in candidates))
        return [server for server in found if server is not None]

    return asyncio.run(main())


async def fetch_models(http: httpx.AsyncClient, base_url: str, api_key: str = "") -> list[str]:
    where = endpoint(base_url)
    try:
        response = await http.get(base_url.rstrip("/") + "/models", headers=auth_headers(api_key))
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise LLMError("The base URL is not a valid http:// or https:// address.") from None
    except httpx.HTTPError as e:
        raise LLMError(f"Could not reach the model server at {where} ({type(e).__name__}).") from e
    status = response.status_code
    if status in (401, 403):
        raise LLMError(key_refused(status, where, has_key=bool(api_key)), status=status)
    if response.is_error:
        detail = server_detail(response, api_key)
        raise LLMError(
            f"The model server at {where} answered {status_text(status)} for its model list"
            + (f": {detail}" if detail else "."),
            status=status,
        )
    try:
        listed = _ModelList.model_validate_json(response.content)
    except ValidationError:
        message = f"The server at {where} answered, but not with a list of models."
        raise LLMError(message, status=status) from None
    return sorted({model.id for model in listed.data}, key=str.casefold)


async def _probe(http: httpx.AsyncClient, preset: Preset) -> LocalServer | None:
    assert preset.port is not None
    base_url = local_url(preset.port)
    try:
        models = await fetch_models(http, base_url)
    except LLMError:
        return None
    return LocalServer(preset, base_url, tuple(models))
