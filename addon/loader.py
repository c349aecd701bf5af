"""First-use loading of the pipeline and its vendored libraries.

Anki's start-up must not pay for llama-index (~1 s of imports), so nothing here runs until the learner
opens a dialog that needs the pipeline; the dialog calls `load_pipeline()` in a background thread. The
settings window needs less (pydantic and httpx, then llama-index for Test connection): `load_module()`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from . import vendor_loader
from .responsive import background_work


def load_pipeline() -> ModuleType:
    """Make the vendored libraries importable, then import the pipeline package.

    Raises `vendor_loader.VendorError` with a human message when this build can't run here.
    """
    return load_module(".pipeline.workflow.runner")


def load_module(name: str) -> ModuleType:
    """Make the vendored libraries importable, then import the add-on's module `name` (relative, as
    ".pipeline.llm.servers"). Raises `vendor_loader.VendorError` like `load_pipeline`."""
    vendor_loader.activate(Path(__file__).parent)
    with background_work():  # the GIL is handed to the main thread more often meanwhile
        return importlib.import_module(name, __package__)
