"""Launch a real Anki with the driver add-on and read back its report."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .anki_base import DRIVER_ADDON, LOCAL_BUILD, anki_command, anki_env, prepare_base

_TRACEBACK = re.compile(r"Traceback \(most recent call last\):\n(?:[ \t].*\n)+.*")
# Anki's own media server can log a closed-socket error while Anki quits; it is not ours to judge.
_ANKI_SHUTDOWN_NOISE = "/waitress/"


@dataclass
class AnkiRun:
    report: dict
    output: str
    base: Path
    launched_at: float

    @property
    def tracebacks(self) -> list[str]:
        """Tracebacks Anki printed (its error handler echoes stderr to stdout), less known shutdown noise."""
        found = (match.group(0) for match in _TRACEBACK.finditer(self.output))
        return [text for text in found if _ANKI_SHUTDOWN_NOISE not in text]

    @property
    def seconds_to_profile_open(self) -> float:
        return self.report["profile_open_time"] - self.launched_at


def run_anki(
    python: Path,
    tmp: Path,
    *,
    steps: list[str],
    source_text: str = "",
    fault_texts: dict[str, str] | None = None,
    addon: Path | None = LOCAL_BUILD,
    config: dict | None = None,
    extra_addons: dict[str, Path] | None = None,
    insert_cards: int = 1000,
    explain: bool = False,
    timeout: float = 240,
) -> AnkiRun:
    """Launch Anki on `tmp/base`, preparing it first unless an earlier run left it there."""
    base = tmp / "base"
    if not base.exists():
        prepare_base(
            base,
            python,
            addon=addon,
            config=config,
            extra_addons={"zz_e2e_driver": DRIVER_ADDON, **(extra_addons or {})},
        )
    scenario = tmp / "scenario.json"
    report_path = tmp / "report.json"
    scenario.write_text(
        json.dumps(
            {
                "report": str(report_path),
                "steps": steps,
                "source_text": source_text,
                "fault_texts": fault_texts or {},
                "insert_cards": insert_cards,
                "explain": explain,
            }
        )
    )
    # Anki 25.07 ignores ANKI_SINGLE_INSTANCE_KEY: its key is one per user, and Qt puts that socket in
    # $TMPDIR, so a folder of its own keeps it apart from any other Anki on this machine.
    private_tmp = tmp / "tmp"
    private_tmp.mkdir(exist_ok=True)
    launched_at = time.time()
    proc = subprocess.run(
        anki_command(python, base),
        env=anki_env(AICG_E2E_CONFIG=str(scenario), TMPDIR=str(private_tmp)),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    assert report_path.exists(), f"Anki exited ({proc.returncode}) without a report:\n{output[-4000:]}"
    report = json.loads(report_path.read_text())
    assert "driver_error" not in report, f"{report['driver_error']}\n{output[-4000:]}"
    return AnkiRun(report, output, base, launched_at)
