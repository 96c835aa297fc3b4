"""What `labctl class ...` does: plan the class into the quota, bring every learner's stack up, publish their
notebooks, report, and take the class down again from any state."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from agent.classroom import fleet
from agent.classroom.capacity import assess_regions
from agent.classroom.plan import ClassPlan, pack
from agent.classroom.presence import look_up
from agent.classroom.roster import Learner
from agent.classroom.state import ClassRecord, now
from agent.errors import INTERRUPTED, UNAVAILABLE, LabctlError, UsageError
from agent.workdir import home, read_json, write_json

Progress = Callable[[str], None]

# Whether learners share a workspace or get one each. A workspace each is the default: an Azure Databricks workspace
# itself is not billed (its compute is: DBUs and VMs, "Azure Databricks pricing"), and every learner needs a cluster
# of their own anyway (single-user access mode: a cluster runs as one identity), so sharing one saves nothing on the
# clusters while it makes every learner's isolation depend on ACLs and grants being right; with a workspace each,
# one learner cannot reach another's secrets, volume or cluster at all.
LAYOUTS = ("workspace-per-learner",)
DEFAULT_LAYOUT = "workspace-per-learner"

# Minutes one learner's environment takes to come up, until a class in this LABCTL_HOME has measured it. Azure's is
# an assumption (workspace, OpenAI account and deployment, cluster start with libraries), said so in the plan.
ASSUMED_MINUTES = {"sandbox": 1.0, "cloud": 20.0}


@dataclass
class ClassSettings:
    name: str
    sandbox: bool
    config: dict[str, str]  # -c settings for every learner's stack (labctl: keys)
    regions: list[str] | None = None
    concurrency: int = 4
    layout: str = DEFAULT_LAYOUT
    hours: float = 3.0  # hours of lab work, for the cost estimate
    notebooks: bool = True
    up_command: str | None = None  # the `labctl class up` that brings missing learners back (see presence.py)


def target_for(settings: ClassSettings):
    from agent.target import cloud_target, sandbox_target
    from agent.workdir import sandbox_dir

    if settings.sandbox:
        from agent import sandbox_process as process

        return sandbox_target(process.ensure_running(sandbox_dir()))
    return cloud_target(settings.config.get("azure-native:subscriptionId"))


def _timings_path():
    return home() / "classes" / "timings.json"


def minutes_per_learner(kind: str) -> tuple[float, str]:
    measured = (read_json(_timings_path(), {}) or {}).get(kind)
    if isinstance(measured, dict) and isinstance(measured.get("seconds"), (int, float)):
        return measured["seconds"] / 60, f"measured by the class {measured.get('class')} on {measured.get('at')}"
    return ASSUMED_MINUTES[kind], "assumed (no class measured yet in this LABCTL_HOME)"


def plan_class(settings: ClassSettings, learners: list[Learner], progress: Progress) -> tuple[ClassPlan, object]:
    """Preflight every candidate region and pack the learners into them; nothing is created."""
    from agent.lifecycle.preflight_step import PreflightOptions, _cost, lab_end, requests_from, validated
    from agent.preflight import DEFAULT_FINE_TUNE_PREFERENCES, DEFAULT_REGIONS

    today = dt.datetime.now(dt.timezone.utc)
    config = dict(settings.config)
    if not settings.sandbox and "labctl:owner" not in config and not all(learner.email for learner in learners):
        # Azure's stacks need an owner tag (cleanup reads it); a roster gives each learner's, --learners none.
        raise UsageError("`labctl class up --learners N` on Azure needs -c owner=<e-mail of the instructor> "
                         "(with --roster each learner's e-mail is their stack's owner).")
    parsed = validated(config, today)
    options = PreflightOptions(hours=settings.hours)
    requests = requests_from(config, options)
    configured_base = config.get("labctl:fineTuneBaseModel")
    bases = [configured_base] if configured_base else list(DEFAULT_FINE_TUNE_PREFERENCES)
    regions = settings.regions or ([config["labctl:location"]] if config.get("labctl:location") else list(DEFAULT_REGIONS))
    target = target_for(settings)
    capacities = assess_regions(target, regions, requests, bases, lab_end(config, today), parsed.node_type, progress)
    minutes, source = minutes_per_learner(target.kind)
    plan = pack(capacities, learners, settings.concurrency, minutes, source)
    for region in plan.regions:
        if region.capacity.verdict.ok:
            region.cost_per_learner = _cost({**config, **learner_config(region.capacity.verdict)},
                                            region.capacity.verdict, options)["total"]
    return plan, target


def learner_config(verdict) -> dict[str, str]:
    """The choices of the class's preflight for a region, as the learner's stack settings (kept by its own
    preflight, which checks them again: a region whose quota went meanwhile fails that learner with the reason)."""
    chosen = {"labctl:location": verdict.region,
              "labctl:deployments": json.dumps([{"name": name, "model": d["model"], "version": d["version"],
                                                 "sku": d["sku"], "capacity": d["capacity"]}
                                                for name, d in verdict.deployments.items()])}
    if verdict.fine_tune:
        chosen["labctl:fineTuneBaseModel"] = verdict.fine_tune["base_model"]
        if verdict.fine_tune.get("account_kind") == "AIServices":
            # The base trains on Microsoft Foundry resources only (a new fine-tuning customer's open-weight base):
            # the learner's account is one, as preflight decides for a single stack (ai_resource.apply_choice).
            chosen["labctl:aiResourceKind"] = "AIServices"
    return chosen


@dataclass
class UpReport:
    plan: dict
    learners: list[dict] = field(default_factory=list)
    wall_seconds: float = 0.0
    concurrency: int = 1
    interrupted: bool = False  # Ctrl-C stopped it (see `interruptible`)

    @property
    def ok(self) -> bool:
        return all(learner["state"] == "ready" for learner in self.learners)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "wall_seconds": round(self.wall_seconds, 1), "concurrency": self.concurrency,
                "learners": self.learners, "plan": self.plan}


def refuse_if_unfit(plan: ClassPlan) -> None:
    if not plan.fits:
        raise LabctlError(f"The class does not fit: {plan.wanted} learners asked, the quota of "
                          f"{', '.join(r.region for r in plan.regions)} hosts {plan.placed}; nothing was created "
                          "(the table says what each region lacks).", UNAVAILABLE)


def record_class(record: ClassRecord, settings: ClassSettings, plan: ClassPlan, learners: list[Learner]) -> dict:
    """The class file, written before any learner is created; a class that exists keeps its learners' regions
    (a rerun of `class up` resumes it)."""
    data = {"name": settings.name, "target": "sandbox" if settings.sandbox else "cloud", "layout": settings.layout,
            "config": settings.config, "created_at": now(), "up_command": settings.up_command, "learners": {}}
    for learner in learners:
        region = plan.region_of(learner)
        verdict = next(r.capacity.verdict for r in plan.regions if r.region == region)
        data["learners"][learner.stack] = {
            "number": learner.number, "email": learner.email, "region": region, "state": "planned",
            "config": learner_config(verdict), "error": None, "notebooks": [], "updated_at": now()}
    record.write(data)
    return data


def check_same_learners(record: ClassRecord, learners: list[Learner]) -> None:
    """A class is resumed only with the learners it was made with (same stacks and identities)."""
    recorded = {stack: entry.get("email") for stack, entry in record.read()["learners"].items()}
    if recorded != {learner.stack: learner.email for learner in learners}:
        raise UsageError(f"Class {record.name!r} exists with {len(recorded)} other learners; "
                         f"`labctl class down --class {record.name} --yes` it first, or give another --class.")


# Settings the plan placed the learners by (region, models and their quota, the cluster's VM size, compute, the lab's
# end for model retirement and cost, the subscription): a resumed class keeps its plan, so a new value is refused.
PLANNED_SETTINGS = ("labctl:location", "labctl:deployments", "labctl:fineTuneBaseModel", "labctl:aiResourceKind",
                    "labctl:compute", "labctl:nodeType", "labctl:ttl", "labctl:expiresAt", "azure-native:subscriptionId")


def changed_settings(record: ClassRecord, config: dict[str, str]) -> dict[str, tuple[str | None, str]]:
    """The -c settings of a resumed `class up` whose value differs from the class's (key: (recorded, new)); a
    setting left out keeps its recorded value, as a Pulumi stack's config does."""
    recorded = record.read().get("config") or {}
    return {key: (recorded.get(key), value) for key, value in config.items() if recorded.get(key) != value}


