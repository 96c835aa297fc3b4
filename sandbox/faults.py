"""Fault injection: per-route rules that answer with an error status, drop the connection or add
latency, each with a probability from a seeded generator so a test run is repeatable.

A dropped connection is a response that announces a body and closes after part of it, which every
HTTP client reports as a broken connection. Control routes (/_sandbox/...) are never faulted.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from typing import Literal

from pydantic import BaseModel, Field


class FaultRule(BaseModel):
    path: str = Field(description="regular expression searched in the request path")
    method: str | None = None
    kind: Literal["status", "drop", "latency"] = "status"
    status: int = 503
    probability: float = Field(1.0, ge=0, le=1)
    times: int | None = Field(None, ge=0, description="inject at most this many times")
    latency_ms: int = Field(0, ge=0)


class FaultPlan(BaseModel):
    seed: int = 0
    rules: list[FaultRule] = Field(default_factory=list)


DEFAULT_KEY = "default"


class _KeyedPlan:
    """One plan with its own seeded generator and injection counts."""

    def __init__(self, plan: FaultPlan):
        self.plan = plan
        self.random = random.Random(plan.seed)
        self.patterns = [re.compile(rule.path) for rule in plan.rules]
        self.injected = [0] * len(plan.rules)

    def pick(self, method: str, path: str) -> FaultRule | None:
        for index, (rule, pattern) in enumerate(zip(self.plan.rules, self.patterns)):
            if rule.method and rule.method.upper() != method.upper():
                continue
            if not pattern.search(path):
                continue
            if rule.times is not None and self.injected[index] >= rule.times:
                continue
            if self.random.random() < rule.probability:
                self.injected[index] += 1
                return rule
        return None

    def report(self) -> dict:
        return {"plan": self.plan.model_dump(), "injected": list(self.injected)}


class Faults:
    """Fault plans under keys, so that tests sharing one sandbox each set and clear their own plan.

    A request is checked against every plan, in the order the keys were set; the first rule that fires wins.
    The unkeyed control routes use the key "default".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, _KeyedPlan] = {}

    def set(self, plan: FaultPlan, key: str = DEFAULT_KEY) -> None:
        with self._lock:
            self._plans.pop(key, None)
            if plan.rules:
                self._plans[key] = _KeyedPlan(plan)

    def clear(self, key: str | None = None) -> None:
        """Remove the plan under `key`, or every plan when `key` is None."""
        with self._lock:
            if key is None:
                self._plans.clear()
            else:
                self._plans.pop(key, None)

    def pick(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for keyed in self._plans.values():
                rule = keyed.pick(method, path)
                if rule is not None:
                    return rule
        return None

    def report(self, key: str = DEFAULT_KEY) -> dict:
        with self._lock:
            keyed = self._plans.get(key)
            return keyed.report() if keyed else {"plan": FaultPlan().model_dump(), "injected": []}

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._plans)


def error_body(path: str, status: int) -> dict:
    if path.startswith("/subscriptions"):
        code = "TooManyRequests" if status == 429 else ("ServiceUnavailable" if status == 503 else "InternalServerError")
        return {"error": {"code": code, "message": f"Injected fault {status}."}}
    if path.startswith("/api/"):
        code = "TOO_MANY_REQUESTS" if status == 429 else "TEMPORARILY_UNAVAILABLE"
        return {"error_code": code, "message": f"Injected fault {status}."}
    return {"error": {"code": str(status), "message": f"Injected fault {status}.", "param": None, "type": None}}


class FaultMiddleware:
    """ASGI middleware: applies the fault plan and lower-cases ARM path keywords before routing."""

    def __init__(self, app, faults: Faults, normalise_path=None):
        self.app = app
        self.faults = faults
        self.normalise_path = normalise_path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.normalise_path:
            scope = dict(scope, path=self.normalise_path(scope["path"]))
        path = scope["path"]
        rule = None if path.startswith("/_sandbox") else self.faults.pick(scope["method"], path)
        if rule is None:
            return await self.app(scope, receive, send)
        if rule.kind == "latency":
            await asyncio.sleep(rule.latency_ms / 1000)
            return await self.app(scope, receive, send)
        if rule.kind == "drop":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
            raise ConnectionResetError("injected dropped connection")
        body = json.dumps(error_body(path, rule.status)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if rule.status == 429:
            headers += [(b"retry-after-ms", b"100"), (b"retry-after", b"1")]
        await send({"type": "http.response.start", "status": rule.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
