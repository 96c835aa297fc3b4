"""`up` and `destroy` on Azure: Pulumi's Automation API driving the program in infra/.

The stack lives in the user's Pulumi backend when one is configured (PULUMI_BACKEND_URL or
`pulumi login`), otherwise in a local file backend under .labctl/pulumi. Pulumi's own output is
streamed line by line to the progress callback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from agent.errors import UNAVAILABLE, Interrupted, LabctlError, UsageError
from agent.outputs import StackOutputs
from agent.provision.interrupt import graceful_interrupt
from agent.workdir import home

PROJECT_ROOT = Path(__file__).resolve().parents[2]
Progress = Callable[[str], None]


def _auto():
    from pulumi import automation

    return automation


def _backend_env() -> dict[str, str]:
    # Pulumi's uv toolchain runs `uv sync` before the program; without this it installs the default `dev` group
    # (the sandbox, pyspark: ~2 GB) into an environment that already has what the program needs.
    env: dict[str, str] = {"UV_NO_DEV": "1"}
    credentials = Path.home() / ".pulumi" / "credentials.json"
    logged_in = credentials.exists() and json.loads(credentials.read_text() or "{}").get("current")
    if not os.environ.get("PULUMI_BACKEND_URL") and not logged_in:
        folder = home() / "pulumi"
        folder.mkdir(parents=True, exist_ok=True)
        env["PULUMI_BACKEND_URL"] = f"file://{folder}"
    backend = os.environ.get("PULUMI_BACKEND_URL") or env.get("PULUMI_BACKEND_URL", "")
    if backend.startswith("file://") and not (os.environ.get("PULUMI_CONFIG_PASSPHRASE")
                                               or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        raise UsageError("The local Pulumi backend encrypts the stack's secrets: set PULUMI_CONFIG_PASSPHRASE "
                         "(or PULUMI_CONFIG_PASSPHRASE_FILE), or `pulumi login` to your own backend.")
    return env


def select_stack(stack: str):
    auto = _auto()
    try:
        return auto.create_or_select_stack(
            stack_name=stack, work_dir=str(PROJECT_ROOT),
            opts=auto.LocalWorkspaceOptions(env_vars=_backend_env()),
        )
    except FileNotFoundError:
        raise LabctlError("The Pulumi CLI is not installed (https://www.pulumi.com/docs/install/); "
                          "`labctl up` without --sandbox needs it.", UNAVAILABLE) from None
    except auto.errors.CommandError as error:
        raise LabctlError(failure_sentence(error, f"pulumi stack select of stack {stack!r}"), UNAVAILABLE) from None


def _last_line(error: Exception) -> str:
    """Pulumi's own verdict: the last `error:` line of its stderr (CommandError carries code, stdout, stderr)."""
    text = str(error)
    stderr = text.split("stderr:", 1)[1] if "stderr:" in text else text
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    verdicts = [line for line in lines if line.startswith("error:")]
    return (verdicts or lines or [text])[-1]


def require_uv() -> None:
    """Pulumi's uv toolchain (Pulumi.yaml: runtime.options.toolchain uv) runs `uv sync` before every program run;
    without a uv binary on PATH each `pulumi up` fails after the stack is opened, so say so first."""
    if shutil.which("uv") is None:
        raise LabctlError("`labctl up` needs uv on PATH: Pulumi runs `uv sync` before the program (Pulumi.yaml "
                          "toolchain uv); install it (pip install uv, or https://docs.astral.sh/uv/) and rerun.",
                          UNAVAILABLE)
# Which service a Pulumi resource type talks to (the package prefix of its type token).
SERVICES = {"azure-native": "Azure Resource Manager", "azure": "Azure Resource Manager", "databricks": "Databricks",
            "random": "Pulumi"}
# A resource's heading in Pulumi's "Diagnostics:" section, e.g. `  azure-native:cognitiveservices:Account (openai):`.
HEADING = re.compile(r"^\s*(?P<type>(?P<package>[a-z][a-z-]*):[\w/.:-]+)\s+\((?P<name>[^()\s]+)\):\s*$")


def failure_sentence(error: Exception, operation: str, command: str | None = None) -> str:
    """One sentence for a failed Pulumi command: the service (from the type token of the last resource whose
    diagnostics hold an `error:` line; Pulumi itself when none does), the operation, that resource's error (else
    Pulumi's last `error:` line) and that a rerun resumes (Pulumi's state keeps what was already done).

    Pulumi prints per-resource diagnostics as a heading `<type> (<name>):` followed by indented `error: ...` lines
    (https://www.pulumi.com/docs/iac/cli/commands/pulumi_up/, "Diagnostics"); the Automation API's CommandError
    carries the command's stdout and stderr."""
    heading, found = None, None
    for line in str(error).splitlines():
        match = HEADING.match(line)
        if match:
            heading = match
        elif heading is not None and line.strip().startswith("error:") and heading.group("package") in SERVICES:
            found = (heading, line.strip())
    if found is not None:
        resource, verdict = found
        where = f"{SERVICES[resource.group('package')]} ({resource.group('type')} {resource.group('name')})"
    else:
        where, verdict = "Pulumi", _last_line(error)
    rerun = f"rerun `{command}`" if command else "rerun the command"
    return (f"{where} failed during {operation}: {verdict.rstrip('.')}; fix the cause if it is not a passing fault, "
            f"then {rerun}: it resumes (Pulumi's state keeps what was done).")


