"""Run a Pulumi program in the SDK's mock mode and record what it registered.

Pulumi's unit-testing mode replaces the engine with a `Mocks` object: no CLI, no plugins, no state.
The sandbox uses it to materialise the infra program in the emulators, the tests to inspect the
registered inputs. The stock monitor hides two things we need, the registration order with each
resource's dependencies and which inputs were marked secret, so the monitor here records them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    dependencies: list[str]
    provider: str
    parent: str
    secret_inputs: set[str] = field(default_factory=set)

    @property
    def provider_urn(self) -> str:
        # A provider reference is "<urn>::<id>".
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass
class Invocation:
    token: str
    args: dict[str, Any]
    provider: str


def _secret_keys(struct: Any) -> set[str]:
    """Top-level input names whose value is, or contains, a value marked secret."""

    def holds_secret(value: Any) -> bool:
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            fields = value.struct_value.fields
            if fields.get(rpc._special_sig_key) is not None and (
                fields[rpc._special_sig_key].string_value == rpc._special_secret_sig
            ):
                return True
            return any(holds_secret(v) for v in fields.values())
        if kind == "list_value":
            return any(holds_secret(v) for v in value.list_value.values)
        return False

    return {key for key, value in struct.fields.items() if holds_secret(value)}


def unwrap_secrets(value: Any) -> Any:
    """Plain values out of Pulumi's RPC secret wrappers, at any depth."""
    if rpc.is_rpc_secret(value):
        return unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                inputs=unwrap_secrets(rpc.deserialize_properties(request.object, keep_unknowns=False)),
                dependencies=list(request.dependencies),
                provider=request.provider,
                parent=request.parent,
                secret_inputs=_secret_keys(request.object),
            )
            with self._lock:
                self.registrations.append(registration)
        return response

    def Invoke(self, request):  # noqa: N802 (gRPC method name)
        with self._lock:
            self.invocations.append(
                Invocation(request.tok, rpc.deserialize_properties(request.args), request.provider)
            )
        return super().Invoke(request)


@dataclass
class MockedRun:
    registrations: list[Registration]
    invocations: list[Invocation]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)


def _ensure_event_loop() -> None:
    """Pulumi's runtime asks asyncio for the current event loop; after an `asyncio.run` in this thread (the labs'
    probe, when run in-process) there is none, and asyncio raises instead of making one."""
    import asyncio

    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def run_with_mocks(
    program: Callable[[], Mapping[str, Any]],
    mocks: pulumi.runtime.Mocks,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
) -> MockedRun:
    """Run `program` (which returns its stack outputs) under `mocks` and wait for every registration.

    Raises whatever the program or a mock raised, so a refusal by an emulator surfaces to the caller.
    """
    _ensure_event_loop()
    pulumi.runtime.set_all_config({key: str(value) for key, value in (config or {}).items()})
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)

    settled: dict[str, pulumi.Output] = {}

    @pulumi.runtime.test
    def run():
        settled.update({key: pulumi.Output.from_input(value) for key, value in program().items()})
        return pulumi.Output.all(*settled.values())

    run()
    resolved = {key: _sync_await(output.future()) for key, output in settled.items()}
    secret = {key for key, output in settled.items() if _sync_await(output.is_secret())}
    return MockedRun(monitor.registrations, monitor.invocations, resolved, secret)
