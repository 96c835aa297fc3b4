"""Microsoft.CognitiveServices/accounts/deployments: create or update (checked against the model catalog, the
fine-tuned models and the region's quota), get, list, delete; one operation at a time per account."""

from __future__ import annotations

from typing import NamedTuple

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.arm.accounts import find_live_account
from sandbox.arm.common import PROVIDER_IN_GROUP, CurrentWorld, iso
from sandbox.arm.models import used_capacity
from sandbox.arm.operations import POLL_HEADERS, accepted, polled
from sandbox.catalog import usage_name
from sandbox.errors import ArmError, not_found
from sandbox.fine_tuning import job_status
from sandbox.ratelimit import deployment_limits
from sandbox.world import Account, Deployment, World

DEPLOYMENT = PROVIDER_IN_GROUP + "/accounts/{name}/deployments/{deployment_name}"

router = APIRouter()


class ResolvedModel(NamedTuple):
    version: str
    usage: str
    encoding: str
    reasoning: bool
    fine_tuned: bool
    sku: str  # canonical casing, e.g. Standard for "standard"


# Version upgrade options (azure-rest-api-specs, cognitiveservices DeploymentModelVersionUpgradeOption).
UPGRADE_OPTIONS = ("OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade")


def canonical_name(value: str, names: list[str] | tuple[str, ...]) -> str | None:
    """`value` matched case-insensitively against `names`, in the listed casing; ARM treats enum values so
    (Microsoft's fine-tuned deployment sample sends "standard"; Learn "Deploy a fine-tuned model", REST)."""
    return next((n for n in names if n.lower() == str(value).lower()), None)


def deployment_json(world: World, sub: str, account: Account, deployment: Deployment) -> dict:
    state = "Succeeded" if world.now() >= deployment.ready_at else "Creating"
    account_id = (f"/subscriptions/{sub}/resourceGroups/{account.resource_group}"
                  f"/providers/Microsoft.CognitiveServices/accounts/{account.name}")
    return {
        "id": f"{account_id}/deployments/{deployment.name}",
        "name": deployment.name,
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "sku": {"name": deployment.sku_name, "capacity": deployment.capacity},
        "tags": deployment.tags,
        "systemData": {"createdAt": iso(deployment.created_at), "createdByType": "User"},
        "properties": {
            "provisioningState": state,
            "model": {"format": "OpenAI", "name": deployment.model_name, "version": deployment.model_version},
            # Azure fills both when the request leaves them out; it never answers null (Learn "Working with
            # models": the default upgrade policy; "Content filtering": Microsoft.DefaultV2 is the default policy).
            "versionUpgradeOption": deployment.version_upgrade_option or (
                "NoAutoUpgrade" if deployment.fine_tuned else "OnceNewDefaultVersionAvailable"),
            "raiPolicyName": deployment.rai_policy_name or "Microsoft.DefaultV2",
            "capabilities": {"chatCompletion": "true"},
            "rateLimits": deployment_limits(world.catalog, deployment.model_name, deployment.capacity).arm_json(),
        },
    }


def ensure_idle(world: World, account: Account) -> None:
    if world.now() < account.busy_until:
        raise ArmError(409, "RequestConflict",
                       f"Another operation is being performed on the parent resource "
                       f"'/subscriptions/{world.config.subscription_id}/resourceGroups/{account.resource_group}/"
                       f"providers/Microsoft.CognitiveServices/accounts/{account.name}'. Please try again later.")


def resolve_model(world: World, account: Account, model: dict, sku: str) -> ResolvedModel:
    """The catalog entry (or fine-tuned model) a deployment asks for, or Azure's refusal."""
    name, version = model.get("name"), model.get("version")
    if str(model.get("format", "OpenAI")).lower() != "openai" or not name:
        raise ArmError(400, "InvalidResourceProperties", "The model format must be OpenAI and the model name is required.")
    if any(j.fine_tuned_model == name for j in account.jobs.values()):
        return resolve_fine_tuned_model(world, account, name, version, sku)
    entry = world.catalog.find(name, version) if version else world.catalog.default_version(name, world.today())
    if entry is None:
        raise ArmError(400, "DeploymentModelNotSupported",
                       f"The model 'Format:OpenAI,Name:{name},Version:{version}' is not supported.")
    if entry.retired(world.today()):
        raise ArmError(400, "ServiceModelDeprecated",
                       f"The model 'Format:OpenAI,Name:{entry.name},Version:{entry.version}' has been deprecated "
                       f"since {entry.inference.isoformat()}.")
    canonical = canonical_name(sku, entry.skus)
    if canonical is None:
        raise ArmError(400, "InvalidResourceProperties",
                       f"The specified SKU '{sku}' for model '{entry.name} {entry.version}' is not supported in "
                       f"this region '{account.location}'.")
    return ResolvedModel(entry.version, usage_name(canonical, entry.name), entry.encoding, entry.reasoning, False,
                         canonical)


