"""`labctl:compute serverless` in the Pulumi program: no cluster (and nothing that needs one), the rest of the lab
as with a cluster, and an output that says what a serverless task installs (Jobs API 2.2 runs/submit
`environments[].spec`: `environment_version` + pip `dependencies`, docs.databricks.com/api/azure/workspace/jobs/submit)."""

import pytest

from infra.lockpins import cluster_pins
from tests.infra.conftest import deploy


@pytest.fixture(scope="module")
def serverless_lab():
    return deploy(compute="serverless")


def test_no_cluster_is_created_and_the_rest_of_the_lab_is(serverless_lab):
    assert serverless_lab.of_type("databricks:index/cluster:Cluster") == []
    for kind in ("azure-native:databricks:Workspace", "azure-native:cognitiveservices:Account",
                 "databricks:index/secretScope:SecretScope", "databricks:index/volume:Volume"):
        assert serverless_lab.of_type(kind), kind


def test_outputs_say_serverless_and_what_its_environment_installs(serverless_lab, default_lab):
    outputs = serverless_lab.outputs
    assert outputs["compute"] == "serverless" and outputs["clusterId"] is None
    environment = outputs["serverlessEnvironment"]
    # the same pins as the cluster's libraries: the labs run what the tests ran, on either compute
    assert environment["dependencies"] == cluster_pins()
    assert environment["environmentVersion"] == "2" and environment["environmentKey"]
    assert default_lab.outputs["compute"] == "cluster" and default_lab.outputs["serverlessEnvironment"] is None


def test_an_unknown_compute_is_refused():
    with pytest.raises(Exception, match="labctl:compute"):
        deploy(compute="gpu")
