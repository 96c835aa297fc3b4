"""A sandbox started in-process on free loopback ports, and the real SDK clients pointed at it."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from sandbox.config import SandboxConfig
from sandbox.credentials import SandboxCredential
from sandbox.server import SandboxServer


class Sandbox:
    def __init__(self, server: SandboxServer):
        self.server = server
        self.endpoints = server.endpoints
        self.sub = self.endpoints.subscription_id

    def control(self, method: str, path: str, **kwargs):
        response = requests.request(method, f"{self.endpoints.control_url()}{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def inventory(self) -> dict:
        return self.control("GET", "/inventory")

    def advance(self, seconds: float) -> None:
        self.control("POST", "/clock/advance", json={"seconds": seconds})

    def arm_kwargs(self) -> dict:
        return {"base_url": self.endpoints.arm_url, "connection_verify": self.endpoints.ca_file,
                "credential_scopes": ["https://management.azure.com/.default"]}

    def cognitive(self) -> CognitiveServicesManagementClient:
        return CognitiveServicesManagementClient(SandboxCredential(), self.sub, **self.arm_kwargs())

    def resources(self) -> ResourceManagementClient:
        return ResourceManagementClient(SandboxCredential(), self.sub, **self.arm_kwargs())


def start_sandbox(tmp_path_factory, **config) -> SandboxServer:
    server = SandboxServer(tmp_path_factory.mktemp("sandbox"), SandboxConfig(**config))
    server.start()
    return server


def catalog_day() -> dt.datetime:
    """Noon UTC on the day the twin's catalog was checked against Azure (catalog.yaml `as_of`): every model the
    catalog lists as live is live then, whatever the real date."""
    from sandbox.catalog import Catalog

    return dt.datetime.combine(Catalog.load().as_of, dt.time(12), dt.timezone.utc)


@pytest.fixture
def sandbox(tmp_path_factory):
    """A twin whose clock starts on the catalog's `as_of` day: the tests deploy Azure's models, which retire within
    months (gpt-chat-latest 2026-12-02, gpt-5-mini 2027-02-06), and test the twin's behaviour, not today's date."""
    server = start_sandbox(tmp_path_factory, start=catalog_day())
    yield Sandbox(server)
    server.stop()


class Lab:
    """An account with deployments in a sandbox, provisioned through ARM like Pulumi would."""

    def __init__(self, sandbox: Sandbox, location: str = "eastus2", deployments=(("chat", "gpt-5-mini", "2025-08-07", 10),)):
        from azure.mgmt.cognitiveservices.models import (
            Account, AccountProperties, Deployment, DeploymentModel, DeploymentProperties, Sku,
        )

        self.sandbox = sandbox
        self.location = location
        sandbox.resources().resource_groups.create_or_update("rg-lab", {"location": location})
        self.arm = sandbox.cognitive()
        self.arm.accounts.begin_create(
            "rg-lab", "lab-aoai", Account(kind="OpenAI", sku=Sku(name="S0"), location=location,
                                          properties=AccountProperties(custom_sub_domain_name="lab-aoai")),
        ).result()
        for name, model, version, capacity in deployments:
            self.arm.deployments.begin_create_or_update(
                "rg-lab", "lab-aoai", name,
                Deployment(sku=Sku(name="GlobalStandard", capacity=capacity),
                           properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=model, version=version))),
            ).result()
        self.endpoint = self.arm.accounts.get("rg-lab", "lab-aoai").properties.endpoint
        self.key = self.arm.accounts.list_keys("rg-lab", "lab-aoai").key1

    def azure_client(self, api_version: str = "2025-04-01-preview", **kwargs):
        # The gpt-5 family is served from 2025-04-01-preview on (sandbox/data/catalog.yaml, minApiVersion).
        from openai import AzureOpenAI

        return AzureOpenAI(azure_endpoint=self.endpoint, api_key=self.key, api_version=api_version, **kwargs)

    def v1_client(self, **kwargs):
        from openai import OpenAI

        return OpenAI(base_url=f"{self.endpoint}openai/v1/", api_key=self.key, **kwargs)


class Workspace:
    """A sandbox Databricks workspace reached through the real databricks-sdk over HTTPS."""

    def __init__(self, sandbox: Sandbox, name: str = "dbw-lab"):
        access = sandbox.control("POST", "/databricks/workspaces", json={"name": name})
        self.sandbox = sandbox
        self.access = access

    @property
    def client(self):
        if not hasattr(self, "_client"):
            self._client = self.make_client()
        return self._client

    def make_client(self, **config):
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        return WorkspaceClient(config=Config(host=self.access["host"], token=self.access["token"],
                                             auth_type="pat", http_timeout_seconds=30, **config))

    def cluster(self, **overrides) -> str:
        spec = {
            "cluster_name": "lab", "spark_version": "16.4.x-cpu-ml-scala2.12", "node_type_id": "Standard_D4ds_v5",
            "num_workers": 0, "autotermination_minutes": 20, "data_security_mode": "SINGLE_USER",
            "single_user_name": "lab.user@sandbox.local",
            "spark_conf": {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"},
            "custom_tags": {"ResourceClass": "SingleNode"},
        }
        spec.update(overrides)
        return self.client.api_client.do("POST", "/api/2.1/clusters/create", body=spec)["cluster_id"]


@pytest.fixture
def workspace(sandbox, monkeypatch):
    ws = Workspace(sandbox)
    # requests (under databricks-sdk) trusts the sandbox's CA through this variable, as a user would set it.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ws.access["ca_bundle"])
    return ws
