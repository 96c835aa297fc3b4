"""The subset of Azure Resource Manager the product calls: resource groups, Cognitive Services accounts
(with soft delete and purge), deployments (one operation at a time per account), model catalog, usages.

Long-running operations answer the way azure-core's ARM poller expects: a PUT returns the resource
with a non-terminal provisioningState and the poller reads it back until it settles; a DELETE returns
202 with a Location that answers 202 until the operation is over.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from sandbox.catalog import usage_name
from sandbox.credentials import ARM_AUDIENCE, token_audience
from sandbox.errors import ArmError, not_found
from sandbox.fine_tuning import job_status
from sandbox.world import Account, Deployment, ResourceGroup, World

CS = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.cognitiveservices"
CS_SUB = "/subscriptions/{sub}/providers/microsoft.cognitiveservices"
POLL_HEADERS = {"Retry-After-Ms": "100"}  # azure-core polls after this delay instead of its 30 s default


def normalise_arm_path(path: str) -> str:
    """ARM paths are case-insensitive in their keywords (resourceGroups, providers, namespaces, types)."""
    if not path.lower().startswith("/subscriptions/"):
        return path
    segments = path.split("/")
    out, expect_keyword, namespace_next = [], True, False
    for segment in segments[1:]:
        if namespace_next:
            out.append(segment.lower())
            namespace_next, expect_keyword = False, True
        elif expect_keyword:
            out.append(segment.lower())
            namespace_next = segment.lower() == "providers"
            expect_keyword = False
        else:
            out.append(segment)
            expect_keyword = True
    return "/" + "/".join(out)


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def build_router(world: World) -> APIRouter:
    def authorise(request: Request, sub: str) -> None:
        audience = token_audience(request.headers.get("authorization"))
        if audience is None:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or invalid.")
        if audience != ARM_AUDIENCE:
            raise ArmError(401, "InvalidAuthenticationTokenAudience",
                           f"The access token has been obtained for wrong audience or resource '{audience}'.")
        if "api-version" not in request.query_params:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        if sub != world.config.subscription_id:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")

    router = APIRouter(dependencies=[Depends(authorise)])

    # Resource groups -----------------------------------------------------------------------------

    def group_json(sub: str, group: ResourceGroup) -> dict:
        return {
            "id": f"/subscriptions/{sub}/resourceGroups/{group.name}",
            "name": group.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": group.location,
            "tags": group.tags,
            "properties": {"provisioningState": "Succeeded"},
        }

    def find_group(rg: str) -> ResourceGroup:
        group = world.groups.get(rg.lower())
        if group is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return group

    @router.put("/subscriptions/{sub}/resourcegroups/{rg}")
    async def put_group(sub: str, rg: str, request: Request):
        body = await request.json()
        with world.lock:
            existing = world.groups.get(rg.lower())
            if existing and existing.location != body.get("location", existing.location):
                raise ArmError(409, "InvalidResourceGroupLocation",
                               f"Invalid resource group location '{body.get('location')}'. The Resource group already "
                               f"exists in location '{existing.location}'.")
            group = ResourceGroup(rg, body["location"], body.get("tags") or {}, existing.created_at if existing else world.now())
            world.groups[rg.lower()] = group
            return JSONResponse(group_json(sub, group), 200 if existing else 201)

    @router.get("/subscriptions/{sub}/resourcegroups/{rg}")
    def get_group(sub: str, rg: str):
        with world.lock:
            return group_json(sub, find_group(rg))

    @router.head("/subscriptions/{sub}/resourcegroups/{rg}")
    def head_group(sub: str, rg: str):
        return Response(status_code=204 if rg.lower() in world.groups else 404)

    @router.get("/subscriptions/{sub}/resourcegroups")
    def list_groups(sub: str):
        with world.lock:
            return {"value": [group_json(sub, g) for g in world.groups.values()]}

    @router.delete("/subscriptions/{sub}/resourcegroups/{rg}")
    def delete_group(sub: str, rg: str, request: Request):
        with world.lock:
            group = find_group(rg)
            for account in [a for a in world.accounts.values() if a.resource_group.lower() == rg.lower()]:
                soft_delete(account)
            for hook in world.extensions.get("group_delete_hooks", []):
                hook(group.name)
            del world.groups[rg.lower()]
            operation = world.start_operation(world.config.timings.deletion)
        return accepted(request, sub, operation.id)

    @router.get("/subscriptions/{sub}/resourcegroups/{rg}/resources")
    def list_group_resources(sub: str, rg: str):
        with world.lock:
            find_group(rg)
            value = [account_json(sub, a) for a in world.accounts.values() if a.resource_group.lower() == rg.lower()]
            for lister in world.extensions.get("group_resource_listers", []):
                value.extend(lister(sub, rg))
            return {"value": [{k: r[k] for k in ("id", "name", "type", "location", "tags") if k in r} for r in value]}

    @router.get("/subscriptions/{sub}/operationresults/{operation_id}")
    def operation_result(sub: str, operation_id: str, request: Request):
        operation = world.operations.get(operation_id)
        if operation is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{operation_id}' was not found.")
        if world.now() < operation.done_at:
            return accepted(request, sub, operation_id)
        return Response(status_code=204)

    def accepted(request: Request, sub: str, operation_id: str) -> Response:
        base = str(request.base_url).rstrip("/")
        location = f"{base}/subscriptions/{sub}/operationresults/{operation_id}?api-version=2025-04-01"
        return Response(status_code=202, headers={"Location": location, **POLL_HEADERS})

    def polled(resource: dict) -> JSONResponse:
        """A resource read back by a poller: while it is not settled, tell the poller to come back soon."""
        settled = resource["properties"]["provisioningState"] in ("Succeeded", "Failed", "Canceled")
        return JSONResponse(resource, 200, None if settled else POLL_HEADERS)

    # Accounts ------------------------------------------------------------------------------------

    def account_json(sub: str, account: Account) -> dict:
        state = "Succeeded" if world.now() >= account.ready_at else "Creating"
        properties: dict[str, Any] = {
            "provisioningState": state,
            "endpoint": world.account_endpoint(account.name),
            "endpoints": {"OpenAI Language Model Instance API": world.account_endpoint(account.name)},
            "internalId": account.internal_id,
            "customSubDomainName": account.custom_subdomain,
            "publicNetworkAccess": account.public_network_access,
            "disableLocalAuth": account.disable_local_auth,
            "dateCreated": _iso(account.created_at),
        }
        if account.deleted_at is not None:
            properties["deletionDate"] = _iso(account.deleted_at)
            properties["scheduledPurgeDate"] = _iso(account.deleted_at + 48 * 3600)
        rg_id = f"/subscriptions/{sub}/resourceGroups/{account.resource_group}"
        resource_id = (
            f"/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{account.location}/resourceGroups/"
            f"{account.resource_group}/deletedAccounts/{account.name}"
            if account.deleted_at is not None
            else f"{rg_id}/providers/Microsoft.CognitiveServices/accounts/{account.name}"
        )
        return {
            "id": resource_id,
            "name": account.name,
            "type": "Microsoft.CognitiveServices/accounts",
            "location": account.location,
            "kind": account.kind,
            "sku": {"name": account.sku},
            "tags": account.tags,
            "etag": f'"{account.internal_id[:8]}"',
            "properties": properties,
        }

    def find_live_account(rg: str, name: str) -> Account:
        account = world.accounts.get(name.lower())
        if account is None or account.resource_group.lower() != rg.lower():
            raise not_found("Microsoft.CognitiveServices/accounts", name)
        return account

    def soft_delete(account: Account) -> None:
        account.deleted_at = world.now()
        account.deployments.clear()
        del world.accounts[account.name.lower()]
        world.deleted_accounts[account.name.lower()] = account

    @router.put(CS + "/accounts/{name}")
    async def put_account(sub: str, rg: str, name: str, request: Request):
        body = await request.json()
        properties = body.get("properties") or {}
        with world.lock:
            find_group(rg)
            if body.get("kind") != "OpenAI":
                raise ArmError(400, "InvalidKind", "The sandbox provides Azure OpenAI accounts only (kind OpenAI).")
            location = body.get("location", "").replace(" ", "").lower()
            if location not in world.catalog.regions:
                raise ArmError(400, "LocationNotAvailableForResourceType",
                               f"The provided location '{location}' is not available for resource type "
                               f"'Microsoft.CognitiveServices/accounts'. List of available regions for the resource type "
                               f"is '{','.join(world.catalog.regions)}'.")
            if (body.get("sku") or {}).get("name") != "S0":
                raise ArmError(400, "InvalidSkuName", "Azure OpenAI accounts take SKU S0.")
            deleted = world.deleted_accounts.get(name.lower())
            if deleted is not None:
                raise ArmError(409, "FlagMustBeSetForRestore",
                               f"An existing resource with ID '{account_json(sub, deleted)['id']}' has been soft-deleted. "
                               "To restore the resource, you must specify 'restore' property as 'true'. To purge the "
                               "resource, use the deletedAccounts purge API.")
            subdomain = properties.get("customSubDomainName")
            for other in world.accounts.values():
                if subdomain and other.name.lower() != name.lower() and (other.custom_subdomain or "").lower() == subdomain.lower():
                    raise ArmError(400, "CustomDomainInUse",
                                   f"Custom domain name '{subdomain}' is already in use by another resource.")
            existing = world.accounts.get(name.lower())
            if existing is not None and existing.resource_group.lower() != rg.lower():
                raise ArmError(409, "CustomDomainInUse", f"Account name '{name}' is already in use.")
            if existing is not None:
                existing.tags = body.get("tags") or {}
                existing.public_network_access = properties.get("publicNetworkAccess", existing.public_network_access)
                existing.disable_local_auth = bool(properties.get("disableLocalAuth", existing.disable_local_auth))
                return JSONResponse(account_json(sub, existing), 200)
            now = world.now()
            account = Account(
                name=name, resource_group=find_group(rg).name, location=location, kind="OpenAI", sku="S0",
                tags=body.get("tags") or {}, custom_subdomain=subdomain,
                public_network_access=properties.get("publicNetworkAccess") or "Enabled",
                disable_local_auth=bool(properties.get("disableLocalAuth", False)),
                created_at=now, ready_at=now + world.config.timings.account_provisioning,
            )
            world.accounts[name.lower()] = account
            return JSONResponse(account_json(sub, account), 201, POLL_HEADERS)

    @router.get(CS + "/accounts/{name}")
    def get_account(sub: str, rg: str, name: str):
        with world.lock:
            return polled(account_json(sub, find_live_account(rg, name)))

    @router.delete(CS + "/accounts/{name}")
    def delete_account(sub: str, rg: str, name: str, request: Request):
        with world.lock:
            account = world.accounts.get(name.lower())
            if account is None or account.resource_group.lower() != rg.lower():
                return Response(status_code=204)
            soft_delete(account)
            operation = world.start_operation(world.config.timings.deletion)
        return accepted(request, sub, operation.id)

    @router.get(CS + "/accounts")
    def list_accounts_in_group(sub: str, rg: str):
        with world.lock:
            find_group(rg)
            return {"value": [account_json(sub, a) for a in world.accounts.values() if a.resource_group.lower() == rg.lower()]}

    @router.get(CS_SUB + "/accounts")
    def list_accounts(sub: str):
        with world.lock:
            return {"value": [account_json(sub, a) for a in world.accounts.values()]}

    @router.post(CS + "/accounts/{name}/listkeys")
    def list_keys(sub: str, rg: str, name: str):
        with world.lock:
            account = find_live_account(rg, name)
            return {"key1": account.key1, "key2": account.key2}

    @router.get(CS_SUB + "/deletedaccounts")
    def list_deleted(sub: str):
        with world.lock:
            return {"value": [account_json(sub, a) for a in world.deleted_accounts.values()]}

    @router.get(CS_SUB + "/locations/{location}/resourcegroups/{rg}/deletedaccounts/{name}")
    def get_deleted(sub: str, location: str, rg: str, name: str):
        with world.lock:
            account = world.deleted_accounts.get(name.lower())
            if account is None or account.location != location.lower() or account.resource_group.lower() != rg.lower():
                raise not_found("Microsoft.CognitiveServices/deletedAccounts", name)
            return account_json(sub, account)

    @router.delete(CS_SUB + "/locations/{location}/resourcegroups/{rg}/deletedaccounts/{name}")
    def purge(sub: str, location: str, rg: str, name: str, request: Request):
        with world.lock:
            account = world.deleted_accounts.get(name.lower())
            if account is None or account.location != location.lower() or account.resource_group.lower() != rg.lower():
                raise not_found("Microsoft.CognitiveServices/deletedAccounts", name)
            del world.deleted_accounts[name.lower()]
            operation = world.start_operation(world.config.timings.deletion)
        return accepted(request, sub, operation.id)

    # Deployments ---------------------------------------------------------------------------------

    def deployment_json(sub: str, account: Account, deployment: Deployment) -> dict:
        state = "Succeeded" if world.now() >= deployment.ready_at else "Creating"
        account_id = f"/subscriptions/{sub}/resourceGroups/{account.resource_group}/providers/Microsoft.CognitiveServices/accounts/{account.name}"
        return {
            "id": f"{account_id}/deployments/{deployment.name}",
            "name": deployment.name,
            "type": "Microsoft.CognitiveServices/accounts/deployments",
            "sku": {"name": deployment.sku_name, "capacity": deployment.capacity},
            "tags": deployment.tags,
            "systemData": {"createdAt": _iso(deployment.created_at), "createdByType": "User"},
            "properties": {
                "provisioningState": state,
                "model": {"format": "OpenAI", "name": deployment.model_name, "version": deployment.model_version},
                "versionUpgradeOption": deployment.version_upgrade_option,
                "raiPolicyName": deployment.rai_policy_name,
                "capabilities": {"chatCompletion": "true"},
                "rateLimits": [
                    {"key": "request", "renewalPeriod": 10, "count": deployment.capacity},
                    {"key": "token", "renewalPeriod": 60, "count": deployment.capacity * 1000},
                ],
            },
        }

    def ensure_idle(account: Account) -> None:
        if world.now() < account.busy_until:
            raise ArmError(409, "RequestConflict",
                           f"Another operation is being performed on the parent resource "
                           f"'/subscriptions/{world.config.subscription_id}/resourceGroups/{account.resource_group}/"
                           f"providers/Microsoft.CognitiveServices/accounts/{account.name}'. Please try again later.")

    def used_capacity(location: str, usage: str, excluding: tuple[str, str] | None = None) -> int:
        total = 0
        for account in world.accounts.values():
            if account.location != location:
                continue
            for deployment in account.deployments.values():
                if deployment.usage_name == usage and (account.name.lower(), deployment.name.lower()) != excluding:
                    total += deployment.capacity
        return total

    def resolve_model(account: Account, model: dict, sku: str) -> tuple[str, str, str, bool, bool]:
        """(version, usage name, encoding, reasoning, fine-tuned) for a requested model, or Azure's refusal."""
        name, version = model.get("name"), model.get("version")
        if model.get("format", "OpenAI") != "OpenAI" or not name:
            raise ArmError(400, "InvalidResourceProperties", "The model format must be OpenAI and the model name is required.")
        fine_tuned = next((j for j in account.jobs.values() if j.fine_tuned_model == name), None)
        if fine_tuned is not None:
            if job_status(world, fine_tuned) != "succeeded":
                raise ArmError(400, "InvalidResourceProperties", f"The fine-tuned model '{name}' is not ready.")
            if sku not in world.catalog.fine_tuned_deployment.skus:
                raise ArmError(400, "InvalidResourceProperties",
                               f"SKU '{sku}' is not supported for fine-tuned models; use one of "
                               f"{', '.join(world.catalog.fine_tuned_deployment.skus)}.")
            base = world.catalog.find_base(fine_tuned.model)
            if sku == "Standard" and (base is None or account.location not in base.fine_tuned_standard_regions):
                raise ArmError(400, "InvalidResourceProperties",
                               f"Standard deployments of fine-tuned {fine_tuned.model} models are not available in "
                               f"'{account.location}'; use GlobalStandard or DeveloperTier.")
            return version or "1", usage_name(sku, f"{base.name if base else fine_tuned.model}-finetune"), \
                (base.encoding if base else "o200k_base"), False, True
        entry = world.catalog.find(name, version) if version else world.catalog.default_version(name, world.today())
        if entry is None:
            raise ArmError(400, "DeploymentModelNotSupported",
                           f"The model 'Format:OpenAI,Name:{name},Version:{version}' is not supported.")
        if entry.retired(world.today()):
            raise ArmError(400, "ServiceModelDeprecated",
                           f"The model 'Format:OpenAI,Name:{entry.name},Version:{entry.version}' has been deprecated "
                           f"since {entry.inference.isoformat()}.")
        if sku not in entry.skus:
            raise ArmError(400, "InvalidResourceProperties",
                           f"The specified SKU '{sku}' for model '{entry.name} {entry.version}' is not supported in "
                           f"this region '{account.location}'.")
        return entry.version, usage_name(sku, entry.name), entry.encoding, entry.reasoning, False

    @router.put(CS + "/accounts/{name}/deployments/{deployment_name}")
    async def put_deployment(sub: str, rg: str, name: str, deployment_name: str, request: Request):
        body = await request.json()
        sku = body.get("sku") or {}
        properties = body.get("properties") or {}
        with world.lock:
            account = find_live_account(rg, name)
            ensure_idle(account)
            sku_name = sku.get("name", "Standard")
            capacity = int(sku.get("capacity") or 1)
            version, usage, encoding, reasoning, fine_tuned = resolve_model(account, properties.get("model") or {}, sku_name)
            key = (account.name.lower(), deployment_name.lower())
            limit = world.catalog.quota_limit(account.location, usage)
            used = used_capacity(account.location, usage, excluding=key)
            if used + capacity > limit:
                raise ArmError(400, "InsufficientQuota",
                               f"This operation require {capacity} new capacity in quota {usage}, which is bigger than "
                               f"the current available capacity {max(0, limit - used)}. The current quota usage is "
                               f"{used} and the quota limit is {limit} for quota {usage}.")
            now = world.now()
            ready = now + world.config.timings.deployment_provisioning
            existing = account.deployments.get(deployment_name.lower())
            deployment = Deployment(
                name=deployment_name, model_name=properties["model"]["name"], model_version=version,
                sku_name=sku_name, capacity=capacity, version_upgrade_option=properties.get("versionUpgradeOption"),
                rai_policy_name=properties.get("raiPolicyName"), tags=body.get("tags") or {}, usage_name=usage,
                encoding=encoding, reasoning=reasoning, created_at=existing.created_at if existing else now,
                ready_at=ready, fine_tuned=fine_tuned,
            )
            account.deployments[deployment_name.lower()] = deployment
            account.limiters.pop(deployment_name.lower(), None)
            account.busy_until = ready
            return JSONResponse(deployment_json(sub, account, deployment), 200 if existing else 201, POLL_HEADERS)

    @router.get(CS + "/accounts/{name}/deployments/{deployment_name}")
    def get_deployment(sub: str, rg: str, name: str, deployment_name: str):
        with world.lock:
            account = find_live_account(rg, name)
            deployment = account.deployments.get(deployment_name.lower())
            if deployment is None:
                raise not_found("Microsoft.CognitiveServices/accounts/deployments", f"{name}/{deployment_name}")
            return polled(deployment_json(sub, account, deployment))

    @router.get(CS + "/accounts/{name}/deployments")
    def list_deployments(sub: str, rg: str, name: str):
        with world.lock:
            account = find_live_account(rg, name)
            return {"value": [deployment_json(sub, account, d) for d in account.deployments.values()]}

    @router.delete(CS + "/accounts/{name}/deployments/{deployment_name}")
    def delete_deployment(sub: str, rg: str, name: str, deployment_name: str, request: Request):
        with world.lock:
            account = find_live_account(rg, name)
            if deployment_name.lower() not in account.deployments:
                return Response(status_code=204)
            ensure_idle(account)
            del account.deployments[deployment_name.lower()]
            account.limiters.pop(deployment_name.lower(), None)
            operation = world.start_operation(world.config.timings.deletion)
            account.busy_until = operation.done_at
        return accepted(request, sub, operation.id)

    # Catalog and quota ---------------------------------------------------------------------------

    @router.get(CS_SUB + "/locations/{location}/models")
    def list_models(sub: str, location: str):
        location = location.lower()
        if location not in world.catalog.regions:
            return {"value": []}
        value = []
        for model in world.catalog.models:
            capabilities = {"chatCompletion": "true", "completion": "false"}
            deprecation = {"inference": f"{model.inference.isoformat()}T00:00:00Z"}
            if model.fine_tune is not None:
                capabilities["fineTune"] = "true"
                deprecation["fineTune"] = f"{model.fine_tune[world.config.customer].isoformat()}T00:00:00Z"
            value.append({
                "kind": "OpenAI",
                "skuName": "S0",
                "model": {
                    "format": "OpenAI",
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
            })
        return {"value": value}

    @router.get(CS_SUB + "/locations/{location}/usages")
    def list_usages(sub: str, location: str):
        location = location.lower()
        names = sorted({usage_name(sku, m.name) for m in world.catalog.models for sku in m.skus})
        with world.lock:
            return {"value": [
                {
                    "name": {"value": name, "localizedValue": f"Tokens Per Minute (thousands) - {name}"},
                    "currentValue": used_capacity(location, name),
                    "limit": world.catalog.quota_limit(location, name),
                    "unit": "Count",
                }
                for name in names
            ]}

    return router
