"""A Microsoft Entra ID (login.microsoftonline.com) stand-in: the client-credentials flow of service principals
that the sandbox issues, enough for azure-identity's ClientSecretCredential (through MSAL).

- GET  /{tenant}/v2.0/.well-known/openid-configuration   OpenID metadata (MSAL reads token_endpoint from it)
- POST /{tenant}/oauth2/v2.0/token                        grant_type=client_credentials, client_id, client_secret,
                                                          scope=<resource>/.default -> an access token for it
Errors as Entra sends them (Learn "Microsoft identity platform error codes"): AADSTS700016 for an unknown client
(400 unauthorized_client), AADSTS7000215 for a wrong secret (401 invalid_client).

Service principals are issued through the control API (POST /_sandbox/entra/service-principals). MSAL insists on
an https authority, so clients use the sandbox's https (ARM) address as `authority` with
`disable_instance_discovery=True`.
"""

from __future__ import annotations

import secrets
import time
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.credentials import PREFIX
from sandbox.world import World


def build_router(world: World) -> APIRouter:
    router = APIRouter()
    principals: dict[str, str] = world.extensions.setdefault("service_principals", {})  # client id -> secret

    @router.get("/{tenant}/v2.0/.well-known/openid-configuration")
    def openid_configuration(tenant: str, request: Request):
        base = f"{request.url.scheme}://{request.url.netloc}/{tenant}"
        return {"token_endpoint": f"{base}/oauth2/v2.0/token", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0", "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "token_endpoint_auth_methods_supported": ["client_secret_post"]}

    @router.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request):
        form = await request.form()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if client_id not in principals:
            return _error(400, "unauthorized_client", f"AADSTS700016: Application with identifier '{client_id}' was "
                          f"not found in the directory '{tenant}'.", 700016)
        if not secrets.compare_digest(principals[client_id], secret):
            return _error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                          "being sent in the request is the client secret value, not the client secret ID.", 7000215)
        scope = str(form.get("scope", "")).split()[0] if form.get("scope") else ""
        audience = scope.removesuffix("/.default").rstrip("/")
        return {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                "access_token": f"{PREFIX}|{audience}|{client_id}"}

    @router.post("/_sandbox/entra/service-principals")
    def issue(request: Request):
        client_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(24)
        principals[client_id] = secret
        return {"tenant_id": world.config.tenant_id, "client_id": client_id, "client_secret": secret,
                "authority_host": world.arm_url}

    return router


def _error(status: int, error: str, description: str, code: int) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description, "error_codes": [code],
                         "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                         "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}, status)
