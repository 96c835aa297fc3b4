"""The `labctl class` command group (registered in agent/cli.py)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from agent.errors import FAILED, UNAVAILABLE, USAGE, Interrupted, LabctlError

class_app = typer.Typer(no_args_is_help=True, help="A classroom: one lab environment per learner, planned into the "
                                                   "quota, with notebooks, taken down together.")

ClassOption = Annotated[str, typer.Option("--class", help="Class name (prefix of every learner's stack, <class>-<nn>).")]
ConcurrencyOption = Annotated[int, typer.Option(help="Learners brought up (or down) at the same time.")]


def _cli():
    from agent import cli

    return cli


def _check_concurrency(concurrency: int) -> None:
    if not 1 <= concurrency <= 32:
        raise LabctlError(f"--concurrency {concurrency} is not a number of learners at a time (1 to 32).", USAGE)


@class_app.command("up")
def up(
    class_name: ClassOption = "class",
    learners: Annotated[int | None, typer.Option("--learners", help="Number of learners.")] = None,
    user_pattern: Annotated[str | None, typer.Option(
        "--user-pattern", help="With --learners: learner n's e-mail, {n} its number (labuser{n:02d}@contoso.com).")] = None,
    roster: Annotated[Path | None, typer.Option("--roster", help="File with one learner e-mail per line.")] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Provision in the offline sandbox instead of Azure.")] = False,
    config: Annotated[list[str], typer.Option("-c", "--config", help="Setting key=value for every learner's stack.")] = [],  # noqa: B006
    region: Annotated[list[str], typer.Option("--region", help="Candidate region, in order of preference (repeat).")] = [],  # noqa: B006
    concurrency: ConcurrencyOption = 4,
    layout: Annotated[str, typer.Option(help="workspace-per-learner (the default and, today, the only layout; see README).")] = "workspace-per-learner",
    hours: Annotated[float, typer.Option(help="Hours of lab work per learner, for the cost estimate.")] = 3.0,
    plan_only: Annotated[bool, typer.Option("--plan-only", help="Show the plan and stop; nothing is created.")] = False,
    no_notebooks: Annotated[bool, typer.Option("--no-notebooks", help="Do not publish the lab notebooks.")] = False,
):
    """Plan the class into the regions' quota, show the plan, then bring every learner's environment up."""
    from agent.classroom import operations as ops
    from agent.classroom.roster import check_class_name, numbered, read_roster
    from agent.classroom.state import ClassRecord
    from agent.lifecycle.updown import parse_config

    cli = _cli()
    name = check_class_name(class_name)
    if (learners is None) == (roster is None):
        raise LabctlError("Give either --learners N or --roster FILE (one e-mail per line).", USAGE)
    _check_concurrency(concurrency)
    if layout not in ops.LAYOUTS:
        raise LabctlError(f"--layout {layout!r} is not one labctl builds (today: {', '.join(ops.LAYOUTS)}).", USAGE)
    if not 0 < hours <= 24 * 366:
        raise LabctlError(f"--hours {hours:g} is not a number of hours of lab work (more than 0, at most a year).", USAGE)
    cli._check_regions(region, None)
    if user_pattern is not None and learners is None:
        raise LabctlError("--user-pattern goes with --learners N (a roster names its learners itself).", USAGE)
    people = numbered(name, learners, user_pattern) if learners is not None else read_roster(name, roster)
    record = ClassRecord(name)
    recorded_sandbox = sandbox or (record.exists() and record.read().get("target") == "sandbox")
    # The command that brings the class's missing learners up again, named by every advice of the class commands:
    # its learners and target (a resumed class keeps its settings and plan, so -c and regions are not needed).
    up_again = shlex.join(["labctl", "class", "up", "--class", name,
                           *(["--learners", str(learners)] if learners is not None else ["--roster", str(roster)]),
                           *(["--user-pattern", user_pattern] if user_pattern is not None else []),
                           *(["--sandbox"] if recorded_sandbox else []),
                           *(["--no-notebooks"] if no_notebooks else [])])
    settings = ops.ClassSettings(name, sandbox, parse_config(config), region or None, concurrency, layout, hours,
                                 notebooks=not no_notebooks, up_command=up_again)
    # The command that resumes after Ctrl-C: the same learners, target, settings and pace (a resumed class keeps its
    # plan, so regions and hours are not needed again).
    resume = shlex.join(["labctl", "class", "up", "--class", name,
                         *(["--learners", str(learners)] if learners is not None else ["--roster", str(roster)]),
                         *(["--user-pattern", user_pattern] if user_pattern is not None else []),
                         *(["--sandbox"] if recorded_sandbox else []),
                         *(part for pair in config for part in ("-c", pair)),
                         *(["--concurrency", str(concurrency)] if concurrency != 4 else []),
                         *(["--no-notebooks"] if no_notebooks else [])])
    try:
        if record.exists():  # a class that was started: its learners keep their regions, the rest are brought up
            ops.check_same_learners(record, people)
            record.update(up_command=up_again)  # the learners are the class's: the command brings them back
            changed = ops.changed_settings(record, settings.config)
            if changed:  # as `pulumi up` with changed config: every learner's stack is updated, ready ones included
                ops.apply_settings(record, changed)
                cli.progress(f"class {name} exists: resuming and applying "
                             + ", ".join(f"{k.removeprefix('labctl:')}={v}" for k, (_, v) in changed.items())
                             + " to every learner's stack")
            else:
                cli.progress(f"class {name} exists: resuming (learners not ready yet are brought up in their planned "
                             f"regions)")
            with ops.interruptible(cli.progress, resume) as fleet_of_learners:
                report = ops.bring_up(record, settings, cli.progress, update_ready=bool(changed),
                                      learners=fleet_of_learners)
            _finish_up(report, {"resumed": True, **({"applied": {k: v for k, (_, v) in changed.items()}}
                                                    if changed else {})}, name, resume)
            return
        plan, _ = ops.plan_class(settings, people, cli.progress)
    except KeyboardInterrupt:  # while planning (read-only) or before any learner was started
        raise Interrupted(f"Interrupted `labctl class up` of class {name!r} before any learner was started; "
                          f"`{resume}` starts it again.") from None
    _show_plan(plan)
    if not plan.fits:
        if cli.State.json:
            cli.emit({"plan": plan.as_dict(), "error": "does not fit"})
        ops.refuse_if_unfit(plan)
    if plan_only:
        cli.emit({"plan": plan.as_dict()}, "[dim]--plan-only: nothing was created[/dim]")
        return
    with ops.interruptible(cli.progress, resume) as fleet_of_learners:
        ops.record_class(record, settings, plan, people)
        report = ops.bring_up(record, settings, cli.progress, learners=fleet_of_learners)
    _finish_up(report, plan.as_dict(), name, resume)


def _finish_up(report, plan: dict, name: str, resume: str) -> None:
    from rich.markup import escape

    from agent.classroom.operations import interrupted_sentence

    cli = _cli()
    report.plan = plan
    # Ctrl-C: where each learner stopped, and the command that resumes (exit 130); one that stopped nothing (every
    # learner was ready) leaves the class up, as `labctl up` does.
    if report.interrupted and not report.ok:
        raise Interrupted(interrupted_sentence("class up", name, report.learners, resume))
    rows = [f"{'[green]ready[/green]' if r['state'] == 'ready' else '[red]' + r['state'] + '[/red]'}  {r['learner']}  "
            f"{r['region']}  {escape(r.get('error') or '')}" for r in report.learners]
    cli.emit(report.as_dict(), "\n".join(rows) + f"\n{sum(r['state'] == 'ready' for r in report.learners)}/"
             f"{len(report.learners)} learners ready in {report.wall_seconds:.0f} s with {report.concurrency} at a time")
    if not report.ok:
        raise typer.Exit(FAILED)


def _show_plan(plan) -> None:
    from rich.table import Table

    cli = _cli()
    if cli.State.json:
        return
    title = (f"Class plan: {plan.wanted} learners" if plan.fits else
             f"[red]Does not fit[/red]: {plan.wanted} learners asked, room for {plan.placed}")
    table = Table(title=title)
    table.add_column("region", no_wrap=True)
    for column in ("learners", "room", "quota used", "cost/learner", "why not"):
        table.add_column(column)
    for region in plan.regions:
        table.add_row(region.region, str(len(region.learners)), str(region.capacity.seats),
                      "\n".join(region.quota_used()),
                      f"{region.cost_per_learner:.2f}" if region.cost_per_learner is not None else "",
                      "; ".join(region.capacity.verdict.reasons))
    cli.out.print(table)
    if not plan.fits:  # one line per region, so that no sentence is cut by the table's width
        for region in plan.regions:
            cli.out.print(f"shortfall in {region.region} for {plan.missing} more: {region.shortfall(plan.missing)}",
                          highlight=False, markup=False)
    if plan.fits:
        cli.out.print(f"total {plan.total_cost:.2f} USD (ESTIMATE, list prices, {plan.wanted} learners); ready in about "
                      f"{plan.minutes_to_ready:.0f} min ({plan.concurrency} at a time, "
                      f"{plan.minutes_per_learner:.1f} min each, {plan.minutes_source})", highlight=False)


@class_app.command("status")
def status(
    class_name: ClassOption = "class",
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout (as `labctl --json`).")] = False,
):
    """One row per learner: region, state, cost so far (estimate), expiry."""
    from agent.classroom.state import ClassRecord
    from agent.classroom.status import class_status

    cli = _cli()
    cli.State.json = cli.State.json or json_output
    record = ClassRecord(class_name)
    if not record.exists():
        raise LabctlError(f"There is no class {class_name!r} here; `labctl class up --class {class_name}` makes one.", USAGE)
    rows = class_status(record)
    missing = [row for row in rows if row["recorded"] in ("ready", "gone") and row["state"] in ("gone", "partly down")]
    unreachable = [row for row in rows if row.get("unreachable")]
    advice = None
    if missing:
        from agent.classroom.presence import bring_back

        advice = bring_back(class_name, record.read(), [row["learner"] for row in missing])
    if cli.State.json:
        cli.emit({"class": class_name, "learners": rows, **({"advice": advice} if advice else {})})
    else:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"Class {class_name}")
        for column in ("learner", "identity", "region", "state", "cluster", "cost so far", "expires"):
            table.add_column(column)
        for row in rows:
            cost = f"{row['cost_so_far_usd']:.2f}" if row["cost_so_far_usd"] is not None else ""
            table.add_row(row["learner"], row["email"] or "", row["region"],
                          f"[red]{row['state']}[/red]" if row in missing else row["state"], row["cluster"] or "", cost,
                          row["expires"] or "")
        cli.out.print(table)
        # One line per learner that is not as recorded, outside the table so that no sentence is cut by its width.
        for row in missing:
            cli.out.print(f"{row['learner']}: {row['state']} ({escape(row['error'] or '')})", highlight=False)
        for row in unreachable:
            cli.out.print(f"{row['learner']}: could not be looked up: {escape(row['unreachable'])}", highlight=False)
        if advice:
            cli.out.print(escape(advice), highlight=False)
    if missing:
        raise typer.Exit(FAILED)  # recorded ready, not there: as `labctl status` for a stack partly or all down
    if unreachable:
        raise typer.Exit(UNAVAILABLE)  # could not be looked at, as `labctl status`


@class_app.command("down")
def down(
    class_name: ClassOption = "class",
    concurrency: ConcurrencyOption = 4,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
):
    """Take every learner's environment down (each verified gone through ARM), from whatever state they are in."""
    from agent.classroom import operations as ops
    from agent.classroom.state import ClassRecord

    cli = _cli()
    _check_concurrency(concurrency)
    record = ClassRecord(class_name)
    _confirm(yes, f"Delete the environments of every learner of class {class_name!r}?", "class down")
    try:
        stacks = ops.stacks_to_take_down(class_name, record, cli.progress)
    except KeyboardInterrupt:
        raise Interrupted(f"Interrupted `labctl class down` of class {class_name!r} before any learner's environment "
                          f"was touched; `{_resume('down', class_name, concurrency)}` starts it again.") from None
    results, clean = _take_down_learners(cli, record, class_name, stacks, concurrency, "down")
    cli.emit({"class": class_name, "clean": clean, "learners": results},
             f"[green]down[/green]: class {class_name}, {len(results)} learners' environments gone" if clean else
             "[red]left behind[/red]:\n  " + "\n  ".join(f"{r['learner']}: {r['error']}" for r in results if not r["clean"]))
    if not clean:
        raise typer.Exit(FAILED)


