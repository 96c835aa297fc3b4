"""The Azure OpenAI data plane of each sandbox account, one module per API surface:

- auth.py              which account a request is for; api-key, v1 bearer key or Entra token checks
- api_versions.py      dated api-versions served or retired; reasoning models' minimum api-version
- streaming.py         stream: true as server-sent chat.completion.chunk events, with the usage chunk
- chat.py              chat completions (dated: /openai/deployments/{deployment}/chat/completions; v1:
                       /openai/v1/chat/completions with the deployment name as `model`)
- chat_requests.py     what a chat request may contain; Azure's 400s for parameters, roles, tools, JSON mode
- responses.py         the Responses API (/openai/v1/responses and dated /openai/responses; `model` is the
                       deployment name)
- files.py             /openai/files and /openai/v1/files
- fine_tuning_jobs.py  /openai/fine_tuning/jobs and /openai/v1/fine_tuning/jobs

An account's endpoint is <sandbox>/aoai/<account>/ (Azure: https://<account>.openai.azure.com/).
"""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.aoai import chat, files, fine_tuning_jobs, responses
from sandbox.world import World

ACCOUNT_PREFIX = "/aoai/{account_name}"


def build_router(world: World) -> APIRouter:
    router = APIRouter(prefix=ACCOUNT_PREFIX)
    for surface in (chat, responses, files, fine_tuning_jobs):
        router.include_router(surface.build_router(world))
    return router
