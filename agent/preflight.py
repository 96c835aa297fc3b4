"""`labctl preflight`: before anything is created, which region, which model versions, which fine-tune
base, is there quota, and what will the lab cost.

For every candidate region, through azure-mgmt-cognitiveservices (models and usages per location):
- each requested deployment resolves to the most preferred model family, newest version, that offers the
  SKU, is not retired or retiring before the lab ends, and has free quota for the capacity; its capabilities
  (reasoning or not, accepted parameters) are recorded from the catalog for the labs (agent/model_capabilities.py);
- the fine-tune base resolves to the most preferred base that can still be trained when the lab ends, with
  Standard training in that region if possible, else Global;
and, through azure-mgmt-compute, the cluster's VM size is offered to the subscription there (resource SKUs)
with its vCPUs free in both the regional and the VM family quota (Compute usages);
and the first region where everything resolves is chosen (or the forced one, which must satisfy all).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from importlib import resources

import yaml

from agent.errors import UNAVAILABLE, LabctlError, UsageError
from agent.model_capabilities import ModelCapabilities

DEFAULT_REGIONS = ("eastus2", "northcentralus", "swedencentral", "switzerlandwest")
DEFAULT_CHAT_PREFERENCES = ("gpt-5-mini", "gpt-5.4-mini", "gpt-5-nano", "gpt-5.1")
# The lab's own bases first; then the open-weight base a subscription new to fine-tuning can still train, on a
# Microsoft Foundry resource (azure-facts.md section 3: "Global only, new Foundry resources only").
DEFAULT_FINE_TUNE_PREFERENCES = ("gpt-4.1-mini", "gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1", "gpt-4o", "gpt-oss-20b")
ACCOUNT_KINDS = ("OpenAI", "AIServices")
TRAINING_ORDER = ("Standard", "GlobalStandard")


@dataclass
class DeploymentRequest:
    name: str
    families: list[str]
    sku: str = "GlobalStandard"
    capacity: int = 10
    version: str | None = None  # pinned: this version of the (single) family, or fail
    source: str = "--chat-model"  # where the families came from, for messages


def split_base(base: str) -> tuple[str, str | None]:
    """'gpt-4.1-mini-2025-04-14' -> ('gpt-4.1-mini', '2025-04-14'); a family alone has no version."""
    from infra.config import FINE_TUNE_BASE

    match = FINE_TUNE_BASE.match(base)
    return (match.group("family"), match.group("version")) if match else (base, None)


@dataclass
class RegionVerdict:
    region: str
    ok: bool
    deployments: dict[str, dict] = field(default_factory=dict)
    fine_tune: dict | None = None
    cluster: dict | None = None  # the VM size's vCPUs and the quota free for it (see assess_cluster_capacity)
    reasons: list[str] = field(default_factory=list)
    # What the region's catalog offers (not reported): model names, and those that can be fine-tuned.
    offered: set[tuple[str, str]] | None = field(default=None, repr=False)  # (name, version)
    fine_tunable: set[tuple[str, str]] | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("offered", "fine_tunable")}


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text[:10]) if text else None


def assess_region(client, region: str, requests: list[DeploymentRequest], fine_tune: list[str] | None,
                  lab_end: dt.date, training_types: tuple[str, ...] = TRAINING_ORDER,
                  account_kinds: tuple[str, ...] = ACCOUNT_KINDS) -> RegionVerdict:
    """`account_kinds`: the model account kinds the lab may use; a base the catalog lists under another kind only
    (ARM `Model.kind`, e.g. AIServices for the open-weight bases) is passed over."""
    verdict = RegionVerdict(region, ok=True)
    try:
        listed = list(client.models.list(region))
        models = [m.model for m in listed]
        kinds = {(m.model.name, m.model.version): m.kind or "OpenAI" for m in listed}
        usages = {u.name.value: u for u in client.usages.list(region)}
    except Exception as error:  # a region this subscription cannot use
        verdict.ok = False
        verdict.reasons.append(f"catalog unavailable: {error}")
        return verdict
    verdict.offered = {(m.name, m.version) for m in models}
    verdict.fine_tunable = {(m.name, m.version) for m in models if (m.capabilities or {}).get("fineTune") == "true"}
    for request in requests:
        chosen, why = _resolve_deployment(models, usages, request, lab_end)
        if chosen is None:
            verdict.ok = False
            verdict.reasons.append(f"{request.name}: {why}")
        else:
            verdict.deployments[request.name] = chosen
    if fine_tune:
        trainable = [m for m in models if kinds.get((m.name, m.version)) in account_kinds]
        chosen, why = _resolve_fine_tune(trainable, fine_tune, lab_end, training_types)
        if chosen is not None:  # the account kind the base needs: AIServices for a Foundry-only base
            chosen["account_kind"] = next(k for (n, v), k in kinds.items() if f"{n}-{v}" == chosen["base_model"])
        elif len(trainable) < len(models):
            why += f" (bases offered only to {', '.join(k for k in ACCOUNT_KINDS if k not in account_kinds)} " \
                   f"accounts were not considered: labctl:aiResourceKind is {', '.join(account_kinds)})"
        if chosen is None:
            verdict.ok = False
            verdict.reasons.append(f"fine-tuning: {why}")
        else:
            verdict.fine_tune = chosen
    return verdict


def _resolve_deployment(models, usages, request: DeploymentRequest, lab_end: dt.date) -> tuple[dict | None, str]:
    rejected = []
    for family in request.families:
        versions = sorted((m for m in models if m.name == family), key=lambda m: m.version, reverse=True)
        if not versions:
            rejected.append(f"{family} not offered")
            continue
        if request.version is not None:
            versions = [m for m in versions if m.version == request.version]
            if not versions:
                rejected.append(f"{family} {request.version} (pinned) not offered")
                continue
        for model in versions:
            retires = _date((model.deprecation.inference if model.deprecation else None))
            sku = next((s for s in model.skus or [] if (s.name or "").lower() == request.sku.lower()), None)
            if retires is not None and retires <= lab_end:
                rejected.append(f"{family} {model.version} retires {retires} (before the lab ends {lab_end})")
                continue
            if sku is None:
                rejected.append(f"{family} {model.version} has no {request.sku} SKU")
                continue
            usage = usages.get(sku.usage_name)
            free = int(usage.limit - usage.current_value) if usage else 0
            if free < request.capacity:
                rejected.append(f"{family} {model.version}: {free}K TPM of {request.sku} quota free, "
                                f"{request.capacity}K needed")
                continue
            return {"model": family, "version": model.version, "sku": request.sku, "capacity": request.capacity,
                    "free_quota": free, "retires": str(retires) if retires else None,
                    "capabilities": ModelCapabilities.from_arm(model.capabilities).as_dict()}, ""
    return None, "; ".join(rejected) or "no candidate model"


def _resolve_fine_tune(models, preferences: list[str], lab_end: dt.date,
                       training_types: tuple[str, ...]) -> tuple[dict | None, str]:
    rejected = []
    for preference in preferences:
        family, pinned = split_base(preference)
        versions = sorted((m for m in models if m.name == family and (m.capabilities or {}).get("fineTune") == "true"),
                          key=lambda m: m.version, reverse=True)
        if pinned is not None:
            versions = [m for m in versions if m.version == pinned]
        if not versions:
            rejected.append(f"{preference} cannot be fine-tuned")
            continue
        for model in versions:
            ends = _date(model.deprecation.fine_tune if model.deprecation else None)
            if ends is not None and ends <= lab_end:
                rejected.append(f"{family} {model.version} training ends {ends}")
                continue
            offered = ((model.finetune_capabilities or {}).get("trainingTypes") or "").split(",")
            training = next((t for t in training_types if t in offered), None)
            if training is None:
                rejected.append(f"{family} {model.version} has no {'/'.join(training_types)} training here")
                continue
            return {"base_model": f"{family}-{model.version}", "training_type": training,
                    "training_ends": str(ends) if ends else None}, ""
    return None, "; ".join(rejected) or "no candidate base"


def assess_cluster_capacity(compute, region: str, node_type: str, verdict: RegionVerdict) -> None:
    """Whether the cluster's VM (`node_type`, e.g. Standard_D4ds_v5) can start in `region`: the size is offered to
    this subscription there, and its vCPUs are free in the regional quota (usage `cores`) and in its family's
    (e.g. `standardDDSv5Family`); Azure checks both ("vCPU quotas", Azure Virtual Machines docs). The finding goes
    to `verdict.cluster`; a shortfall is a reason and makes the region unfit."""
    try:
        sku = next((s for s in compute.resource_skus.list(filter=f"location eq '{region}'")
                    if s.resource_type == "virtualMachines" and s.name == node_type), None)
        usages = {u.name.value: u for u in compute.usage.list(region)}
    except Exception as error:  # noqa: BLE001 - a region this subscription cannot read is unfit, with the reason
        verdict.ok = False
        verdict.reasons.append(f"cluster: VM sizes and quota unavailable: {error}")
        return
    if sku is None:
        verdict.ok = False
        verdict.reasons.append(f"cluster: {node_type} is not offered in {region}")
        return
    blocked = [r for r in sku.restrictions or [] if r.type == "Location"]
    if blocked:
        verdict.ok = False
        verdict.reasons.append(f"cluster: {node_type} is not available to this subscription in {region} "
                               f"({getattr(blocked[0].reason_code, 'value', blocked[0].reason_code)})")
        return
    vcpus = int(next((c.value for c in sku.capabilities or [] if c.name == "vCPUs"), "0"))
    found = {"node_type": node_type, "vcpus": vcpus, "family": sku.family}
    for usage_name in ("cores", sku.family):
        usage = usages.get(usage_name)
        free = int(usage.limit - usage.current_value) if usage is not None else 0
        found[f"{usage_name}_free"] = free
        if free < vcpus:
            label = usage.name.localized_value if usage is not None else usage_name
            verdict.ok = False
            verdict.reasons.append(f"cluster: {free} vCPUs of {label} quota free, {vcpus} needed for {node_type}")
    verdict.cluster = found


@dataclass
class PreflightResult:
    chosen: RegionVerdict | None
    regions: list[RegionVerdict]
    lab_end: dt.date
    cost: dict | None = None

    def as_dict(self) -> dict:
        return {"lab_end": str(self.lab_end), "chosen": self.chosen.region if self.chosen else None,
                "regions": [v.as_dict() for v in self.regions], "cost": self.cost}


def run_preflight(client, requests: list[DeploymentRequest], fine_tune: list[str] | None, regions: list[str],
                  lab_end: dt.date, force_region: str | None = None,
                  training_types: tuple[str, ...] = TRAINING_ORDER, fine_tune_source: str = "--fine-tune-base",
                  region_source: str | None = None,
                  region_check: Callable[[str], str | None] | None = None,
                  account_kinds: tuple[str, ...] = ACCOUNT_KINDS, compute=None,
                  node_type: str | None = None) -> PreflightResult:
    """`region_check(region)`: why the region cannot host the lab's compute, or None (agent.lifecycle.compute);
    `compute` (an azure-mgmt-compute client) and `node_type`: also check the cluster's VM size and vCPU quota."""
    from infra.config import check_region

    candidates = [force_region] if force_region else regions
    what = "labctl:location" if region_source else ("--force-region" if force_region else "--region")
    for region in candidates:
        try:
            check_region(region, what)
        except ValueError as error:
            raise UsageError(f"{error}.") from None
    verdicts = [assess_region(client, r, requests, fine_tune, lab_end, training_types, account_kinds)
                for r in candidates]
    for verdict in verdicts:
        reason = region_check(verdict.region) if region_check else None
        if reason:
            verdict.ok = False
            verdict.reasons.append(reason)
    _refuse_unknown_models(requests, fine_tune, fine_tune_source, verdicts)
    if compute is not None and node_type:
        for verdict in verdicts:
            assess_cluster_capacity(compute, verdict.region, node_type, verdict)
    chosen = next((v for v in verdicts if v.ok), None)
    result = PreflightResult(chosen, verdicts, lab_end)
    if chosen is None:
        raise PreflightError(_nothing_fits(requests, verdicts, force_region, region_source), result)
    return result


