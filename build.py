"""Builds the .ankiaddon files and locks the wheels they carry.

    python build.py            dist/<package>-<target>.ankiaddon per platform, and <package>.ankiaddon for all
    python build.py --local    dist/<package>-local.ankiaddon for the interpreter running this script
    python build.py lock       vendor/requirements.txt: the pins of requirements.in with every wheel's sha256

Wheels come from the package index by exact pin and hash, and are cached in
~/.cache/ai-card-generator/wheels/<target>/.
Zip layout, read at run time by addon/vendor_loader.py: the add-on's files and manifest.json at the root,
pure-Python packages once in libs/common/, compiled ones in libs/<target>/, and libs/libs.json.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from packaging import tags
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent
ADDON_DIR = ROOT / "addon"
MANIFEST = ROOT / "manifest.json"
REQUIREMENTS_IN = ROOT / "vendor" / "requirements.in"
REQUIREMENTS_TXT = ROOT / "vendor" / "requirements.txt"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ai-card-generator" / "wheels"

# Distributions the official Anki installer ships (last section of requirements.in): used from Anki when it
# has them, else from our copy.
FALLBACK_DISTRIBUTIONS = frozenset({"jinja2", "markupsafe", "click", "colorama", "packaging"})

# Pillow's optional modules (AVIF, WebP, fonts, colour management) and the bundled libraries only they link
# (checked with readelf/otool; tests/test_build.py checks that no kept binary links a missing library).
_PIL_OPTIONAL = ("_avif", "_webp", "_imagingft", "_imagingcms")
_PIL_OPTIONAL_LIBS = ("avif", "webp", "sharpyuv", "freetype", "harfbuzz", "brotli", "png16", "lcms2")

# Files of the vendored wheels that never reach the zip, each rule with its reason. Patterns match the path
# inside site-packages (fnmatch: `*` crosses folders). Every build prints what each rule saved.
PRUNE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "llama_index/core/_static: nltk and tiktoken data caches; we vendor neither",
        ("llama_index/core/_static/*",),
    ),
    ("tests folders: test suites, never imported", ("tests/*", "*/tests/*")),
    (
        "numpy's test-only extension modules, and f2py (a build tool numpy's PyInstaller hook leaves out)",
        ("numpy/_core/_simd.*", "numpy/_core/_*_tests.*", "numpy/f2py/*"),
    ),
    (
        "Pillow's optional modules: imported behind a guard, Pillow runs without them; we read no images",
        tuple(f"PIL/{m}.*" for m in _PIL_OPTIONAL)
        + tuple(f"{d}/lib{lib}*" for d in ("pillow.libs", "PIL/.dylibs") for lib in _PIL_OPTIONAL_LIBS),
    ),
    (
        "PyYAML's libyaml accelerator: optional, PyYAML falls back to its pure-Python parser",
        ("yaml/_yaml.*",),
    ),
    ("*.pyi: typing stubs, read by type checkers only", ("*.pyi",)),
    (
        "C headers, Cython sources, static libraries: for compiling against numpy, not for running it",
        ("*.h", "*.pxd", "*.pyx", "numpy/_core/lib/*"),
    ),
    ("dist-info RECORD: lists the files pruned here; nothing reads it at run time", ("*.dist-info/RECORD",)),
    ("byte code: Python writes its own", ("*/__pycache__/*", "*.pyc")),
)

# Files of addon/ that stay out of the zip: the build's output, what Anki keeps per install (meta.json,
# user_files/ except its README) and development leftovers.
ADDON_EXCLUDED = (
    *("libs/*", "meta.json", "user_files/*"),
    *("*__pycache__/*", "*.pyc", "tests/*", "*/tests/*", ".*", "*/.*"),
)
ADDON_KEPT = ("user_files/README*",)

SIZE_GOAL_MB = {"per target": 25, "universal": 100}
# The zip format (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16): local header, central directory header, end record.
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_END_RECORD = struct.Struct("<IHHHHIIH")
_LOCAL_SIGNATURE, _CENTRAL_SIGNATURE, _END_SIGNATURE = 0x04034B50, 0x02014B50, 0x06054B50
_MADE_BY_UNIX = 3 << 8 | 20
_FILE_MODE = 0o100644 << 16
_DOS_DATE_TIME = (0, 1 << 5 | 1)  # 1980-01-01 00:00, so that the same inputs give the same zip


def _load_vendor_loader() -> ModuleType:
    """The runtime half of the layout contract (names, machine spellings), without importing the add-on."""
    spec = importlib.util.spec_from_file_location("vendor_loader", ADDON_DIR / "vendor_loader.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


vendor_loader = _load_vendor_loader()


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    """One platform and Python version that gets its own libs/<id>/ folder of compiled packages."""

    id: str
    sys_platform: str
    machine: str  # as vendor_loader.normalized_machine() spells it
    python: tuple[int, int]
    platforms: tuple[str, ...]  # wheel platform tags pip may choose from; empty: the running interpreter's

    @property
    def abi(self) -> str:
        return "cp{}{}".format(*self.python)

    @property
    def version(self) -> str:
        return "{}.{}".format(*self.python)

    def pip_options(self) -> list[str]:
        if not self.platforms:
            return []
        options = ["--python-version", self.version, "--implementation", "cp", "--abi", self.abi]
        for tag in self.platforms:
            options += ["--platform", tag]
        return options

    def tags(self) -> list[tags.Tag]:
        """Compatible wheel tags, most preferred first (what pip computes from pip_options)."""
        if not self.platforms:
            return list(tags.sys_tags())
        return [
            *tags.cpython_tags(self.python, [self.abi], self.platforms),
            *tags.compatible_tags(self.python, self.abi, self.platforms),
        ]

    def describe(self) -> dict[str, str]:
        return {
            "id": self.id,
            "platform": self.sys_platform,
            "machine": self.machine,
            "python": self.version,
        }


def _macos(arch: str) -> tuple[str, ...]:
    """Anki 26 needs macOS 13: every tag up to 13_0 for this arch, and universal2."""
    return tuple(p for p in tags.mac_platforms((13, 0), arch) if p.endswith((f"_{arch}", "_universal2")))


def _manylinux(arch: str) -> tuple[str, ...]:
    return (*(f"manylinux_2_{minor}_{arch}" for minor in range(28, 16, -1)), f"manylinux2014_{arch}")


RELEASE_TARGETS = (
    Target("win_amd64-cp313", "win32", "x86_64", (3, 13), ("win_amd64",)),
    Target("win_arm64-cp313", "win32", "arm64", (3, 13), ("win_arm64",)),
    Target("macos_arm64-cp313", "darwin", "arm64", (3, 13), _macos("arm64")),
    Target("macos_x86_64-cp313", "darwin", "x86_64", (3, 13), _macos("x86_64")),
    Target("linux_x86_64-cp313", "linux", "x86_64", (3, 13), _manylinux("x86_64")),
    Target("linux_aarch64-cp313", "linux", "arm64", (3, 13), _manylinux("aarch64")),
)
# The development and CI machines: locked too, so that `--local` works there.
DEV_TARGET = Target("linux_x86_64-cp311", "linux", "x86_64", (3, 11), _manylinux("x86_64"))
LOCK_TARGETS = (*RELEASE_TARGETS, DEV_TARGET)


def local_target() -> Target:
    prefix = {"win32": "win", "darwin": "macos"}.get(sys.platform, sys.platform)
    python = sys.version_info[:2]
    return Target(
        f"{prefix}_{vendor_loader.interpreter_machine().lower()}-cp{python[0]}{python[1]}",
        sys.platform,
        vendor_loader.normalized_machine(),
        python,
        (),
    )


# --- wheels ----------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _is_pure(wheel: Path) -> bool:
    return all(t.abi == "none" and t.platform == "any" for t in parse_wheel_filename(wheel.name)[3])


def _pip_download(options: Sequence[str], requirements: Iterable[str], dest: Path) -> list[Path]:
    """Downloads wheels without dependencies into an empty folder, and returns them."""
    dest.mkdir(parents=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write("\n".join(requirements) + "\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    try:
        result = subprocess.run([*command, *options, "-r", req.name], capture_output=True, text=True)
    finally:
        os.unlink(req.name)
    if result.returncode:
        raise BuildError(f"pip download {' '.join(options[:8])} ... failed:\n{result.stdout}{result.stderr}")
    return sorted(dest.glob("*.whl"))


def _read_pins() -> dict[str, str]:
    """requirements.in as {canonical name: 'name==version'}; every line must be an exact pin."""
    pins = {}
    for line in REQUIREMENTS_IN.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if len(requirement.specifier) != 1 or next(iter(requirement.specifier)).operator != "==":
            raise BuildError(f"{REQUIREMENTS_IN.name}: {line!r} is not an exact pin")
        pins[canonicalize_name(requirement.name)] = line
    return pins


def read_lock() -> dict[str, tuple[str, frozenset[str]]]:
    """requirements.txt as {canonical name: (pin, allowed sha256 digests)}."""
    text = REQUIREMENTS_TXT.read_text().replace("\\\n", " ")
    lock = {}
    for line in text.splitlines():
        if tokens := line.split("#")[0].split():
            pin, *options = tokens
            hashes = frozenset(
                o.removeprefix("--hash=sha256:") for o in options if o.startswith("--hash=sha256:")
            )
            lock[canonicalize_name(Requirement(pin).name)] = (pin, hashes)
    if {pin for pin, _ in lock.values()} != set(_read_pins().values()):
        raise BuildError(f"{REQUIREMENTS_TXT.name} does not pin what {REQUIREMENTS_IN.name} does: re-lock")
    return lock


def lock() -> None:
    """Chooses each target's wheel of every pin (a pure wheel wherever one exists) and writes their hashes."""
    pins = _read_pins()
    with tempfile.TemporaryDirectory(dir=_cache_root()) as tmp:
        chosen: dict[str, dict[Target, Path]] = {name: {} for name in pins}
        for target in LOCK_TARGETS:
            print(f"lock: {target.id}", flush=True)
            for wheel in _pip_download(target.pip_options(), pins.values(), Path(tmp) / target.id):
                chosen[canonicalize_name(parse_wheel_filename(wheel.name)[0])][target] = wheel
        for name, by_target in chosen.items():
            if not all(map(_is_pure, by_target.values())):
                pure = _pure_wheel(pins[name], Path(tmp) / f"pure-{name}")
                if pure:
                    chosen[name] = dict.fromkeys(LOCK_TARGETS, pure)
        lines = [
            "# Generated by `python build.py lock` from requirements.in: edit that file, then re-lock.",
            f"# Hashes of the wheel each target uses: {', '.join(t.id for t in LOCK_TARGETS)}.",
        ]
        for name in sorted(chosen):
            digests = sorted({_sha256(w) for w in chosen[name].values()})
            lines.append(" \\\n".join([pins[name], *(f"    --hash=sha256:{d}" for d in digests)]))
        for by_target in chosen.values():
            for target, wheel in by_target.items():
                _store(wheel, CACHE_DIR / target.id)
    REQUIREMENTS_TXT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REQUIREMENTS_TXT.relative_to(ROOT)} ({len(chosen)} pins)")


