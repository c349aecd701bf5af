"""Built add-ons for the tests (registered in conftest.py): the real build.py CLI, into temporary folders."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = json.loads((ROOT / "manifest.json").read_text())["package"]
RELEASE_TARGETS = (
    "win_amd64-cp313",
    "win_arm64-cp313",
    "macos_arm64-cp313",
    "macos_x86_64-cp313",
    "linux_x86_64-cp313",
    "linux_aarch64-cp313",
)


def run_build(dist: Path, *args: str) -> str:
    """Runs build.py like a developer does; returns what it printed."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), *args, "--dist", str(dist)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def install(addon: Path, addons21: Path) -> Path:
    """Unzips an .ankiaddon the way Anki installs it: into addons21/<package>/."""
    folder = addons21 / PACKAGE
    with zipfile.ZipFile(addon) as archive:
        archive.extractall(folder)
    return folder


@pytest.fixture(scope="session")
def local_addon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/<package>-local.ankiaddon for the interpreter running the tests."""
    dist = tmp_path_factory.mktemp("dist-local")
    run_build(dist, "--local")
    return dist / f"{PACKAGE}-local.ankiaddon"


@pytest.fixture(scope="session")
def release_addons(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every release file, by target id, and the universal one under "universal"."""
    dist = tmp_path_factory.mktemp("dist-release")
    run_build(dist)
    files = {target: dist / f"{PACKAGE}-{target}.ankiaddon" for target in RELEASE_TARGETS}
    return {**files, "universal": dist / f"{PACKAGE}.ankiaddon"}
