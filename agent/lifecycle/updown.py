"""`labctl up` and `labctl down`: bring the stack up (Azure or sandbox), and take everything down again,
including what Pulumi does not own and the purge of the soft-deleted OpenAI account, then prove it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.errors import UNAVAILABLE, LabctlError, UsageError
from agent.journal import Journal
from agent.lifecycle import managed_groups
from agent.outputs import StackOutputs
from agent.target import Target, cloud_target, load_target, sandbox_target, target_from
from agent.workdir import (
    CorruptState, no_such_stack, read_config, read_journal, read_sandbox_state, read_target, sandbox_dir, set_aside,
    stack_dir, write_json,
)

Progress = Callable[[str], None]


def parse_config(pairs: list[str]) -> dict[str, str]:
    config = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-c {pair!r} is not key=value (for example -c location=swedencentral).")
        key = key.strip()
        config[key if ":" in key else f"labctl:{key}"] = value
    return config


def up(stack: str, sandbox: bool, pairs: list[str], progress: Progress, preflight_options=None) -> StackOutputs:
    """Bring the stack up; with `preflight_options`, resolve region, models and quota first (labctl up's default)."""
    from infra.config import ConfigError

    import datetime as dt

    from agent.lifecycle.preflight_step import validated

    folder = stack_dir(stack)
    saved = read_config(folder)
    config = {**saved, **parse_config(pairs)}
    names = validated(config, dt.datetime.now(dt.timezone.utc)).names(stack)  # wrong settings: refused first
    previous = read_target(folder)
    if previous is not None and previous["kind"] != ("sandbox" if sandbox else "cloud"):
        raise UsageError(f"Stack {stack!r} lives in the {previous['kind']}; use another --stack, or "
                         f"`labctl down --stack {stack} --yes` it first.")
    try:
        if sandbox:
            from agent.provision import sandbox as provision
            from agent import sandbox_process as process

            config.setdefault("labctl:owner", f"{os.environ.get('USER', 'someone')}@sandbox.local")
            target = sandbox_target(process.ensure_running(sandbox_dir()))
            config = _preflight(target, stack, config, preflight_options, progress)
            target.save(stack)  # after preflight: a refused stack leaves nothing behind
            write_json(folder / "config.json", config)
            _remove_left_behind_managed_group(target, names, progress)
            outputs = _refusals_to_errors(lambda: provision.up(target, stack, config, progress))
        else:
            from agent.provision import cloud

            target = cloud_target(config.get("azure-native:subscriptionId"))
            config = _preflight(target, stack, config, preflight_options, progress)
            target.save(stack)  # after preflight: a refused stack leaves nothing behind
            write_json(folder / "config.json", config)
            _remove_left_behind_managed_group(target, names, progress)
            outputs = cloud.up(stack, config, progress)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    outputs.save()
    return outputs


def _remove_left_behind_managed_group(target: Target, names, progress: Progress) -> None:
    """A workspace deleted without forceDeletion (in the portal, by an older labctl) leaves its managed resource
    group, and Azure will not create the workspace again while that group exists ("ManagedResourceGroupExists").
    `up` deletes it first, but only when its `managedBy` is this stack's own workspace and that workspace is gone
    (agent.lifecycle.managed_groups.look); anything else is left to Azure to name."""
    from agent.lifecycle.managed_groups import ManagedGroup, describe, look

    managed = ManagedGroup(group=names.managed_resource_group(), workspace_group=names.resource_group,
                           workspace=names.workspace)
    try:
        if look(target, managed) != "left behind":
            return
    except Exception:  # noqa: BLE001 - cannot tell: up goes on, and Azure names a conflict if there is one
        return
    progress(f"deleting {describe(target, managed)}: the workspace cannot be created again while it exists")
    target.resources(retry_conflicts=True).resource_groups.begin_delete(managed.group).result()


def _preflight(target: Target, stack: str, config: dict, options, progress: Progress) -> dict:
    if options is None:
        return config
    from agent.lifecycle.preflight_step import preflight

    result, config = preflight(target, stack, config, options, progress)
    progress(f"preflight chose {result.chosen.region}: " + ", ".join(
        f"{name} = {d['model']} {d['version']}" for name, d in result.chosen.deployments.items())
        + (f"; fine-tune base {result.chosen.fine_tune['base_model']}" if result.chosen.fine_tune else ""))
    return config


def _refusals_to_errors(action):
    """A failure of Azure (or the sandbox) while provisioning, as one sentence (exit 3)."""
    from agent.errors import describe_service_error
    from infra.config import ConfigError

    try:
        return action()
    except (ConfigError, LabctlError):
        raise
    except Exception as error:
        sentence = describe_service_error(error)
        if sentence is None:
            raise
        raise LabctlError(sentence, UNAVAILABLE) from None


@dataclass
class DownReport:
    cancelled_runs: list[int] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # True once ARM was asked whether the stack's groups and accounts are gone (False: nothing was there to check).
    verified: bool = False
    # What down found before deleting: {"delete": [what exists], "gone": [what was recorded but no longer exists]}.
    plan: dict = field(default_factory=lambda: {"delete": [], "gone": []})

    @property
    def clean(self) -> bool:
        return not self.failures and not self.leftovers

    def as_dict(self) -> dict:
        return {**self.__dict__, "clean": self.clean}


def down(stack: str, progress: Progress, dry_run: bool = False) -> DownReport:
    """Take the stack down (or, with `dry_run`, only show the plan: what exists and would be deleted, what is
    already gone; nothing is changed)."""
    report = DownReport()
    missing = no_such_stack(stack)
    if missing:  # nothing to take down, and no folder left behind for a mistyped name
        report.notices.append(missing)
        progress(f"stack {stack!r}: nothing to take down ({missing})")
        return report
    folder = stack_dir(stack)
    outputs = _outputs_or_none(stack, report)
    saved = _readable(folder / "target.json", read_target, folder, report, keep=outputs is None, move=not dry_run)
    recorded = saved is not None
    if saved is None and outputs is not None:
        saved = {"kind": outputs.target, "subscription_id": outputs.subscription_id or ""}
        report.notices.append(f"the target is taken from {folder / 'outputs.json'} ({outputs.target})")
    if saved is None:
        progress(f"stack {stack!r} has nothing recorded: nothing to take down")
        return report
    if saved["kind"] == "sandbox" and _sandbox_stopped():
        # The sandbox keeps its resources in memory: they stopped with it. Starting one would only find it empty
        # (and leave it running); the stack's state is all that is left.
        report.plan["gone"] = _recorded(stack)
        report.notices.append("the sandbox is not running, so the stack's resources stopped with it; nothing was "
                              "deleted or checked" + ("" if dry_run else ", and the stack's state is cleared"))
        for notice in report.notices:
            progress(f"notice: {notice}")
        if not dry_run:
            _clear_state(folder)
        return report
    target = load_target(stack, start_sandbox=True) if recorded else target_from(saved, stack, start_sandbox=True)
    journal = Journal(stack)
    if _readable(journal.path, read_journal, journal.path, report, move=not dry_run, damaged=True) is True and dry_run:
        journal = _NoJournal()  # left in place by the dry run: plan as down will, once it has moved it aside
    state_damaged = _readable(folder / "sandbox-state.json", read_sandbox_state, folder / "sandbox-state.json",
                              report, keep=False, damaged=True, move=not dry_run)
    for notice in report.notices:
        progress(f"notice: {notice}")
    if dry_run and state_damaged is True and target.kind == "sandbox":
        from agent.lifecycle.down_plan import DownPlan

        found = DownPlan()  # the state file stays in place: down plans from outputs.json alone, as it will delete
    else:
        found = _plan(target, stack, journal, outputs, _known_groups(stack, outputs, target))
    report.plan = found.as_dict()
    if state_damaged is True and outputs is not None and target.kind == "sandbox":
        # What `down` then removes by the names outputs.json holds (provision.sandbox.destroy_named).
        report.plan["delete"] += [f"Databricks workspace {outputs.workspace_name}",
                                  f"Azure OpenAI account {outputs.openai_account_name}",
                                  f"resource group {outputs.resource_group_name}"]
    if dry_run:  # the command shows the plan as its result
        return report
    progress(f"plan: {describe_plan(report.plan)}")

    _cancel_runs(target, outputs, journal, report, progress)
    _delete_unowned(target, journal, report, progress)
    _remember_accounts(target, stack, outputs, journal)
    groups = _known_groups(stack, outputs, target)
    managed = managed_groups.remember(target, stack, journal, outputs, groups)
    held = _held_back(target, groups)
    if held:
        # Deleting a group deletes everything in it: nothing of the stack is destroyed while it holds what must
        # be kept. The rest of down (runs cancelled, the labs' own objects deleted) has happened and is safe.
        report.failures += held
        _verify(target, groups, journal, report, managed)
        return report

    if target.kind == "sandbox":
        from agent.provision import sandbox as provision

        if state_damaged is True:
            if outputs is None:
                report.failures.append("neither sandbox-state.json nor outputs.json is readable: nothing names the "
                                       "stack's resources (see `labctl cleanup --sandbox`)")
            else:
                report.failures += provision.destroy_named(target, outputs, progress)
        report.failures += provision.destroy(target, stack, progress, gone=found.gone_keys)
    else:
        report.failures += _destroy_cloud(target, stack, progress)

    _purge(target, journal, report, progress)
    deleted, failures = managed_groups.delete_left_behind(target, journal, progress)
    report.deleted += deleted
    report.failures += failures
    _verify(target, groups, journal, report, managed)
    if report.clean:
        changed = _clear_state(folder)
        if changed and target.kind == "cloud":
            from agent.lifecycle.preflight_choices import forget_in_pulumi

            try:
                forget_in_pulumi(stack, changed)
            except LabctlError as error:
                report.notices.append(f"preflight's choices ({', '.join(changed)}) stay in Pulumi's stack config: "
                                      f"{error.message}")
    return report


def _destroy_cloud(target: Target, stack: str, progress: Progress) -> list[str]:
    """On Azure: Pulumi destroys what lives inside the Databricks workspace, labctl deletes the workspace with
    forceDeletion (which Pulumi's azure-native provider cannot send; without it Azure keeps the managed resource
    group), then Pulumi destroys the rest, finding the workspace already gone. Each step runs only when the one before
    succeeded; a rerun resumes."""
    from agent.provision import cloud
    from agent.provision.workspace_deletion import force_delete_named

    failures = cloud.destroy_workspace_contents(stack, progress)
    if failures:
        return failures
    for workspace in cloud.workspaces_in_state(stack):
        try:
            force_delete_named(target, workspace["resource_group"], workspace["workspace"], progress)
        except Exception as error:  # noqa: BLE001 - one sentence; the rest waits for a rerun
            return [f"Databricks workspace {workspace['workspace']}: {_sentence(error)}"]
    return cloud.destroy(stack, progress)


def describe_plan(plan: dict) -> str:
    """Down's plan in words: what will be deleted, then what is already gone."""
    delete = f"delete {len(plan['delete'])}: {', '.join(plan['delete'])}" if plan["delete"] else "nothing to delete"
    return delete + (f"; already gone {len(plan['gone'])}: {', '.join(plan['gone'])}" if plan["gone"] else "")


def _plan(target: Target, stack: str, journal: Journal, outputs=None, groups: set[str] = frozenset()):
    from agent.lifecycle.down_plan import plan

    return plan(target, stack, journal, outputs, groups)


def _recorded(stack: str) -> list[str]:
    """What the stack's sandbox state records, named as in down's plan (for a sandbox whose resources are gone)."""
    from agent.lifecycle.down_plan import LABELS, label
    from agent.provision.sandbox import SandboxState

    try:
        entries = SandboxState(stack).entries
    except CorruptState:
        return []
    return [label(e) for e in reversed(entries) if e["type"] in LABELS]


def _clear_state(folder) -> dict[str, str | None]:
    """What the stack's resources were; the user's own settings in config.json stay (as Pulumi's destroy keeps a
    stack's config), preflight's choices and result go (agent.lifecycle.preflight_choices). Returns the settings
    taken back from preflight ({key: the user's value restored, or None})."""
    from agent.lifecycle import preflight_choices

    for name in ("outputs.json", "sandbox-state.json", "journal.json", "target.json", "preflight.json"):
        (folder / name).unlink(missing_ok=True)
    try:
        return preflight_choices.forget(folder)
    except CorruptState:  # the stack is down; the next `up` refuses a damaged config.json, naming it
        return {}


def _sandbox_stopped() -> bool:
    from agent import sandbox_process

    return sandbox_process.running(sandbox_dir()) is None


def _outputs_or_none(stack: str, report: DownReport | None = None) -> StackOutputs | None:
    try:
        return StackOutputs.load(stack)
    except CorruptState as damaged:
        if report is not None:
            report.notices.append(f"{damaged.message} (carrying on with what the other state files name)")
        return None
    except UsageError:
        return None


class _NoJournal:
    """What a damaged journal.json records for a dry run's plan: nothing (down moves it aside first)."""

    def entries(self, kind: str | None = None, status: str | None = None) -> list[dict]:
        return []


def _readable(path, read, argument, report: DownReport, keep: bool = False, damaged: bool = False,
              move: bool = True):
    """Read a state file for `down`; a damaged one is moved aside (unless `keep`: then its error stands; or not
    `move`: a dry run changes no file) and noted. Returns what was read, or None; with `damaged`, True when the file
    was damaged."""
    try:
        value = read(argument)
        return False if damaged else value
    except CorruptState as error:
        if keep:
            raise
        if not move:
            report.notices.append(f"{error.path.name} is unreadable; down would move it aside and remove what the "
                                  f"other state files and outputs.json name")
            return True if damaged else None
        moved = set_aside(error.path)
        report.notices.append(f"{error.path.name} was unreadable, moved to {moved.name}; "
                              f"down removes what the other state files and outputs.json name")
        return True if damaged else None


def _cancel_runs(target: Target, outputs, journal: Journal, report: DownReport, progress: Progress) -> None:
    active = [e for e in journal.entries("run") if e["status"] in ("started", "submitted")]
    if not active or outputs is None:
        return
    try:
        w = target.workspace_client(outputs)
    except LabctlError:
        return  # the workspace is gone, and its runs with it
    for entry in active:
        run_id = entry["data"].get("run_id") or _run_by_name(w, entry["data"])
        if run_id is not None:
            try:
                w.jobs.cancel_run(run_id)
                report.cancelled_runs.append(run_id)
                progress(f"cancelled run {run_id} ({entry['data']['lab']})")
            except Exception as error:  # a run that no longer exists needs no cancelling
                progress(f"run {run_id}: {error}")
        journal.update(entry["id"], status="cancelled")


def _run_by_name(w, data: dict) -> int | None:
    """The active run of a submission whose answer never arrived (its name is labctl's), if there is one."""
    name = f"labctl {data['lab']} {data['stamp']}"
    try:
        return next((r.run_id for r in w.jobs.list_runs(active_only=True) if r.run_name == name), None)
    except Exception:  # noqa: BLE001 - the workspace cannot be read: nothing to cancel through it
        return None


def _delete_unowned(target: Target, journal: Journal, report: DownReport, progress: Progress) -> None:
    """Fine-tuned deployments, fine-tuning files and jobs the labs created: Pulumi does not know them."""
    from azure.core.exceptions import ResourceNotFoundError

    for entry in journal.entries("finetune-deployment"):
        data = entry["data"]
        try:
            target.cognitive().deployments.begin_delete(data["resource_group"], data["account"], data["deployment"]).result()
            report.deleted.append(f"deployment {data['deployment']}")
            progress(f"deleted fine-tuned deployment {data['deployment']}")
        except ResourceNotFoundError:
            pass
        except Exception as error:
            if not _gone(lambda: target.cognitive().deployments.get(data["resource_group"], data["account"],
                                                                    data["deployment"])):
                report.failures.append(f"deployment {data['deployment']}: {_sentence(error)}")
                continue
        journal.remove(entry["id"])
    for kind in ("finetune-job", "finetune-file"):
        for entry in journal.entries(kind):
            outcome = _delete_openai_object(target, entry, progress)
            if outcome == "deleted":
                report.deleted.append(f"{kind} {entry['data']['id']}")
            elif outcome != "gone":
                report.failures.append(f"{kind} {entry['data']['id']}: {outcome}")
                continue  # kept: the next `down` tries again
            journal.remove(entry["id"])


def _sentence(error: Exception) -> str:
    from agent.errors import describe_service_error

    return describe_service_error(error) or str(error)


def _gone(look: Callable[[], object]) -> bool:
    """A second look after a failed delete: True only when the object is confirmed absent."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        look()
    except ResourceNotFoundError:
        return True
    except Exception:  # noqa: BLE001 - cannot tell: it counts as still there
        return False
    return False


def _delete_openai_object(target: Target, entry: dict, progress: Progress) -> str:
    """"deleted", "gone" (nothing to do: the object or its account no longer exists) or why it failed."""
    from azure.core.exceptions import ResourceNotFoundError
    from openai import NotFoundError, OpenAIError

    data = entry["data"]
    try:  # key, or Entra ID when the account takes no keys
        client = target.openai_client(data["resource_group"], data["account"], data["endpoint"], max_retries=6)
    except ResourceNotFoundError:
        return "gone"  # the account is gone, and its files and jobs with it
    except Exception as error:  # noqa: BLE001
        return _sentence(error)
    try:
        if entry["kind"] == "finetune-job":
            job = client.fine_tuning.jobs.retrieve(data["id"])
            if job.status in ("succeeded", "failed", "cancelled"):
                return "gone"  # an ended job holds nothing to remove
            client.fine_tuning.jobs.cancel(data["id"])
        else:
            client.files.delete(data["id"])
        progress(f"removed {entry['kind']} {data['id']}")
        return "deleted"
    except NotFoundError:
        return "gone"
    except OpenAIError as error:
        return (f"Azure OpenAI refused to remove it ({error}); rerun `labctl down --stack {target.stack} --yes`: "
                "it resumes")


def _remember_accounts(target: Target, stack: str, outputs, journal: Journal) -> None:
    """Write down every account the stack has before destroying it, so a later `down` can still purge it."""
    known = {(e["data"]["account"]) for e in journal.entries("purge")}
    found = []
    if target.kind == "sandbox":
        from agent.provision.sandbox import SandboxState

        found = [e["teardown"] for e in SandboxState(stack).entries if e["type"] == "azure-native:cognitiveservices:Account"]
    else:
        from agent.provision import cloud

        found = cloud.accounts_in_state(stack)
    if outputs is not None:
        found.append({"account": outputs.openai_account_name, "resource_group": outputs.resource_group_name,
                      "location": outputs.location})
    for account in found:
        if account.get("account") and account["account"] not in known:
            journal.begin("purge", account)
            known.add(account["account"])


def _held_back(target: Target, groups: set[str]) -> list[str]:
    """One sentence per resource inside the stack's groups that must be kept, by cleanup's own rule
    (`agent.cleanup.protection` with the default policy: not created by labctl, or tagged keep=true on itself or
    on its group). Azure deletes a resource group with everything in it, so these hold the group back."""
    import datetime as dt

    from azure.core.exceptions import ResourceNotFoundError

    from agent.cleanup import PROJECT_TAG, Candidate, Policy, protection

    policy = Policy(now=dt.datetime.now(dt.timezone.utc))
    resources = target.resources()
    held = []
    for group in sorted(groups):
        try:
            group_tags = tuple((resources.resource_groups.get(group).tags or {}).items())
            inside = list(resources.resources.list_by_resource_group(group))
        except ResourceNotFoundError:
            continue
        for resource in inside:
            tags = tuple((resource.tags or {}).items())
            # The group's own created-by tag does not make a stranger labctl's; its keep tag does protect.
            container = tuple(kv for kv in group_tags if kv[0] != PROJECT_TAG[0])
            reason = protection(Candidate("resource", resource.name, group, resource.location, tags,
                                          container_tags=container, type=resource.type), policy)
            if reason is not None:
                held.append(f"resource group {group} was not deleted: it holds {resource.type} {resource.name}, "
                            f"which must be kept ({reason}); move it out or untag it, then rerun "
                            f"`labctl down --stack {target.stack} --yes`")
    return held


def _known_groups(stack: str, outputs, target: Target) -> set[str]:
    """The resource groups labctl created for the stack (a pre-existing `existingResourceGroup` is not its to delete):
    from outputs.json and the stack's state (the sandbox's, or Pulumi's, pending creates included)."""
    groups = set()
    config = read_config(stack_dir(stack))
    existing = config.get("labctl:existingResourceGroup")
    try:  # the group the stack's config names: verified even when every state file that recorded it is lost
        import datetime as dt

        from agent.lifecycle.preflight_step import validated

        # (checked as of the epoch: an expired stack's config still names its group)
        groups.add(validated(config, dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)).names(stack).resource_group)
    except UsageError:
        pass
    if outputs is not None:
        groups.add(outputs.resource_group_name)
    if target.kind == "sandbox":
        from agent.provision.sandbox import SandboxState

        groups |= {e["teardown"]["resource_group"] for e in SandboxState(stack).entries
                   if e["type"] == "azure-native:resources:ResourceGroup"}
    else:
        from agent.provision import cloud

        groups |= set(filter(None, cloud.groups_in_state(stack)))
    return groups - {existing}