def _pure_wheel(pin: str, dest: Path) -> Path | None:
    """The pin's py3-none-any wheel if it publishes one; pip would otherwise prefer a compiled one."""
    oldest = "{}.{}".format(*min(t.python for t in LOCK_TARGETS))
    options = ["--platform", "any", "--implementation", "py", "--abi", "none", "--python-version", oldest]
    try:
        return _pip_download(options, [pin], dest)[0]
    except BuildError:
        return None


def _cache_root() -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return CACHE_DIR


def _store(wheel: Path, cache: Path) -> None:
    """Copies into the cache atomically, so that a concurrent build never sees half a wheel."""
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / wheel.name).exists():
        part = cache / f".{wheel.name}.{os.getpid()}.part"
        shutil.copyfile(wheel, part)
        os.replace(part, cache / wheel.name)


def wheels_for(target: Target, locked: dict[str, tuple[str, frozenset[str]]]) -> list[Path]:
    """The locked wheel of every pin for this target, downloading only what the cache lacks."""
    cache = CACHE_DIR / target.id
    found = _cached_wheels(target, locked, cache)
    missing = [pin_hashes for name, pin_hashes in locked.items() if name not in found]
    if missing:
        print(f"download: {len(missing)} wheels for {target.id}", flush=True)
        requirements = [
            " ".join([pin, *(f"--hash=sha256:{h}" for h in sorted(hashes))]) for pin, hashes in missing
        ]
        with tempfile.TemporaryDirectory(dir=_cache_root()) as tmp:
            try:
                downloaded = _pip_download(target.pip_options(), requirements, Path(tmp) / "new")
            except BuildError as error:
                ids = ", ".join(t.id for t in LOCK_TARGETS)
                hint = f"Is {target.id} one of the locked targets ({ids})? If not, add it and re-lock."
                raise BuildError(f"{error}\n{hint}") from error
            for wheel in downloaded:
                _store(wheel, cache)
        found = _cached_wheels(target, locked, cache)
    if lacking := sorted(set(locked) - set(found)):
        raise BuildError(
            f"no locked wheel of {', '.join(lacking)} for {target.id}: run `python build.py lock`"
        )
    return [found[name] for name in sorted(found)]


