"""What every ARM surface shares: the request's world, the caller check, path normalisation, the resource
group lookup and ARM's timestamp format."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Callable

from fastapi import Depends, Request

from sandbox.credentials import ARM_AUDIENCE, token_audience
from sandbox.errors import ArmError
from sandbox.world import ResourceGroup, World

PROVIDER_IN_GROUP = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.cognitiveservices"
PROVIDER_IN_SUBSCRIPTION = "/subscriptions/{sub}/providers/microsoft.cognitiveservices"


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


def iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def bind_world(world: World) -> Callable[[Request], None]:
    """The router-wide dependency that hands the sandbox's world to the handlers (through `CurrentWorld`)."""
    def bind(request: Request) -> None:
        request.state.world = world
    return bind


def current_world(request: Request) -> World:
    return request.state.world


CurrentWorld = Annotated[World, Depends(current_world)]


def authorise(request: Request, sub: str, world: CurrentWorld) -> None:
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


def find_group(world: World, rg: str) -> ResourceGroup:
    group = world.groups.get(rg.lower())
    if group is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    return group
