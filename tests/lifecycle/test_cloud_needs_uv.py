"""`labctl up` on Azure needs a uv binary: Pulumi's uv toolchain runs `uv sync` before the program. Without one
on PATH, labctl says so in one sentence before any stack is opened."""

from __future__ import annotations

import pytest

from agent.errors import LabctlError
from agent.lifecycle import updown
from tests.lifecycle.test_cloud_path import fake_auto  # noqa: F401  (fixture)


def test_up_without_uv_on_path_is_one_sentence_and_opens_no_stack(fake_auto, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(LabctlError) as refused:
        updown.up("dev", False, ["azure-native:subscriptionId=sub"], print)
    assert refused.value.message.startswith("`labctl up` needs uv on PATH")
    assert refused.value.message.count(". ") == 0 and refused.value.message.endswith("rerun.")
    assert fake_auto["stacks"] == {}  # nothing was opened, let alone created


def test_pulumis_uv_sync_is_kept_from_installing_the_dev_group(fake_auto):  # noqa: F811
    # Pulumi's uv toolchain runs `uv sync` before the program; `UV_NO_DEV=1` is uv's --no-dev (uv docs,
    # environment variables), so the first cloud `up` does not pull the sandbox and pyspark in.
    updown.up("dev", False, ["owner=me@example.com", "azure-native:subscriptionId=sub"], print)
    assert fake_auto["env"]["UV_NO_DEV"] == "1"
