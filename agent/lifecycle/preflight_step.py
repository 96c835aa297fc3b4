"""Preflight as a labctl step: preferences from the stack config, choices written back into it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from agent.errors import UsageError
from agent.soft_deleted_account import refuse_soft_deleted_account
from agent.preflight import (
    DEFAULT_CHAT_PREFERENCES, DEFAULT_FINE_TUNE_PREFERENCES, DEFAULT_REGIONS, TRAINING_ORDER, DeploymentRequest,
    PreflightResult, estimate_cost, load_prices, run_preflight,
)
from agent.lifecycle import ai_resource, preflight_choices
from agent.target import Target
from agent.workdir import read_config, stack_dir, write_json


@dataclass
class PreflightOptions:
    regions: list[str] | None = None  # None: the configured location, else the labs' regions
    force_region: str | None = None
    chat_models: list[str] | None = None
    fine_tune_bases: list[str] | None = None
    fine_tune: bool = True
    training_types: tuple[str, ...] = TRAINING_ORDER
    hours: float = 1.0
    prices: Path | None = None
    training_file: Path | None = None


def _config_model(config: dict, key: str, default):
    raw = config.get(f"labctl:{key}")
    if raw is None:
        return default
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return raw


def requests_from(config: dict, options: PreflightOptions) -> list[DeploymentRequest]:
    """What to deploy. A configured model (and version) is kept or preflight fails; `--chat-model` is the explicit
    opt-in to other families; with neither, the labs' preferences in order."""
    from infra.config import DEFAULT_CHAT_CAPACITY

    configured = "labctl:deployments" in config
    deployments = _config_model(config, "deployments",
                                [{"name": "chat", "model": "gpt-5-mini", "capacity": DEFAULT_CHAT_CAPACITY}])
    requests = []
    for spec in deployments:
        version, source = None, "--chat-model"
        if options.chat_models:
            families = list(options.chat_models)
        elif configured:
            families, version, source = [spec["model"]], spec.get("version"), "labctl:deployments"
        else:
            families = [spec.get("model", "gpt-5-mini")] + [m for m in DEFAULT_CHAT_PREFERENCES if m != spec.get("model")]
        requests.append(DeploymentRequest(spec.get("name", "chat"), families, spec.get("sku", "GlobalStandard"),
                                          int(spec.get("capacity", DEFAULT_CHAT_CAPACITY)), version, source))
    return requests


def validated(config: dict, now: dt.datetime):
    """The stack config as the program will read it, refused (exit 2) before anything is created if it is wrong."""
    from infra.config import ConfigError, parse_config

    raw = {k.removeprefix("labctl:"): _config_model(config, k.removeprefix("labctl:"), v)
           for k, v in config.items() if k.startswith("labctl:")}
    raw.setdefault("owner", "preflight")
    try:
        parsed = parse_config(raw)
        parsed.expiry(now)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    return parsed


def lab_end(config: dict, now: dt.datetime) -> dt.date:
    return validated(config, now).expiry(now).date()


