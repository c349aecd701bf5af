"""Fixtures shared by the whole test suite."""

# --- fake OpenAI-compatible server (tests/fake_openai.py) ---------------------------------------------------
from .fake_openai import fake_openai  # noqa: F401  (a fixture)
# --- end fake OpenAI-compatible server ---------------------------------------------------------------------