def _refuse_unknown_models(requests: list[DeploymentRequest], fine_tune: list[str] | None, fine_tune_source: str,
                           verdicts: list[RegionVerdict]) -> None:
    """A model no readable catalog knows is a typo, not a service refusal: exit 2, naming it."""
    read = [v for v in verdicts if v.offered is not None]
    if not read:
        return
    offered = set().union(*(v.offered for v in read))
    names = {name for name, _ in offered}
    where = ", ".join(v.region for v in read)
    for request in requests:
        unknown = [f for f in request.families if f not in names]
        if unknown:
            raise UsageError(f"{request.source} {', '.join(unknown)}: no such model is offered in {where} "
                             f"(offered there: {', '.join(sorted(names))}).")
        if request.version is not None and not any((f, request.version) in offered for f in request.families):
            versions = sorted(v for n, v in offered if n in request.families)
            raise UsageError(f"{request.source}: {request.families[0]} version {request.version} is not offered in "
                             f"{where} (versions there: {', '.join(versions)}).")
    if fine_tune:
        tunable = set().union(*(v.fine_tunable for v in read))
        bases = {name for name, _ in tunable}
        for base in fine_tune:
            family, version = split_base(base)
            if family not in bases or (version is not None and (family, version) not in tunable):
                raise UsageError(f"{fine_tune_source} {base}: no such base model can be fine-tuned in {where} "
                                 f"(bases there: {', '.join(f'{n}-{v}' for n, v in sorted(tunable)) or 'none'}).")