def apply_settings(record: ClassRecord, changed: dict[str, tuple[str | None, str]]) -> None:
    """Record the new values for every learner, as `pulumi config set` does for a stack; `pulumi up` then applies them
    (here `bring_up(..., update_ready=True)`). A planned setting is refused instead, naming the option."""
    for key, (before, after) in changed.items():
        if key in PLANNED_SETTINGS:
            short = key.removeprefix("labctl:")
            was = f"{short}={before}" if before is not None else f"no {short} (the plan chose per region)"
            raise UsageError(f"-c {short}={after}: class {record.name!r} was planned into the quota with {was}, and a "
                             f"resumed class keeps its plan; leave -c {short} out to resume it, or `labctl class down "
                             f"--class {record.name} --yes` and `class up` again to plan it with the new value.")
    record.update_config({key: after for key, (_, after) in changed.items()})


def learner_args(settings_config: dict, entry: dict, stack: str, sandbox: bool) -> list[str]:
    """`labctl up` for one learner: the class's settings, the region and models the plan chose, and the
    learner's identity as the owner and the cluster's single user (labctl:clusterUser)."""
    config = {**settings_config, **entry["config"]}
    if entry.get("email"):
        config["labctl:owner"] = entry["email"]
        config["labctl:clusterUser"] = entry["email"]
    args = ["up", "--stack", stack, *(["--sandbox"] if sandbox else [])]
    for key, value in config.items():
        args += ["-c", f"{key}={value}"]
    return args


