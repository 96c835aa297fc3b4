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

from agent.errors import UNAVAILABLE, LabctlError, UsageError
from agent.outputs import StackOutputs
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
    try:
        result = stack.up(on_output=progress)
    except auto.errors.CommandError as error:
        raise LabctlError(failure_sentence(error, f"pulumi up of stack {stack_name!r}", f"labctl up --stack {stack_name}"),
                          UNAVAILABLE) from None
    outputs = {key: value.value for key, value in result.outputs.items()}
    subscription = stack.get_all_config().get("azure-native:subscriptionId")
    return StackOutputs.from_pulumi(outputs, target="cloud", stack=stack_name,
                                    subscription_id=subscription.value if subscription else None)


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


def destroy(stack_name: str, progress: Progress) -> list[str]:
    auto = _auto()
    stack = select_stack(stack_name)
    try:
        stack.destroy(on_output=progress)
    except auto.errors.CommandError as error:
        return [failure_sentence(error, f"pulumi destroy of stack {stack_name!r}", f"labctl down --stack {stack_name}")]
    return []
