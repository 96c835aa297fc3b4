"""Which dated api-versions an account's data plane serves, and which models each version can call.

- A dated-surface request (`/openai/...?api-version=...`) whose version is not in the catalog's list, or is used on
  or after its retirement date, gets 400 {"error": {"code": "BadRequest", "message": "API version not supported"}},
  the answer reported in hotovo/aider-desk#460 and spring-projects/spring-ai#3873.
- A reasoning model called with a version older than its `minApiVersion` gets 400 {"code": "BadRequest",
  "message": "Model {modelName} is enabled only for api versions <min> and later"}; Azure leaves the `{modelName}`
  placeholder unfilled (microsoft/semantic-kernel#12268, Azure/azure-sdk-for-python#40759, vercel/ai#5106).
- The v1 surface (`/openai/v1/...`) takes no api-version and is not checked.
"""

from __future__ import annotations

from fastapi import Request

from sandbox.catalog import api_version_at_least
from sandbox.errors import OpenAiError
from sandbox.world import Deployment, World


def dated_api_version(request: Request) -> str | None:
    """The request's api-version on the dated surface; None on the v1 surface."""
    if "/openai/v1/" in request.url.path:
        return None
    return request.query_params.get("api-version")


def check_api_version(world: World, request: Request) -> None:
    """Refuse a dated api-version Azure does not (or no longer) serve."""
    version = dated_api_version(request)
    if version is None:
        return
    known = world.catalog.api_version(version)
    if known is None or not known.served(world.today()):
        raise OpenAiError(400, "BadRequest", "API version not supported")


def check_model_api_version(world: World, request: Request, deployment: Deployment) -> None:
    """Refuse a model that is enabled only from a later api-version than the request's."""
    version = dated_api_version(request)
    if version is None or deployment.fine_tuned:
        return
    model = world.catalog.find(deployment.model_name, deployment.model_version)
    if model is None or model.min_api_version is None:
        return
    if not api_version_at_least(version, model.min_api_version):
        raise OpenAiError(400, "BadRequest",
                          f"Model {{modelName}} is enabled only for api versions {model.min_api_version} and later")
