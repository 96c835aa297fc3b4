"""The class's own record, .labctl/classes/<class>/class.json: its settings, and per learner the stack, region,
identity and state. Each learner's environment is an ordinary stack (.labctl/stacks/<class>-<nn>/); this file only
says which stacks form the class. Writes are atomic and serialised (threads of one labctl, and other labctls)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from filelock import FileLock

from agent.workdir import home, read_state, write_json

# "interrupted": Ctrl-C stopped the learner's own `labctl up` or `down` cleanly (what was in flight is recorded); the
# next `class up` or `class down` picks it up as it does a failed one.
# "gone": a class command found a learner recorded ready without its environment (a restarted sandbox, a deletion in
# the portal); the next `class up` brings it up again.
STATES = ("planned", "creating", "ready", "failed", "interrupted", "gone", "removing", "down", "left behind")


def class_dir(name: str) -> Path:
    return home() / "classes" / name


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _valid(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("learners"), dict) and all(
        isinstance(v, dict) and v.get("state") in STATES and isinstance(v.get("number"), int)
        for v in data["learners"].values())


class ClassRecord:
    def __init__(self, name: str):
        self.name = name
        self.folder = class_dir(name)
        self.path = self.folder / "class.json"
        self._thread_lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> dict:
        return read_state(self.path, {"learners": {}}, _valid,
                          'a class record ({"learners": {stack: {"number", "state", ...}}})')

    def write(self, data: dict) -> None:
        with self._locked():
            write_json(self.path, data)

    def update_learner(self, stack: str, **fields) -> dict:
        with self._locked():
            data = self.read()
            learner = data["learners"][stack]
            learner.update(fields, updated_at=now())
            write_json(self.path, data)
            return learner

    def update(self, **fields) -> dict:
        """The class's own fields (not a learner's) set to `fields`."""
        with self._locked():
            data = self.read()
            data.update(fields)
            write_json(self.path, data)
            return data

    def update_config(self, changes: dict[str, str]) -> dict:
        """The class's settings (`config`, what every learner's `labctl up` gets) with `changes` applied."""
        with self._locked():
            data = self.read()
            data["config"] = {**(data.get("config") or {}), **changes}
            write_json(self.path, data)
            return data["config"]

    def remove(self) -> None:
        with self._locked():
            self.path.unlink(missing_ok=True)

    def _locked(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        return _Both(self._thread_lock, FileLock(self.folder / ".class.lock"))


class _Both:
    def __init__(self, *locks):
        self.locks = locks

    def __enter__(self):
        for lock in self.locks:
            lock.__enter__()

    def __exit__(self, *exc):
        for lock in reversed(self.locks):
            lock.__exit__(*exc)
