"""Which account a data-plane request is for, and whether its key or Entra token lets it in."""

from __future__ import annotations

from fastapi import Request

from sandbox.aoai.api_versions import check_api_version
from sandbox.credentials import OPENAI_AUDIENCES, token_audience
from sandbox.errors import OpenAiError
from sandbox.world import Account, World

INVALID_KEY = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
               "key for an active subscription and use a correct regional API endpoint for your resource.")


def account_for(world: World, request: Request, account_name: str) -> Account:
    """The account, once the request has shown an account key (api-key header, or a bearer key on v1) or an
    Entra token for Cognitive Services; a dated-surface request also needs an api-version."""
    account = world.find_account(account_name)
    if account is None or world.now() < account.ready_at:
        raise OpenAiError(404, "404", "Resource not found")
    key, audience = _credentials(request)
    if key is not None:
        _check_key(account, key)
    elif audience not in OPENAI_AUDIENCES:
        raise OpenAiError(401, "PermissionDenied",
                          "Access token is missing, invalid, audience is incorrect, or have expired.")
    dated = "/openai/v1/" not in request.url.path
    if dated and "api-version" not in request.query_params:
        raise OpenAiError(404, "404", "Resource not found")
    check_api_version(world, request)
    return account


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """(account key, Entra token audience) presented by the request."""
    key = request.headers.get("api-key")
    authorization = request.headers.get("authorization") or ""
    audience = token_audience(authorization)
    if key is None and audience is None and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()  # the v1 API also takes the account key as a bearer token
    return key, audience


def _check_key(account: Account, key: str) -> None:
    if account.disable_local_auth:
        # Azure answers 401 with this code when an account with disableLocalAuth gets an api-key (Learn
        # "Disable local authentication in Azure AI services": key requests are refused once it is set).
        raise OpenAiError(401, "AuthenticationTypeDisabled", "Key based authentication is disabled for this resource.")
    if key not in account.keys():
        raise OpenAiError(401, "401", INVALID_KEY)