def bring_up(record: ClassRecord, settings: ClassSettings, progress: Progress, only: list[str] | None = None,
             update_ready: bool = False, learners: fleet.Learners | None = None) -> UpReport:
    """Every learner not yet ready (or those in `only`; with `update_ready`, the ready ones too, to apply changed
    settings), `concurrency` at a time: `labctl up` for their stack, then their notebooks. After Ctrl-C
    (`learners.interrupt`, see `interruptible`) no learner is started; one under way is `interrupted` once its own
    `labctl up` has stopped (exit 130); the report's rows say `started` for each."""
    import time

    learners = learners or fleet.Learners()
    data = record.read()
    stacks = sorted(only if only is not None else data["learners"])
    started = time.monotonic()
    concurrency = max(1, min(settings.concurrency, len(stacks)))

    if data["target"] == "sandbox":
        start_sandbox(progress)

    def one(stack: str) -> dict:
        entry = record.read()["learners"][stack]
        if entry["state"] == "ready" and not update_ready:
            # Said ready only when it is there: a restarted sandbox or a deletion in the portal took it away.
            found = look_up(stack)
            if found.state == "up":
                return {"learner": stack, "started": False, "found": "up", **entry}
            if found.state == "unknown":  # cannot tell: not said ready, nothing started over it
                return {"learner": stack, "started": False, "found": "unknown",
                        **{**entry, "state": "unknown", "error": found.unreachable}}
            progress(f"{stack}: {found.state} ({found.reason}); bringing it up again")
            entry = record.update_learner(stack, state="gone", error=found.reason)
        if learners.interrupted:
            return {"learner": stack, "started": False, **entry}
        record.update_learner(stack, state="creating", error=None)
        progress(f"{stack}: up in {entry['region']}")
        # The class's recorded target and settings: a resumed class is brought up where it was planned.
        outcome = fleet.labctl(learner_args(record.read()["config"], entry, stack, data["target"] == "sandbox"),
                               log_of(record, stack), learners)
        if outcome is None:  # Ctrl-C came between the check above and the start: as it was
            return {"learner": stack, "started": False,
                    **record.update_learner(stack, state=entry["state"], error=entry.get("error"))}
        if outcome.code == INTERRUPTED:
            progress(f"{stack}: stopped by Ctrl-C ({outcome.error})")
            return {"learner": stack, "started": True,
                    **record.update_learner(stack, state="interrupted", error=outcome.error)}
        if outcome.code != 0:
            progress(f"{stack}: failed ({outcome.error})")
            return {"learner": stack, "started": True, **record.update_learner(stack, state="failed", error=outcome.error)}
        notebooks = []
        if settings.notebooks and learners.interrupted:  # publishing is a step of its own: not started after Ctrl-C
            progress(f"{stack}: up, notebooks not published (Ctrl-C)")
            return {"learner": stack, "started": True, **record.update_learner(
                stack, state="interrupted", error="its stack is up; its notebooks were not published (Ctrl-C)")}
        if settings.notebooks:
            from agent.classroom.notebooks import publish

            try:
                notebooks = publish(stack, entry.get("email"))
            except Exception as error:  # noqa: BLE001 - one learner's failure is reported, the others go on
                sentence = sentence_of(error)
                progress(f"{stack}: notebooks failed ({sentence})")
                return {"learner": stack, "started": True,
                        **record.update_learner(stack, state="failed", error=f"notebooks: {sentence}")}
        progress(f"{stack}: ready in {outcome.seconds:.0f} s")
        return {"learner": stack, "started": True, **record.update_learner(
            stack, state="ready", seconds=round(outcome.seconds, 1), notebooks=notebooks, ready_at=now())}

    rows = fleet.each(stacks, one, concurrency)
    report = UpReport(plan={}, learners=rows, wall_seconds=time.monotonic() - started, concurrency=concurrency,
                      interrupted=learners.interrupted)
    measured = [learner["seconds"] for learner in rows if learner.get("seconds")]
    if measured and report.ok:
        timings = read_json(_timings_path(), {}) or {}
        timings[data["target"]] = {"seconds": max(measured), "class": settings.name, "at": now()}
        write_json(_timings_path(), timings)
    return report


