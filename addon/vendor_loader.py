"""Serves the libraries the add-on carries in libs/ (written by build.py) without touching sys.path.

    libs/libs.json       the targets in this build, the import names we serve and their pinned versions
    libs/common/         pure-Python packages, shared by every target
    libs/<target-id>/    compiled packages for one platform and Python version

A folder on sys.path would shadow the packages Anki ships and lose to another add-on's copy put there
first, so a finder at sys.meta_path[0] serves our *private* names from our folders only. *Fallback* names
(jinja2 and friends) come from Anki when it has them, else from us.

activate() imports nothing: compiled libraries load at the add-on's first use, never at Anki start-up.
Windows locks a loaded .pyd until Anki quits, so an update installed before first use in a session
replaces libs/ cleanly; after first use, Anki must restart before the update can be installed.
Standard library only: this runs before any vendored package can be imported.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Sequence
from importlib.machinery import ModuleSpec, PathFinder
from importlib.metadata import Distribution, DistributionFinder, MetadataPathFinder, distributions
from pathlib import Path
from types import ModuleType
from typing import Any

LIBS_JSON = "libs.json"
COMMON = "common"
_PLATFORMS = {"win32": "Windows", "darwin": "macOS", "linux": "Linux"}
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}


class VendorError(Exception):
    """The vendored libraries cannot load in this Anki; str(error) is a message for the user."""


def interpreter_machine() -> str:
    """The architecture this interpreter runs as, spelled as its OS does (AMD64, arm64, aarch64...).

    On Windows, platform.machine() names the CPU: ARM64 for an x64 Anki emulated on an ARM64 PC.
    """
    if sys.platform == "win32":
        return sysconfig.get_platform().rpartition("-")[2]
    return platform.machine()


def normalized_machine() -> str:
    """interpreter_machine() with the spellings of each OS folded into one: x86_64 or arm64."""
    name = interpreter_machine().lower()
    return _MACHINES.get(name, name)


def activate(addon_dir: Path | None = None) -> None:
    """Make the vendored libraries importable; idempotent, and a no-op where there is no libs/ folder."""
    libs = (addon_dir or Path(__file__).parent).resolve() / "libs"
    if not libs.is_dir() or any(getattr(f, "libs", None) == libs for f in sys.meta_path):
        return
    spec = _read_spec(libs)
    target = _matching_target(spec)
    dirs = (libs / COMMON, libs / target["id"])
    _refuse_foreign_copies(spec, dirs)
    sys.meta_path.insert(0, VendorFinder(libs, dirs, spec["private"], spec["fallback"]))


class VendorFinder(DistributionFinder):
    """Finds our private packages (and their metadata) in libs/ before anything else is asked."""

    def __init__(
        self, libs: Path, dirs: Sequence[Path], private: Iterable[str], fallback: dict[str, str]
    ) -> None:
        self.libs = libs
        self._path = [str(d) for d in dirs]
        self._private = frozenset(private)
        self._fallback = fallback  # import name -> distribution name

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in self._private:
            return PathFinder.find_spec(fullname, self._path if path is None else path)
        if fullname in self._fallback and not _environment_has(fullname):
            return PathFinder.find_spec(fullname, self._path)
        return None

    def find_distributions(self, context: DistributionFinder.Context | None = None) -> Iterator[Distribution]:
        context = context or DistributionFinder.Context()
        if "path" in vars(context):  # the caller asked about specific folders, not the environment
            return iter(())
        found = MetadataPathFinder.find_distributions(
            DistributionFinder.Context(name=context.name, path=self._path)
        )
        hidden = {dist for name, dist in self._fallback.items() if _environment_has(name)}
        return (d for d in found if _canonical(d.metadata["Name"]) not in hidden)


def _read_spec(libs: Path) -> dict[str, Any]:
    try:
        spec: dict[str, Any] = json.loads((libs / LIBS_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise VendorError(
            f"AI Card Generator is damaged ({libs / LIBS_JSON} is unreadable: {error}). "
            "Reinstall it from Tools > Add-ons."
        ) from error
    return spec


def _matching_target(spec: dict[str, Any]) -> dict[str, Any]:
    here = (sys.platform, normalized_machine(), "{}.{}".format(*sys.version_info[:2]))
    for target in spec["targets"]:
        if (target["platform"], target["machine"], target["python"]) == here:
            return dict(target)
    supported = ", ".join(_describe(t["platform"], t["machine"], t["python"]) for t in spec["targets"])
    raise VendorError(
        f"{spec['name']} cannot run in this Anki, which uses {_describe(*here)}: this download of the "
        f"add-on only carries libraries for {supported}. Download the file made for your system (or the "
        f"universal one, which covers them all) from {spec['homepage']} and install it with "
        "Tools > Add-ons > Install from file."
    )


def _describe(sys_platform: str, machine: str, python: str) -> str:
    return f"Python {python} on {_PLATFORMS.get(sys_platform, sys_platform)} {machine}"


def _refuse_foreign_copies(spec: dict[str, Any], dirs: Sequence[Path]) -> None:
    """sys.modules is shared by all add-ons: a package another one imported first is used, not ours. That is
    fine when it is the very release we pin; any other version is refused, naming the add-on it came from."""
    for name in spec["private"]:
        module = sys.modules.get(name)
        if module is None:
            continue
        locations = _locations(module)
        if locations and all(any(loc.is_relative_to(d) for d in dirs) for loc in locations):
            continue
        distribution, pinned = spec.get("pins", {}).get(name, (name, None))
        version = _version_of(module, distribution, locations)
        if pinned is not None and version == pinned:
            continue
        where = ", ".join(str(loc) for loc in locations) or "an unknown place"
        found = f"{name} {version}" if version else f"{name} (of unknown version)"
        wanted = f"{name} {pinned}" if pinned else name
        raise VendorError(
            f"{spec['name']} cannot start: {_owner(locations)} has already loaded its own copy of {found} "
            f"from {where}, and {spec['name']} needs {wanted}. Two versions of {name} cannot run in the same "
            "Anki session: disable one of the two add-ons in Tools > Add-ons and restart Anki. Anki and "
            "your other add-ons keep working."
        )


def _version_of(module: ModuleType, distribution: str, locations: Sequence[Path]) -> str | None:
    """The version of an imported package: from the metadata next to it, else its `__version__`."""
    folders = sorted({str(_site_of(location)) for location in locations})
    for found in distributions(name=distribution, path=folders):
        return str(found.version)
    version = getattr(module, "__version__", None)
    return version if isinstance(version, str) else None


def _site_of(location: Path) -> Path:
    """The folder a package or module was imported from, where its metadata lives."""
    return location.parent.parent if location.stem == "__init__" else location.parent


def _owner(locations: Sequence[Path]) -> str:
    """The add-on a package was loaded from, as its name and folder, or "another add-on"."""
    for location in locations:
        parts = location.parts
        if "addons21" in parts[:-1]:
            folder = Path(*parts[: parts.index("addons21") + 2])
            name = _addon_name(folder)
            return f"the add-on “{name}” ({folder.name})" if name else f"the add-on in {folder.name}"
    return "another add-on"


def _addon_name(folder: Path) -> str | None:
    """The name Anki shows for an add-on: from its meta.json (AnkiWeb installs) or manifest.json."""
    for file in ("meta.json", "manifest.json"):
        try:
            name = json.loads((folder / file).read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def _locations(module: ModuleType) -> list[Path]:
    file = getattr(module, "__file__", None)
    paths = [file] if file else list(getattr(module, "__path__", ()))
    return [Path(p).resolve() for p in paths]


def _environment_has(name: str) -> bool:
    return PathFinder.find_spec(name) is not None


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
