"""`python -m addon.cli` as a user runs it: a subprocess, against the fake OpenAI server."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

from addon.cli import main
from addon.pipeline.models import RunResult

from .fake_openai import FakeOpenAI, Reply, Request
from .faults import ctrl_c_as_in_a_terminal
from .pipeline_crew import Crew, topics_of
from .replay import Replay

ROOT = Path(__file__).resolve().parents[1]
TEXT = "## Photosynthesis\nPlants turn light into sugar.\n\n## Respiration\nCells burn sugar for energy.\n"
LONGER = """## Photosynthesis
Chlorophyll captures sunlight; chloroplasts assemble carbohydrates, releasing molecular oxygen, absorbing
atmospheric carbon dioxide through microscopic openings.

## Fermentation
Microbes assemble carbohydrates differently: chloroplasts absent, molecular oxygen absent, yeast producing
ethanol, bacteria producing lactate, releasing carbon dioxide through metabolic pathways.

## Respiration
Mitochondria oxidize glucose completely, generating adenosine triphosphate, consuming dioxygen, exhaling
breathable byproducts, powering muscular contraction, sustaining neuronal signalling everywhere.
"""
"""Three topics of 7 cards planned each: two batches, Respiration alone (tests/pipeline_crew.py plans)."""
SECRET = "sk-test-do-not-print-7f3a"


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "addon.cli", *map(str, args)]


def cli_env() -> dict[str, str]:
    """No OPENAI_* settings from the developer's shell; the test key under a name of our own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")} | {"TEST_KEY": SECRET}


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=120)


def generate_args(base_url: str, tmp_path: Path, *extra: str | Path, text: str = TEXT) -> list[str | Path]:
    source = tmp_path / "notes.md"
    source.write_text(text, encoding="utf-8")
    return ["generate", "--input", source, "--base-url", base_url, "--api-key-env", "TEST_KEY", *extra]


def import_apkg(path: Path, tmp_path: Path) -> Collection:
    col = Collection(str(tmp_path / "imported.anki2"))
    col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=ImportAnkiPackageOptions())
    )
    return col


def assert_one_line_error(returncode: int, stderr: str) -> None:
    assert returncode == 2
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: ")


def card(card_id: str, question: str, answer: str) -> dict[str, object]:
    return {"id": card_id, "draft": {"kind": "basic", "question": question, "answer": answer}}


# Commands that make no request run in this process, to keep the suite fast.


