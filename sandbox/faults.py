"""Fault injection: per-route rules that answer with an error status, cut the connection, cut a body short or
add latency, each with a probability from a seeded generator so a test run is repeatable.

A rule acts `before` the twin handles the request (the request has no effect) or `after` it (the twin has
created, deleted or submitted what was asked, and the client gets an error or a cut connection instead of the
answer: "done, answer lost").

Kinds:
- status    an error status with the body the path's service sends (ARM, Azure OpenAI, Databricks; see
            sandbox.errors.injected_error_body); a 429 carries the retry headers `retry_headers` chooses.
- drop      the connection is closed with no status line and no body: clients see a connection error
            (requests: ConnectionError; httpx: RemoteProtocolError / ReadError).
- truncate  the twin acts, its own status line and headers go out, then half of the body, then the connection is
            closed (requests: ChunkedEncodingError; httpx: RemoteProtocolError). `when` does not apply: a 200 with
            a body means the twin acted. An answer without a body (HEAD, 204) cannot be cut short and is dropped.
- latency   `latency_ms` more before (or after) the twin acts. Latency rules fire independently of each other
            and of the other kinds, so "20% slower" and "2% dropped" compose.

Probabilities: in one plan, the error kinds (status, drop, truncate) whose path and method match a request (and
whose `times` is not used up) share one draw, so their rates are exact and exclusive as long as they add up to
at most 1 (rules of 10% 429 and 2.5% 500 on one path give 10% and 2.5%). Each plan (under its key) has its own
generator, which draws only for the requests its rules match, so one test's plan does not shift another's
sequence. When rules of several plans fire on one request, the plan set first wins (and only it counts).

Control routes (/_sandbox/...) are never faulted.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, Field

from sandbox.errors import injected_error_body, service_of

ERROR_KINDS = ("status", "drop", "truncate")


class FaultRule(BaseModel):
    path: str = Field(description="regular expression searched in the request path")
    method: str | None = None
    kind: Literal["status", "drop", "truncate", "latency"] = "status"
    status: int = Field(503, ge=400, le=599)
    when: Literal["before", "after"] = Field(
        "before", description="before the twin acts (no effect), or after it (the request took effect)")
    probability: float = Field(1.0, ge=0, le=1)
    times: int | None = Field(None, ge=0, description="inject at most this many times")
    latency_ms: int = Field(0, ge=0)
    retry_headers: Literal["service", "retry-after", "retry-after-ms", "ratelimit-reset", "none"] = Field(
        "service", description="headers of an injected 429: the service's own (Azure OpenAI: retry-after-ms and "
        "retry-after; ARM and Databricks: Retry-After), only one of them, only x-ratelimit-reset-requests/-tokens "
        "(as Azure OpenAI sometimes sends), or none")
    retry_after_ms: int = Field(100, ge=0, description="the wait the retry headers advise (seconds are rounded up)")


class FaultPlan(BaseModel):
    seed: int = 0
    rules: list[FaultRule] = Field(default_factory=list)


DEFAULT_KEY = "default"


@dataclass
class Decision:
    """What happens to one request: at most one error rule, and any latency rules that fired."""

    rule: FaultRule | None = None
    latencies: list[FaultRule] = field(default_factory=list)

    def delay(self, when: str) -> float:
        return sum(r.latency_ms for r in self.latencies if r.when == when) / 1000

    def __bool__(self) -> bool:
        return self.rule is not None or bool(self.latencies)


class _KeyedPlan:
    """One plan with its own seeded generator and injection counts."""

    def __init__(self, plan: FaultPlan):
        self.plan = plan
        self.random = random.Random(plan.seed)
        self.patterns = [re.compile(rule.path) for rule in plan.rules]
        self.injected = [0] * len(plan.rules)

    def _candidates(self, method: str, path: str) -> list[int]:
        found = []
        for index, (rule, pattern) in enumerate(zip(self.plan.rules, self.patterns)):
            if rule.method and rule.method.upper() != method.upper():
                continue
            if rule.times is not None and self.injected[index] >= rule.times:
                continue
            if pattern.search(path):
                found.append(index)
        return found

    def decide(self, method: str, path: str) -> tuple[list[int], int | None]:
        """The latency rules that fire and the error rule that fires (indexes), without counting them."""
        candidates = self._candidates(method, path)
        latencies = [i for i in candidates if self.plan.rules[i].kind == "latency"
                     and self.random.random() < self.plan.rules[i].probability]
        errors = [i for i in candidates if self.plan.rules[i].kind in ERROR_KINDS]
        chosen = None
        if errors:
            draw, threshold = self.random.random(), 0.0
            for index in errors:
                threshold += self.plan.rules[index].probability
                if draw < threshold:
                    chosen = index
                    break
        return latencies, chosen

    def report(self) -> dict:
        return {"plan": self.plan.model_dump(), "injected": list(self.injected), "total": sum(self.injected)}


class Faults:
    """Fault plans under keys, so that tests sharing one sandbox each set and clear their own plan.

    A request is checked against every plan, in the order the keys were set; the first error rule that fires wins,
    and every latency rule that fires adds its delay. The unkeyed control routes use the key "default".
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

    def decide(self, method: str, path: str) -> Decision:
        decision = Decision()
        with self._lock:
            for keyed in self._plans.values():
                latencies, chosen = keyed.decide(method, path)
                for index in latencies:
                    keyed.injected[index] += 1
                    decision.latencies.append(keyed.plan.rules[index])
                if chosen is not None and decision.rule is None:
                    keyed.injected[chosen] += 1
                    decision.rule = keyed.plan.rules[chosen]
        return decision

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The error rule for a request (or its first latency rule): the decision, as one rule."""
        decision = self.decide(method, path)
        return decision.rule or (decision.latencies[0] if decision.latencies else None)

    def report(self, key: str = DEFAULT_KEY) -> dict:
        with self._lock:
            keyed = self._plans.get(key)
            return keyed.report() if keyed else {"plan": FaultPlan().model_dump(), "injected": [], "total": 0}

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._plans)


def error_body(path: str, status: int) -> dict:
    """The body an injected `status` carries on `path` (kept for callers of the old name)."""
    return injected_error_body(path, status)


def retry_headers(rule: FaultRule, path: str) -> list[tuple[bytes, bytes]]:
    """The headers of an injected 429, as `rule.retry_headers` chooses."""
    if rule.status != 429 or rule.retry_headers == "none":
        return []
    milliseconds = rule.retry_after_ms
    seconds = str(max(1, math.ceil(milliseconds / 1000))).encode()
    choice = rule.retry_headers
    if choice == "service":
        choice = "both" if service_of(path) in ("aoai", None) else "retry-after"
    if choice == "ratelimit-reset":
        return [(b"x-ratelimit-reset-requests", seconds), (b"x-ratelimit-reset-tokens", seconds)]
    headers = []
    if choice in ("both", "retry-after-ms"):
        headers.append((b"retry-after-ms", str(milliseconds).encode()))
    if choice in ("both", "retry-after"):
        headers.append((b"retry-after", seconds))
    return headers


def cut_connection(send) -> bool:
    """Close the client's connection under an ASGI `send` of uvicorn, with nothing more written.

    ASGI has no message for "close without answering" (an application that returns without a response gets a
    500 from the server), so this reaches uvicorn's request cycle behind its `send` (h11 and httptools alike
    keep `transport` and `disconnected` there). Data already written is flushed first, so a body cut short
    arrives cut short. False when the server is not uvicorn."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(cycle, "disconnected"):
        return False
    cycle.disconnected = True  # uvicorn then neither answers 500 nor logs an unfinished response
    transport.close()
    return True


