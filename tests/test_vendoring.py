"""The built add-on in a fresh interpreter (`python -I -S`) that sees the standard library, the packages Anki
ships (linked from .venv) and addons21/ only: what loads, from where, and the errors a learner can meet."""

from __future__ import annotations

import glob
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .build_fixtures import PACKAGE, ROOT, install

# What every supported Anki ships and already has imported (requirements.in, "Not listed on purpose").
ANKI_SHIPPED = {
    "typing_extensions": "typing-extensions",
    "requests": "requests",
    "urllib3": "urllib3",
    "idna": "idna",
    "certifi": "certifi",
    "charset_normalizer": "charset-normalizer",
}
# Also shipped by the official installer, and carried by us as fallbacks for the other installs.
OFFICIAL_INSTALLER = {**ANKI_SHIPPED, "jinja2": "jinja2", "markupsafe": "markupsafe"}
NOT_VENDORED = {"nltk", "tiktoken", "aiohttp", "networkx", "regex", "joblib", "aiosqlite", "setuptools"}
MODULES = ["llama_index.core", "pydantic", "pydantic_core", "tenacity", "httpx", "pygments", "numpy", "yaml"]
MODULES += ["sqlalchemy", "PIL.Image", "PIL._imaging", "jinja2", "markupsafe"]
# Activates the add-on's libraries, imports what the add-on uses, and reports where everything came from.
LOAD_AND_REPORT = f"""
from {PACKAGE} import vendor_loader
path, modules = list(sys.path), set(sys.modules)
vendor_loader.activate()
vendor_loader.activate()
imported_by_activate = sorted(set(sys.modules) - modules)
import llama_index.core, pydantic, tenacity, httpx, pygments, numpy, yaml, sqlalchemy, jinja2
from llama_index.core.workflow import Workflow
from PIL import Image
import importlib.metadata as md
print(json.dumps({{
    "files": {{m: sys.modules[m].__file__ for m in {MODULES!r}}},
    "top_level": sorted({{m.partition(".")[0] for m in sys.modules}}),
    "imported_by_activate": imported_by_activate,
    "path_unchanged": sys.path == path,
    "finders": sum(type(f).__name__ == "VendorFinder" for f in sys.meta_path),
    "versions": {{d: md.version(d) for d in ("llama-index-core", "pydantic", "numpy", "httpx", "jinja2")}},
    "jinja2_metadata": str(md.distribution("jinja2").locate_file("")),
    "listed": "llama-index-core" in {{d.metadata["Name"] for d in md.distributions()}},
}}))
"""


