"""labctl: stand up, run, report and tear down the Azure Databricks + Azure OpenAI AI labs."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from agent.errors import USAGE as USAGE_EXIT
from agent.errors import Interrupted, LabctlError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Stand up, run, report and tear down the Azure Databricks + Azure OpenAI AI labs.")
sandbox_app = typer.Typer(no_args_is_help=True, help="The offline twin of Azure OpenAI, ARM and Databricks.")
app.add_typer(sandbox_app, name="sandbox")
llmops_app = typer.Typer(no_args_is_help=True, help="Helpers for the LLMOps lab.")
app.add_typer(llmops_app, name="llmops")
from agent.classroom.commands import class_app  # noqa: E402 - the `class` group lives in its own package

app.add_typer(class_app, name="class")

console = Console(stderr=True)
# Piped or logged output has no terminal width: rich would assume 80 columns and cut table cells ("labctl-kk-hqe…");
# 200 keeps names whole (COLUMNS still wins when set).
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)


class State:
    json = False
    verbose = False


@app.callback()
def main_options(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Debug logs on stderr.")] = False,
):
    State.json, State.verbose = json_output, verbose
    from agent.tiktoken_cache import seed_cache

    seed_cache()  # token counting (validation, preflight) must work with no network
    # force: a process that runs several commands (the test suite) gets each command's own level and stderr.
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        force=True)


def emit(data: dict, human: str | None = None) -> None:
    if State.json:
        # Written as is: rich's print_json parses the text again to colour it, which took minutes on a large answer.
        sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    elif human is not None:
        out.print(human)


DEFAULT_SANDBOX_DIR = Path(".labctl") / "sandbox"


@sandbox_app.command("serve")
def sandbox_serve(
    state_dir: Annotated[Path, typer.Option(help="Where the sandbox keeps files, certificates and endpoints.json.")] = DEFAULT_SANDBOX_DIR,
    http_port: Annotated[int, typer.Option(help="Port of the plain HTTP listener (0 = any free port).")] = 0,
    https_port: Annotated[int, typer.Option(help="Port of the HTTPS (ARM) listener (0 = any free port).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic model.")] = 105,
):
    """Run the sandbox in the foreground until Ctrl-C, and print how to reach it."""
    from sandbox.config import SandboxConfig
    from sandbox.server import SandboxServer
    from sandbox.synthetic_model import SyntheticModelConfig

    for option, port in (("--http-port", http_port), ("--https-port", https_port)):
        if not 0 <= port <= 65535:
            raise LabctlError(f"{option} {port} is not a TCP port (0 to 65535; 0 picks a free one).", 2)
    server = SandboxServer(state_dir.resolve(), SandboxConfig(seed=seed, model=SyntheticModelConfig(seed=seed)),
                           http_port=http_port, https_port=https_port)
    try:
        endpoints = server.start()
    except OSError as error:
        raise LabctlError(f"The sandbox could not listen ({error.strerror}); choose other ports with --http-port/--https-port.", 3) from None
    emit(endpoints.__dict__, _describe(endpoints))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()


def _describe(endpoints) -> str:
    return "\n".join([
        "[bold]labctl sandbox[/bold] is listening on loopback. Press Ctrl-C to stop.",
        f"  ARM (azure-mgmt-*)      {endpoints.arm_url}   base_url=..., connection_verify={endpoints.ca_file}",
        f"  subscription / tenant   {endpoints.subscription_id} / {endpoints.tenant_id}",
        f"  Azure OpenAI endpoint   {endpoints.data_url}/aoai/<account>/   (AzureOpenAI azure_endpoint; v1: .../openai/v1/)",
        f"  control                 {endpoints.data_url}/_sandbox/   (inventory, faults, clock, model)",
        "  credentials             bearer tokens from sandbox.credentials.SandboxCredential;",
        "                          account keys from ARM listKeys",
        f"  endpoints file          {endpoints.state_dir}/endpoints.json",
    ])



StackOption = Annotated[str, typer.Option("--stack", "-s", envvar="LABCTL_STACK", help="Stack name (one lab environment).")]


def progress(message: str) -> None:
    console.print(f"[dim]•[/dim] {message}", soft_wrap=True, highlight=False)


@app.command()
def up(
    stack: StackOption = "lab",
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Provision in the offline sandbox instead of Azure.")] = False,
    config: Annotated[list[str], typer.Option("-c", "--config", help="Stack setting key=value (labctl: prefix implied).")] = [],  # noqa: B006
    skip_preflight: Annotated[bool, typer.Option("--skip-preflight", help="Use the configured region and models as they are.")] = False,
):
    """Stand up the lab environment (Pulumi program in infra/), in Azure or in the sandbox."""
    from agent.lifecycle.preflight_step import PreflightOptions
    from agent.lifecycle.updown import up as bring_up

    try:
        outputs = bring_up(stack, sandbox, config, progress, None if skip_preflight else PreflightOptions())
    except KeyboardInterrupt:  # before or after the resources (during them, agent.provision says more)
        import shlex

        again = shlex.join(["labctl", "up", *(["--sandbox"] if sandbox else []), "--stack", stack,
                            *(part for pair in config for part in ("-c", pair))])
        raise Interrupted(f"Interrupted `labctl up` of stack {stack!r}; `{again}` resumes where it stopped.") from None
    data = outputs.model_dump(by_alias=True)
    emit(data, f"[green]up[/green]: stack {stack} ({outputs.target}) in {outputs.location}; workspace "
               f"{outputs.workspace_url}, "
               f"{f'cluster {outputs.cluster_id}' if outputs.cluster_id else 'serverless compute'}, data {outputs.data_path}")


@app.command()
def preflight(
    stack: StackOption = "lab",
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Ask the sandbox's catalog and quota.")] = False,
    config: Annotated[list[str], typer.Option("-c", "--config", help="Stack setting key=value.")] = [],  # noqa: B006
    region: Annotated[list[str], typer.Option("--region", help="Candidate region, in order (repeat).")] = [],  # noqa: B006
    force_region: Annotated[str | None, typer.Option(help="Use this region or fail.")] = None,
    chat_model: Annotated[list[str], typer.Option("--chat-model", help="Chat model family, in order of preference (repeat).")] = [],  # noqa: B006
    fine_tune_base: Annotated[list[str], typer.Option("--fine-tune-base", help="Fine-tune base family, in order (repeat).")] = [],  # noqa: B006
    no_fine_tune: Annotated[bool, typer.Option("--no-fine-tune", help="Do not require fine-tuning.")] = False,
    training_type: Annotated[list[str], typer.Option("--training-type", help="Standard and/or GlobalStandard, in order.")] = [],  # noqa: B006
    hours: Annotated[float, typer.Option(help="Expected hours of lab work, for the cost estimate.")] = 1.0,
    prices: Annotated[Path | None, typer.Option(help="A price table like agent/data/prices.yaml.")] = None,
    training_file: Annotated[Path | None, typer.Option(help="Training data for the fine-tuning estimate.")] = None,
):
    """Resolve region, model versions, fine-tune base and quota before anything is created; estimate the cost."""
    from agent.lifecycle.preflight_step import PreflightOptions
    from agent.lifecycle.preflight_step import preflight as run
    from agent.lifecycle.updown import parse_config
    from agent.preflight import TRAINING_ORDER, PreflightError, load_prices
    from agent.workdir import read_config, stack_dir

    for path, option in ((prices, "--prices"), (training_file, "--training-file")):
        if path is not None and not path.is_file():
            raise LabctlError(f"{option} {path} does not exist or is not a file.", 2)
    for kind in training_type:
        if kind not in TRAINING_ORDER:
            raise LabctlError(f"--training-type {kind!r} is not Standard or GlobalStandard.", 2)
    if not hours > 0 or hours > 24 * 366:
        raise LabctlError(f"--hours {hours:g} is not a number of hours of lab work (more than 0, at most a year).", 2)
    _check_regions(region, force_region)
    load_prices(prices)  # a broken price table is refused before anything is asked of Azure
    options = PreflightOptions(regions=region or None, force_region=force_region,
                               chat_models=chat_model or None, fine_tune_bases=fine_tune_base or None,
                               fine_tune=not no_fine_tune, training_types=tuple(training_type) or TRAINING_ORDER,
                               hours=hours, prices=prices, training_file=training_file)
    folder = stack_dir(stack)
    settings = {**read_config(folder), **parse_config(config)}
    try:
        result, _ = run(_preflight_target(stack, sandbox, settings), stack, settings, options, progress)
    except PreflightError as refused:
        if State.json:
            emit({**refused.result.as_dict(), "error": refused.message})
        else:
            out.print(_verdict_table(refused.result))
        raise
    emit(result.as_dict(), None)
    if not State.json:
        out.print(_verdict_table(result))
        out.print(_cost_table(result.cost))


def _check_regions(regions: list[str], force_region: str | None) -> None:
    from infra.config import check_region

    try:
        for name in regions:
            check_region(name, "--region")
        if force_region is not None:
            check_region(force_region, "--force-region")
    except ValueError as error:
        raise LabctlError(f"{error}.", 2) from None


def _preflight_target(stack: str, sandbox: bool, settings: dict):
    from agent.target import cloud_target, sandbox_target
    from agent.workdir import read_target, sandbox_dir, stack_dir

    saved = read_target(stack_dir(stack))
    if sandbox or (saved and saved["kind"] == "sandbox"):
        from agent import sandbox_process as process

        return sandbox_target(process.ensure_running(sandbox_dir()))
    return cloud_target(settings.get("azure-native:subscriptionId") or (saved or {}).get("subscription_id"))


def _verdict_table(result):
    from rich.table import Table

    table = Table(title=f"Regions (lab ends {result.lab_end})")
    for column in ("region", "verdict", "deployments", "fine-tune base", "why not"):
        table.add_column(column)
    for verdict in result.regions:
        chosen = result.chosen is not None and verdict.region == result.chosen.region
        table.add_row(verdict.region, "[green]chosen[/green]" if chosen else ("ok" if verdict.ok else "[red]no[/red]"),
                      ", ".join(f"{n}: {d['model']} {d['version']} ({d['free_quota']}K free)" for n, d in verdict.deployments.items()),
                      f"{verdict.fine_tune['base_model']} ({verdict.fine_tune['training_type']})" if verdict.fine_tune else "",
                      "; ".join(verdict.reasons))
    return table


def _cost_table(cost: dict):
    from rich.table import Table

    table = Table(title=f"Cost {cost['label']} - prices as of {cost['prices_as_of']} ({cost['currency']})")
    for column in ("item", "basis", "cost"):
        table.add_column(column)
    for item in cost["items"]:
        table.add_row(item["item"], item["basis"], f"{item['cost']:.2f}")
    table.add_row("[bold]total[/bold]", "", f"[bold]{cost['total']:.2f}[/bold]")
    return table


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Chat fine-tuning JSONL files.")],
    model: Annotated[str, typer.Option(help="Base model (sets the tokenizer, the per-example limit, and whether images "
                                            "and DPO examples are taken).")] = "gpt-4.1-mini-2025-04-14",
    purpose: Annotated[str, typer.Option(help="training (at least 10 examples) or validation.")] = "training",
    prices: Annotated[Path | None, typer.Option(help="A price table like agent/data/prices.yaml.")] = None,
):
    """Validate fine-tuning data as Azure OpenAI does, with token statistics and a training cost estimate."""
    from agent.errors import USAGE
    from labctl_labs.fine_tuning_data import (base_version_problem, billed_training_tokens, default_epochs,
                                              example_token_limit, fine_tune_base, validate_file)
    from agent.preflight import load_prices, split_base
    from infra.config import FINE_TUNE_FAMILIES

    if purpose not in ("training", "validation"):
        raise LabctlError(f"--purpose {purpose!r} is not training or validation.", USAGE)
    family, _ = split_base(model.split(".ft-", 1)[0])  # a fine-tuned model ('<base>.ft-<id>') trains on further
    if family not in FINE_TUNE_FAMILIES:
        raise LabctlError(f"--model {model!r} is not a base model Azure OpenAI fine-tunes; give one of "
                          f"{', '.join(FINE_TUNE_FAMILIES)}, with or without its version (gpt-4.1-mini-2025-04-14).", USAGE)
    problem = base_version_problem(model)
    if problem:
        raise LabctlError(f"--model {model!r}: {problem}.", USAGE)
    missing = [path for path in files if not path.is_file()]
    if missing:  # before any file is read: one answer for the whole command
        raise LabctlError(f"{missing[0]} does not exist or is not a file.", USAGE)
    reinforcement = fine_tune_base(model).reinforcement
    table = load_prices(prices)
    tuning = table["fine_tuning"].get(family)
    reports = []
    for path in files:
        report = validate_file(path, purpose, model, name=str(path))
        # Epochs and billed tokens are a training file's: a validation file is read, not trained on, and RFT is
        # billed per hour of training ([azure-rft]), not per token.
        billed_by_tokens = purpose == "training" and not reinforcement
        epochs = default_epochs(report.examples) if billed_by_tokens else None
        billed = billed_training_tokens(report, epochs, example_token_limit(model)) if billed_by_tokens else None
        summary = {**report.summary(), "findings": [f.__dict__ for f in report.findings], "epochs": epochs,
                   "billed_training_tokens": billed}
        if tuning and billed_by_tokens:
            summary["training_cost_estimate"] = {"usd": round(billed * tuning["training_per_million"] / 1e6, 4),
                                                 "price_per_million": tuning["training_per_million"],
                                                 "prices_as_of": table["as_of"], "label": "ESTIMATE"}
        reports.append(summary)
        if not State.json:
            _print_findings(report)
            out.print(f"{path}: {_count(report.examples, 'valid example')}, {_count(report.error_count, 'error')}, "
                      f"{_count(report.warning_count, 'warning')}; "
                      + _validate_figures(summary, family, table["as_of"], purpose, reinforcement),
                      markup=False, highlight=False, soft_wrap=True)
    emit({"files": reports}, None)
    if any(r["errors"] for r in reports):
        raise typer.Exit(USAGE)


@app.command()
def stage(
    stack: StackOption = "lab",
    training_file: Annotated[Path | None, typer.Option(help="Local copy of the lab's training set.")] = None,
    validation_file: Annotated[Path | None, typer.Option(help="Local copy of the lab's validation set.")] = None,
):
    """Build the wheel and upload it with the lab data to the lab volume (unchanged files are skipped)."""
    from agent.lifecycle.stage import stage as do_stage

    report = do_stage(stack, training_file, validation_file, progress)
    for notice in report.notices:
        console.print(f"[yellow]notice:[/yellow] {notice}", soft_wrap=True)
    uploaded = sum(f.uploaded for f in [report.wheel, *report.data])
    emit(report.as_dict(), f"[green]staged[/green]: {uploaded} uploaded, {3 - uploaded} unchanged; wheel {report.wheel.remote}")


@app.command()
def run(
    lab: Annotated[str, typer.Argument(help="responsible-ai, fine-tuning, llmops, smoke or all.")] = "all",
    stack: StackOption = "lab",
    results: Annotated[Path, typer.Option(help="Where results are downloaded.")] = Path("lab-results"),
    option: Annotated[list[str], typer.Option("-o", "--option", help="Lab setting key=value (JSON values allowed).")] = [],  # noqa: B006
):
    """Run labs on the cluster as one-time runs, follow them, and fetch their results."""
    from agent.errors import FAILED
    from agent.lifecycle.run import run_labs

    options = _lab_options(option)
    try:
        outcomes = run_labs(stack, lab, results.resolve(), options, progress)
    except KeyboardInterrupt:  # before the batch started (once it has, run_labs names the run that goes on)
        raise Interrupted(f"Interrupted `labctl run {lab}` of stack {stack!r} before any lab was submitted (a cluster "
                          f"start it asked for goes on; the cluster stops itself when idle); rerun it to start.") from None
    lines = []
    for outcome in outcomes:
        if outcome.succeeded:
            lines.append(f"[green]{outcome.lab}[/green]: SUCCESS  {outcome.summary or ''}  -> {outcome.results_dir}")
        else:
            lines.append(f"[red]{outcome.lab}[/red]: {outcome.result_state}  {outcome.run_page_url}\n"
                         f"  error: {outcome.error}\n{outcome.error_trace or ''}")
    emit({"runs": [o.as_dict() for o in outcomes]}, "\n".join(lines))
    if any(o.unavailable for o in outcomes):
        from agent.errors import FINE_TUNING_UNAVAILABLE

        raise typer.Exit(FINE_TUNING_UNAVAILABLE)
    if not all(o.succeeded for o in outcomes):
        raise typer.Exit(FAILED)


def _lab_options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise LabctlError(f"-o {pair!r} is not key=value (for example -o samples=3).", 2)
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


@app.command()
def down(
    stack: StackOption = "lab",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show the plan: what exists and would be deleted, "
                                          "what is already gone.")] = False,
):
    """Take everything down: runs, fine-tuned deployments and files, the stack, the soft-deleted account."""
    import sys

    from agent.errors import FAILED, USAGE
    from agent.lifecycle.updown import down as take_down

    if dry_run:
        from agent.lifecycle.updown import describe_plan

        report = take_down(stack, progress, dry_run=True)
        emit(report.as_dict(), f"plan for stack {stack}: {describe_plan(report.plan)} (dry run: nothing was changed)")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise LabctlError("`labctl down` deletes the whole lab environment; pass --yes to confirm.", USAGE)
        typer.confirm(f"Delete everything of stack {stack!r}?", abort=True)
    try:
        report = take_down(stack, progress)
    except KeyboardInterrupt:  # between steps (while resources are deleted, agent.provision says more)
        raise Interrupted(f"Interrupted `labctl down` of stack {stack!r}; `labctl down --stack {stack} --yes` resumes "
                          f"where it stopped.") from None
    if report.clean and report.verified:
        human = f"[green]down[/green]: stack {stack} is gone; verified through ARM (purged: {', '.join(report.purged) or 'none'})"
    elif report.clean:  # nothing was there to delete or to check: say so, claim no verification
        human = f"[green]down[/green]: stack {stack}: nothing to take down" + (
            f" ({'; '.join(report.notices)})" if report.notices else " (nothing is recorded for it here)")
    else:
        human = "[red]left behind[/red]:\n  " + "\n  ".join(report.failures + report.leftovers)
    emit(report.as_dict(), human)
    if not report.clean:
        raise typer.Exit(FAILED)


FINDINGS_SHOWN_PER_RULE = 10


def _validate_figures(summary: dict, family: str, prices_as_of: str, purpose: str, reinforcement: bool) -> str:
    """The token figures of one validated file, and what training on it would bill."""
    tokens = summary["total_tokens"]
    if not tokens:
        return "no examples to count"
    figures = f"tokens per example min {tokens['min']} / median {tokens['median']} / max {tokens['max']}; "
    if reinforcement:
        return figures + "RFT is billed per hour of training, not per token: no token estimate"
    if purpose != "training":
        return figures + "a validation file is not trained on: no epochs or billed tokens"
    figures += f"{summary['epochs']} epochs -> {summary['billed_training_tokens']:,} billed tokens"
    if "training_cost_estimate" in summary:
        return figures + f", about ${summary['training_cost_estimate']['usd']:.2f} (prices of {prices_as_of})"
    return figures + f"; no training price for {family} in the price table"


def _print_findings(report) -> None:
    """The first FINDINGS_SHOWN_PER_RULE findings of each rule, then one line for the rest of that rule: a file with
    the same mistake on every line reads as that mistake, not as a screenful of it (--json has more)."""
    from labctl_labs.fine_tuning_data import MAX_FINDINGS_PER_RULE

    shown: dict[str, int] = {}
    for finding in report.findings:
        shown[finding.rule] = shown.get(finding.rule, 0) + 1
        if shown[finding.rule] <= FINDINGS_SHOWN_PER_RULE:
            style = "red" if finding.severity == "error" else "yellow"
            out.print(str(finding), style=style, markup=False, highlight=False, soft_wrap=True)
    for rule, count in report.rule_counts().items():
        if count > FINDINGS_SHOWN_PER_RULE:
            out.print(f"... and {count - FINDINGS_SHOWN_PER_RULE:,} more [{rule}] findings (--json lists the first "
                      f"{min(count, MAX_FINDINGS_PER_RULE):,})", markup=False, highlight=False, soft_wrap=True)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


@app.command()
def status(stack: StackOption = "lab"):
    """What exists for the stack, and what keeps costing money."""
    from agent.lifecycle.status import status as get_status

    report = get_status(stack)
    if report["state"] == "partly up":  # an up that stopped half-way: no outputs, but resources that cost
        resume = f"labctl up {'--sandbox ' if report['target'] == 'sandbox' else ''}--stack {stack}"
        emit(report, f"stack {stack} ({report['target']}): [red]partly up[/red] (its `up` did not finish): "
                     f"{', '.join(report['present'])}; `{resume}` finishes it, `labctl down --stack {stack} --yes` "
                     "removes it")
        from agent.errors import FAILED

        raise typer.Exit(FAILED)
    lines = [f"stack {stack} ({report['target']}): workspace {report['outputs']['workspaceUrl']}"]
    if report["cluster"]:
        lines.append(f"cluster {report['cluster']['id']}: {report['cluster']['state']}")
    if report.get("compute"):
        lines.append(f"compute: {report['compute']}")
    lines += [f"active run {r['run_id']} {r['name']}: {r['state']}" for r in report["active_runs"]]
    lines += [f"[yellow]costs accruing[/yellow]: {item}" for item in report["accruing"]]
    if report.get("unreachable"):
        lines.append(f"[yellow]unreachable[/yellow]: {report['unreachable']}")
    if report["state"] != "up":
        left = ", ".join(report["present"]) or "nothing"
        lines.append(f"[red]{report['state']}[/red]: gone: {', '.join(report['missing'])}; left: {left}; "
                     f"`labctl down --stack {stack} --yes` finishes taking it down and clears its state")
    emit(report, "\n".join(lines))
    from agent.errors import FAILED, UNAVAILABLE

    if report["state"] != "up":
        raise typer.Exit(FAILED)  # something is left behind (README: exit codes)
    if report.get("unreachable"):
        raise typer.Exit(UNAVAILABLE)  # the stack could not be looked at (README: exit codes)


@app.command()
def demo(results: Annotated[Path, typer.Option(help="Where results are downloaded.")] = Path("lab-results")):
    """Sandbox up -> stage -> run all -> report -> down, in one command."""
    from agent.lifecycle.demo import demo as run_demo

    report = run_demo(results.resolve(), progress)
    human = [f"[yellow]notice:[/yellow] {notice}" for notice in report.get("notices", [])]
    human += [f"{r['lab']}: {r['result_state']}  {r.get('summary') or ''}" for r in report["runs"]]
    human.append(f"results: {report['results']}")
    human.append("teardown: " + ("clean" if report["down"]["clean"] else "LEFT BEHIND " + str(report["down"])))
    emit(report, "\n".join(human))
    if not report["ok"]:
        from agent.errors import FAILED

        raise typer.Exit(FAILED)


@app.command()
def cleanup(
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Clean the sandbox instead of Azure.")] = False,
    subscription: Annotated[str | None, typer.Option(help="Azure subscription (default $ARM_SUBSCRIPTION_ID).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete; without it nothing is deleted (dry run).")] = False,
    older_than: Annotated[str | None, typer.Option(help="Also delete labctl resources without expiry older than this (e.g. 7d).")] = None,
    fine_tuned_older_than: Annotated[str | None, typer.Option(help="Delete fine-tuned deployments older than this (default 24h).")] = None,
    owner: Annotated[str | None, typer.Option(help="Only resources whose owner tag is this.")] = None,
    include: Annotated[list[str], typer.Option(help="Only resource groups matching this pattern (repeat).")] = [],  # noqa: B006
    exclude: Annotated[list[str], typer.Option(help="Never resource groups matching this pattern (repeat).")] = [],  # noqa: B006
    config: Annotated[Path | None, typer.Option("--config", help="Cleanup policy file (YAML).")] = None,
):
    """Find lab resources past their expiry across the subscription; report them, and with --yes remove them."""
    import datetime as dt

    from agent.cleanup import STATUSES, Policy, discover, execute, parse_duration, plan
    from agent.errors import FAILED, USAGE
    from agent.target import cloud_target, sandbox_target
    from agent.workdir import sandbox_dir

    policy = Policy.from_file(config, dt.datetime.now(dt.timezone.utc))
    if older_than:
        policy.older_than = parse_duration(older_than, "--older-than")
    if fine_tuned_older_than:
        policy.fine_tuned_max_age = parse_duration(fine_tuned_older_than, "--fine-tuned-older-than")
    policy.owner = owner or policy.owner
    policy.include += include
    policy.exclude += exclude
    if sandbox:
        from agent import sandbox_process as process

        target = sandbox_target(process.ensure_running(sandbox_dir()))
    else:
        target = cloud_target(subscription)
    if target.subscription_id in policy.blocked_subscriptions:
        raise LabctlError(f"Subscription {target.subscription_id} is on the blocklist of {config}; nothing was done.", USAGE)
    the_plan = plan(discover(target, progress), policy)
    outcomes = execute(target, the_plan, yes, progress)
    rows = [o.as_dict() for o in outcomes]
    summary = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    emit({"dry_run": not yes, "subscription": target.subscription_id, "summary": summary, "resources": rows},
         None)
    if not State.json:
        from rich.table import Table

        table = Table(title=("DRY RUN - nothing deleted (pass --yes)" if not yes else "cleanup"))
        for column in ("kind", "name", "resource group", "status", "why"):
            table.add_column(column)
        for row in rows:
            style = {"deleted": "green", "purged": "green", "failed": "red", "skipped": "red",
                     "would delete": "yellow", "would purge": "yellow"}.get(row["status"], "")
            table.add_row(row["kind"], row["name"], row["resource_group"] or "",
                          f"[{style}]{row['status']}[/{style}]" if style else row["status"],
                          row["error"] or row["reason"])
        out.print(table)
    if summary["failed"] or summary["skipped"]:
        raise typer.Exit(FAILED)


@llmops_app.command("ui")
def llmops_ui(stack: StackOption = "lab"):
    """How to open the MLflow UI on the LLMOps lab's experiment."""
    from agent.outputs import StackOutputs
    from agent.target import load_target

    outputs = StackOutputs.load(stack)
    experiment = f"/Shared/labctl-llmops-{stack}"
    if outputs.target == "sandbox":
        # The workspace's own store (it goes with the workspace, as a Databricks workspace's experiments do).
        store = load_target(stack).sandbox_workspace(outputs.workspace_name)["mlflow_tracking_uri"]
        command = f"uv run mlflow ui --backend-store-uri {store} --host 127.0.0.1 --port 5000"
        human = (f"The sandbox workspace's MLflow store is {store}.\nRun:  {command}\nthen open http://127.0.0.1:5000 "
                 f"and the experiment {experiment} (its Traces tab shows every call).")
        emit({"tracking_uri": store, "command": command, "experiment": experiment}, human)
    else:
        url = f"{outputs.workspace_url}/ml/experiments"
        emit({"tracking_uri": "databricks", "url": url, "experiment": experiment},
             f"Open {url} in the workspace and choose the experiment {experiment}.")


