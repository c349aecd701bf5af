"""Separate virtual environments holding only Anki, as real users' Anki releases ship it.

None of them has llama-index or pydantic, so an add-on that runs there proves its vendoring works.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.build_fixtures import ROOT

ENVS_DIR = ROOT / ".venv-e2e"

# name -> pip requirement. anki-release pins every Python package the official installer ships.
ANKI_ENVS = {
    "anki-26.5": "anki-release==26.5",
    "anki-25.7.5": "anki-release==25.7.5",
    "aqt-26.9.3": "aqt[qt]==26.9.3",
}


def ensure_env(name: str) -> Path:
    """Create (once) the environment `name` and return its Python."""
    env = ENVS_DIR / name
    python = env / "bin" / "python"
    stamp = env / ".installed"
    requirement = ANKI_ENVS[name]
    if stamp.exists() and stamp.read_text() == requirement:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement],
        check=True,
    )
    stamp.write_text(requirement)
    return python
