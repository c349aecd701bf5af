"""Prepare an Anki base folder with add-ons installed, and launch real Anki on it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from tests.build_fixtures import PACKAGE, ROOT, install

LOCAL_BUILD = ROOT / "dist" / f"{PACKAGE}-local.ankiaddon"
DRIVER_ADDON = Path(__file__).parent / "driver_addon"
MAKE_PROFILE = Path(__file__).parent / "make_profile.py"


def prepare_base(
    base: Path,
    python: Path,
    *,
    addon: Path | None = LOCAL_BUILD,
    config: dict | None = None,
    extra_addons: dict[str, Path] | None = None,
) -> Path:
    """Create a profile in `base` with the built add-on unzipped as Anki's installer would."""
    subprocess.run([str(python), str(MAKE_PROFILE), str(base)], check=True)
    addons = base / "addons21"
    addons.mkdir(exist_ok=True)
    if addon is not None:
        target = install(addon, addons)
        meta = {"name": "AI Card Generator", "mod": 0}
        if config:
            defaults = json.loads((target / "config.json").read_text())
            meta["config"] = defaults | config
        (target / "meta.json").write_text(json.dumps(meta))
    for name, source in (extra_addons or {}).items():
        shutil.copytree(source, addons / name)
    return base


def anki_env(*, offscreen: bool = True, **extra: str) -> dict[str, str]:
    """Environment for Anki in tests: offscreen Qt, no sandbox as root, one instance key per run."""
    env = dict(os.environ)
    if offscreen:
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
    # One key per launch: a previous Anki of this session may still be shutting down.
    env["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    env.pop("PYTHONPATH", None)
    # This machine sets it; users' Anki writes bytecode caches, which later first uses rely on.
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    env.update(extra)
    return env


def anki_command(python: Path, base: Path) -> list[str]:
    return [str(python.parent / "anki"), "-b", str(base)]