def _resume(command: str, class_name: str, concurrency: int) -> str:
    """The `labctl class <command> ... --yes` that resumes an interrupted take-down."""
    return shlex.join(["labctl", "class", command, "--class", class_name,
                       *(["--concurrency", str(concurrency)] if concurrency != 4 else []), "--yes"])


def _take_down_learners(cli, record, class_name: str, stacks: list[str], concurrency: int,
                        command: str) -> tuple[list[dict], bool]:
    """Take the learners' `stacks` down, `concurrency` at a time; Ctrl-C stops as `labctl down` does and names the
    command that resumes. Returns each learner's result and whether all are clean (the class record then goes)."""
    from agent.classroom import operations as ops

    resume = _resume(command, class_name, concurrency)
    with ops.interruptible(cli.progress, resume) as fleet_of_learners:
        results = ops.take_down(record, stacks, concurrency, cli.progress, fleet_of_learners)
    if fleet_of_learners.interrupted and not all(r["clean"] for r in results):
        raise Interrupted(ops.interrupted_sentence(f"class {command}", class_name, results, resume))
    clean = all(r["clean"] for r in results)
    if clean:
        record.remove()
    return results, clean


@class_app.command("cleanup")
def cleanup(
    class_name: ClassOption = "class",
    concurrency: ConcurrencyOption = 4,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete; without it nothing is deleted (dry run).")] = False,
):
    """Find every stack of the class (in its record or only as a <class>-<nn> stack folder) and take it down."""
    from agent.classroom import operations as ops
    from agent.classroom.state import ClassRecord

    cli = _cli()
    _check_concurrency(concurrency)
    record = ClassRecord(class_name)
    # What exists is looked up first, as `labctl down` plans: the dry run lists what the real run takes down, and
    # a stack already taken down (only its folder left) or whose resources are all gone is not "taken down" again.
    left = ops.left_of(ops.stacks_to_take_down(class_name, record, cli.progress), cli.progress, concurrency)
    existing = [stack for stack, plan in left.items() if plan["delete"] or plan.get("error")]
    gone = [stack for stack, plan in left.items() if stack not in existing and plan["gone"]]
    stacks = existing + gone
    if not yes:
        cli.emit({"dry_run": True, "class": class_name, "stacks": existing, "gone": gone},
                 "DRY RUN - nothing deleted (pass --yes): would take down " + (", ".join(existing) or "nothing")
                 + (f"; already gone (their records would be cleared): {', '.join(gone)}" if gone else ""))
        return
    results, clean = _take_down_learners(cli, record, class_name, stacks, concurrency, "cleanup")
    cli.emit({"dry_run": False, "class": class_name, "clean": clean, "learners": results},
             f"cleanup: {len(results)} stacks of class {class_name} " + ("gone" if clean else "NOT all gone")
             if results else f"cleanup: nothing of class {class_name} was left")
    if not clean:
        raise typer.Exit(FAILED)


