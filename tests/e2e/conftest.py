from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .anki_base import LOCAL_BUILD
from .envs import ROOT


@pytest.fixture(scope="session")
def local_build() -> Path:
    """The add-on built for this interpreter, as the README's launch command installs it."""
    subprocess.run([sys.executable, str(ROOT / "build.py"), "--local"], check=True, capture_output=True)
    return LOCAL_BUILD