class PreflightError(LabctlError):
    def __init__(self, message: str, result: PreflightResult):
        super().__init__(message, UNAVAILABLE)
        self.result = result


def _nothing_fits(requests: list[DeploymentRequest], verdicts: list[RegionVerdict], forced: str | None,
                  source: str | None = None) -> str:
    reasons = "; ".join(f"{v.region}: {' / '.join(v.reasons)}" for v in verdicts)
    wanted = ", ".join(f"{r.capacity}K TPM of {r.sku} for {' or '.join(r.families)}" for r in requests)
    if any(v.cluster is not None or any(r.startswith("cluster:") for r in v.reasons) for v in verdicts):
        wanted += " and the lab cluster"
    where = f"{source or 'the forced region'} {forced} cannot" if forced else "no candidate region can"
    return f"{where} host {wanted} with fine-tuning as asked ({reasons})."


# Cost estimate ---------------------------------------------------------------------------------------


PRICE_SECTIONS = {"as_of": None, "currency": str, "vm_per_hour": dict, "dbu_per_hour": dict, "dbu_price": dict,
                  "tokens_per_million": dict, "fine_tuning": dict}


def load_prices(path=None, option: str = "--prices") -> dict:
    """The price table; a file that is missing, unreadable or not shaped like agent/data/prices.yaml is exit 2."""
    if path is None:
        return yaml.safe_load(resources.files("agent.data").joinpath("prices.yaml").read_text())
    try:
        table = yaml.safe_load(open(path, encoding="utf-8").read())
    except OSError as error:
        raise UsageError(f"{option} {path} cannot be read ({error.strerror or error}).") from None
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise UsageError(f"{option} {path} is not a YAML price table ({str(error).splitlines()[0]}).") from None
    if not isinstance(table, dict):
        raise UsageError(f"{option} {path} is not a price table like agent/data/prices.yaml (it is not a mapping).")
    for key, kind in PRICE_SECTIONS.items():
        if key not in table or (kind is not None and not isinstance(table[key], kind)):
            raise UsageError(f"{option} {path} has no valid {key!r} section; see agent/data/prices.yaml for the shape.")
    return table