def resolve_fine_tuned_model(world: World, account: Account, name: str, version: str | None, sku: str) -> ResolvedModel:
    job = next(j for j in account.jobs.values() if j.fine_tuned_model == name)
    if job_status(world, job) != "succeeded":
        raise ArmError(400, "InvalidResourceProperties", f"The fine-tuned model '{name}' is not ready.")
    canonical = canonical_name(sku, world.catalog.fine_tuned_deployment.skus)
    if canonical is None:
        raise ArmError(400, "InvalidResourceProperties",
                       f"SKU '{sku}' is not supported for fine-tuned models; use one of "
                       f"{', '.join(world.catalog.fine_tuned_deployment.skus)}.")
    sku = canonical
    base = world.catalog.find_base(job.model)
    if sku == "Standard" and (base is None or account.location not in base.fine_tuned_standard_regions):
        raise ArmError(400, "InvalidResourceProperties",
                       f"Standard deployments of fine-tuned {job.model} models are not available in "
                       f"'{account.location}'; use GlobalStandard or DeveloperTier.")
    usage = usage_name(sku, f"{base.name if base else job.model}-finetune")
    return ResolvedModel(version or "1", usage, base.encoding if base else "o200k_base", False, True, sku)


def ensure_quota(world: World, account: Account, deployment_name: str, usage: str, capacity: int) -> None:
    limit = world.catalog.quota_limit(account.location, usage)
    used = used_capacity(world, account.location, usage, excluding=(account.name.lower(), deployment_name.lower()))
    if used + capacity > limit:
        raise ArmError(400, "InsufficientQuota",
                       f"This operation require {capacity} new capacity in quota {usage}, which is bigger than "
                       f"the current available capacity {max(0, limit - used)}. The current quota usage is "
                       f"{used} and the quota limit is {limit} for quota {usage}.")


@router.put(DEPLOYMENT)
async def create_or_update_deployment(sub: str, rg: str, name: str, deployment_name: str, request: Request,
                                      world: CurrentWorld):
    body = await request.json()
    sku = body.get("sku") or {}
    properties = body.get("properties") or {}
    with world.lock:
        account = find_live_account(world, rg, name)
        ensure_idle(world, account)
        sku_name = sku.get("name", "Standard")
        capacity = int(sku.get("capacity") or 1)
        model = resolve_model(world, account, properties.get("model") or {}, sku_name)
        upgrade_option = properties.get("versionUpgradeOption")
        if upgrade_option is not None:
            upgrade_option = canonical_name(upgrade_option, UPGRADE_OPTIONS)
            if upgrade_option is None:
                raise ArmError(400, "InvalidResourceProperties",
                               f"The versionUpgradeOption '{properties['versionUpgradeOption']}' is not valid; use "
                               f"one of {', '.join(UPGRADE_OPTIONS)}.")
        ensure_quota(world, account, deployment_name, model.usage, capacity)
        now = world.now()
        existing = account.deployments.get(deployment_name.lower())
        deployment = Deployment(
            name=deployment_name, model_name=properties["model"]["name"], model_version=model.version,
            sku_name=model.sku, capacity=capacity, version_upgrade_option=upgrade_option,
            rai_policy_name=properties.get("raiPolicyName"), tags=body.get("tags") or {}, usage_name=model.usage,
            encoding=model.encoding, reasoning=model.reasoning, created_at=existing.created_at if existing else now,
            ready_at=now + world.config.timings.deployment_provisioning, fine_tuned=model.fine_tuned,
        )
        account.deployments[deployment_name.lower()] = deployment
        account.limiters.pop(deployment_name.lower(), None)
        account.busy_until = deployment.ready_at
        return JSONResponse(deployment_json(world, sub, account, deployment), 200 if existing else 201, POLL_HEADERS)


@router.get(DEPLOYMENT)
def get_deployment(sub: str, rg: str, name: str, deployment_name: str, world: CurrentWorld):
    with world.lock:
        account = find_live_account(world, rg, name)
        deployment = account.deployments.get(deployment_name.lower())
        if deployment is None:
            raise not_found("Microsoft.CognitiveServices/accounts/deployments", f"{name}/{deployment_name}")
        return polled(deployment_json(world, sub, account, deployment))


@router.get(PROVIDER_IN_GROUP + "/accounts/{name}/deployments")
def list_deployments(sub: str, rg: str, name: str, world: CurrentWorld):
    with world.lock:
        account = find_live_account(world, rg, name)
        return {"value": [deployment_json(world, sub, account, d) for d in account.deployments.values()]}


@router.delete(DEPLOYMENT)
def delete_deployment(sub: str, rg: str, name: str, deployment_name: str, request: Request, world: CurrentWorld):
    with world.lock:
        account = find_live_account(world, rg, name)
        if deployment_name.lower() not in account.deployments:
            return Response(status_code=204)
        ensure_idle(world, account)
        del account.deployments[deployment_name.lower()]
        account.limiters.pop(deployment_name.lower(), None)
        operation = world.start_operation(world.config.timings.deletion)
        account.busy_until = operation.done_at
    return accepted(request, sub, operation.id)
