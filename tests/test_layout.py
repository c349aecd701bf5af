"""The add-on's import rules, read from the source (every import, lazy ones inside functions included), and
what the command line loads for commands that need no model."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addon"

BOTTOM = {
    "addon.pipeline.errors",
    "addon.pipeline.models",
    "addon.pipeline.roles",
    "addon.pipeline.settings",
    "addon.pipeline.wording",
}
LAYERS = ("cards", "llm", "agents", "workflow")
MAY_IMPORT: dict[str, set[str]] = {
    "cards": set(),
    "llm": set(),
    "agents": {"cards", "llm"},
    "workflow": {"cards", "llm", "agents"},
}
"""Besides the bottom modules and itself, what each pipeline sub-package may import."""


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ADDON.rglob("*.py")):
        if "libs" in path.relative_to(ADDON).parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(name: str, path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved, wherever in the file the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from . import cloze`
    return found


IMPORTS = {name: imports(name, path) for name, path in modules()}


def under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["addon", "pipeline"] and parts[2] in LAYERS else None


def offending(importer: str, banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in IMPORTS[importer] if any(under(m, b) for b in banned))


def test_the_source_tree_is_read() -> None:
    assert "addon.pipeline.workflow.runner" in IMPORTS
    assert "addon.pipeline.models" in IMPORTS["addon.pipeline.cards.lints"]
    assert "addon.pipeline.cards.cloze" in IMPORTS["addon.pipeline.cards.render"]


@pytest.mark.parametrize("name", [n for n in IMPORTS if under(n, "addon.pipeline")])
def test_the_pipeline_never_imports_anki(name: str) -> None:
    assert offending(name, ("aqt", "anki", "addon.ui", "addon.notes")) == []


@pytest.mark.parametrize("name", [n for n in IMPORTS if layer(n)])
def test_pipeline_arrows_go_one_way(name: str) -> None:
    own = layer(name)
    assert own is not None
    banned = [f"addon.pipeline.{other}" for other in LAYERS if other != own and other not in MAY_IMPORT[own]]
    assert offending(name, tuple(banned)) == []


@pytest.mark.parametrize("name", sorted(BOTTOM))
def test_the_vocabulary_imports_no_sub_package(name: str) -> None:
    assert offending(name, tuple(f"addon.pipeline.{layer}" for layer in LAYERS)) == []
    assert offending(name, ("llama_index", "workflows")) == []


@pytest.mark.parametrize("name", [n for n in IMPORTS if layer(n) == "cards"])
def test_cards_need_no_model_client(name: str) -> None:
    assert offending(name, ("llama_index", "workflows", "httpx", "tenacity")) == []


@pytest.mark.parametrize("name", [n for n in IMPORTS if under(n, "addon.notes")])
def test_notes_never_import_the_workflow(name: str) -> None:
    assert offending(name, ("addon.pipeline.workflow", "addon.pipeline.agents", "addon.pipeline.llm")) == []


@pytest.mark.parametrize("name", [n for n in IMPORTS if not under(n, "addon.ui") and n != "addon.main"])
def test_only_the_ui_imports_aqt(name: str) -> None:
    allowed = {"addon", "addon.config"}  # `addon/__init__.py` checks for a running Anki; config's type hints
    if name not in allowed:
        assert offending(name, ("aqt",)) == []


def test_dialogs_never_word_settings_errors_themselves() -> None:
    for name in (n for n in IMPORTS if under(n, "addon.ui")):
        assert offending(name, ("pydantic",)) == [], name


LOADED = """
import sys
from addon.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("llama_index", "workflows", "numpy", "httpx"))
print("HEAVY", heavy)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["generate", "--help"],
        ["eval", "--help"],
        ["check", "--help"],
        ["lint", "--json", "{cards}"],
    ],
)
def test_cli_commands_without_a_model_load_no_llama_index(argv: list[str], tmp_path: Path) -> None:
    cards = tmp_path / "cards.json"
    cards.write_text('[{"id": "a", "draft": {"kind": "basic", "question": "Q?", "answer": "A"}}]')
    args = [arg.format(cards=cards) for arg in argv]
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout, result.stdout