def _cached_wheels(
    target: Target, locked: dict[str, tuple[str, frozenset[str]]], cache: Path
) -> dict[str, Path]:
    rank = {tag: i for i, tag in enumerate(target.tags())}
    best: dict[str, tuple[int, Path]] = {}
    for wheel in sorted(cache.glob("*.whl")):
        name, _, _, wheel_tags = parse_wheel_filename(wheel.name)
        score = min((rank[t] for t in wheel_tags if t in rank), default=None)
        if name not in locked or score is None or (name in best and best[name][0] <= score):
            continue
        if _sha256(wheel) in locked[name][1]:
            best[name] = (score, wheel)
    return {name: wheel for name, (_, wheel) in best.items()}


# --- zips ------------------------------------------------------------------------------------------------


@dataclass
class Vendored:
    """The importable content of one wheel, pruned."""

    wheel: Path
    files: list[tuple[str, zipfile.ZipInfo]]  # (path inside site-packages, entry in the wheel)
    pruned: Counter[str]  # rule -> bytes

    @classmethod
    def read(cls, wheel: Path) -> Vendored:
        files, pruned = [], Counter[str]()
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                path = _installed_path(info.filename)
                if info.is_dir() or path is None:
                    continue
                rule = next((reason for reason, patterns in PRUNE_RULES if _matches(path, patterns)), None)
                if rule:
                    pruned[rule] += info.file_size
                else:
                    files.append((path, info))
        return cls(wheel, files, pruned)

    @property
    def distribution(self) -> str:
        return canonicalize_name(parse_wheel_filename(self.wheel.name)[0])

    @property
    def version(self) -> str:
        return str(parse_wheel_filename(self.wheel.name)[1])

    def top_level_names(self) -> set[str]:
        names = set()
        for path, _ in self.files:
            first, _, rest = path.partition("/")
            module = first if rest else first.partition(".")[0]
            is_module = rest or first.endswith((".py", ".so", ".pyd"))
            if is_module and module.isidentifier():
                names.add(module)
        return names


