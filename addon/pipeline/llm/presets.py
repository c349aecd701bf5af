"""Where people usually run their models: the providers the settings window offers, and the local servers it
looks for. Standard library only, so the window can show them before the vendored libraries load.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

LOCAL_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Preset:
    """A provider: the base URL it serves, the environment variable that usually holds its key, and for
    servers that run on the learner's computer, their usual port."""

    name: str
    base_url: str
    api_key_env: str = ""
    port: int | None = None

    @property
    def is_local(self) -> bool:
        return self.port is not None


PRESETS = (
    Preset("OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    Preset("OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    Preset("LiteLLM proxy", "http://localhost:4000/v1", "LITELLM_API_KEY", port=4000),
    Preset("Ollama", "http://localhost:11434/v1", port=11434),
    Preset("LM Studio", "http://localhost:1234/v1", port=1234),
    Preset("llama.cpp server", "http://localhost:8080/v1", port=8080),
)
CUSTOM = "Custom"
"""The provider shown for any other base URL; choosing it leaves the fields as they are."""

LOCAL_PRESETS = tuple(preset for preset in PRESETS if preset.is_local)


def local_url(port: int) -> str:
    return f"http://{LOCAL_HOST}:{port}/v1"


def preset_for(base_url: str) -> Preset | None:
    """The preset serving `base_url`: the same host and path, or for local servers the same port on this
    computer (localhost or 127.0.0.1 alike)."""
    url = urlsplit(base_url.strip())
    for preset in PRESETS:
        known = urlsplit(preset.base_url)
        if preset.is_local:
            if _is_loopback(url.hostname) and url.port == preset.port:
                return preset
        elif (url.hostname, url.path.rstrip("/")) == (known.hostname, known.path):
            return preset
    return None


def is_local_url(base_url: str) -> bool:
    """True for a server on this computer or the local network (which usually needs no API key)."""
    host = urlsplit(base_url.strip()).hostname
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_private  # loopback addresses included
    except ValueError:  # a name: "localhost", "ollama" (a container), "nas.local"
        return "." not in host or host.endswith((".local", ".lan", ".home.arpa"))


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
