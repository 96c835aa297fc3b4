"""The typed stack outputs every labctl command reads after `up` (see README, "Stack outputs").

The OpenAI key is deliberately absent: it lives in the Pulumi state and the Databricks secret scope,
and labctl reads it from there only when an operation needs it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from agent.errors import UsageError
from agent.workdir import CorruptState, no_such_stack, read_json, stack_dir, write_json


class DeploymentOutput(BaseModel):
    name: str
    model: str
    version: str | None = None
    sku: str
    capacity: int


class SecretKeys(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    endpoint: str
    api_key: str


class ServerlessEnvironment(BaseModel):
    """What a serverless lab task installs (infra.databricks_serverless): pip lines, the staged wheel added by run."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    environment_key: str
    environment_version: str
    dependencies: list[str]


class StackOutputs(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    target: Literal["cloud", "sandbox"]
    stack: str
    resource_group_name: str
    location: str
    openai_account_name: str
    openai_endpoint: str
    ai_resource_kind: Literal["OpenAI", "AIServices"] = "OpenAI"
    foundry_project_endpoint: str | None = None
    deployments: list[DeploymentOutput]
    fine_tune_base_model: str
    workspace_url: str
    workspace_resource_id: str
    compute: Literal["cluster", "serverless"] = "cluster"
    cluster_id: str | None = None  # None with compute serverless
    serverless_environment: ServerlessEnvironment | None = None
    secret_scope: str
    secret_keys: SecretKeys
    storage: Literal["volume", "dbfs"]
    data_path: str
    tags: dict[str, str] = Field(default_factory=dict)
    subscription_id: str | None = None

    @property
    def workspace_name(self) -> str:
        return self.workspace_resource_id.rstrip("/").split("/")[-1]

    def deployment(self, name: str | None = None) -> DeploymentOutput:
        if name is None:
            return self.deployments[0]
        for deployment in self.deployments:
            if deployment.name == name:
                return deployment
        raise UsageError(f"The stack has no deployment named {name!r}; it has {', '.join(d.name for d in self.deployments)}.")

    def save(self) -> None:
        write_json(stack_dir(self.stack) / "outputs.json", self.model_dump(by_alias=True))

    @classmethod
    def load(cls, stack: str) -> StackOutputs:
        missing = no_such_stack(stack)
        if missing:  # read-only: a mistyped --stack leaves no folder behind
            raise UsageError(f"{missing[0].upper()}{missing[1:]}; --stack names one.")
        path = stack_dir(stack) / "outputs.json"
        data = read_json(path)
        if data is None:
            raise UsageError(f"Stack {stack!r} is not up (it has no outputs); run `labctl up --stack {stack}` (with "
                             f"--sandbox for the sandbox) first.")
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "the file"
            raise CorruptState(path, f"is not a stack's outputs ({where}: {problem['msg'].lower()})") from None

    @classmethod
    def from_pulumi(cls, outputs: dict, *, target: str, stack: str, subscription_id: str | None) -> StackOutputs:
        clean = {k: v for k, v in outputs.items() if k != "openaiApiKey"}
        return cls.model_validate({**clean, "target": target, "stack": stack, "subscriptionId": subscription_id})
