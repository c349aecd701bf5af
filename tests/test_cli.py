"""`python -m addon.cli` as a user runs it: a subprocess, against the fake OpenAI server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run(
        [sys.executable, "-m", "addon.cli", *map(str, args)],
        cwd=ROOT,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def card(card_id: str, question: str, answer: str) -> dict[str, object]:
    return {"id": card_id, "draft": {"kind": "basic", "question": question, "answer": answer}}


@pytest.mark.parametrize("shape", ["list", "run result"])
def test_lint_exits_1_on_findings(tmp_path: Path, shape: str) -> None:
    cards = [card("fine", "What is the capital of France?", "Paris"), card("blank", "Capital of Italy?", " ")]
    path = tmp_path / "cards.json"
    path.write_text(json.dumps(cards if shape == "list" else {"cards": cards}))

    result = run_cli("lint", "--json", path)

    assert result.returncode == 1
    assert result.stdout.splitlines() == ["blank: error: empty-field [answer]: The answer is empty."]


def test_lint_exits_0_on_clean_cards(tmp_path: Path) -> None:
    path = tmp_path / "cards.json"
    path.write_text(json.dumps([card("fine", "What is the capital of France?", "Paris")]))

    result = run_cli("lint", "--json", path)

    assert (result.returncode, result.stdout) == (0, "")


@pytest.mark.parametrize("content", [None, "not json", '{"no": "cards"}'])
def test_lint_fails_on_unusable_files(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "cards.json"
    if content is not None:
        path.write_text(content)

    assert_one_line_error(run_cli("lint", "--json", path))