def up(stack_name: str, config: dict[str, str], progress: Progress) -> StackOutputs:
    auto = _auto()
    require_uv()
    stack = select_stack(stack_name)
    for key, value in config.items():
        stack.set_config(key, auto.ConfigValue(value=value, secret=False))
    command = f"labctl up --stack {stack_name}"
    with _pulumi_interruptible(progress, command) as stop:
        try:
            result = stack.up(on_output=progress)
        except auto.errors.ConcurrentUpdateError as error:
            raise LabctlError(locked_sentence(error, stack_name, command), UNAVAILABLE) from None
        except auto.errors.CommandError as error:
            if stop.requested:  # Pulumi cancelled the update as asked: it ends with an error of its own
                raise Interrupted(f"Interrupted `labctl up` of stack {stack_name!r}: Pulumi finished the operations "
                                  f"in flight, started nothing new and released the stack; `{command}` resumes where "
                                  f"it stopped.") from None
            raise LabctlError(failure_sentence(error, f"pulumi up of stack {stack_name!r}", command),
                              UNAVAILABLE) from None
    outputs = {key: value.value for key, value in result.outputs.items()}
    subscription = stack.get_all_config().get("azure-native:subscriptionId")
    return StackOutputs.from_pulumi(outputs, target="cloud", stack=stack_name,
                                    subscription_id=subscription.value if subscription else None)


def _pulumi_interruptible(progress: Progress, command: str):
    """Ctrl-C while the Pulumi CLI runs: the CLI cancels (the operations in flight complete and are saved, nothing new
    starts, the lock is released; a second ^C terminates it: the CLI's cancellation scope in pulumi/pulumi, "^C received;
    cancelling. If you would like to terminate immediately, press ^C again."), labctl waits for it and then says where
    it stopped; a second Ctrl-C stops both at once."""

    def first() -> None:
        progress("Ctrl-C: Pulumi finishes the operations in flight and stops, releasing the stack (Ctrl-C again "
                 "stops at once, which can leave the stack locked)")
        if not _from_terminal():  # a keyboard Ctrl-C reaches the whole foreground group, the Pulumi CLI included
            for pid in _pulumi_children():
                _signal(pid)

    def second() -> None:
        progress(f"stopped at once: Pulumi may leave the stack locked with operations pending; `{command}` says how "
                 f"to release it")

    return graceful_interrupt(first, second)


def _from_terminal() -> bool:
    """Whether labctl runs in its terminal's foreground process group, which a keyboard Ctrl-C signals as a whole."""
    try:
        tty = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(tty) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(tty)


