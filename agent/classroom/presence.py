"""Whether a learner's environment is still there, looked up as `labctl status` looks up one stack (ARM for the
resource group, Azure OpenAI account and workspace; the workspace for the cluster), and the class command that brings
learners back.

The class record only says what `class up` last achieved; a restarted or stopped sandbox, a deletion in the portal
or a `labctl down --stack <class>-<nn>` by hand changes the world under it. So every class command that would say
`ready` or act on a learner's resources looks first. In the sandbox, a sandbox that is not running holds nothing: the
twin keeps its resources in memory, so they stopped with it (as `labctl down` treats it) and nothing is started to
look.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from agent.errors import LabctlError


@dataclass
class Presence:
    """`state`: "up" (everything there), "partly down" (some of it), "gone" (none of it), or "unknown" (it could not
    be asked: `unreachable` is the service's sentence)."""

    state: str
    reason: str | None = None  # why it is not up, in a phrase
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    cluster: dict | None = None  # {"id", "state", ...} when the cluster exists
    expires: str | None = None  # the stack's expires-at tag, when anything of it exists
    unreachable: str | None = None


SANDBOX_STOPPED = "the sandbox is not running: its resources went with it"


def sandbox_running() -> bool:
    from agent import sandbox_process
    from agent.workdir import sandbox_dir

    return sandbox_process.running(sandbox_dir()) is not None


def stopped_sandbox(target: str) -> bool:
    """True when the class is a sandbox class and its sandbox is not running (nothing of it exists)."""
    return target == "sandbox" and not sandbox_running()


def look_up(stack: str, sandbox_stopped: bool = False) -> Presence:
    """The learner's stack as `labctl status` finds it (its ARM and Databricks lookups); never starts a sandbox."""
    from agent.lifecycle.status import status as stack_status
    from agent.workdir import CorruptState

    if sandbox_stopped:
        return Presence("gone", SANDBOX_STOPPED)
    try:
        report = stack_status(stack)
    except CorruptState as damaged:
        return Presence("unknown", unreachable=damaged.message)
    except LabctlError:  # no outputs: nothing of the stack is recorded (a `labctl down` of it by hand)
        return Presence("gone", "its stack has nothing recorded (taken down outside the class)")
    if report.get("unreachable") and not report["missing"]:
        return Presence("unknown", unreachable=report["unreachable"], present=report["present"])
    state = {"up": "up", "partly down": "partly down", "down": "gone"}[report["state"]]
    reason = None if state == "up" else "missing: " + ", ".join(report["missing"])
    return Presence(state, reason, report["present"], report["missing"], report.get("cluster"),
                    report["outputs"].get("tags", {}).get("expires-at") if report["present"] else None,
                    report.get("unreachable"))


def class_up_command(name: str, data: dict) -> str | None:
    """The `labctl class up` that resumes class `name` with its own learners and target (recorded by `class up`;
    rebuilt for a record made before it was, when the learners have no identities), or None."""
    if data.get("up_command"):
        return data["up_command"]
    learners = data.get("learners") or {}
    if learners and all(not entry.get("email") for entry in learners.values()):
        return shlex.join(["labctl", "class", "up", "--class", name, "--learners", str(len(learners)),
                           *(["--sandbox"] if data.get("target") == "sandbox" else [])])
    return None


def bring_back(name: str, data: dict, stacks: list[str]) -> str:
    """Advice that brings `stacks` (learners of class `name` whose environment is missing) back: the class's own
    command, never a learner's `labctl up` (it would miss the class's settings and notebooks) nor the default
    stack's."""
    them = "it" if len(stacks) == 1 else "them"
    command = class_up_command(name, data)
    if command:
        return f"`{command}` brings {them} up again"
    return "; ".join(f"`labctl class reset {stack} --class {name} --yes`" for stack in stacks) + \
        f" brings {them} up again"