def start_sandbox(progress: Progress) -> None:
    """The sandbox a sandbox class lives in, started when it is not running, as `labctl up --sandbox` does (a
    restarted sandbox is empty: the class's learners are then brought up again)."""
    from agent import sandbox_process as process
    from agent.workdir import sandbox_dir

    if process.running(sandbox_dir()) is None:
        progress("the sandbox is not running (the class's environments went with it): starting it")
        process.ensure_running(sandbox_dir())


def log_of(record: ClassRecord, stack: str):
    return record.folder / "logs" / f"{stack}.log"


def sentence_of(error: Exception) -> str:
    from agent.errors import describe_service_error

    if isinstance(error, LabctlError):
        return error.message
    return describe_service_error(error) or f"{type(error).__name__}: {error}"


# Down, cleanup, reset ------------------------------------------------------------------------------------------


def class_stacks(name: str, record: ClassRecord) -> list[str]:
    """The class's stacks: those its record names, and any <class>-<nn> stack folder (an up that was stopped
    before the record was written, or a damaged record, still leaves stacks to take down)."""
    stacks = set()
    if record.exists():
        stacks |= set(record.read()["learners"])
    pattern = re.compile(rf"^{re.escape(name)}-\d{{2}}$")
    folder = home() / "stacks"
    if folder.is_dir():
        stacks |= {p.name for p in folder.iterdir() if p.is_dir() and pattern.match(p.name)}
    return sorted(stacks)


def stacks_to_take_down(name: str, record: ClassRecord, progress: Progress) -> list[str]:
    """`class_stacks`, with a damaged record moved aside first (`class.json.damaged-<time>`): the stack folders
    still name the class's environments, and taking them down must not wait for a readable record."""
    from agent.workdir import CorruptState, set_aside

    try:
        return class_stacks(name, record)
    except CorruptState as damaged:
        moved = set_aside(damaged.path)
        progress(f"{damaged.path.name} was unreadable, moved to {moved.name}; the class's stacks are found by name")
        return class_stacks(name, record)


def left_of(stacks: list[str], progress: Progress, concurrency: int = 4) -> dict[str, dict]:
    """Per stack, what `labctl down --dry-run` finds: {"delete": [what exists], "gone": [recorded, no longer there]}
    (+ "error": why it could not be looked at; it is then taken down, which reports what fails). Read-only; a
    stopped sandbox is not started (its stacks' resources are all gone)."""
    from agent.lifecycle.updown import down

    def one(stack: str) -> dict:
        try:
            return down(stack, lambda message: progress(f"{stack}: {message}"), dry_run=True).plan
        except LabctlError as error:
            return {"delete": [], "gone": [], "error": error.message}

    return dict(zip(stacks, fleet.each(stacks, one, max(1, min(concurrency, len(stacks) or 1))), strict=True))


def take_down(record: ClassRecord, stacks: list[str], concurrency: int, progress: Progress,
              learners: fleet.Learners | None = None) -> list[dict]:
    """`labctl down --yes` for each stack, `concurrency` at a time; the record follows (a learner whose stack is
    verified gone is `down`, else `left behind` with the reason; one whose `labctl down` Ctrl-C stopped is
    `interrupted`). `labctl down` converges from any partial state and is safe to repeat, so this is too. After
    Ctrl-C no stack is started (`started` False in its row, its record as it was)."""
    learners = learners or fleet.Learners()
    known = record.read()["learners"] if record.exists() else {}

    def one(stack: str) -> dict:
        if learners.interrupted:
            return {"learner": stack, "clean": False, "error": None, "seconds": 0.0, "started": False}
        before = known.get(stack)
        if before is not None:
            record.update_learner(stack, state="removing")
        progress(f"{stack}: down")
        outcome = fleet.labctl(["down", "--stack", stack, "--yes"], log_of(record, stack), learners)
        if outcome is None:  # Ctrl-C came between the check above and the start: as it was
            if before is not None:
                record.update_learner(stack, state=before["state"], error=before.get("error"))
            return {"learner": stack, "clean": False, "error": None, "seconds": 0.0, "started": False}
        clean = outcome.code == 0
        why = None if clean else (outcome.error or "; ".join((outcome.data or {}).get("failures", []) +
                                                            (outcome.data or {}).get("leftovers", [])))
        state = "down" if clean else "interrupted" if outcome.code == INTERRUPTED else "left behind"
        if stack in known:
            record.update_learner(stack, state=state, error=why)
        progress(f"{stack}: {'gone' if clean else 'stopped by Ctrl-C' if state == 'interrupted' else 'left behind'}"
                 + ("" if clean else f": {why}"))
        return {"learner": stack, "clean": clean, "error": why, "seconds": round(outcome.seconds, 1),
                "started": True, "interrupted": state == "interrupted"}

    return fleet.each(stacks, one, max(1, min(concurrency, len(stacks) or 1)))


