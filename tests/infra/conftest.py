from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from agent.pulumi_mocks import MockedRun, run_with_mocks
from infra.config import read_pulumi_config
from infra.program import build_lab
from tests.infra.fake_azure import FakeAzure

NOW = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.timezone.utc)


def deploy(stack: str = "dev", **settings: Any) -> MockedRun:
    """Run the infra program under mocks with `labctl:<key>` config (structured values as JSON)."""
    settings.setdefault("owner", "lab.owner@example.com")
    config = {
        f"labctl:{key}": value if isinstance(value, str) else json.dumps(value) for key, value in settings.items()
    }
    return run_with_mocks(
        lambda: build_lab(read_pulumi_config(), stack, NOW), FakeAzure(), project="labctl", stack=stack, config=config
    )


@pytest.fixture(scope="module")
def default_lab() -> MockedRun:
    return deploy()
