"""The stack's target and Databricks workspace client, for the commands that work in the workspace (`stage`, `run`).

A sandbox keeps its resources in memory: once it stopped or restarted, a sandbox stack's workspace is gone, and what
to do is said in one sentence that names the stack (`--stack`), as every labctl advice does.
"""

from __future__ import annotations

from agent.errors import UNAVAILABLE, LabctlError
from agent.outputs import StackOutputs
from agent.target import load_target


def connect(stack: str, outputs: StackOutputs, then: str):
    """(Target, WorkspaceClient) of the stack. `then` is the command to run once the stack is up again (for the
    sentence: "run `labctl up --sandbox --stack S`, then <then>")."""
    try:
        target = load_target(stack)
        return target, target.workspace_client(outputs)
    except LabctlError as error:
        if outputs.target != "sandbox" or error.exit_code != UNAVAILABLE:
            raise
        raise LabctlError(f"Stack {stack!r}'s workspace is not in the sandbox (a sandbox that stops or restarts loses "
                          f"its resources): run `labctl up --sandbox --stack {stack}`, then {then}.",
                          UNAVAILABLE) from None
