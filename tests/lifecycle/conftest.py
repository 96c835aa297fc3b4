"""Drive `labctl` as a user does: a subprocess per command, one LABCTL_HOME and one background sandbox
shared by the tests of a module (each test uses its own stack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests


class Labctl:
    def __init__(self, home: Path):
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("LABCTL_", "DATABRICKS_", "REQUESTS_CA"))}
        self.env["LABCTL_HOME"] = str(home / ".labctl")
        self.transcript: list[str] = []

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-c", "from agent.cli import main; main()", *args]

    def __call__(self, *args: str, expect: int = 0, timeout: float = 300) -> subprocess.CompletedProcess:
        done = subprocess.run(self.command(*args), cwd=self.home, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        self.transcript += [done.stdout, done.stderr]
        assert done.returncode == expect, f"labctl {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def json(self, *args: str, expect: int = 0) -> dict:
        return json.loads(self("--json", *args, expect=expect).stdout)

    def spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), cwd=self.home, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    # The sandbox, seen from outside ------------------------------------------------------------------

    @property
    def endpoints(self) -> dict:
        return json.loads((self.home / ".labctl" / "sandbox" / "endpoints.json").read_text())

    def control(self, method: str, path: str, **kwargs):
        answer = requests.request(method, f"{self.endpoints['data_url']}/_sandbox{path}", timeout=10, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def inventory_of(self, stack: str) -> dict:
        """Everything in the sandbox that belongs to `stack` (its names all carry `-<stack>`)."""
        inventory = self.control("GET", "/inventory")
        mine = f"-{stack}"
        return {
            "resource_groups": [g["name"] for g in inventory["resource_groups"] if mine in g["name"]],
            "accounts": [a["name"] for a in inventory["accounts"] if mine in a["name"]],
            "deleted_accounts": [a["name"] for a in inventory["deleted_accounts"] if mine in a["name"]],
            "workspaces": [w["name"] for w in inventory["databricks_workspaces"] if mine in w["name"]],
            "clusters": [c["cluster_id"] for w in inventory["databricks_workspaces"] if mine in w["name"]
                         for c in w["clusters"]],
        }

    def state_file(self, stack: str, name: str) -> Path:
        return self.home / ".labctl" / "stacks" / stack / name


EMPTY = {"resource_groups": [], "accounts": [], "deleted_accounts": [], "workspaces": [], "clusters": []}


@pytest.fixture(scope="module")
def labctl(tmp_path_factory):
    tool = Labctl(tmp_path_factory.mktemp("lab"))
    yield tool
    subprocess.run(tool.command("sandbox", "stop"), cwd=tool.home, env=tool.env, capture_output=True, timeout=60)
