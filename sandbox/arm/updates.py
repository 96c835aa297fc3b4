"""Changes to existing Cognitive Services resources: PATCH of an account (tags, network access, local auth),
regenerateKey, and PATCH of a deployment (sku capacity, tags), as azure-mgmt-cognitiveservices sends them
(`accounts.begin_update`, `accounts.regenerate_key`, `deployments.begin_update` with PatchResourceTagsAndSku).

- PATCH replaces the tags when the body has `tags` (ARM's PATCH semantics for the top-level tags property; Learn
  "Use tags to organize your Azure resources": an update with tags replaces the existing set) and leaves what the
  body omits unchanged.
- A deployment's new capacity is checked against the region's quota like a create (InsufficientQuota), and the
  account runs one deployment operation at a time (409 RequestConflict), as for create_or_update.
- regenerateKey takes {"keyName": "Key1" | "Key2"} (RegenerateKeyParameters) and answers both keys (ApiKeys);
  the other key keeps working, which is how key rotation works (Learn "Rotate keys in Azure AI services").
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request

from sandbox.arm.accounts import account_json, find_live_account
from sandbox.arm.common import PROVIDER_IN_GROUP, CurrentWorld
from sandbox.arm.deployments import DEPLOYMENT, deployment_json, ensure_idle, ensure_quota
from sandbox.errors import ArmError, not_found

router = APIRouter()
ACCOUNT = PROVIDER_IN_GROUP + "/accounts/{name}"


@router.patch(ACCOUNT)
async def update_account(sub: str, rg: str, name: str, request: Request, world: CurrentWorld):
    body = await request.json()
    properties = body.get("properties") or {}
    with world.lock:
        account = find_live_account(world, rg, name)
        if "tags" in body:
            account.tags = dict(body["tags"] or {})
        if "publicNetworkAccess" in properties:
            account.public_network_access = properties["publicNetworkAccess"]
        if "disableLocalAuth" in properties:
            account.disable_local_auth = bool(properties["disableLocalAuth"])
        return account_json(world, sub, account)


@router.post(ACCOUNT + "/regeneratekey")
async def regenerate_key(sub: str, rg: str, name: str, request: Request, world: CurrentWorld):
    key_name = str((await request.json()).get("keyName", ""))
    with world.lock:
        account = find_live_account(world, rg, name)
        if key_name.lower() not in ("key1", "key2"):
            raise ArmError(400, "InvalidRequestContent",
                           f"The keyName '{key_name}' is not valid; use Key1 or Key2 (RegenerateKeyParameters).")
        if account.disable_local_auth:
            # As listKeys answers on such an account (Learn "Disable local authentication in Azure AI services").
            raise ArmError(400, "BadRequest", "Failed to regenerate key. disableLocalAuth is set to be true")
        setattr(account, key_name.lower(), secrets.token_hex(16))
        return {"key1": account.key1, "key2": account.key2}


@router.patch(DEPLOYMENT)
async def update_deployment(sub: str, rg: str, name: str, deployment_name: str, request: Request,
                            world: CurrentWorld):
    body = await request.json()
    sku = body.get("sku") or {}
    with world.lock:
        account = find_live_account(world, rg, name)
        deployment = account.deployments.get(deployment_name.lower())
        if deployment is None:
            raise not_found("Microsoft.CognitiveServices/accounts/deployments", f"{name}/{deployment_name}")
        if sku.get("name") and str(sku["name"]).lower() != deployment.sku_name.lower():
            raise ArmError(400, "InvalidResourceProperties",
                           f"The deployment's SKU cannot change from {deployment.sku_name} to {sku['name']}; "
                           "create a new deployment instead.")
        if "capacity" in sku:
            capacity = int(sku["capacity"])
            if capacity < 1:
                raise ArmError(400, "InvalidResourceProperties", "The sku capacity must be at least 1.")
            ensure_idle(world, account)
            ensure_quota(world, account, deployment_name, deployment.usage_name, capacity)
            deployment.capacity = capacity
            account.limiters.pop(deployment_name.lower(), None)  # the new rate limits apply from now on
            account.busy_until = world.now() + world.config.timings.deployment_provisioning
        if "tags" in body:
            deployment.tags = dict(body["tags"] or {})
        return deployment_json(world, sub, account, deployment)
