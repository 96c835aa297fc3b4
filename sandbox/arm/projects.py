"""Microsoft.CognitiveServices/accounts/projects: the projects of a Microsoft Foundry resource (an account of kind
AIServices with `allowProjectManagement: true`), as api-version 2025-04-01-preview introduced them and 2025-06-01
made them GA (azure-mgmt-cognitiveservices `projects` operations; pulumi-azure-native `cognitiveservices.Project`,
"Uses Azure REST API version 2025-06-01").

A project lives in its account's region and goes with it (a soft-deleted account keeps none). Its Foundry
endpoint is `https://<subdomain>.services.ai.azure.com/api/projects/<project>` in Azure; the twin serves every
surface of an account at one loopback URL, so the project's endpoint is that URL + `api/projects/<project>`.
The refusal of a project under an account that does not allow project management uses the twin's own wording:
Azure's exact error code for it was not found in the docs.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from sandbox.arm.accounts import TYPE as ACCOUNT_TYPE, _identity, find_live_account
from sandbox.arm.common import PROVIDER_IN_GROUP, CurrentWorld
from sandbox.arm.operations import accepted
from sandbox.errors import ArmError, not_found
from sandbox.world import Account, World

TYPE = f"{ACCOUNT_TYPE}/projects"
PROJECT_NAME_LIMIT = 64
FIRST_API_VERSION = "2025-04-01-preview"  # the first api-version with accounts/projects


def api_version_with_projects(request: Request) -> None:
    """ARM's answer to a resource type the api-version does not have (the wording of unknown_endpoints.py)."""
    version = request.query_params.get("api-version", "")
    if version[:10] < FIRST_API_VERSION[:10]:
        raise ArmError(400, "InvalidResourceType",
                       f"The resource type 'accounts/projects' could not be found in the namespace "
                       f"'Microsoft.CognitiveServices' for api version '{version}'. The supported api-versions "
                       f"start at '{FIRST_API_VERSION}'.")


router = APIRouter(dependencies=[Depends(api_version_with_projects)])


def project_json(world: World, sub: str, account: Account, project: dict) -> dict:
    endpoint = f"{world.account_endpoint(account.name)}api/projects/{project['name']}"
    return {
        "id": (f"/subscriptions/{sub}/resourceGroups/{account.resource_group}/providers/{ACCOUNT_TYPE}/"
               f"{account.name}/projects/{project['name']}"),
        "name": f"{account.name}/{project['name']}",
        "type": TYPE,
        "location": project["location"],
        "tags": project["tags"],
        **({"identity": project["identity"]} if project["identity"] else {}),
        "properties": {
            "provisioningState": "Succeeded",
            "displayName": project.get("displayName"),
            "description": project.get("description"),
            "endpoints": {"AI Foundry API": endpoint},
            "isDefault": project["isDefault"],
        },
    }


def _account(world: World, rg: str, name: str) -> Account:
    account = find_live_account(world, rg, name)
    if account.kind != "AIServices" or not account.allow_project_management:
        raise ArmError(400, "InvalidRequestContent",
                       f"Account '{name}' does not allow project management: projects need an account of kind "
                       f"AIServices with properties.allowProjectManagement set to true.")
    return account


@router.put(PROVIDER_IN_GROUP + "/accounts/{name}/projects/{project}")
async def create_or_update_project(sub: str, rg: str, name: str, project: str, request: Request,
                                   world: CurrentWorld):
    body = await request.json()
    properties = body.get("properties") or {}
    if not 2 <= len(project) <= PROJECT_NAME_LIMIT or not project.replace("-", "").replace("_", "").isalnum():
        raise ArmError(400, "InvalidResourceName", f"Project name '{project}' is 2-64 letters, digits, '-' or '_'.")
    with world.lock:
        account = _account(world, rg, name)
        location = (body.get("location") or account.location).replace(" ", "").lower()
        if location != account.location:
            raise ArmError(400, "LocationMismatch", f"A project is created in its account's region "
                                                    f"'{account.location}', not '{location}'.")
        existing = account.projects.get(project.lower())
        record = {
            "name": project, "location": location, "tags": body.get("tags") or {},
            "identity": existing["identity"] if existing else _identity(body.get("identity")),
            "displayName": properties.get("displayName"), "description": properties.get("description"),
            "isDefault": existing["isDefault"] if existing else not account.projects,
        }
        account.projects[project.lower()] = record
        return JSONResponse(project_json(world, sub, account, record), 200 if existing else 201)


@router.get(PROVIDER_IN_GROUP + "/accounts/{name}/projects/{project}")
def get_project(sub: str, rg: str, name: str, project: str, world: CurrentWorld):
    with world.lock:
        account = find_live_account(world, rg, name)
        record = account.projects.get(project.lower())
        if record is None:
            raise not_found(TYPE, f"{name}/{project}")
        return project_json(world, sub, account, record)


@router.get(PROVIDER_IN_GROUP + "/accounts/{name}/projects")
def list_projects(sub: str, rg: str, name: str, world: CurrentWorld):
    with world.lock:
        account = find_live_account(world, rg, name)
        return {"value": [project_json(world, sub, account, p) for p in account.projects.values()]}


@router.delete(PROVIDER_IN_GROUP + "/accounts/{name}/projects/{project}")
def delete_project(sub: str, rg: str, name: str, project: str, request: Request, world: CurrentWorld):
    with world.lock:
        account = world.accounts.get(name.lower())
        if account is None or account.resource_group.lower() != rg.lower() or project.lower() not in account.projects:
            return Response(status_code=204)
        del account.projects[project.lower()]
        operation = world.start_operation(world.config.timings.deletion)
    return accepted(request, sub, operation.id)
