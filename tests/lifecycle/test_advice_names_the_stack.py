"""Every piece of advice that names a command names the stack it was given (`--stack S`), and `--sandbox` only for
a sandbox stack: a user with two stacks who pastes the advice must act on the stack that has the problem, not on the
default one. Driven through the CLI with a non-default stack, on a sandbox of this test's own (it is stopped and
restarted, which the shared one must not be)."""

from __future__ import annotations

import pytest

from sandbox.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.lifecycle.conftest import Labctl

STACK = "advice-2"


class OwnSandbox:
    """A sandbox in the state folder a background `labctl up --sandbox` would use, stopped or restarted on demand
    (as `labctl sandbox stop` and a later `labctl up --sandbox` do: its resources are gone)."""

    def __init__(self, home):
        self.folder = home / ".labctl" / "sandbox"
        self.server: SandboxServer | None = None
        self.start()

    def start(self) -> None:
        self.server = SandboxServer(self.folder, SandboxConfig(customer="existing"))
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def restartable(tmp_path):
    own = OwnSandbox(tmp_path)
    yield Labctl(tmp_path), own
    own.stop()


def _one_sentence(stderr_or_stdout: str) -> str:
    return " ".join(stderr_or_stdout.split())


def test_advice_after_the_sandbox_stopped_or_restarted_names_the_stack(restartable):
    labctl, sandbox = restartable
    labctl("up", "--sandbox", "--stack", STACK)

    # The sandbox restarted: the stack's workspace went with it.
    sandbox.restart()
    refused = labctl("llmops", "ui", "--stack", STACK, expect=3)
    assert f"`labctl up --sandbox --stack {STACK}`" in _one_sentence(refused.stderr)
    shown = labctl("status", "--stack", STACK, expect=1)  # everything is gone: `down` finishes it
    assert f"`labctl down --stack {STACK} --yes`" in _one_sentence(shown.stdout)

    # The sandbox is not running at all: status cannot look, and says which `up` brings the stack back.
    sandbox.stop()
    shown = labctl("status", "--stack", STACK, expect=3)
    assert f"`labctl up --sandbox --stack {STACK}`" in _one_sentence(shown.stdout)
    assert "`labctl up --sandbox`" not in _one_sentence(shown.stdout)


@pytest.mark.parametrize("name, command, advice", [
    ("config.json", ("up", "--sandbox"), "`labctl up --sandbox --stack {stack} -c key=value`"),
    ("target.json", ("status",), "`labctl up --sandbox --stack {stack}`"),
    ("journal.json", ("status",), "`labctl down --stack {stack} --yes`"),
])
def test_a_damaged_state_file_names_the_stacks_own_commands(restartable, name, command, advice):
    labctl, _ = restartable
    labctl("up", "--sandbox", "--stack", STACK)
    labctl.state_file(STACK, name).write_text("{not json")
    refused = labctl(*command, "--stack", STACK, expect=2)
    assert advice.format(stack=STACK) in _one_sentence(refused.stderr)
