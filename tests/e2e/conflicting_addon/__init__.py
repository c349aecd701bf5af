"""Stands for another add-on that puts its own old pydantic on sys.path and imports it at start-up."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "lib"))

import pydantic  # noqa: E402,F401