class FaultMiddleware:
    """ASGI middleware: applies the fault plans and lower-cases ARM path keywords before routing."""

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
        decision = Decision() if path.startswith("/_sandbox") else self.faults.decide(scope["method"], path)
        if not decision:
            return await self.app(scope, receive, send)
        if decision.delay("before"):
            await asyncio.sleep(decision.delay("before"))
        rule = decision.rule
        if rule is not None and rule.when == "before" and rule.kind != "truncate":
            return await self._inject(rule, scope, send)
        if rule is None and not decision.delay("after"):
            return await self.app(scope, receive, send)
        # The twin acts; its answer is held back, then delayed, cut short, or replaced.
        answer: list[dict] = []

        async def hold(message: dict) -> None:
            answer.append(message)

        await self.app(scope, receive, hold)
        if decision.delay("after"):
            await asyncio.sleep(decision.delay("after"))
        if rule is None:
            for message in answer:
                await send(message)
        elif rule.kind == "truncate":
            await self._truncate(answer, send, head=scope["method"] == "HEAD")
        else:
            await self._inject(rule, scope, send)

    async def _inject(self, rule: FaultRule, scope, send) -> None:
        path = scope["path"]
        if rule.kind in ("drop", "truncate"):
            if not cut_connection(send):
                raise ConnectionResetError("injected dropped connection")
            return
        api_version = parse_qs(scope.get("query_string", b"").decode()).get("api-version", [None])[0]
        seconds = max(1, math.ceil(rule.retry_after_ms / 1000))
        body = json.dumps(injected_error_body(path, rule.status, seconds, api_version)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += retry_headers(rule, path)
        await send({"type": "http.response.start", "status": rule.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _truncate(self, answer: list[dict], send, head: bool) -> None:
        start = next((m for m in answer if m["type"] == "http.response.start"), None)
        body = b"" if head else b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
        if start is None or not body:  # nothing to cut short: the connection goes without an answer
            if not cut_connection(send):
                raise ConnectionResetError("injected dropped connection")
            return
        await send(start)
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        if not cut_connection(send):
            raise ConnectionResetError("injected truncated body")