@sandbox_app.command("stop")
def sandbox_stop():
    """Stop the background sandbox that `labctl up --sandbox` started (its resources go with it)."""
    from agent import sandbox_process as process
    from agent.workdir import sandbox_dir

    stopped = process.stop(sandbox_dir())
    emit({"stopped": stopped}, "sandbox stopped" if stopped else "no sandbox was running")


def main(argv: list[str] | None = None) -> None:
    """Run labctl with `argv` (default: the process's arguments); always ends with SystemExit(exit code)."""
    # typer's own click: its usage errors are printed here as one sentence, like every other error.
    from typer._click import exceptions as usage

    try:
        code = app(args=argv, prog_name="labctl", standalone_mode=False)
        raise SystemExit(code if isinstance(code, int) else 0)
    except usage.NoArgsIsHelpError as error:
        error.show()
        raise SystemExit(USAGE_EXIT) from None
    except usage.UsageError as error:
        hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx is not None else ""
        console.print(f"[red]error:[/red] {escape(error.format_message())}{hint}", soft_wrap=True, highlight=False)
        raise SystemExit(USAGE_EXIT) from None
    except typer.Abort:
        console.print("aborted")
        raise SystemExit(130) from None
    except Interrupted as stop:  # Ctrl-C: not an error, but what goes on without labctl and how to resume
        console.print(escape(stop.message), soft_wrap=True, highlight=False)
        raise SystemExit(stop.exit_code) from None
    except LabctlError as error:
        # escaped: a message may quote a file's content or a rule name in [brackets]
        console.print(f"[red]error:[/red] {escape(error.message)}", soft_wrap=True)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt:
        console.print("aborted")
        raise SystemExit(130) from None
    except Exception as error:
        from agent.errors import UNAVAILABLE, describe_service_error

        sentence = describe_service_error(error)
        if sentence is None:
            raise
        logging.getLogger("labctl").debug("service error", exc_info=error)
        console.print(f"[red]error:[/red] {escape(sentence)}", soft_wrap=True, highlight=False)
        raise SystemExit(UNAVAILABLE) from None
