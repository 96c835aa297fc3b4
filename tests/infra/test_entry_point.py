"""infra/__main__.py, the file Pulumi runs, under the same mocks."""

import runpy
from pathlib import Path

import pulumi
import pytest

from agent.pulumi_mocks import run_with_mocks
from tests.infra.fake_azure import FakeAzure

MAIN = Path(__file__).resolve().parents[2] / "infra" / "__main__.py"


def test_entry_point_registers_the_whole_lab():
    run = run_with_mocks(
        lambda: runpy.run_path(str(MAIN)) and {}, FakeAzure(), project="labctl", stack="dev",
        config={"labctl:owner": "me@example.com"},
    )
    types = {r.type for r in run.registrations}
    assert {"azure-native:resources:ResourceGroup", "azure-native:cognitiveservices:Account",
            "azure-native:cognitiveservices:Deployment", "azure-native:databricks:Workspace",
            "databricks:index/cluster:Cluster", "databricks:index/secret:Secret"} <= types


def test_entry_point_reports_bad_config_as_a_pulumi_run_error_without_traceback():
    with pytest.raises(pulumi.RunError, match=r"^Invalid stack configuration: labctl:owner is required"):
        run_with_mocks(lambda: runpy.run_path(str(MAIN)) and {}, FakeAzure(), project="labctl", stack="dev")
