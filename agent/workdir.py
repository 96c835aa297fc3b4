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


def stack_dir(stack: str) -> Path:
    if not STACK_NAME.match(stack):
        raise UsageError(f"--stack {stack!r} is not a valid stack name (letters, digits, '-', '_', '.').")
    folder = home() / "stacks" / stack
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not valid JSON (line {error.lineno}); move it aside and rerun.") from None