def estimate_cost(prices: dict, *, node_type: str, workspace_sku: str, hours: float, autotermination_minutes: int,
                  chat_model: str, chat_calls: int, prompt_tokens: int, completion_tokens: int,
                  fine_tune_base: str | None, training_tokens: int, epochs: int, hosting_hours: float,
                  compute: str = "cluster") -> dict:
    items = []
    if compute == "serverless":  # no VM and no idle tail: serverless DBUs while the labs run
        from agent.lifecycle.compute import serverless_cost_item

        items.append(serverless_cost_item(prices, hours))
        node_type = ""  # no cluster VM, no cluster DBUs
    cluster_hours = hours + autotermination_minutes / 60
    vm = prices["vm_per_hour"].get(node_type)
    dbu = prices["dbu_per_hour"].get(node_type)
    if vm is not None:
        items.append(("cluster VM", f"{cluster_hours:.2f} h x ${vm}/h", cluster_hours * vm))
    if dbu is not None:
        rate = prices["dbu_price"].get(workspace_sku, 0)
        items.append(("Databricks DBUs", f"{cluster_hours:.2f} h x {dbu} DBU/h x ${rate}/DBU", cluster_hours * dbu * rate))
    token_price = prices["tokens_per_million"].get(chat_model)
    if token_price:
        cost = (prompt_tokens * token_price["input"] + completion_tokens * token_price["output"]) / 1e6
        items.append(("chat tokens", f"{chat_calls} calls, {prompt_tokens:,} in / {completion_tokens:,} out on {chat_model}",
                      cost))
    if fine_tune_base:
        family = fine_tune_base.rsplit("-", 3)[0]
        tuning = prices["fine_tuning"].get(family)
        if not tuning:  # said, not left out: a missing line would read as "free"
            items.append(("fine-tune training", f"no price for {family} in the price table (add it to fine_tuning)", 0.0))
        else:
            billed = training_tokens * epochs
            items.append(("fine-tune training", f"{training_tokens:,} tokens x {epochs} epochs", billed * tuning["training_per_million"] / 1e6))
            items.append(("fine-tuned deployment hosting", f"{hosting_hours:.2f} h x ${tuning['hosting_per_hour']}/h",
                          hosting_hours * tuning["hosting_per_hour"]))
    total = sum(i[2] for i in items)
    return {"label": "ESTIMATE (list prices; not a quote)", "prices_as_of": prices["as_of"], "currency": prices["currency"],
            "items": [{"item": a, "basis": b, "cost": round(c, 4)} for a, b, c in items], "total": round(total, 2)}


