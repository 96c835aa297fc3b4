"""A sandbox started in-process on free loopback ports, and the real SDK clients pointed at it."""

from __future__ import annotations

import pytest
import requests
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from agent.sandbox.config import SandboxConfig
from agent.sandbox.credentials import SandboxCredential
from agent.sandbox.server import SandboxServer


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


@pytest.fixture
def sandbox(tmp_path_factory):
    server = start_sandbox(tmp_path_factory)
    yield Sandbox(server)
    server.stop()
