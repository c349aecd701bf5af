"""The .ankiaddon files build.py makes: layout, libs.json, compiled modules of every target, sizes."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import struct
import sys
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from packaging.requirements import Requirement

from .build_fixtures import PACKAGE, RELEASE_TARGETS, ROOT, run_build

# The file name CPython gives an extension module on each target: an oracle independent of build.py.
EXTENSION_SUFFIX = {
    "win_amd64-cp313": ".cp313-win_amd64.pyd",
    "win_arm64-cp313": ".cp313-win_arm64.pyd",
    "macos_arm64-cp313": ".cpython-313-darwin.so",
    "macos_x86_64-cp313": ".cpython-313-darwin.so",
    "linux_x86_64-cp313": ".cpython-313-x86_64-linux-gnu.so",
    "linux_aarch64-cp313": ".cpython-313-aarch64-linux-gnu.so",
}
BINARY = r"\.(so|pyd|dylib|dll)\b"
SIZE_GOAL_MB = {"per target": 25, "universal": 100}


def names(addon: Path) -> list[str]:
    with zipfile.ZipFile(addon) as archive:
        return archive.namelist()


def libs_json(addon: Path) -> dict:
    with zipfile.ZipFile(addon) as archive:
        return json.loads(archive.read("libs/libs.json"))


def top_level(entries: list[str], folder: str) -> set[str]:
    return {n.removeprefix(folder).split("/")[0] for n in entries if n.startswith(folder)}


def extension_modules(entries: list[str], folder: str) -> list[str]:
    """Compiled Python modules in libs/<target>/ (not the shared libraries bundled for them)."""
    return [
        n.removeprefix(folder)
        for n in entries
        if n.startswith(folder)
        and n.endswith((".so", ".pyd"))
        and not re.search(r"\.libs/|/\.dylibs/", n)
        and not re.search(r"\.so\.\d", n)
    ]


def test_local_build_layout(local_addon: Path) -> None:
    entries = names(local_addon)
    with zipfile.ZipFile(local_addon) as archive:
        assert archive.testzip() is None
        manifest = json.loads(archive.read("manifest.json"))
        json.loads(archive.read("config.json"))
    assert manifest["package"] == PACKAGE and manifest["name"] and manifest["min_point_version"] >= 250700
    assert {"__init__.py", "manifest.json", "config.json", "vendor_loader.py"} <= set(entries)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in entries)
    assert not any("tests" in n.split("/") for n in entries)
    assert not any(n.startswith(f"{PACKAGE}/") for n in entries), "no top folder"
    assert [n for n in entries if n.startswith("user_files/")] == ["user_files/README.txt"]
    assert "meta.json" not in entries
    assert len(entries) == len(set(entries))


def test_local_libs_json_lists_what_the_zip_holds(local_addon: Path) -> None:
    entries, spec = names(local_addon), libs_json(local_addon)
    [target] = spec["targets"]
    assert (target["platform"], target["python"]) == (sys.platform, "{}.{}".format(*sys.version_info))
    private, fallback = set(spec["private"]), set(spec["fallback"])
    assert {"llama_index", "pydantic", "pydantic_core", "numpy", "tenacity", "httpx"} <= private
    assert fallback == {"jinja2", "markupsafe", "click", "colorama", "packaging"}
    present = top_level(entries, "libs/common/") | top_level(entries, f"libs/{target['id']}/")
    importable = {n.split(".")[0] for n in present if not n.endswith((".dist-info", ".libs"))}
    assert importable == private | fallback
    assert set(spec["pins"]) == private and spec["pins"]["pydantic"] == ["pydantic", "2.11.10"]
    assert {"nltk", "tiktoken", "aiohttp", "networkx", "regex", "setuptools"}.isdisjoint(importable)
    assert not any("llama_index/core/_static/" in n for n in entries)


def test_local_build_is_reproducible(tmp_path: Path) -> None:
    digests = set()
    for dist in (tmp_path / "a", tmp_path / "b"):
        run_build(dist, "--local")
        digests.add(hashlib.sha256((dist / f"{PACKAGE}-local.ankiaddon").read_bytes()).digest())
    assert len(digests) == 1


def requirement_lines(path: Path) -> dict[str, list[str]]:
    """{pin: its options} of a requirements file."""
    lines = path.read_text().replace("\\\n", " ").splitlines()
    tokens = [line.split("#")[0].split() for line in lines]
    return {str(Requirement(pin)): options for pin, *options in filter(None, tokens)}


def test_lock_pins_requirements_in_with_a_hash_per_target() -> None:
    locked = requirement_lines(ROOT / "vendor" / "requirements.txt")
    assert locked.keys() == requirement_lines(ROOT / "vendor" / "requirements.in").keys()
    for options in locked.values():
        assert options and all(o.startswith("--hash=sha256:") for o in options)
    numpy = next(options for pin, options in locked.items() if pin.startswith("numpy=="))
    assert len(numpy) == len(RELEASE_TARGETS) + 1, "a wheel per release target and one for this machine"


def test_release_files_hold_their_targets(release_addons: dict[str, Path]) -> None:
    universal = release_addons["universal"]
    assert [t["id"] for t in libs_json(universal)["targets"]] == list(RELEASE_TARGETS)
    assert top_level(names(universal), "libs/") == {"common", "libs.json", *RELEASE_TARGETS}
    for target in RELEASE_TARGETS:
        assert [t["id"] for t in libs_json(release_addons[target])["targets"]] == [target]
        assert top_level(names(release_addons[target]), "libs/") == {"common", "libs.json", target}


def test_every_target_has_every_compiled_module(local_addon: Path, release_addons: dict[str, Path]) -> None:
    """The local build's compiled modules are those the end-to-end tests import: every target needs them."""
    local_id = libs_json(local_addon)["targets"][0]["id"]
    local_suffix = EXTENSION_SUFFIXES[0]
    local_modules = extension_modules(names(local_addon), f"libs/{local_id}/")
    assert local_modules and all(m.endswith(local_suffix) for m in local_modules)
    expected = {m.removesuffix(local_suffix) for m in local_modules}
    for addon in [release_addons["universal"], *(release_addons[t] for t in RELEASE_TARGETS)]:
        entries = names(addon)
        for target in {t["id"] for t in libs_json(addon)["targets"]}:
            modules = extension_modules(entries, f"libs/{target}/")
            suffix = EXTENSION_SUFFIX[target]
            assert [m for m in modules if not m.endswith(suffix)] == [], f"{addon.name}: foreign modules"
            assert expected - {m.removesuffix(suffix) for m in modules} == set(), f"{addon.name}: {target}"