def test_lint_exits_1_on_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cards.json"
    cards = [card("fine", "What is the capital of France?", "Paris"), card("blank", "Italy?", " ")]
    path.write_text(json.dumps(cards))

    assert main(["lint", "--json", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "blank: error: empty-field [answer]: The answer is empty."
    ]


def test_lint_exits_0_on_a_clean_run_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"cards": [card("fine", "What is the capital of France?", "Paris")]}))

    assert main(["lint", "--json", str(path)]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("content", [None, "not json", '{"no": "cards"}'])
def test_lint_fails_on_unusable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    path = tmp_path / "cards.json"
    if content is not None:
        path.write_text(content)

    assert_one_line_error(main(["lint", "--json", str(path)]), capsys.readouterr().err)


def test_unreadable_input_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    returncode = main(["generate", "--input", str(tmp_path / "missing.txt")])

    stderr = capsys.readouterr().err
    assert_one_line_error(returncode, stderr)
    assert "cannot read" in stderr


# Runs: `python -m addon.cli` as a user starts it, against the fake server.


def test_generate_writes_json_and_apkg(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.handler = Crew(cards_per_topic=2)
    out_json, out_apkg = tmp_path / "run.json", tmp_path / "cards.apkg"

    result = run_cli(
        *generate_args(
            fake_openai.url, tmp_path, "--model", "my-model", "--structured-output", "function_calling"
        ),
        *("--concurrency", "2", "--json", out_json, "--apkg", out_apkg, "--deck", "Biology::Cells"),
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stderr + result.stdout
    assert any(line.startswith("Topic Analyzer") for line in result.stderr.splitlines())
    run = RunResult.model_validate_json(out_json.read_text())
    assert len(run.cards) == 4 and not run.cancelled
    assert SECRET not in out_json.read_text()
    bodies = fake_openai.bodies()
    assert {body["model"] for body in bodies} == {"my-model"}
    assert all(request.forced_function for request in fake_openai.requests)
    assert {request.headers["authorization"] for request in fake_openai.requests} == {f"Bearer {SECRET}"}

    col = import_apkg(out_apkg, tmp_path)
    try:
        fronts = {col.get_note(nid).fields[0] for nid in col.find_notes("deck:Biology::Cells")}
        assert fronts == {card.fields["Front"] for card in run.cards}
    finally:
        col.close()


@pytest.mark.timeout(90)
def test_ctrl_c_keeps_the_finished_cards(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    crew = Crew(cards_per_topic=2)

    def respiration_hangs(request: Request) -> Reply:
        reply = crew(request)
        if request.schema_name == "CardDrafts" and topics_of(request)[0]["name"] == "Respiration":
            return dataclasses.replace(reply, delay=60)
        return reply

    fake_openai.handler = respiration_hangs
    out_json, out_apkg = tmp_path / "run.json", tmp_path / "cards.apkg"
    args = generate_args(fake_openai.url, tmp_path, "--json", out_json, "--apkg", out_apkg, text=LONGER)
    with subprocess.Popen(
        cli(*args),
        cwd=ROOT,
        env=cli_env(),
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("Formatter: Photosynthesis; Fermentation done"):
                process.send_signal(signal.SIGINT)
                break
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 130, rest

    assert "Traceback" not in rest
    run = RunResult.model_validate_json(out_json.read_text())
    assert run.cancelled and len(run.cards) == 4
    assert {card.provenance.topic for card in run.cards} == {"Photosynthesis", "Fermentation"}
    col = import_apkg(out_apkg, tmp_path)
    try:
        assert col.note_count() == 4
    finally:
        col.close()


def test_a_small_context_window_is_warned_about_in_one_line(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.handler = Crew(cards_per_topic=2)

    result = run_cli(*generate_args(fake_openai.url, tmp_path, "--context-window", "1024"))

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("context window: ")]
    assert len(warnings) == 1 and "num_ctx" in warnings[0]
    refused = run_cli(*generate_args(fake_openai.url, tmp_path, "--context-window", "512"))
    assert_one_line_error(refused.returncode, refused.stderr)
    assert "--context-window: Input should be greater than or equal to 1024" in refused.stderr


def test_unreachable_server_fails_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = run_cli(*generate_args(f"http://127.0.0.1:{port}/v1", tmp_path, "--max-attempts", "1"))

    assert_one_line_error(result.returncode, result.stderr)
    assert "Could not reach" in result.stderr


# eval: the pipeline, then a scripted judge (tests/pipeline_crew.py answers both).


def test_eval_prints_the_table_and_writes_json(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.handler = Crew(cards_per_topic=3)
    out = tmp_path / "eval.json"
    args = generate_args(fake_openai.url, tmp_path, "--judge-model", "judge-model", "--json", out)
    result = run_cli("eval", *args[1:])

    assert result.returncode == 0, result.stderr
    rows = [line.strip("| ").split(" | ") for line in result.stdout.splitlines() if line.startswith("| ")]
    table = {cells[0]: cells[1] for cells in rows}
    expected = {
        "cards reviewed (notes)": "6 (6)",
        "usable as is": "2 (33.3%)",
        "light polish": "2 (33.3%)",
        "unusable": "2 (33.3%)",
        "usable or polish": "4 (66.7%)",
        "defects": "D 2, L 2, T 2",
        "key ideas covered": "2 of 2; integrating 1 of 1",
    }
    assert {key: table.get(key) for key in expected} == expected
    saved = json.loads(out.read_text())
    assert saved["summary"]["classes"] == {"unusable": 2, "usable": 2, "polish": 2}
    assert len(saved["cards"]) == 6 and len(saved["run"]["cards"]) == 6
    models = [
        (body["response_format"]["json_schema"]["name"], body["model"]) for body in fake_openai.bodies()
    ]
    assert models[-2:] == [("KeyIdeas", "judge-model"), ("Verdicts", "judge-model")]
    assert {model for name, model in models[:-2]} == {"gpt-4o-mini"}


def test_eval_of_a_saved_run_on_its_own_judge_endpoint(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.handler = Crew(cards_per_topic=2)
    run_json = tmp_path / "run.json"
    assert run_cli(*generate_args(fake_openai.url, tmp_path, "--json", run_json)).returncode == 0
    made = len(fake_openai.requests)

    with FakeOpenAI() as judge:
        judge.handler = Crew()
        args = [
            "--judge-model",
            "j",
            "--judge-base-url",
            judge.url,
            "--run",
            run_json,
            "--json",
            tmp_path / "e",
        ]
        result = run_cli("eval", *generate_args(fake_openai.url, tmp_path, *args)[1:])

        assert result.returncode == 0, result.stderr
        assert len(fake_openai.requests) == made, "a saved run is judged, not made again"
        assert [r.schema_name for r in judge.requests] == ["KeyIdeas", "Verdicts"]
        assert {r.headers["authorization"] for r in judge.requests} == {f"Bearer {SECRET}"}
    assert "| cards reviewed (notes) | 4 (4) |" in result.stdout


def test_eval_without_cards_fails_in_one_line(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.on("TopicAnalysis", Reply.error(400, "no topics for you"))
    result = run_cli("eval", *generate_args(fake_openai.url, tmp_path, "--judge-model", "j")[1:])

    assert_one_line_error(result.returncode, result.stderr)
    assert "no cards to judge" in result.stderr


def test_eval_replays_a_recorded_run_and_its_judge(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    recording = ROOT / "tests" / "recordings" / "context-managers"
    fake_openai.handler = Replay.load(recording)
    out = tmp_path / "eval.json"
    args = ["--input", recording / "input.md", "--base-url", fake_openai.url, "--api-key-env", "TEST_KEY"]
    result = run_cli("eval", *args, "--concurrency", "2", "--judge-model", "judge", "--json", out)

    assert result.returncode == 0, result.stderr
    assert "| cards reviewed (notes) | 15 (15) |" in result.stdout
    assert "| key ideas covered | 11 of 11; integrating 5 of 5 |" in result.stdout
    assert [r.schema_name for r in fake_openai.requests][-2:] == ["KeyIdeas", "Verdicts"]
    assert all(card["verdict"] for card in json.loads(out.read_text())["cards"])


def test_check_says_it_works_and_which_structured_output_to_use(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = SECRET
    fake_openai.handler = lambda request: Reply.json({"ok": True})

    result = run_cli(
        "check", "--base-url", fake_openai.url, "--model", "fake-model", "--api-key-env", "TEST_KEY"
    )

    assert result.returncode == 0, result.stderr
    works, mode = result.stdout.splitlines()
    assert works.startswith("Works: fake-model answered in ") and "honoured JSON-schema output" in works
    assert mode == "structured output: json_schema (pass --structured-output json_schema to generate)"


def test_check_names_the_problem_and_fails(fake_openai: FakeOpenAI) -> None:
    fake_openai.models = ["llama3.1:latest", "qwen2.5:7b"]
    fake_openai.handler = lambda request: Reply.error(404, "model not found")

    result = run_cli("check", "--base-url", fake_openai.url, "--model", "llama9", "--api-key-env", "TEST_KEY")

    assert result.returncode == 2 and SECRET not in result.stdout + result.stderr
    assert result.stdout.strip().endswith("has no model 'llama9'. It lists: llama3.1:latest, qwen2.5:7b.")


def test_a_bad_base_url_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    returncode = main(["check", "--base-url", "localhost:11434/v1"])

    stderr = capsys.readouterr().err
    assert_one_line_error(returncode, stderr)
    assert stderr.startswith("error: --base-url: should start with http:// or https://")


def test_servers_lists_what_answers_on_the_usual_ports() -> None:
    result = run_cli("servers")

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith(
        "looked for LiteLLM proxy (4000), Ollama (11434), LM Studio (1234), llama.cpp server (8080) on this "
        "computer"
    )