def preflight(target: Target, stack: str, config: dict, options: PreflightOptions,
              progress: Callable[[str], None]) -> tuple[PreflightResult, dict]:
    """Run preflight; return its result and the config with the choices applied (also saved)."""
    end = lab_end(config, dt.datetime.now(dt.timezone.utc))
    requests = requests_from(config, options)
    bases, base_source = options.fine_tune_bases, "--fine-tune-base"
    if bases is None:
        configured = _config_model(config, "fineTuneBaseModel", None)
        # A configured base (family and version) is kept or preflight fails, never replaced.
        bases, base_source = ([configured], "labctl:fineTuneBaseModel") if configured else \
            (list(DEFAULT_FINE_TUNE_PREFERENCES), "--fine-tune-base")
    regions, force, region_source = options.regions, options.force_region, None
    if not force and not regions and config.get("labctl:location"):
        # A configured location is a constraint: the lab is built there or preflight says why it cannot be.
        force, region_source = config["labctl:location"], "the configured location (labctl:location)"
    regions = regions or list(DEFAULT_REGIONS)
    refuse_soft_deleted_account(target.cognitive(), _config_model(config, "openaiAccountName", None))
    progress(f"preflight: {len(regions) if not force else 1} region(s), lab ends {end}")
    from agent.lifecycle.compute import region_check

    result = run_preflight(target.cognitive(), requests, bases if options.fine_tune else None, regions, end,
                           force, options.training_types, base_source, region_source,
                           region_check(_config_model(config, "compute", "cluster")), ai_resource.allowed_kinds(config),
                           # serverless needs no VM quota: only the cluster's size and vCPUs are checked
                           compute=target.compute() if _config_model(config, "compute", "cluster") == "cluster" else None,
                           node_type=validated(config, dt.datetime.now(dt.timezone.utc)).node_type)
    chosen = result.chosen
    config_in, config = config, dict(config)
    config["labctl:location"] = chosen.region
    config["labctl:deployments"] = json.dumps([
        {"name": r.name, "model": chosen.deployments[r.name]["model"], "version": chosen.deployments[r.name]["version"],
         "sku": r.sku, "capacity": r.capacity} for r in requests])
    if chosen.fine_tune:
        config["labctl:fineTuneBaseModel"] = chosen.fine_tune["base_model"]
    config = ai_resource.apply_choice(config, chosen.fine_tune, progress)
    result.cost = _cost(config, chosen, options)
    folder = stack_dir(stack)
    before = {**read_config(folder), **config_in}
    write_json(folder / "config.json", {**read_config(folder), **config})
    preflight_choices.remember(folder, before, config)  # so that `down` can drop the choices, not the user's settings
    write_json(folder / "preflight.json", result.as_dict())
    if target.kind == "cloud":
        _write_pulumi_config(stack, config, progress)
    return result, config


CHOSEN_KEYS = ("labctl:location", "labctl:deployments", "labctl:fineTuneBaseModel", "labctl:aiResourceKind")


def _write_pulumi_config(stack: str, config: dict, progress: Callable[[str], None]) -> None:
    """Also into Pulumi's own stack config, so a plain `pulumi up` uses the choices too."""
    from agent.errors import LabctlError
    from agent.provision import cloud

    try:
        pulumi_stack = cloud.select_stack(stack)
    except LabctlError as error:
        progress(f"choices kept in .labctl only ({error.message})")
        return
    auto = cloud._auto()
    for key in CHOSEN_KEYS:
        if key in config:
            pulumi_stack.set_config(key, auto.ConfigValue(value=str(config[key]), secret=False))
    progress(f"choices written to Pulumi stack {stack}'s config")


def _cost(config: dict, chosen, options: PreflightOptions) -> dict:
    from labctl_labs.fine_tuning_data import default_epochs, validate_file
    from agent.preflight import planned_usage

    prices = load_prices(options.prices)
    first = next(iter(chosen.deployments.values()))
    calls, prompt, completion = planned_usage()
    sample = resources.files("agent.data").joinpath("samples", "sample_training.jsonl")
    training = options.training_file or Path(str(sample))
    report = validate_file(training, "training", chosen.fine_tune["base_model"] if chosen.fine_tune else None)
    estimate = estimate_cost(
        prices, node_type=_config_model(config, "nodeType", "Standard_D4ds_v5"),
        workspace_sku=_config_model(config, "workspaceSku", "premium"), hours=options.hours,
        autotermination_minutes=int(_config_model(config, "autoterminationMinutes", 20)),
        chat_model=first["model"], chat_calls=calls, prompt_tokens=prompt, completion_tokens=completion,
        fine_tune_base=chosen.fine_tune["base_model"] if chosen.fine_tune else None,
        training_tokens=sum(report.total_tokens), epochs=default_epochs(report.examples), hosting_hours=options.hours,
        compute=_config_model(config, "compute", "cluster"))
    estimate["training_data"] = str(training)
    return estimate
