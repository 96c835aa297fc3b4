"""Where labctl keeps its local state: one folder per stack under .labctl/ (or $LABCTL_HOME)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from agent.errors import UsageError

STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def home() -> Path:
    return Path(os.environ.get("LABCTL_HOME") or ".labctl").resolve()


def stack_path(stack: str) -> Path:
    """The stack's folder, which may not exist (yet)."""
    if not STACK_NAME.match(stack):
        raise UsageError(f"--stack {stack!r} is not a valid stack name (letters, digits, '-', '_', '.').")
    return home() / "stacks" / stack


def stack_dir(stack: str) -> Path:
    """The stack's folder, created if needed (for commands that write the stack's state)."""
    folder = stack_path(stack)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def no_such_stack(stack: str) -> str | None:
    """A sentence naming the stacks there are, when `stack` has no folder here (a mistyped --stack); else None."""
    if stack_path(stack).is_dir():
        return None
    folder = home() / "stacks"
    known = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return f"there is no stack {stack!r} in {home()} (its stacks: {', '.join(known) or 'none'})"


def sandbox_dir() -> Path:
    return home() / "sandbox"


def write_json(path: Path, data: Any) -> None:
    """Atomically replace `path`, so a killed labctl never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, prefix=f".{path.name}.") as out:
        json.dump(data, out, indent=2, default=str)
        out.flush()
        os.fsync(out.fileno())
    os.replace(out.name, path)


def read_json(path: Path, default: Any = None) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CorruptState(path, f"is not valid JSON (line {error.lineno})") from None
    except UnicodeDecodeError:
        raise CorruptState(path, "is not UTF-8 text") from None
    except OSError as error:
        raise CorruptState(path, f"cannot be read ({error.strerror or error})") from None


class CorruptState(UsageError):
    """A local state file that exists but is not what labctl wrote: one sentence naming it and what to do."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path} {problem}; {_fix(path)}.")
        self.path = path


def _fix(path: Path) -> str:
    """What to do about a damaged state file (the end of the error's sentence). A stack's file names its stack in
    every command it advises (`--stack`, and `--sandbox` when the stack's outputs say it lives in the sandbox)."""
    stack = path.parent.name if path.parent.parent.name == "stacks" else None
    if stack is None:
        return _FIXES.get(path.name, "move it aside and rerun").format(up="labctl up", down="labctl down",
                                                                       preflight="labctl preflight")
    try:
        kind = json.loads((path.parent / "outputs.json").read_text(encoding="utf-8")).get("target")
    except (OSError, ValueError, AttributeError):
        kind = None
    sandbox = " --sandbox" if kind == "sandbox" else ""
    return _FIXES.get(path.name, "move it aside and rerun").format(up=f"labctl up{sandbox} --stack {stack}",
                                                                   down=f"labctl down --stack {stack} --yes",
                                                                   preflight=f"labctl preflight --stack {stack}")


# What to do when a state file is damaged (each sentence ends the error message; {up}, {down} and {preflight} are
# the stack's own commands).
_FIXES = {
    "config.json": "fix it or delete it (it holds the stack's -c settings; `{up} -c key=value` writes it again)",
    "target.json": 'fix it ({{"kind": "sandbox" or "cloud", "subscription_id": "..."}}) or delete it and run `{up}` again',
    "outputs.json": "run `{up}` again to rewrite it (or restore it; `{down}` removes what it names)",
    "journal.json": ("move it aside (`{down}` does so itself); fine-tuned deployments and files the labs created "
                     "that it recorded must then be deleted by hand"),
    "sandbox-state.json": "move it aside (`{down}` does so itself and removes what outputs.json names)",
    "preflight.json": "delete it and run `{preflight}` again",
    "endpoints.json": ("stop the sandbox it described (its pid is in sandbox.log) and delete the file; "
                       "`labctl up --sandbox` starts a new one"),
}


def read_state(path: Path, default: Any, valid, what: str) -> Any:
    """`read_json`, and the content must pass `valid` (else CorruptState: '<path> is not <what>; <fix>')."""
    data = read_json(path, default)
    if data is default:
        return data
    try:
        ok = valid(data)
    except (TypeError, KeyError, AttributeError, ValueError):
        ok = False
    if not ok:
        raise CorruptState(path, f"is not {what}")
    return data


def _object_of(check) -> Any:
    return lambda data: isinstance(data, dict) and all(check(k, v) for k, v in data.items())


def read_config(folder: Path) -> dict:
    return read_state(folder / "config.json", {}, _object_of(lambda k, v: isinstance(k, str) and ":" in k),
                      'a settings object ({"labctl:key": "value", ...})')


def read_target(folder: Path) -> dict | None:
    return read_state(folder / "target.json", None,
                      lambda d: isinstance(d, dict) and d.get("kind") in ("cloud", "sandbox")
                      and isinstance(d.get("subscription_id"), str),
                      'a target (its "kind" is sandbox or cloud, with a "subscription_id")')


def _entries_ok(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("entries"), dict) and all(
        isinstance(e, dict) and isinstance(e.get("kind"), str) and isinstance(e.get("status"), str)
        and isinstance(e.get("data"), dict) for e in data["entries"].values())


def read_journal(path: Path) -> dict:
    return read_state(path, {"entries": {}}, _entries_ok, 'a labctl journal ({"entries": {id: entry, ...}})')


def read_sandbox_state(path: Path) -> dict:
    return read_state(path, {"resources": []},
                      lambda d: isinstance(d["resources"], list) and all(
                          isinstance(e["key"], str) and isinstance(e["type"], str) and isinstance(e["teardown"], dict)
                          for e in d["resources"]),
                      'a sandbox resource list ({"resources": [...]})')


def read_preflight(folder: Path) -> dict:
    return read_state(folder / "preflight.json", {},
                      lambda d: isinstance(d, dict) and isinstance(d.get("regions", []), list)
                      and all(isinstance(r, dict) and isinstance(r.get("region"), str) for r in d.get("regions", [])),
                      "a preflight result")


def set_aside(path: Path) -> Path:
    """Move a damaged state file out of the way (kept beside it for a human to read)."""
    import datetime as dt

    moved = path.with_name(f"{path.name}.damaged-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}")
    os.replace(path, moved)
    return moved