def _purge(target: Target, journal: Journal, report: DownReport, progress: Progress) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    client = target.cognitive()
    for entry in journal.entries("purge"):
        data = entry["data"]
        try:
            client.deleted_accounts.begin_purge(data["location"], data["resource_group"], data["account"]).result()
            report.purged.append(data["account"])
            progress(f"purged soft-deleted account {data['account']}")
        except ResourceNotFoundError:
            try:
                client.accounts.get(data["resource_group"], data["account"])
                continue  # still live (its destroy failed): keep the entry for the next `down`
            except ResourceNotFoundError:
                pass
        except Exception as error:
            if not (_gone(lambda: client.deleted_accounts.get(data["location"], data["resource_group"], data["account"]))
                    and _gone(lambda: client.accounts.get(data["resource_group"], data["account"]))):
                report.failures.append(f"purge {data['account']}: {_sentence(error)}")
                continue
        journal.remove(entry["id"])


def _verify(target: Target, groups: set[str], journal: Journal, report: DownReport,
            managed: list | None = None) -> None:
    """Ask ARM whether the stack's groups, its workspaces' managed groups and its accounts (live or soft-deleted)
    are gone; each one that is not is a leftover."""
    from azure.core.exceptions import ResourceNotFoundError

    report.verified = True
    resources = target.resources()
    for group in sorted(groups):
        if resources.resource_groups.check_existence(group):
            report.leftovers.append(f"resource group {group}")
    report.leftovers += managed_groups.leftovers(target, managed or [])
    client = target.cognitive()
    for entry in journal.entries("purge"):
        data = entry["data"]
        try:
            client.accounts.get(data["resource_group"], data["account"])
            report.leftovers.append(f"account {data['account']}")
        except ResourceNotFoundError:
            pass
        try:
            client.deleted_accounts.get(data["location"], data["resource_group"], data["account"])
            report.leftovers.append(f"soft-deleted account {data['account']} (not purged)")
        except ResourceNotFoundError:
            pass