def find_learner(record: ClassRecord, which: str) -> str:
    """A learner by stack name (<class>-<nn>), number or e-mail."""
    learners = record.read()["learners"]
    for stack, entry in learners.items():
        if which in (stack, str(entry["number"]), f"{entry['number']:02d}") or (
                entry.get("email") and which.lower() == entry["email"].lower()):
            return stack
    raise UsageError(f"Class {record.name!r} has no learner {which!r} (give a stack like {min(learners)}, its "
                     "number, or the learner's e-mail).")


def reset_learner(record: ClassRecord, stack: str, progress: Progress,
                  learners: fleet.Learners | None = None) -> dict:
    """One learner's environment taken down and brought up again in the same region; no one else's is touched."""
    learners = learners or fleet.Learners()
    data = record.read()
    down = take_down(record, [stack], 1, progress, learners)[0]
    if not down["clean"]:
        return {"learner": stack, **record.read()["learners"][stack]}
    record.update_learner(stack, state="planned", notebooks=[], seconds=None, ready_at=None)
    settings = ClassSettings(record.name, data["target"] == "sandbox", data["config"], concurrency=1)
    return bring_up(record, settings, progress, only=[stack], learners=learners).learners[0]


# Ctrl-C ----------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def interruptible(progress: Progress, resume: str) -> Iterator[fleet.Learners]:
    """While the block runs, Ctrl-C stops the class as `labctl up` stops a stack (agent/provision/interrupt.py: the
    Pulumi CLI's way): the learners' labctl under way are passed the Ctrl-C and stop cleanly, none is started after
    it, and the block ends normally (the caller says where the class stopped: `interrupted_sentence`). A second
    Ctrl-C is passed on too (each learner's labctl stops at once) and ends this process at once, exit 130."""
    from agent.provision.interrupt import graceful_interrupt

    learners = fleet.Learners()

    def first() -> None:
        progress("Ctrl-C: each learner's labctl under way finishes what is in flight and records it, no learner is "
                 "started (Ctrl-C again stops at once)")
        learners.interrupt()

    def second() -> None:
        learners.interrupt()
        progress(f"stopped at once: a learner may be left `creating` or `removing` with a resource unrecorded; "
                 f"`{resume}` resumes")

    with graceful_interrupt(first, second):
        yield learners


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def interrupted_sentence(command: str, name: str, rows: list[dict], resume: str) -> str:
    """One sentence after Ctrl-C: where each learner of `class up` (rows of `bring_up`) or `class down`/`cleanup`
    (rows of `take_down`) stopped, and the command that resumes."""
    total = len(rows)
    if command == "class up":
        done = sum(r.get("state") == "ready" for r in rows)
        parts = [f"{done} of {total} learners ready"]
        failed = sum(r.get("state") == "failed" and r["started"] for r in rows)
        stopped = [r["learner"] for r in rows if r.get("state") == "interrupted" and r["started"]]
        own = "labctl up"
    else:
        done = sum(r["clean"] for r in rows)
        parts = [f"{done} of {total} learners' environments gone"]
        failed = sum(r["started"] and not r["clean"] and not r.get("interrupted") for r in rows)
        stopped = [r["learner"] for r in rows if r.get("interrupted")]
        own = "labctl down"
    if stopped:
        parts.append(f"{', '.join(stopped)} stopped where {'its' if len(stopped) == 1 else 'their'} own `{own}` "
                     f"stopped (recorded)")
    if failed:
        parts.append(f"{failed} failed")
    not_started = sum(not r["started"] and not (command == "class up" and r.get("state") == "ready") for r in rows)
    if not_started:
        parts.append(f"{not_started} not started")
    return f"Interrupted `labctl {command}` of class {name!r}: {', '.join(parts)}; `{resume}` resumes."