def _installed_path(name: str) -> str | None:
    """Where a wheel entry lands in site-packages; None for .data/ scripts, headers and data (outside it)."""
    first, _, rest = name.partition("/")
    if not first.endswith(".data"):
        return name
    scheme, _, path = rest.partition("/")
    return path if scheme in ("purelib", "platlib") else None


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch(path, pattern) for pattern in patterns)


def addon_files() -> list[tuple[str, Path]]:
    json.loads((ADDON_DIR / "config.json").read_text(encoding="utf-8"))  # fails the build if invalid
    files = []
    for path in sorted(ADDON_DIR.rglob("*")):
        name = path.relative_to(ADDON_DIR).as_posix()
        if path.is_file() and (not _matches(name, ADDON_EXCLUDED) or _matches(name, ADDON_KEPT)):
            files.append((name, path))
    return files


def read_manifest() -> dict:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    if missing := {"package", "name"} - manifest.keys():
        raise BuildError(f"manifest.json lacks {', '.join(sorted(missing))}")
    return manifest


class AddonZip:
    """A reproducible .ankiaddon, written to a temporary name and moved into place when complete.

    zipfile cannot add an entry without compressing it again, so this writes the zip format itself (no zip64:
    the files are far below 4 GB) and copies the wheels' entries still compressed. That keeps a build
    I/O-bound: seconds instead of a minute of deflate for the seven files of a release.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._part = path.with_name(f".{path.name}.{os.getpid()}.part")
        self._file = self._part.open("wb")
        self._central: list[bytes] = []

    def write(self, name: str, data: bytes) -> None:
        deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        compressed = deflate.compress(data) + deflate.flush()
        self._add(name, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data), compressed)

    def copy(self, name: str, wheel: BinaryIO, entry: zipfile.ZipInfo) -> None:
        """Adds a wheel's entry under a new name without decompressing it."""
        wheel.seek(entry.header_offset)
        header = wheel.read(_LOCAL_HEADER.size)
        name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
        wheel.seek(entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        self._add(name, entry.compress_type, entry.CRC, entry.file_size, wheel.read(entry.compress_size))

    def _add(self, name: str, method: int, crc: int, size: int, compressed: bytes) -> None:
        if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BuildError(f"{name}: compression method {method} is not one Anki can read")
        encoded, offset = name.encode(), self._file.tell()
        flags = 0 if encoded.isascii() else 0x800  # UTF-8 names
        fields = (20, flags, method, *_DOS_DATE_TIME, crc, len(compressed), size, len(encoded))
        self._file.write(_LOCAL_HEADER.pack(_LOCAL_SIGNATURE, *fields, 0) + encoded + compressed)
        self._central.append(
            _CENTRAL_HEADER.pack(_CENTRAL_SIGNATURE, _MADE_BY_UNIX, *fields, 0, 0, 0, 0, _FILE_MODE, offset)
            + encoded
        )

    def close(self) -> None:
        start = self._file.tell()
        self._file.write(b"".join(self._central))
        end = self._file.tell()
        count = len(self._central)
        if end >= 1 << 32 or count >= 1 << 16:
            raise BuildError(f"{self.path.name} would need zip64")
        self._file.write(_END_RECORD.pack(_END_SIGNATURE, 0, 0, count, count, end - start, start, 0))
        self._file.close()
        os.replace(self._part, self.path)


@dataclass
class Layout:
    """What goes under libs/: the pure wheels once, the compiled ones per target."""

    common: list[Vendored]
    compiled: dict[Target, list[Vendored]]

    @classmethod
    def resolve(cls, targets: Sequence[Target]) -> Layout:
        locked = read_lock()
        read: dict[Path, Vendored] = {}
        per_target = {
            t: [read.setdefault(w, Vendored.read(w)) for w in wheels_for(t, locked)] for t in targets
        }
        pure = {
            t: {v.wheel.name for v in vendored if _is_pure(v.wheel)} for t, vendored in per_target.items()
        }
        if len({frozenset(names) for names in pure.values()}) > 1:
            raise BuildError(f"targets differ in their pure-Python wheels: {pure}")
        first = per_target[targets[0]]
        return cls(
            [v for v in first if _is_pure(v.wheel)],
            {t: [v for v in vendored if not _is_pure(v.wheel)] for t, vendored in per_target.items()},
        )

    def libs_json(self, targets: Sequence[Target], manifest: dict) -> dict:
        everything = [*self.common, *(v for t in targets for v in self.compiled[t])]
        fallback = {
            n: v.distribution
            for v in everything
            if v.distribution in FALLBACK_DISTRIBUTIONS
            for n in v.top_level_names()
        }
        pins = {n: [v.distribution, v.version] for v in everything for n in v.top_level_names()}
        private = pins.keys() - fallback.keys()
        return {
            "name": manifest["name"],
            "homepage": manifest.get("homepage", "AnkiWeb"),
            "targets": [t.describe() for t in targets],
            "private": sorted(private),
            "fallback": dict(sorted(fallback.items())),
            "pins": {name: pins[name] for name in sorted(private)},
        }

    def pruned(self) -> Counter[str]:
        unique = {v.wheel: v for v in [*self.common, *(v for vs in self.compiled.values() for v in vs)]}
        return sum((v.pruned for v in unique.values()), Counter[str]())


def write_addon(path: Path, layout: Layout, targets: Sequence[Target], manifest: dict) -> None:
    out = AddonZip(path)
    for name, file in addon_files():
        out.write(name, file.read_bytes())
    out.write("manifest.json", MANIFEST.read_bytes())
    out.write(
        f"libs/{vendor_loader.LIBS_JSON}", json.dumps(layout.libs_json(targets, manifest), indent=1).encode()
    )
    folders = [(vendor_loader.COMMON, layout.common), *((t.id, layout.compiled[t]) for t in targets)]
    for folder, vendored in folders:
        for v in vendored:
            with v.wheel.open("rb") as wheel:
                for name, info in v.files:
                    out.copy(f"libs/{folder}/{name}", wheel, info)
    out.close()


def build(targets: Sequence[Target], dist: Path, *, local: bool) -> list[Path]:
    manifest = read_manifest()
    package = manifest["package"]
    layout = Layout.resolve(targets)
    if local:
        outputs = [(dist / f"{package}-local.ankiaddon", targets, SIZE_GOAL_MB["per target"])]
    else:
        outputs = [(dist / f"{package}-{t.id}.ankiaddon", [t], SIZE_GOAL_MB["per target"]) for t in targets]
        outputs.append((dist / f"{package}.ankiaddon", targets, SIZE_GOAL_MB["universal"]))
    for path, included, _ in outputs:
        write_addon(path, layout, included, manifest)
    _print_sizes([(path, goal) for path, _, goal in outputs], layout)
    return [path for path, _, _ in outputs]


def _print_sizes(files: Sequence[tuple[Path, int]], layout: Layout) -> None:
    mb = 1024 * 1024  # MiB, as file managers show sizes
    print(f"\n{'file':<48} {'MiB':>6}  goal")
    for path, goal in files:
        size = path.stat().st_size / mb
        print(f"{path.name:<48} {size:6.1f}  <= {goal}{'  OVER' if size > goal else ''}")
    print("\npruned (MiB unpacked, each wheel once):")
    for rule, size in layout.pruned().most_common():
        print(f"  {size / mb:6.1f}  {rule}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", choices=("build", "lock"), default="build")
    parser.add_argument("--local", action="store_true", help="build for this interpreter only")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        if args.command == "lock":
            lock()
        else:
            build([local_target()] if args.local else RELEASE_TARGETS, args.dist, local=args.local)
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 1
    print(f"\ndone in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