@class_app.command("reset")
def reset(
    learner: Annotated[str, typer.Argument(help="The learner: their stack (<class>-<nn>), number or e-mail.")],
    class_name: ClassOption = "class",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
):
    """Give one learner a fresh environment (down, then up in the same region); no one else's is touched."""
    from agent.classroom import operations as ops
    from agent.classroom.state import ClassRecord

    cli = _cli()
    record = ClassRecord(class_name)
    if not record.exists():
        raise LabctlError(f"There is no class {class_name!r} here.", USAGE)
    stack = ops.find_learner(record, learner)
    _confirm(yes, f"Delete and recreate the environment of {stack}?", "class reset")
    resume = shlex.join(["labctl", "class", "reset", stack, "--class", class_name, "--yes"])
    with ops.interruptible(cli.progress, resume) as fleet_of_learners:
        result = ops.reset_learner(record, stack, cli.progress, fleet_of_learners)
    if fleet_of_learners.interrupted and result["state"] != "ready":
        raise Interrupted(f"Interrupted `labctl class reset` of {stack}, which the class record now has as "
                          f"{result['state']!r} (no other learner was touched); `{resume}` resumes.")
    cli.emit(result, f"[green]reset[/green]: {stack} is ready again in {result['region']}" if result["state"] == "ready"
             else f"[red]{stack}: {result['state']}[/red] {result.get('error') or ''}")
    if result["state"] != "ready":
        raise typer.Exit(FAILED)


