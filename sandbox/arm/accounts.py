"""Microsoft.CognitiveServices/accounts (kind OpenAI, or AIServices for Microsoft Foundry): create or update, get, list, listKeys, delete (a soft
delete), and the deletedAccounts that can be read or purged."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.arm.common import PROVIDER_IN_GROUP, PROVIDER_IN_SUBSCRIPTION, CurrentWorld, find_group, iso
from sandbox.arm.operations import POLL_HEADERS, accepted, polled
from sandbox.errors import ArmError, not_found
from sandbox.world import Account, World, new_hex

TYPE = "Microsoft.CognitiveServices/accounts"
ACCOUNT_KINDS = ("OpenAI", "AIServices")
DELETED_TYPE = "Microsoft.CognitiveServices/deletedAccounts"

router = APIRouter()


def account_json(world: World, sub: str, account: Account) -> dict:
    state = "Succeeded" if world.now() >= account.ready_at else "Creating"
    properties: dict[str, Any] = {
        "provisioningState": state,
        "endpoint": world.account_endpoint(account.name),
        "endpoints": {"OpenAI Language Model Instance API": world.account_endpoint(account.name)},
        "internalId": account.internal_id,
        "customSubDomainName": account.custom_subdomain,
        "publicNetworkAccess": account.public_network_access,
        "disableLocalAuth": account.disable_local_auth,
        "dateCreated": iso(account.created_at),
    }
    if account.kind == "AIServices":  # Foundry: the OpenAI surface is one of the resource's endpoints
        properties["allowProjectManagement"] = account.allow_project_management
        properties["endpoints"] = foundry_endpoints(world, account)
    if account.deleted_at is not None:
        properties["deletionDate"] = iso(account.deleted_at)
        properties["scheduledPurgeDate"] = iso(account.deleted_at + 48 * 3600)
    return {
        "id": account_id(sub, account),
        "name": account.name,
        "type": TYPE,
        "location": account.location,
        "kind": account.kind,
        "sku": {"name": account.sku},
        "tags": account.tags,
        "etag": f'"{account.internal_id[:8]}"',
        "properties": properties,
        **({"identity": account.identity} if account.identity else {}),
    }


def foundry_endpoints(world: World, account: Account) -> dict[str, str]:
    """The endpoint names ARM lists for an AIServices account; the twin serves every surface of an account at one
    loopback URL (Azure: <subdomain>.openai.azure.com, .services.ai.azure.com, .cognitiveservices.azure.com)."""
    url = world.account_endpoint(account.name)
    return {"OpenAI Language Model Instance API": url, "AI Foundry API": url, "Azure AI Model Inference API": url}


def account_id(sub: str, account: Account) -> str:
    if account.deleted_at is not None:
        return (f"/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{account.location}/"
                f"resourceGroups/{account.resource_group}/deletedAccounts/{account.name}")
    return f"/subscriptions/{sub}/resourceGroups/{account.resource_group}/providers/{TYPE}/{account.name}"


def find_live_account(world: World, rg: str, name: str) -> Account:
    account = world.accounts.get(name.lower())
    if account is None or account.resource_group.lower() != rg.lower():
        raise not_found(TYPE, name)
    return account


def find_deleted_account(world: World, location: str, rg: str, name: str) -> Account:
    account = world.deleted_accounts.get(name.lower())
    if account is None or account.location != location.lower() or account.resource_group.lower() != rg.lower():
        raise not_found(DELETED_TYPE, name)
    return account


def soft_delete(world: World, account: Account) -> None:
    account.deleted_at = world.now()
    account.deployments.clear()
    account.projects.clear()
    del world.accounts[account.name.lower()]
    world.deleted_accounts[account.name.lower()] = account


def canonical_kind(value) -> str | None:
    """The account kind as ARM spells it, whatever the casing sent; None for a kind the twin does not provide."""
    return next((kind for kind in ACCOUNT_KINDS if kind.lower() == str(value or "").lower()), None)


def check_new_account(world: World, sub: str, rg: str, name: str, body: dict) -> str:
    """Azure's refusals of an account request; returns the normalised location. ARM matches enum values (kind,
    SKU) without regard to case and answers with the canonical casing (Learn "Azure Resource Manager REST API
    guidelines": string enums are case-insensitive on input)."""
    kind = canonical_kind(body.get("kind"))
    if kind is None:
        raise ArmError(400, "InvalidKind", "The sandbox provides Azure OpenAI (kind OpenAI) and Microsoft Foundry "
                                           "(kind AIServices) accounts only.")
    if (body.get("properties") or {}).get("allowProjectManagement") and kind != "AIServices":
        raise ArmError(400, "InvalidRequestContent",
                       "allowProjectManagement is a property of AIServices (Microsoft Foundry) accounts.")
    location = body.get("location", "").replace(" ", "").lower()
    if location not in world.catalog.regions:
        raise ArmError(400, "LocationNotAvailableForResourceType",
                       f"The provided location '{location}' is not available for resource type "
                       f"'{TYPE}'. List of available regions for the resource type "
                       f"is '{','.join(world.catalog.regions)}'.")
    if str((body.get("sku") or {}).get("name", "")).upper() != "S0":
        raise ArmError(400, "InvalidSkuName", f"{kind} accounts take SKU S0.")
    deleted = world.deleted_accounts.get(name.lower())
    if deleted is not None and not restoring(body):
        raise ArmError(409, "FlagMustBeSetForRestore",
                       f"An existing resource with ID '{account_id(sub, deleted)}' has been soft-deleted. "
                       "To restore the resource, you must specify 'restore' property as 'true'. To purge the "
                       "resource, use the deletedAccounts purge API.")
    subdomain = (body.get("properties") or {}).get("customSubDomainName")
    for other in world.accounts.values():
        if subdomain and other.name.lower() != name.lower() and (other.custom_subdomain or "").lower() == subdomain.lower():
            raise ArmError(400, "CustomDomainInUse", f"Custom domain name '{subdomain}' is already in use by another resource.")
    existing = world.accounts.get(name.lower())
    if existing is not None and existing.resource_group.lower() != rg.lower():
        raise ArmError(409, "CustomDomainInUse", f"Account name '{name}' is already in use.")
    return location


def restoring(body: dict) -> bool:
    """`properties.restore: true`, which Azure's own 409 FlagMustBeSetForRestore tells users to set."""
    return (body.get("properties") or {}).get("restore") is True


def restore(world: World, sub: str, rg: str, name: str, location: str) -> Account:
    """The soft-deleted account back under its name, with its keys and endpoint; its deployments are gone
    (Learn "Recover or purge deleted Azure AI services resources": recovery restores the resource in its
    resource group and region)."""
    deleted = world.deleted_accounts[name.lower()]
    if deleted.resource_group.lower() != rg.lower() or deleted.location != location:
        raise ArmError(409, "FlagMustBeSetForRestore",
                       f"The soft-deleted resource '{account_id(sub, deleted)}' can be restored only in its own "
                       f"resource group '{deleted.resource_group}' and location '{deleted.location}'.")
    del world.deleted_accounts[name.lower()]
    deleted.deleted_at = None
    now = world.now()
    deleted.ready_at = now + world.config.timings.account_provisioning
    world.accounts[name.lower()] = deleted
    return deleted


def _identity(identity: dict | None) -> dict | None:
    """A system-assigned identity gets its ids, as ARM answers; none stays none."""
    if not identity or identity.get("type") in (None, "None"):
        return None
    return {**identity, "principalId": new_hex()[:8] + "-0000-4000-8000-" + new_hex()[:12], "tenantId": "sandbox"}


@router.put(PROVIDER_IN_GROUP + "/accounts/{name}")
async def create_or_update_account(sub: str, rg: str, name: str, request: Request, world: CurrentWorld):
    body = await request.json()
    properties = body.get("properties") or {}
    with world.lock:
        group = find_group(world, rg)
        location = check_new_account(world, sub, rg, name, body)
        if restoring(body) and name.lower() in world.deleted_accounts:
            account = restore(world, sub, rg, name, location)
            account.tags = body.get("tags") or account.tags
            if "disableLocalAuth" in properties:
                account.disable_local_auth = bool(properties["disableLocalAuth"])
            return JSONResponse(account_json(world, sub, account), 201, POLL_HEADERS)
        existing = world.accounts.get(name.lower())
        if existing is not None:
            existing.tags = body.get("tags") or {}
            existing.public_network_access = properties.get("publicNetworkAccess", existing.public_network_access)
            existing.disable_local_auth = bool(properties.get("disableLocalAuth", existing.disable_local_auth))
            existing.allow_project_management = bool(properties.get("allowProjectManagement",
                                                                    existing.allow_project_management))
            return JSONResponse(account_json(world, sub, existing), 200)
        now = world.now()
        account = Account(
            name=name, resource_group=group.name, location=location, kind=canonical_kind(body["kind"]), sku="S0",
            tags=body.get("tags") or {}, custom_subdomain=properties.get("customSubDomainName"),
            public_network_access=properties.get("publicNetworkAccess") or "Enabled",
            disable_local_auth=bool(properties.get("disableLocalAuth", False)),
            created_at=now, ready_at=now + world.config.timings.account_provisioning,
            allow_project_management=bool(properties.get("allowProjectManagement", False)),
            identity=_identity(body.get("identity")),
        )
        world.accounts[name.lower()] = account
        return JSONResponse(account_json(world, sub, account), 201, POLL_HEADERS)


@router.get(PROVIDER_IN_GROUP + "/accounts/{name}")
def get_account(sub: str, rg: str, name: str, world: CurrentWorld):
    with world.lock:
        return polled(account_json(world, sub, find_live_account(world, rg, name)))


@router.delete(PROVIDER_IN_GROUP + "/accounts/{name}")
def delete_account(sub: str, rg: str, name: str, request: Request, world: CurrentWorld):
    with world.lock:
        account = world.accounts.get(name.lower())
        if account is None or account.resource_group.lower() != rg.lower():
            return Response(status_code=204)
        soft_delete(world, account)
        operation = world.start_operation(world.config.timings.deletion)
    return accepted(request, sub, operation.id)


@router.get(PROVIDER_IN_GROUP + "/accounts")
def list_accounts_by_resource_group(sub: str, rg: str, world: CurrentWorld):
    with world.lock:
        find_group(world, rg)
        return {"value": [account_json(world, sub, a) for a in world.accounts.values()
                          if a.resource_group.lower() == rg.lower()]}


@router.get(PROVIDER_IN_SUBSCRIPTION + "/accounts")
def list_accounts(sub: str, world: CurrentWorld):
    with world.lock:
        return {"value": [account_json(world, sub, a) for a in world.accounts.values()]}


@router.post(PROVIDER_IN_GROUP + "/accounts/{name}/listkeys")
def list_keys(sub: str, rg: str, name: str, world: CurrentWorld):
    with world.lock:
        account = find_live_account(world, rg, name)
        if account.disable_local_auth:
            # As Azure answers (az cognitiveservices account keys list on such an account; Learn "Disable local
            # authentication in Azure AI services").
            raise ArmError(400, "BadRequest", "Failed to list key. disableLocalAuth is set to be true")
        return {"key1": account.key1, "key2": account.key2}


@router.get(PROVIDER_IN_SUBSCRIPTION + "/deletedaccounts")
def list_deleted_accounts(sub: str, world: CurrentWorld):
    with world.lock:
        return {"value": [account_json(world, sub, a) for a in world.deleted_accounts.values()]}


@router.get(PROVIDER_IN_SUBSCRIPTION + "/locations/{location}/resourcegroups/{rg}/deletedaccounts/{name}")
def get_deleted_account(sub: str, location: str, rg: str, name: str, world: CurrentWorld):
    with world.lock:
        return account_json(world, sub, find_deleted_account(world, location, rg, name))


@router.delete(PROVIDER_IN_SUBSCRIPTION + "/locations/{location}/resourcegroups/{rg}/deletedaccounts/{name}")
def purge_deleted_account(sub: str, location: str, rg: str, name: str, request: Request, world: CurrentWorld):
    with world.lock:
        account = find_deleted_account(world, location, rg, name)
        del world.deleted_accounts[account.name.lower()]
        operation = world.start_operation(world.config.timings.deletion)
    return accepted(request, sub, operation.id)
