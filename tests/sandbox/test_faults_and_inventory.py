"""Fault injection through the real SDKs, the inventory, start-up time, and loopback-only networking."""

import socket
import time

import pytest

from sandbox.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.sandbox.conftest import Lab


def test_dropped_connection_is_retried_by_the_openai_sdk(sandbox):
    lab = Lab(sandbox)
    sandbox.control("PUT", "/faults", json={"rules": [{"path": "/chat/completions$", "kind": "drop", "times": 1}]})
    raw = lab.azure_client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "Describe a teacher."}])
    assert raw.retries_taken == 1 and raw.parse().choices
    assert sandbox.control("GET", "/faults")["injected"] == [1]


def test_injected_503s_on_arm_are_survived_by_azure_core_retries(sandbox):
    sandbox.resources().resource_groups.create_or_update("rg-x", {"location": "eastus2"})
    sandbox.control("PUT", "/faults", json={"rules": [
        {"path": "/resourcegroups/rg-x$", "method": "GET", "status": 503, "times": 2}]})
    assert sandbox.resources().resource_groups.get("rg-x").name == "rg-x"
    assert sandbox.control("GET", "/faults")["injected"] == [2]


def test_faults_follow_their_probability_with_a_seed(sandbox):
    plan = {"seed": 7, "rules": [{"path": "/_never_", "status": 500}, {"path": "^/aoai/", "status": 500, "probability": 0.5}]}
    outcomes = []
    for _ in range(2):
        sandbox.control("PUT", "/faults", json=plan)
        import requests

        outcomes.append([requests.get(f"{sandbox.endpoints.data_url}/aoai/none/openai/files?api-version=x", timeout=5).status_code
                         for _ in range(40)])
    assert outcomes[0] == outcomes[1]  # same seed, same sequence
    assert 10 <= outcomes[0].count(500) <= 30


def test_latency_fault_delays_the_answer(sandbox):
    sandbox.control("PUT", "/faults", json={"rules": [{"path": "/resourcegroups$", "kind": "latency", "latency_ms": 400}]})
    started = time.monotonic()
    list(sandbox.resources().resource_groups.list())
    assert time.monotonic() - started >= 0.4


def test_inventory_lists_live_and_soft_deleted_resources(sandbox):
    lab = Lab(sandbox)
    inventory = sandbox.inventory()
    assert [g["name"] for g in inventory["resource_groups"]] == ["rg-lab"]
    assert inventory["accounts"][0]["deployments"][0]["name"] == "chat"
    lab.arm.accounts.begin_delete("rg-lab", "lab-aoai").result()
    inventory = sandbox.inventory()
    assert inventory["accounts"] == [] and [a["name"] for a in inventory["deleted_accounts"]] == ["lab-aoai"]


def test_the_sandbox_touches_only_loopback(tmp_path, monkeypatch):
    remote = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")):
            remote.append(address)
            raise OSError(f"non-loopback connection attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    server = SandboxServer(tmp_path, SandboxConfig())
    server.start()
    try:
        from tests.sandbox.conftest import Sandbox

        lab = Lab(Sandbox(server))
        assert lab.azure_client().chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "Describe a chef."}]).choices
        for sock_addr in (server.endpoints.arm_url, server.endpoints.data_url):
            assert sock_addr.split("//")[1].startswith("127.0.0.1:")
    finally:
        server.stop()
    assert remote == []
