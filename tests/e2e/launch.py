"""Launch Anki with the freshly built add-on in a throwaway profile (README's first command).

    .venv/bin/python -m tests.e2e.launch [--keep]

Uses .venv's Anki and `dist/<package>-local.ankiaddon` (`scripts/dev.sh anki` builds it first). With no
screen (no DISPLAY), Anki runs under Xvfb so it can still be driven and screenshotted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .anki_base import anki_command, anki_env, prepare_base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the profile folder afterwards")
    args = parser.parse_args()
    python = Path(sys.executable)
    base = Path(tempfile.mkdtemp(prefix="aicg-anki-"))
    prepare_base(base, python)
    print(f"Anki base folder: {base}", file=sys.stderr)
    command = anki_command(python, base)
    env = anki_env(offscreen=False)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", *command]
    try:
        return subprocess.call(command, env=env)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