@class_app.command("verify")
def verify(class_name: ClassOption = "class", concurrency: ConcurrencyOption = 4):
    """Run every learner's notebooks top to bottom on their cluster (one-time notebook runs) and report."""
    from rich.markup import escape

    from agent.classroom import fleet
    from agent.classroom.notebooks import run_all
    from agent.classroom.state import ClassRecord

    cli = _cli()
    _check_concurrency(concurrency)
    record = ClassRecord(class_name)
    if not record.exists():
        raise LabctlError(f"There is no class {class_name!r} here.", USAGE)
    from agent.classroom.presence import bring_back, look_up, stopped_sandbox

    data = record.read()
    learners = data["learners"]
    ready = sorted(s for s, e in learners.items() if e["state"] == "ready")
    sandbox_stopped = stopped_sandbox(data.get("target"))  # nothing to run on, and nothing is started to find out

    def one(stack: str) -> dict:
        found = look_up(stack, sandbox_stopped)
        if found.state in ("gone", "partly down"):  # its notebooks would fail on what is missing: say what to run
            return {"learner": stack, "runs": [], "error": f"its environment is {found.state} ({found.reason}); "
                                                           + bring_back(class_name, data, [stack])}
        cli.progress(f"{stack}: running {len(learners[stack]['notebooks'])} notebooks")
        try:
            return {"learner": stack, "runs": run_all(stack, learners[stack]["notebooks"])}
        except Exception as error:  # noqa: BLE001 - one learner's workspace refusing is reported; the others go on
            from agent.classroom.operations import sentence_of

            return {"learner": stack, "runs": [], "error": sentence_of(error)}

    results = fleet.each(ready, one, concurrency)
    ok = bool(results) and len(ready) == len(learners) and all(
        r["runs"] and not r.get("error") and all(run["result_state"] == "SUCCESS" for run in r["runs"]) for r in results)
    cli.emit({"class": class_name, "ok": ok, "learners": results}, "\n".join(
        f"{r['learner']}: " + (escape(r["error"]) if r.get("error") else ", ".join(
            f"{run['notebook'].rsplit('/', 1)[-1]} {run['result_state']}"
            + (f" ({escape(str(run['error']))})" if run["error"] else "") for run in r["runs"]))
        for r in results) + ("" if len(ready) == len(learners) else
                             f"\nnot ready: {len(learners) - len(ready)} learners; " + escape(bring_back(
                                 class_name, data, sorted(set(learners) - set(ready))))))
    if not ok:
        raise typer.Exit(FAILED)


def _confirm(yes: bool, question: str, command: str) -> None:
    import sys

    if yes:
        return
    if not sys.stdin.isatty():
        raise LabctlError(f"`labctl {command}` deletes lab environments; pass --yes to confirm.", USAGE)
    typer.confirm(question, abort=True)
