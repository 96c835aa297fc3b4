"""Microsoft.Compute as the product reads it before creating a cluster: vCPU quota per region
(locations/{location}/usages) and the VM sizes offered to the subscription (skus), with quota and restrictions
a test sets through /_sandbox/compute/{region}.

Shapes and names, from the Compute REST API and Azure's documentation:
- Usages (GET .../providers/Microsoft.Compute/locations/{location}/usages): `{value: [{name: {value,
  localizedValue}, currentValue, limit, unit: "Count"}]}`; the regional total is `cores` ("Total Regional
  vCPUs"), each VM family has its own (`standardDDSv5Family`, "Standard DDSv5 Family vCPUs"); a VM needs its
  vCPUs free in both ("vCPU quotas", learn.microsoft.com/azure/virtual-machines/quotas).
- Resource SKUs (GET .../providers/Microsoft.Compute/skus, `$filter=location eq '<region>'`): `resourceType`
  `virtualMachines`, `name`, `family`, `locations`, `capabilities` ([{name: vCPUs, value}]) and `restrictions`,
  where `reasonCode: NotAvailableForSubscription` means the size cannot be deployed there by this subscription
  ("Resolve errors for SKU not available", learn.microsoft.com/azure/azure-resource-manager/troubleshooting/
  error-sku-not-available).
The default limits are the twin's own (generous), not Azure's: tests set what they need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sandbox.arm.common import CurrentWorld
from sandbox.world import World

PROVIDER = "/subscriptions/{sub}/providers/microsoft.compute"
DEFAULT_LIMIT = 100

# VM sizes the twin offers: (family usage name, its localized name, vCPUs, memory GB).
VM_SIZES = {
    "Standard_D4ds_v5": ("standardDDSv5Family", "Standard DDSv5 Family vCPUs", 4, 16),
    "Standard_D8ds_v5": ("standardDDSv5Family", "Standard DDSv5 Family vCPUs", 8, 32),
    "Standard_D4ads_v5": ("standardDADSv5Family", "Standard DADSv5 Family vCPUs", 4, 16),
    "Standard_D4ds_v4": ("standardDDSv4Family", "Standard DDSv4 Family vCPUs", 4, 16),
    "Standard_DS3_v2": ("standardDSv2Family", "Standard DSv2 Family vCPUs", 4, 14),
}
REGIONAL = ("cores", "Total Regional vCPUs")

router = APIRouter()


@dataclass
class RegionCapacity:
    limits: dict[str, int] = field(default_factory=dict)  # usage name -> limit (DEFAULT_LIMIT when absent)
    used: dict[str, int] = field(default_factory=dict)  # usage name -> vCPUs in use
    restricted: set[str] = field(default_factory=set)  # VM sizes NotAvailableForSubscription here


def capacity(world: World, region: str) -> RegionCapacity:
    regions = world.extensions.setdefault("compute", {})
    return regions.setdefault(region.lower(), RegionCapacity())


def usage_json(name: str, localized: str, region: RegionCapacity) -> dict:
    return {"name": {"value": name, "localizedValue": localized}, "currentValue": region.used.get(name, 0),
            "limit": region.limits.get(name, DEFAULT_LIMIT), "unit": "Count"}


@router.get(PROVIDER + "/locations/{location}/usages")
def list_usages(sub: str, location: str, world: CurrentWorld):
    location = location.lower()
    if location not in world.catalog.regions:
        return {"value": []}
    with world.lock:
        region = capacity(world, location)
        families = sorted({(family, localized) for family, localized, _, _ in VM_SIZES.values()})
        return {"value": [usage_json(*REGIONAL, region)] + [usage_json(f, n, region) for f, n in families]}


def sku_json(world: World, size: str, location: str) -> dict:
    family, _, vcpus, memory = VM_SIZES[size]
    sku = {"resourceType": "virtualMachines", "name": size, "tier": "Standard", "size": size.removeprefix("Standard_"),
           "family": family, "locations": [location], "locationInfo": [{"location": location, "zones": ["1", "2", "3"]}],
           "capabilities": [{"name": "vCPUs", "value": str(vcpus)}, {"name": "MemoryGB", "value": str(memory)}],
           "restrictions": []}
    if size in capacity(world, location).restricted:
        sku["restrictions"] = [{"type": "Location", "values": [location], "restrictionInfo": {"locations": [location]},
                                "reasonCode": "NotAvailableForSubscription"}]
    return sku


@router.get(PROVIDER + "/skus")
def list_skus(sub: str, world: CurrentWorld, location_filter: str | None = Query(None, alias="$filter")):
    # The only filter the product sends (and ARM documents for this call): location eq '<region>'.
    match = re.search(r"location\s+eq\s+'([^']+)'", location_filter or "", re.IGNORECASE)
    regions = [match.group(1).lower()] if match else sorted(world.catalog.regions)
    with world.lock:
        return {"value": [sku_json(world, size, region) for region in regions if region in world.catalog.regions
                          for size in VM_SIZES]}


class CapacitySetting(BaseModel):
    limits: dict[str, int] = {}
    used: dict[str, int] = {}
    restricted: list[str] = []


def control_router(world: World) -> APIRouter:
    control = APIRouter(prefix="/_sandbox/compute")

    @control.put("/{region}")
    def set_capacity(region: str, setting: CapacitySetting):
        """Quota (`limits`, `used` by usage name) and the VM sizes restricted for the subscription in a region."""
        with world.lock:
            current = capacity(world, region)
            current.limits.update(setting.limits)
            current.used.update(setting.used)
            current.restricted = set(setting.restricted)
            return {"limits": current.limits, "used": current.used, "restricted": sorted(current.restricted)}

    return control