def test_bundled_libraries_are_all_there(release_addons: dict[str, Path]) -> None:
    """Every bundled shared library a kept binary links is in the zip: pruning broke no link."""
    with zipfile.ZipFile(release_addons["universal"]) as archive:
        entries = archive.namelist()
        for target in RELEASE_TARGETS:
            files = {posixpath.basename(n) for n in entries if n.startswith(f"libs/{target}/")}
            binaries = [n for n in entries if n.startswith(f"libs/{target}/") and re.search(BINARY, n)]
            links = [(b, link) for b in binaries for link in bundled_links(archive.read(b))]
            assert links, f"{target}: no bundled library found at all, yet numpy bundles OpenBLAS"
            assert [(b, link) for b, link in links if link not in files] == []


def bundled_links(binary: bytes) -> set[str]:
    """File names of the bundled libraries a binary loads, as auditwheel, delvewheel or delocate name them."""
    if binary.startswith(b"\x7fELF"):
        return {n for n in elf_needed(binary) if re.search(r"-[0-9a-f]{8}\.so", n)}
    pattern = rb"[\w.+]+-[0-9a-f]{32}\.dll" if binary.startswith(b"MZ") else rb"@loader_path/[\w./+-]+\.dylib"
    return {posixpath.basename(n.decode()) for n in re.findall(pattern, binary)}


def elf_needed(data: bytes) -> list[str]:
    """DT_NEEDED entries of a 64-bit little-endian ELF file (x86_64 and aarch64 Linux)."""
    (section_offset,) = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQII", data, section_offset + i * entry_size) for i in range(count)]
    needed = []
    for _, kind, _, _, offset, size, link, _ in sections:
        if kind == 6:  # SHT_DYNAMIC; its sh_link is the string table
            strings = sections[link][4]
            for entry in range(offset, offset + size, 16):
                tag, value = struct.unpack_from("<qQ", data, entry)
                if tag == 1:  # DT_NEEDED
                    start = strings + value
                    needed.append(data[start : data.index(b"\0", start)].decode())
    return needed


def test_release_sizes_meet_goals(release_addons: dict[str, Path]) -> None:
    mb = {name: path.stat().st_size / 2**20 for name, path in release_addons.items()}
    assert mb["universal"] <= SIZE_GOAL_MB["universal"], mb
    assert max(mb[t] for t in RELEASE_TARGETS) <= SIZE_GOAL_MB["per target"], mb
