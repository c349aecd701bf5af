"""A small journal on disk: one JSON file per entry (a generate run, a review run…), kept across crashes,
restarts and add-on upgrades (it lives under `user_files/`).

    journal = Journal(folder, kind="generate", payload=DraftRun, keep=20)
    journal.save(entry_id, run)         # serialized now, written in the background, atomically
    entries, problems = journal.load()  # newest first; a file that can't be read is set aside, not fatal
    journal.flush()                     # wait for pending writes (closing a window, tests)

Every write goes to a temporary file that is flushed to disk and then renamed over the old one, so a crash
leaves the old entry or the new one, never half of one. Writes happen in one background thread so the main
thread never waits for the disk; the newest version of an entry replaces a pending older one. The journal is
bounded: after each save only the `keep` newest entries of its kind remain (and a few set-aside files).
No aqt, no anki: pydantic and the standard library only.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

logger = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)

FORMAT_VERSION = 1
SUFFIX = ".json"
SET_ASIDE = ".unreadable"
KEEP_SET_ASIDE = 5


class JournalEntry(BaseModel, Generic[P]):
    """What one file holds: who wrote it, when, and the payload."""

    version: int = FORMAT_VERSION
    kind: str
    id: str
    created: float
    updated: float
    payload: P


@dataclass
class _Pending:
    path: Path
    data: bytes


class Journal(Generic[P]):
    """Entries of one `kind` in `folder`, each a `JournalEntry[payload]`."""

    def __init__(self, folder: Path, *, kind: str, payload: type[P], keep: int = 20) -> None:
        self.folder = folder
        self.kind = kind
        self.keep = keep
        self._model = JournalEntry[payload]  # type: ignore[valid-type]
        self._created: dict[str, float] = {}
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Condition()
        self._writer: threading.Thread | None = None
        self._busy = False

    # writing

    def save(self, entry_id: str, payload: P) -> None:
        """Journal `payload` as entry `entry_id` (new or replaced). Returns at once; see `flush`."""
        now = time.time()
        created = self._created.setdefault(entry_id, now)
        entry = self._model(kind=self.kind, id=entry_id, created=created, updated=now, payload=payload)
        data = entry.model_dump_json().encode("utf-8")
        with self._lock:
            self._pending[entry_id] = _Pending(self._path(entry_id), data)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_pending, name="aicg-journal", daemon=True)
                self._writer.start()
            self._lock.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every saved entry is on disk; False if that took longer than `timeout` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending and not self._busy, timeout)

    def remove(self, entry_id: str) -> None:
        with self._lock:
            self._pending.pop(entry_id, None)
            self._lock.wait_for(lambda: not self._busy, 5.0)
            self._path(entry_id).unlink(missing_ok=True)
        self._created.pop(entry_id, None)

    # reading

    def load(self) -> tuple[list[JournalEntry[P]], list[str]]:
        """Every entry of this kind, newest first, and one message per file that could not be read
        (each such file is renamed to `*.unreadable` so that it is reported once)."""
        self.flush()
        entries: list[JournalEntry[P]] = []
        problems: list[str] = []
        for path in self._files():
            try:
                entry = self._model.model_validate_json(path.read_bytes())
            except (OSError, ValueError, ValidationError) as error:
                problems.append(self._set_aside(path, error))
                continue
            self._created.setdefault(entry.id, entry.created)
            entries.append(entry)
        entries.sort(key=lambda entry: entry.updated, reverse=True)
        return entries, problems

    # files

    def _path(self, entry_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in entry_id)
        return self.folder / f"{self.kind}-{safe}{SUFFIX}"

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return [p for p in self.folder.glob(f"{self.kind}-*{SUFFIX}") if p.is_file()]

    def _set_aside(self, path: Path, error: Exception) -> str:
        target = path.with_name(f"{path.name}.{int(time.time())}{SET_ASIDE}")
        try:
            path.replace(target)
        except OSError:
            logger.exception("Could not set %s aside", path)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        logger.warning("Unreadable journal file %s set aside: %s", path, reason)
        return f"A saved drafts file could not be read and was set aside as {target.name} ({reason})."

    def _write_pending(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._pending))
                entry_id = next(iter(self._pending))
                pending = self._pending.pop(entry_id)
                self._busy = True
            try:
                _write_atomically(pending.path, pending.data)
                self._prune()
            except OSError:
                logger.exception("Could not write the journal file %s", pending.path)
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()

    def _prune(self) -> None:
        """Keep the `keep` newest entries and the newest few set-aside files."""
        by_age = sorted(self._files(), key=_mtime, reverse=True)
        for path in by_age[self.keep :]:
            path.unlink(missing_ok=True)
        set_aside = sorted(self.folder.glob(f"{self.kind}-*{SET_ASIDE}"), key=_mtime, reverse=True)
        for path in set_aside[KEEP_SET_ASIDE:]:
            path.unlink(missing_ok=True)


class Session(Generic[P]):
    """One run and its entry in a journal: every `save()` journals the run as it is now."""

    def __init__(self, journal: Journal[P], run: P, entry_id: str | None = None) -> None:
        self.journal = journal
        self.run = run
        self.id = entry_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"

    def save(self) -> None:
        self.journal.save(self.id, self.run)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _write_atomically(path: Path, data: bytes) -> None:
    """Write-then-rename: readers (and a crash) see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
