"""The HTTP clients the pipeline talks to servers with, all sharing one TLS context."""

from __future__ import annotations

import functools
import ssl

import httpcore  # noqa: F401  httpx imports it at its first client: 50 ms, better with the libraries than mid-run
import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificates to trust, loaded once per session: loading them takes 40 ms and more in one call
    that holds the GIL, which Anki's main thread would otherwise feel at the start of every run."""
    return httpx.create_ssl_context()


def new_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, verify=tls_context())