def planned_usage() -> tuple[int, int, int]:
    """Calls, prompt tokens and completion tokens (at most: each call's max_tokens) that `labctl run all` sends with
    the labs' defaults, counted from the labs' own plans: the responsible-AI probe and its mitigation run, one
    LLMOps run, the fine-tuning lab's chat with its model. Prompt tokens as the service counts them (OpenAI
    cookbook, "How to count tokens with tiktoken")."""
    import tiktoken

    from labctl_labs import llmops, responsible_ai
    from labctl_labs.probe import estimate_prompt_tokens

    encoding = tiktoken.get_encoding("o200k_base")
    probe = (responsible_ai.build_requests({}, responsible_ai.SYSTEM_PROMPT)
             + responsible_ai.build_requests({}, responsible_ai.MITIGATION_PROMPT, ("neutral",)))
    llmops_calls = len(llmops.DEFAULT_PROMPTS) * llmops.DEFAULT_SAMPLES
    fine_tune_chat = 1
    calls = len(probe) + llmops_calls + fine_tune_chat
    prompt = (sum(estimate_prompt_tokens(encoding, request.messages) for request in probe)
              + sum(estimate_prompt_tokens(encoding, [{"role": "user", "content": text}])
                    for text in llmops.DEFAULT_PROMPTS) * llmops.DEFAULT_SAMPLES + fine_tune_chat * 80)
    completion = len(probe) * 100 + llmops_calls * 400 + fine_tune_chat * 200  # the labs' max_tokens defaults
    return calls, prompt, completion
