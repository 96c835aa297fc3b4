"""The model catalog of a region (Microsoft.CognitiveServices/locations/models) and its quota
(locations/usages), with the capacity that deployments use."""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.arm.accounts import find_live_account
from sandbox.arm.common import PROVIDER_IN_GROUP, PROVIDER_IN_SUBSCRIPTION, CurrentWorld
from sandbox.catalog import CatalogModel, usage_name
from sandbox.fine_tuning import job_status
from sandbox.world import World

router = APIRouter()


def used_capacity(world: World, location: str, usage: str, excluding: tuple[str, str] | None = None) -> int:
    """Capacity of the deployments in a region that count against a usage, except the (account, deployment) given."""
    total = 0
    for account in world.accounts.values():
        if account.location != location:
            continue
        for deployment in account.deployments.values():
            if deployment.usage_name == usage and (account.name.lower(), deployment.name.lower()) != excluding:
                total += deployment.capacity
    return total


def capabilities_json(world: World, model: CatalogModel) -> dict[str, str]:
    """The model's `capabilities` map: string values, as ARM sends them ("true"/"false", numbers as text).
    chatCompletion, completion, fineTune, jsonObjectResponse and FineTuneTokensMaxValuePerExample are keys Azure
    sends (az cognitiveservices model list output). `reasoning`, `vision`, `chatParameters`, `minApiVersion` and
    `fineTuneMethods` carry the catalog's per-model capabilities the same way [U: Azure's own key names for these
    are not verified; the product reads them with a fallback, agent/model_capabilities.py]."""
    capabilities = {"chatCompletion": "true", "completion": "false", "jsonObjectResponse": "true",
                    "reasoning": "true" if model.reasoning else "false",
                    "vision": "true" if model.vision else "false",
                    "chatParameters": ",".join(world.catalog.accepted_parameters(model))}
    if model.min_api_version:
        capabilities["minApiVersion"] = model.min_api_version
    if model.fine_tune is not None:
        capabilities["FineTuneTokensMaxValuePerExample"] = str(model.max_example_tokens)
    if model.fine_tune_methods:
        capabilities["fineTuneMethods"] = ",".join(model.fine_tune_methods)
    return capabilities


def model_json(world: World, model: CatalogModel, location: str) -> dict:
    capabilities = capabilities_json(world, model)
    deprecation = {"inference": f"{model.inference.isoformat()}T00:00:00Z"}
    if model.fine_tune is not None:
        capabilities["fineTune"] = "true"
        deprecation["fineTune"] = f"{model.fine_tune[world.config.customer].isoformat()}T00:00:00Z"
    body = {
        "kind": "OpenAI" if "OpenAI" in model.kinds else "AIServices",  # AIServices: offered by Foundry only
        "skuName": "S0",
        "model": {
            "format": model.format,
            "name": model.name,
            "version": model.version,
            "lifecycleStatus": "Deprecated" if model.retired(world.today()) else model.lifecycle,
            "isDefaultVersion": world.catalog.default_version(model.name, world.today()) == model,
            "capabilities": capabilities,
            "deprecation": deprecation,
            "maxCapacity": 10_000,
            "skus": [
                {
                    "name": sku,
                    "usageName": usage_name(sku, model.name),
                    "capacity": {"minimum": 1, "maximum": 10_000, "default": 10},
                    "deprecationDate": f"{model.inference.isoformat()}T00:00:00Z",
                }
                for sku in model.skus
            ],
        },
    }
    if model.fine_tune is not None:  # Azure omits the key for models that cannot be fine-tuned
        body["model"]["finetuneCapabilities"] = {
            "trainingTypes": ",".join(t for t in (model.fine_tune_training or {})
                                      if location in world.catalog.training_regions(model, t))}
    return body


@router.get(PROVIDER_IN_SUBSCRIPTION + "/locations/{location}/models")
def list_models(sub: str, location: str, world: CurrentWorld):
    location = location.lower()
    if location not in world.catalog.regions:
        return {"value": []}
    return {"value": [model_json(world, model, location) for model in world.catalog.models]}


@router.get(PROVIDER_IN_SUBSCRIPTION + "/locations/{location}/usages")
def list_usages(sub: str, location: str, world: CurrentWorld):
    location = location.lower()
    names = sorted({usage_name(sku, m.name) for m in world.catalog.models for sku in m.skus})
    with world.lock:
        return {"value": [
            {
                "name": {"value": name, "localizedValue": f"Tokens Per Minute (thousands) - {name}"},
                "currentValue": used_capacity(world, location, name),
                "limit": world.catalog.quota_limit(location, name),
                "unit": "Count",
            }
            for name in names
        ]}


ACCOUNT = PROVIDER_IN_GROUP + "/accounts/{name}"


@router.get(ACCOUNT + "/models")
def list_account_models(sub: str, rg: str, name: str, world: CurrentWorld):
    """What the account can deploy (azure-mgmt-cognitiveservices `accounts.list_models`, AccountModel): the region's
    catalog models (AccountModel carries the DeploymentModel fields flat) and the account's succeeded fine-tuned
    models, whose `baseModel` names the model they were trained from (azure-rest-api-specs, AccountModel)."""
    with world.lock:
        account = find_live_account(world, rg, name)
        listed = [model_json(world, model, account.location)["model"] for model in world.catalog.models]
        for job in account.jobs.values():
            if job_status(world, job) != "succeeded":
                continue
            base = world.catalog.find_base(job.model)
            family = base.name if base else job.model
            listed.append({"format": "OpenAI", "name": job.fine_tuned_model, "version": "1",
                           "baseModel": {"format": "OpenAI", "name": family, "version": base.version if base else ""},
                           "lifecycleStatus": "GenerallyAvailable", "capabilities": {"chatCompletion": "true"},
                           "skus": [{"name": sku, "usageName": usage_name(sku, f"{family}-finetune"),
                                     "capacity": {"minimum": 1, "maximum": 10_000, "default": 1}}
                                    for sku in world.catalog.fine_tuned_deployment.skus]})
        return {"value": listed}


@router.get(ACCOUNT + "/usages")
def list_account_usages(sub: str, rg: str, name: str, world: CurrentWorld):
    """The account's share of its region's quota (azure-mgmt-cognitiveservices `accounts.list_usages`, Usage:
    name, currentValue, limit, unit, status, quotaPeriod, nextResetTime; Get-AzCognitiveServicesAccountUsage shows
    the shape). [U: which usage names Azure lists for an OpenAI account is not verified; the twin lists the usages
    its deployments count against, with their capacity in thousands of TPM and the regional limit.]"""
    with world.lock:
        account = find_live_account(world, rg, name)
        mine: dict[str, int] = {}
        for deployment in account.deployments.values():
            mine[deployment.usage_name] = mine.get(deployment.usage_name, 0) + deployment.capacity
        return {"value": [
            {"name": {"value": usage, "localizedValue": f"Tokens Per Minute (thousands) - {usage}"},
             "currentValue": used, "limit": world.catalog.quota_limit(account.location, usage), "unit": "Count",
             "status": "Included", "quotaPeriod": "00:01:00", "nextResetTime": "0001-01-01T00:00:00Z"}
            for usage, used in sorted(mine.items())
        ]}