def _pulumi_children() -> list[int]:
    """The Pulumi CLI processes labctl started (the Automation API runs `pulumi` as a child), from Linux's /proc
    (`stat`: pid (comm) state ppid ...; proc(5)); none where there is no /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        comm, _, rest = text[text.find("(") + 1:].rpartition(")")
        fields = rest.split()
        if comm == "pulumi" and len(fields) > 1 and fields[1] == str(os.getpid()):
            found.append(int(stat.parent.name))
    return found


def _signal(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        pass


# The Pulumi CLI's refusal when another update holds the stack (the DIY backends' text; the Pulumi Cloud answers 409
# "Another update is currently in progress"); the lock file line names its holder:
# "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock
# file with `pulumi cancel`.\n  <url>/.pulumi/locks/<org>/<project>/<stack>/<id>.json: created by <user>@<host>
# (pid <n>) at <time>" (pulumi/pulumi#9253, DefangLabs/defang#385).
LOCK_HOLDER = re.compile(r"created by (?P<holder>\S+ \(pid \d+\) at \S+)")


def locked_sentence(error: Exception, stack_name: str, command: str) -> str:
    """One sentence for a stack another update holds: who holds it, and how Pulumi users release a lock that no
    running update holds (`pulumi cancel`, which deletes the lock file of a DIY backend and cancels the update on the
    Pulumi Cloud; https://www.pulumi.com/docs/iac/cli/commands/pulumi_cancel/)."""
    holder = LOCK_HOLDER.search(str(error))
    backend = _backend_env().get("PULUMI_BACKEND_URL")
    env = f"PULUMI_BACKEND_URL={backend} " if backend else ""
    cancel = f"{env}pulumi cancel --yes --stack {stack_name} --cwd {PROJECT_ROOT}"
    return (f"Stack {stack_name!r} is locked by another Pulumi update"
            + (f" (its lock was taken by {holder.group('holder')})" if holder else "")
            + f": wait for it to end; if none is running (an update stopped at once or killed), `{cancel}` releases "
            f"it, then `{command}` resumes (`pulumi refresh` first if Pulumi warns of pending operations: "
            f"https://www.pulumi.com/docs/iac/operations/troubleshooting/interrupted-updates/).")


def _state_resources(stack_name: str) -> list[dict]:
    """The resources of the stack's Pulumi state, including those of pending operations: a `pulumi up` killed while
    Azure created a resource leaves it under `pending_operations` (its inputs known, its outputs not), not among
    `resources` (https://www.pulumi.com/docs/iac/concepts/state-and-backends/#pending-operations)."""
    auto = _auto()
    stack = select_stack(stack_name)
    try:
        deployment = stack.export_stack().deployment or {}
    except auto.errors.CommandError as error:
        raise LabctlError(failure_sentence(error, f"pulumi stack export of stack {stack_name!r}",
                                           f"labctl down --stack {stack_name}"), UNAVAILABLE) from None
    pending = [op.get("resource") or {} for op in deployment.get("pending_operations") or []]
    return [*deployment.get("resources", []), *pending]


def accounts_in_state(stack_name: str) -> list[dict]:
    """The Cognitive Services accounts the stack's state holds (to purge them after destroy), created or pending."""
    found = []
    for resource in _state_resources(stack_name):
        if resource.get("type") == "azure-native:cognitiveservices:Account":
            outputs, inputs = resource.get("outputs") or {}, resource.get("inputs") or {}
            found.append({"account": outputs.get("name") or inputs.get("accountName"),
                          "location": (outputs.get("location") or inputs.get("location") or "").lower().replace(" ", ""),
                          "resource_group": inputs.get("resourceGroupName")})
    return found


def groups_in_state(stack_name: str) -> list[str]:
    """The resource groups the stack's state holds, created or pending (labctl's own, to verify they are gone)."""
    return [(r.get("outputs") or {}).get("name") or (r.get("inputs") or {}).get("resourceGroupName")
            for r in _state_resources(stack_name) if r.get("type") == "azure-native:resources:ResourceGroup"]


def workspaces_in_state(stack_name: str) -> list[dict]:
    """The Databricks workspaces the stack's state holds, created or pending: {resource_group, workspace,
    managed_group} (the managed group's name, from `managedResourceGroupId`; None when not known)."""
    found = []
    for resource in _state_resources(stack_name):
        if resource.get("type") == "azure-native:databricks:Workspace":
            outputs, inputs = resource.get("outputs") or {}, resource.get("inputs") or {}
            managed = outputs.get("managedResourceGroupId") or inputs.get("managedResourceGroupId")
            found.append({"resource_group": inputs.get("resourceGroupName"),
                          "workspace": outputs.get("name") or inputs.get("workspaceName"),
                          "managed_group": managed.rstrip("/").split("/")[-1] if managed else None})
    return [w for w in found if w["resource_group"] and w["workspace"]]


def destroy_workspace_contents(stack_name: str, progress: Progress) -> list[str]:
    """`pulumi destroy --target` of what lives inside the stack's Databricks workspace (the Databricks provider's
    resources: cluster, secrets, schema, volume, grants), while the workspace still answers; labctl then deletes the
    workspace with forceDeletion (agent.provision.workspace_deletion) before Pulumi destroys the rest."""
    urns = [r["urn"] for r in _state_resources(stack_name)
            if str(r.get("type") or "").startswith("databricks:") and r.get("urn")]
    return destroy(stack_name, progress, targets=urns) if urns else []


def destroy(stack_name: str, progress: Progress, targets: list[str] | None = None) -> list[str]:
    """`pulumi destroy` of the stack (only `targets`, when given); returns one sentence per failure. A resource that
    labctl already deleted (the workspace, with forceDeletion) is no failure: azure-native treats a 404 on delete as
    deleted (pulumi/pulumi-azure-native#293), and ARM answers a DELETE of a missing resource with 204."""
    auto = _auto()
    stack = select_stack(stack_name)
    command = f"labctl down --stack {stack_name} --yes"
    with _pulumi_interruptible(progress, command) as stop:
        try:
            if targets:  # and whatever depends on them, which Pulumi would otherwise refuse to leave dangling
                stack.destroy(on_output=progress, target=targets, target_dependents=True)
            else:
                stack.destroy(on_output=progress)
        except auto.errors.ConcurrentUpdateError as error:
            return [locked_sentence(error, stack_name, command)]
        except auto.errors.CommandError as error:
            if stop.requested:
                raise Interrupted(f"Interrupted `labctl down` of stack {stack_name!r}: Pulumi finished the deletions "
                                  f"in flight, started no others and released the stack; `{command}` resumes where it "
                                  f"stopped.") from None
            return [failure_sentence(error, f"pulumi destroy of stack {stack_name!r}", f"labctl down --stack {stack_name}")]
    return []
