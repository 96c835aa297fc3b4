"""The model catalog of a region (Microsoft.CognitiveServices/locations/models) and its quota
(locations/usages), with the capacity that deployments use."""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.arm.common import PROVIDER_IN_SUBSCRIPTION, CurrentWorld
from sandbox.catalog import CatalogModel, usage_name
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


def model_json(world: World, model: CatalogModel, location: str) -> dict:
    capabilities = {"chatCompletion": "true", "completion": "false"}
    deprecation = {"inference": f"{model.inference.isoformat()}T00:00:00Z"}
    if model.fine_tune is not None:
        capabilities["fineTune"] = "true"
        deprecation["fineTune"] = f"{model.fine_tune[world.config.customer].isoformat()}T00:00:00Z"
    return {
        "kind": "OpenAI" if "OpenAI" in model.kinds else "AIServices",  # AIServices: offered by Foundry only
        "skuName": "S0",
        "model": {
            "format": model.format,
            "name": model.name,
            "version": model.version,
            "lifecycleStatus": "Deprecated" if model.retired(world.today()) else "GenerallyAvailable",
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
            "finetuneCapabilities": (
                {"trainingTypes": ",".join(t for t in (model.fine_tune_training or {})
                                           if location in world.catalog.training_regions(model, t))}
                if model.fine_tune is not None else None
            ),
        },
    }


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
