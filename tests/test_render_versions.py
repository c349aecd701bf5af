"""The rendering, sanitizing and lint tests again with the Markdown and BeautifulSoup that the oldest and the
current supported Anki ship (their render behaviour differs between versions): the add-on uses Anki's copies,
not its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .build_fixtures import ROOT
from .e2e.envs import ensure_env

RENDER_TESTS = ["tests/test_formatting.py", "tests/test_anki_markup.py", "tests/test_lints.py"]
SHIPPED = {"markdown": "markdown", "bs4": "beautifulsoup4", "soupsieve": "soupsieve"}


def anki_packages(env: str, folder: Path) -> dict[str, str]:
    """A folder with the Markdown and BeautifulSoup of the Anki release in `env`; their versions."""
    python = ensure_env(env)
    listing = subprocess.run(
        [str(python), "-c", "import json, sys; print(json.dumps(sys.path))"],
        capture_output=True,
        text=True,
        check=True,
    )
    site = next(Path(p) for p in json.loads(listing.stdout) if p.endswith("site-packages"))
    versions = {}
    for module, distribution in SHIPPED.items():
        (folder / module).symlink_to(site / module)
        (info,) = site.glob(f"{distribution}-*.dist-info")
        (folder / info.name).symlink_to(info)
        versions[module] = info.name.removeprefix(f"{distribution}-").removesuffix(".dist-info")
    return versions


@pytest.mark.parametrize("env", ["anki-25.7.5", "anki-26.5"])
def test_rendering_with_the_packages_anki_ships(env: str, tmp_path: Path) -> None:
    versions = anki_packages(env, tmp_path)
    check = (
        "import bs4, markdown, json; from importlib.metadata import version; "
        "print(json.dumps({'markdown': version('markdown'), 'bs4': version('beautifulsoup4'), "
        "'soupsieve': version('soupsieve'), 'file': markdown.__file__}))"
    )
    environment = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    seen = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=environment, check=True
    )
    used = json.loads(seen.stdout)
    assert used.pop("file").startswith(str(tmp_path)) and used == versions
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *RENDER_TESTS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
