"""The per-stack journal: every operation that creates something or takes long is written down before
it starts and updated as it goes, so a killed labctl resumes it (same run, same job) or cleans it up.

Entries are keyed by a stable id; writes are atomic (a temporary file renamed over the journal) and
serialised with a portable file lock (`filelock`: fcntl on POSIX, msvcrt on Windows).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from agent.workdir import read_journal, stack_dir, write_json


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Journal:
    def __init__(self, stack: str, folder: Path | None = None):
        self.folder = folder or stack_dir(stack)
        self.path = self.folder / "journal.json"
        self._lock_path = self.folder / ".journal.lock"

    @contextmanager
    def _locked(self) -> Iterator[dict]:
        with FileLock(self._lock_path):
            data = read_journal(self.path)
            yield data
            write_json(self.path, data)

    def entries(self, kind: str | None = None, status: str | None = None) -> list[dict]:
        data = read_journal(self.path)
        return [e for e in data["entries"].values()
                if (kind is None or e["kind"] == kind) and (status is None or e["status"] == status)]

    def get(self, entry_id: str) -> dict | None:
        return read_journal(self.path)["entries"].get(entry_id)

    def begin(self, kind: str, data: dict[str, Any], entry_id: str | None = None) -> dict:
        entry = {"id": entry_id or uuid.uuid4().hex, "kind": kind, "status": "started", "data": data,
                 "created_at": _now(), "updated_at": _now()}
        with self._locked() as journal:
            journal["entries"][entry["id"]] = entry
        return entry

    def update(self, entry_id: str, status: str | None = None, **data: Any) -> dict:
        with self._locked() as journal:
            entry = journal["entries"][entry_id]
            entry["data"].update(data)
            if status:
                entry["status"] = status
            entry["updated_at"] = _now()
            return entry

    def remove(self, entry_id: str) -> None:
        with self._locked() as journal:
            journal["entries"].pop(entry_id, None)
