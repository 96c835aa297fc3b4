"""Microsoft.Resources/resourceGroups: create or update, update (PATCH tags), get, check existence (HEAD), list, delete (which takes
the accounts and any extension's resources in the group with it, unless an extension's guard, such as a Databricks
deny assignment, forbids it), and list the resources in a group (`managedBy` is answered for a managed group)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.arm.accounts import account_json, soft_delete
from sandbox.arm.common import CurrentWorld, find_group
from sandbox.arm.operations import accepted
from sandbox.errors import ArmError
from sandbox.world import ResourceGroup

GROUP = "/subscriptions/{sub}/resourcegroups/{rg}"

router = APIRouter()


def group_json(sub: str, group: ResourceGroup) -> dict:
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{group.name}",
        "name": group.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": group.location,
        "tags": group.tags,
        **({"managedBy": group.managed_by} if group.managed_by else {}),
        "properties": {"provisioningState": "Succeeded"},
    }


def listed_resource_json(sub: str, group: ResourceGroup, resource: dict) -> dict:
    """A resource the twin only lists, as ARM's GenericResourceExpanded names it."""
    return {"id": f"/subscriptions/{sub}/resourceGroups/{group.name}/providers/{resource['type']}/{resource['name']}",
            "name": resource["name"], "type": resource["type"], "location": resource.get("location") or group.location,
            "tags": resource.get("tags") or {}}


@router.put(GROUP)
async def create_or_update_group(sub: str, rg: str, request: Request, world: CurrentWorld):
    body = await request.json()
    with world.lock:
        existing = world.groups.get(rg.lower())
        if existing and existing.location != body.get("location", existing.location):
            raise ArmError(409, "InvalidResourceGroupLocation",
                           f"Invalid resource group location '{body.get('location')}'. The Resource group already "
                           f"exists in location '{existing.location}'.")
        group = ResourceGroup(rg, body["location"], body.get("tags") or {}, existing.created_at if existing else world.now())
        if existing:  # what manages the group and what it holds are not the PUT's to change
            group.managed_by, group.resources = existing.managed_by, existing.resources
        world.groups[rg.lower()] = group
        return JSONResponse(group_json(sub, group), 200 if existing else 201)


@router.patch(GROUP)
async def update_group(sub: str, rg: str, request: Request, world: CurrentWorld):
    """ResourceGroups_Update: "If a field is unspecified, the current value will be retained"; `tags` replaces
    the group's tag set (Resource Groups - Update, learn.microsoft.com/rest/api/resources/resource-groups/update;
    tags at most 50, names 512 characters, values 256, per "Tag resources" limits)."""
    body = await request.json()
    tags = body.get("tags")
    if tags is not None:
        if not isinstance(tags, dict) or len(tags) > 50:
            raise ArmError(400, "InvalidTagCount" if isinstance(tags, dict) else "InvalidRequestContent",
                           "A resource group can have at most 50 tags, given as an object of names to values.")
        for name, value in tags.items():
            if len(name) > 512 or len(str(value or "")) > 256:
                raise ArmError(400, "InvalidTagNameOrValue" if len(name) <= 512 else "InvalidTagName",
                               f"The tag '{name[:64]}' is too long: names take up to 512 characters, values 256.")
    with world.lock:
        group = find_group(world, rg)
        location = body.get("location")
        if location and location.replace(" ", "").lower() != group.location.replace(" ", "").lower():
            raise ArmError(409, "InvalidResourceGroupLocation",
                           f"Invalid resource group location '{location}'. The Resource group already exists in "
                           f"location '{group.location}'.")
        if tags is not None:
            group.tags = {name: str(value) for name, value in tags.items()}
        return group_json(sub, group)


@router.get(GROUP)
def get_group(sub: str, rg: str, world: CurrentWorld):
    with world.lock:
        return group_json(sub, find_group(world, rg))


@router.head(GROUP)
def check_group_existence(sub: str, rg: str, world: CurrentWorld):
    return Response(status_code=204 if rg.lower() in world.groups else 404)


@router.get("/subscriptions/{sub}/resourcegroups")
def list_groups(sub: str, world: CurrentWorld):
    with world.lock:
        return {"value": [group_json(sub, g) for g in world.groups.values()]}


@router.delete(GROUP)
def delete_group(sub: str, rg: str, request: Request, world: CurrentWorld):
    with world.lock:
        group = find_group(world, rg)
        for guard in world.extensions.get("group_delete_guards", []):
            guard(sub, group)  # raises ArmError when something (a deny assignment) forbids the deletion
        for account in [a for a in world.accounts.values() if a.resource_group.lower() == rg.lower()]:
            soft_delete(world, account)
        for hook in world.extensions.get("group_delete_hooks", []):
            hook(group.name)
        del world.groups[rg.lower()]
        operation = world.start_operation(world.config.timings.deletion)
    return accepted(request, sub, operation.id)


@router.get(GROUP + "/resources")
def list_group_resources(sub: str, rg: str, world: CurrentWorld):
    with world.lock:
        find_group(world, rg)
        value = [account_json(world, sub, a) for a in world.accounts.values() if a.resource_group.lower() == rg.lower()]
        for lister in world.extensions.get("group_resource_listers", []):
            value.extend(lister(sub, rg))
        value.extend(listed_resource_json(sub, world.groups[rg.lower()], r) for r in world.groups[rg.lower()].resources)
        return {"value": [{k: r[k] for k in ("id", "name", "type", "location", "tags") if k in r} for r in value]}