def run_fresh(code: str, *path: Path, python: str = sys.executable) -> dict:
    """Runs code in a new isolated interpreter with `path` first on sys.path; returns the JSON it prints."""
    prelude = f"import json, sys\nsys.path[:0] = {[str(p) for p in path]!r}\n"
    result = subprocess.run(
        [python, "-I", "-S", "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def environment(folder: Path, packages: dict[str, str]) -> Path:
    """A site folder with these packages (import name: distribution) of .venv, as Anki would have them."""
    folder.mkdir()
    for name, distribution in packages.items():
        origin = Path(importlib.util.find_spec(name).origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
        dist = importlib.metadata.distribution(distribution)
        metadata = next(f for f in dist.files if f.name == "METADATA")
        dist_info = Path(dist.locate_file(metadata)).parent
        (folder / dist_info.name).symlink_to(dist_info)
    return folder


def pins() -> dict[str, str]:
    lines = (ROOT / "vendor" / "requirements.in").read_text().splitlines()
    return dict(line.split("#")[0].strip().split("==") for line in lines if "==" in line.split("#")[0])


@pytest.fixture(scope="module")
def addons21(local_addon: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("addons21")
    install(local_addon, folder)
    return folder


@pytest.fixture(scope="module")
def anki_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return environment(tmp_path_factory.mktemp("anki") / "site", ANKI_SHIPPED)


@pytest.fixture
def other_addon(tmp_path: Path) -> Path:
    """Another add-on's folder on sys.path, with its own (fake) pydantic and a namespace llama_index."""
    (tmp_path / "pydantic").mkdir()
    (tmp_path / "pydantic" / "__init__.py").write_text("__version__ = '1.10.99'\n")
    (tmp_path / "llama_index").mkdir()
    return tmp_path


def test_libraries_load_from_libs_only(addons21: Path, anki_site: Path, other_addon: Path) -> None:
    libs = addons21 / PACKAGE / "libs"
    out = run_fresh(LOAD_AND_REPORT, other_addon, anki_site, addons21)
    outside = {m: f for m, f in out["files"].items() if not f.startswith(f"{libs}/")}
    assert outside == {}, "served from outside the add-on's libs/"
    assert NOT_VENDORED.isdisjoint(out["top_level"])
    assert out["imported_by_activate"] == [] and out["path_unchanged"] and out["finders"] == 1
    pinned = pins()
    assert out["versions"] == {d: pinned[d] for d in out["versions"]}
    assert out["jinja2_metadata"].startswith(str(libs)) and out["listed"]


def test_fallbacks_come_from_anki_when_it_has_them(addons21: Path, tmp_path: Path) -> None:
    official = environment(tmp_path / "site", OFFICIAL_INSTALLER)
    out = run_fresh(LOAD_AND_REPORT, official, addons21)
    assert Path(out["files"]["jinja2"]).parent.parent == official
    assert Path(out["files"]["markupsafe"]).parent.parent == official
    assert out["files"]["pydantic"].startswith(str(addons21))
    assert Path(out["jinja2_metadata"]) == official


def test_vendored_libraries_work(addons21: Path, anki_site: Path) -> None:
    out = run_fresh(
        f"""
        from {PACKAGE} import vendor_loader
        vendor_loader.activate()
        import asyncio, io
        import numpy, pydantic, sqlalchemy, tenacity, yaml
        from PIL import Image, features
        from llama_index.core import Document
        from llama_index.core.workflow import StartEvent, StopEvent, Workflow, step

        class Echo(Workflow):
            @step
            async def echo(self, ev: StartEvent) -> StopEvent:
                return StopEvent(result=ev.text.upper())

        async def run_echo():
            return await Echo(timeout=10).run(text="card")

        class Card(pydantic.BaseModel):
            front: str
            back: str

        png = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(png, "PNG")
        jpeg = io.BytesIO()
        Image.open(png).save(jpeg, "JPEG")
        engine = sqlalchemy.create_engine("sqlite://")
        with engine.connect() as connection:
            one = connection.execute(sqlalchemy.text("select 1")).scalar()
        attempts = []
        retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(3), reraise=True)
        try:
            retrying(lambda: attempts.append(1) or 1 / 0)
        except ZeroDivisionError:
            pass
        print(json.dumps({{
            "matmul": (numpy.ones((64, 64)) @ numpy.ones((64, 64)))[0, 0].item(),
            "card": Card.model_validate_json('{{"front": "Q", "back": "A"}}').back,
            "jpeg": Image.open(jpeg).size,
            "optional_codecs": [features.check(f) for f in ("webp", "avif", "freetype2", "littlecms2")],
            "yaml": yaml.safe_load("a: [1, 2]"),
            "sql": one,
            "attempts": len(attempts),
            "document": Document(text="hi").text,
            "workflow": asyncio.run(run_echo()),
        }}))
        """,
        anki_site,
        addons21,
    )
    assert out == {
        "matmul": 64.0,
        "card": "A",
        "jpeg": [4, 4],
        "optional_codecs": [False, False, False, False],
        "yaml": {"a": [1, 2]},
        "sql": 1,
        "attempts": 3,
        "document": "hi",
        "workflow": "CARD",
    }


def test_async_http_works(addons21: Path, anki_site: Path) -> None:
    out = run_fresh(
        f"""
        from {PACKAGE} import vendor_loader
        vendor_loader.activate()
        import asyncio, threading
        from http.server import BaseHTTPRequestHandler, HTTPServer
        import httpx

        class Hello(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"hello")

        server = HTTPServer(("127.0.0.1", 0), Hello)
        threading.Thread(target=server.handle_request, daemon=True).start()

        async def get():
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{{server.server_port}}/")).text

        print(json.dumps(asyncio.run(get())))
        """,
        anki_site,
        addons21,
    )
    assert out == "hello"


def python_313() -> str | None:
    candidates = [
        shutil.which("python3.13"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13"))),
    ]
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"])
        if check.returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() != "x86_64", reason="runs linux_x86_64-cp313"
)
def test_universal_build_runs_on_python_313(
    release_addons: dict[str, Path], anki_site: Path, tmp_path: Path
) -> None:
    """The release target of this machine's kind, with the Python 3.13 that Anki 25.07+ runs."""
    python = python_313()
    if python is None:
        pytest.skip("no Python 3.13 interpreter here")
    addons21 = tmp_path / "addons21"
    libs = install(release_addons["universal"], addons21) / "libs"
    out = run_fresh(LOAD_AND_REPORT, anki_site, addons21, python=python)
    assert {m: f for m, f in out["files"].items() if not f.startswith(f"{libs}/")} == {}
    assert out["files"]["numpy"].startswith(f"{libs}/linux_x86_64-cp313/")
    assert out["files"]["pydantic"].startswith(f"{libs}/common/")


ACTIVATE_AFTER = """
import {name}
from {package} import vendor_loader
try:
    vendor_loader.activate()
    error = None
except vendor_loader.VendorError as e:
    error = str(e)
finders = sum(type(f).__name__ == "VendorFinder" for f in sys.meta_path)
works = None
if error is None:
    import llama_index.core, tenacity
    works = tenacity.__file__
print(json.dumps({{"error": error, "finders": finders, "works": works}}))
"""


@pytest.mark.parametrize(
    ("name", "found"), [("pydantic", "pydantic 1.10.99"), ("llama_index", "llama_index (of unknown version)")]
)
def test_another_addons_other_version_already_loaded(
    addons21: Path, anki_site: Path, other_addon: Path, name: str, found: str
) -> None:
    out = run_fresh(ACTIVATE_AFTER.format(name=name, package=PACKAGE), other_addon, anki_site, addons21)
    assert out["finders"] == 0
    assert f"copy of {found} from {other_addon / name}" in out["error"]
    assert "Two versions of" in out["error"] and "disable one of the two add-ons" in out["error"]
    if name == "pydantic":
        assert f"needs pydantic {pins()['pydantic']}" in out["error"]


def other_addon_with(tmp_path: Path, version: str) -> Path:
    """An add-on installed from AnkiWeb (folder 1234567, named in meta.json) that carries tenacity `version`
    in its own vendor/ folder, put on sys.path: the real package when it is our pin, else a stand-in."""
    vendor = tmp_path / "addons21" / "1234567" / "vendor"
    vendor.mkdir(parents=True)
    (vendor.parent / "meta.json").write_text(json.dumps({"name": "Other Add-on"}))
    if version == pins()["tenacity"]:
        environment(vendor / "site", {"tenacity": "tenacity"})
        return vendor / "site"
    (vendor / "tenacity").mkdir()
    (vendor / "tenacity" / "__init__.py").write_text("")
    (vendor / f"tenacity-{version}.dist-info").mkdir()
    (vendor / f"tenacity-{version}.dist-info" / "METADATA").write_text(
        f"Name: tenacity\nVersion: {version}\n"
    )
    return vendor


def test_another_addons_copy_of_our_version_is_used(addons21: Path, anki_site: Path, tmp_path: Path) -> None:
    vendor = other_addon_with(tmp_path, pins()["tenacity"])
    out = run_fresh(ACTIVATE_AFTER.format(name="tenacity", package=PACKAGE), vendor, anki_site, addons21)
    assert out["error"] is None and out["finders"] == 1
    assert out["works"].startswith(str(vendor)), "the copy already loaded is the one in use"


def test_a_mismatch_names_the_addon_it_came_from(addons21: Path, anki_site: Path, tmp_path: Path) -> None:
    vendor = other_addon_with(tmp_path, "8.2.0")
    out = run_fresh(ACTIVATE_AFTER.format(name="tenacity", package=PACKAGE), vendor, anki_site, addons21)
    assert out["finders"] == 0
    assert out["error"].startswith(
        "AI Card Generator cannot start: the add-on “Other Add-on” (1234567) has already loaded its own copy"
        f" of tenacity 8.2.0 from {vendor / 'tenacity' / '__init__.py'}, and AI Card Generator needs"
        f" tenacity {pins()['tenacity']}."
    )


def test_no_build_for_this_system(local_addon: Path, anki_site: Path, tmp_path: Path) -> None:
    addons21 = tmp_path / "addons21"
    spec_file = install(local_addon, addons21) / "libs" / "libs.json"
    spec = json.loads(spec_file.read_text())
    spec["targets"] = [
        {"id": "win_amd64-cp313", "platform": "win32", "machine": "x86_64", "python": "3.13"},
        {"id": "macos_arm64-cp313", "platform": "darwin", "machine": "arm64", "python": "3.13"},
    ]
    spec_file.write_text(json.dumps(spec))
    out = run_fresh(
        f"""
        from {PACKAGE} import vendor_loader
        try:
            vendor_loader.activate()
        except vendor_loader.VendorError as e:
            print(json.dumps(str(e)))
        """,
        anki_site,
        addons21,
    )
    here = "Python {}.{} on Linux {}".format(*sys.version_info[:2], platform.machine())
    assert here in out
    assert "Python 3.13 on Windows x86_64, Python 3.13 on macOS arm64" in out
    assert "Install from file" in out


def test_nothing_to_do_without_libs() -> None:
    """A development checkout: .venv provides the packages, and activate() leaves the import system alone."""
    out = run_fresh(
        """
        from addon import vendor_loader
        before = list(sys.meta_path)
        vendor_loader.activate()
        print(json.dumps(sys.meta_path == before))
        """,
        ROOT,
    )
    assert out is True
