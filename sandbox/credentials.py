"""Bearer tokens for the sandbox, in the shape of azure-identity credentials.

`SandboxCredential` implements the azure-core `TokenCredential` protocol (get_token / get_token_info),
so the Azure SDK clients and `openai`'s `azure_ad_token_provider` use it exactly as they would use
`DefaultAzureCredential` against Azure. A token names the audience it was issued for, and each
sandbox surface accepts only its own audience, as Azure does.
"""

from __future__ import annotations

import time

from azure.core.credentials import AccessToken, AccessTokenInfo

PREFIX = "sandbox-token"
ARM_AUDIENCE = "https://management.azure.com"
OPENAI_AUDIENCES = ("https://cognitiveservices.azure.com", "https://ai.azure.com")


def _audience(scope: str) -> str:
    return scope.removesuffix("/.default").rstrip("/")


class SandboxCredential:
    def __init__(self, subject: str = "lab-user@sandbox.local", lifetime: int = 3600):
        self.subject = subject
        self.lifetime = lifetime

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        info = self.get_token_info(*scopes)
        return AccessToken(info.token, info.expires_on)

    def get_token_info(self, *scopes: str, options: object = None) -> AccessTokenInfo:
        audience = _audience(scopes[0]) if scopes else ARM_AUDIENCE
        return AccessTokenInfo(f"{PREFIX}|{audience}|{self.subject}", int(time.time()) + self.lifetime)

    def close(self) -> None:
        pass

    def __enter__(self) -> SandboxCredential:
        return self

    def __exit__(self, *_: object) -> None:
        pass


def token_audience(authorization: str | None) -> str | None:
    """The audience of a sandbox bearer token, or None if the header holds none."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    parts = authorization[7:].strip().split("|")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    return parts[1]
