"""The Databricks workspace, single-node cluster, secret scope and storage of the labs."""

import importlib.metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement  # pytest's own dependency
from packaging.utils import canonicalize_name

from tests.infra.conftest import deploy
from tests.infra.fake_azure import API_KEY, CURRENT_USER, SUBSCRIPTION

WORKSPACE = "azure-native:databricks:Workspace"
CLUSTER = "databricks:index/cluster:Cluster"
PROVIDER = "pulumi:providers:databricks"


def test_workspace_is_premium_in_the_same_group_and_region(default_lab):
    workspace = default_lab.one(WORKSPACE).inputs
    account = default_lab.one("azure-native:cognitiveservices:Account").inputs
    assert workspace["sku"] == {"name": "premium"}
    assert workspace["resourceGroupName"] == account["resourceGroupName"] == "rg-labctl-dev"
    assert workspace["location"] == account["location"] == "eastus2"
    assert workspace["workspaceName"] == "dbw-labctl-dev"


def test_workspace_uses_hybrid_compute_with_a_managed_resource_group(default_lab):
    workspace = default_lab.one(WORKSPACE).inputs
    assert workspace["computeMode"] == "Hybrid"
    assert workspace["managedResourceGroupId"] == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-labctl-dev-databricks"


def test_cluster_is_single_node_ml_lts_d4ds_v5_without_photon(default_lab):
    cluster = default_lab.one(CLUSTER).inputs
    assert cluster["sparkVersion"] == "18.x-cpu-ml-scala2.13"  # 18 LTS ML: MLflow 3 preinstalled
    assert cluster["nodeTypeId"] == "Standard_D4ds_v5"
    assert cluster["runtimeEngine"] == "STANDARD"
    assert cluster["numWorkers"] == 0
    assert cluster["sparkConf"] == {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"}
    assert cluster["customTags"]["ResourceClass"] == "SingleNode"


def test_cluster_is_single_user_and_auto_terminates_after_20_minutes(default_lab):
    cluster = default_lab.one(CLUSTER).inputs
    assert cluster["dataSecurityMode"] == "SINGLE_USER"
    assert cluster["singleUserName"] == CURRENT_USER
    assert cluster["autoterminationMinutes"] == 20
    run = deploy(clusterUser="someone@example.com", autoterminationMinutes=45, sparkVersion="17.3.x-cpu-ml-scala2.13")
    cluster = run.one(CLUSTER).inputs
    assert cluster["singleUserName"] == "someone@example.com"
    assert cluster["autoterminationMinutes"] == 45
    assert cluster["sparkVersion"] == "17.3.x-cpu-ml-scala2.13"


LAB_ARTIFACT = Path(__file__).resolve().parents[2] / "labs" / "pyproject.toml"


def test_cluster_libraries_are_lab_dependencies_at_the_versions_the_tests_ran(default_lab):
    packages = [lib["pypi"]["package"] for lib in default_lab.one(CLUSTER).inputs["libraries"]]
    assert all(p.count("==") == 1 for p in packages)
    pinned = dict(package.split("==") for package in packages)
    assert len(pinned) == len(packages)
    declared = tomllib.loads(LAB_ARTIFACT.read_text())["project"]["dependencies"]
    # Only what the runtime lacks or ships below the labs' floor (test_cluster_libraries.py): a subset.
    assert {canonicalize_name(p) for p in pinned} <= {canonicalize_name(Requirement(d).name) for d in declared}
    # The oracle is this test environment (`uv sync --frozen`): the cluster installs the versions the tests ran with.
    installed = {name: importlib.metadata.version(name) for name in pinned}
    assert pinned == installed
    assert "vadersentiment==3.3.2" in packages  # no ML runtime preinstalls it
    assert not any(p.startswith(("pulumi", "typer", "azure-mgmt")) for p in packages)


def test_every_databricks_resource_and_invoke_uses_the_workspace_provider(default_lab):
    provider = default_lab.one(PROVIDER)
    workspace = default_lab.one(WORKSPACE)
    assert provider.inputs["host"] == "https://adb-1234567890123456.7.azuredatabricks.net"
    assert provider.inputs["azureWorkspaceResourceId"] == f"/subscriptions/{SUBSCRIPTION}/workspaces/dbw-labctl-dev"
    assert workspace.urn in provider.dependencies
    inside = [r for r in default_lab.registrations if r.type.startswith("databricks:")]
    assert {r.type.split(":")[-1] for r in inside} == {"Cluster", "SecretScope", "Secret", "Schema", "Volume"}
    for resource in inside:
        assert resource.provider_urn == provider.urn, resource.name
    for invoke in default_lab.invocations:
        if invoke.token.startswith("databricks:"):
            assert invoke.provider.rsplit("::", 1)[0] == provider.urn


def test_secret_scope_holds_endpoint_and_key_as_secrets(default_lab):
    scope = default_lab.one("databricks:index/secretScope:SecretScope").inputs
    assert scope["name"] == "labctl"
    secrets = {s.inputs["key"]: s for s in default_lab.of_type("databricks:index/secret:Secret")}
    assert set(secrets) == {"openai-endpoint", "openai-key"}
    assert secrets["openai-key"].inputs["stringValue"] == API_KEY
    assert "stringValue" in secrets["openai-key"].secret_inputs
    assert secrets["openai-endpoint"].inputs["stringValue"] == "https://labctl-dev-x7k2q9.openai.azure.com/"
    assert all(s.inputs["scope"] == "labctl" for s in secrets.values())


def test_unity_catalog_volume_in_the_workspace_catalog_for_lab_data(default_lab):
    # New workspaces get a workspace catalog and no `main` ("Automatic enablement of Unity Catalog", Azure
    # Databricks docs); labctl names it at creation through ARM's defaultCatalog properties (API 2026-01-01).
    workspace = default_lab.one("azure-native:databricks:Workspace").inputs
    assert workspace["defaultCatalog"] == {"initialName": "dbw_labctl_dev", "initialType": "UnityCatalog"}
    schema = default_lab.one("databricks:index/schema:Schema").inputs
    volume = default_lab.one("databricks:index/volume:Volume").inputs
    assert (schema["catalogName"], schema["name"]) == ("dbw_labctl_dev", "labctl_dev")
    assert schema["forceDestroy"] is True  # `down` takes the labs' tables with it
    assert (volume["catalogName"], volume["schemaName"], volume["name"]) == ("dbw_labctl_dev", "labctl_dev", "labdata")
    assert volume["volumeType"] == "MANAGED"
    assert default_lab.outputs["dataPath"] == "/Volumes/dbw_labctl_dev/labctl_dev/labdata"


def test_an_explicit_catalog_is_honoured_and_each_stack_has_its_own_schema():
    # `main` is metastore-wide where it exists: two stacks in one region must not share a schema in it,
    # or one stack's `down` (force_destroy) deletes the other's volume.
    paths = {stack: deploy(stack, catalog="main").outputs["dataPath"] for stack in ("alice", "bob-2")}
    assert paths == {"alice": "/Volumes/main/labctl_alice/labdata", "bob-2": "/Volumes/main/labctl_bob_2/labdata"}
    assert deploy(catalog="shared", schemaName="mine").outputs["dataPath"] == "/Volumes/shared/mine/labdata"


def test_the_lab_data_is_always_a_unity_catalog_volume(default_lab):
    assert default_lab.outputs["storage"] == "volume"
    assert default_lab.outputs["dataPath"].startswith("/Volumes/")


PARTS = {
    "labctl:databricks:Workspace": {"azure-native:databricks:Workspace", PROVIDER},
    "labctl:databricks:Compute": {CLUSTER},
    "labctl:databricks:Secrets": {"databricks:index/secretScope:SecretScope", "databricks:index/secret:Secret"},
    "labctl:databricks:Storage": {"databricks:index/schema:Schema", "databricks:index/volume:Volume"},
}


def test_the_lab_is_composed_of_four_parts_each_holding_its_resources(default_lab):
    lab = default_lab.one("labctl:azure:DatabricksLab")
    for part_type, resource_types in PARTS.items():
        part = default_lab.one(part_type)
        assert part.parent == lab.urn, part_type
        children = {r.type for r in default_lab.registrations if r.parent == part.urn}
        assert children == resource_types, part_type


def test_resources_moved_into_the_parts_keep_an_alias_to_their_old_parent(monkeypatch):
    # Before the split they were children of DatabricksLab; without the alias `pulumi up` on such a stack
    # would replace them, workspace included. The recorder keeps no aliases, so read them off the requests.
    from agent.pulumi_mocks import RecordingMonitor

    aliases: dict[str, list[str]] = {}
    register = RecordingMonitor.RegisterResource

    def recording(self, request):
        aliases[request.name] = [a.spec.parentUrn for a in request.aliases if a.spec.parentUrn]
        return register(self, request)

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", recording)
    run = deploy()
    lab = run.one("labctl:azure:DatabricksLab")
    moved = [r for r in run.registrations if any(r.type in types for types in PARTS.values())]
    assert len(moved) == 8
    for resource in moved:
        assert aliases[resource.name] == [lab.urn], resource.name
    assert aliases["openai-account"] == []


def test_a_cluster_user_other_than_the_deployer_gets_the_scope_and_the_unity_catalog_privileges_the_labs_need():
    # A dedicated cluster runs the labs as its user, who can read no secret scope and no Unity Catalog object
    # without an ACL or a grant ("Secret ACLs", "Manage privileges in Unity Catalog").
    run = deploy(clusterUser="learner@example.com")
    acl = run.one("databricks:index/secretAcl:SecretAcl").inputs
    assert (acl["scope"], acl["principal"], acl["permission"]) == ("labctl", "learner@example.com", "READ")
    grants = {g.name: g.inputs for g in run.of_type("databricks:index/grant:Grant")}
    assert all(g["principal"] == "learner@example.com" for g in grants.values())
    by_securable = {next(k for k in ("catalog", "schema", "volume") if k in g): sorted(g["privileges"])
                    for g in grants.values()}
    assert by_securable == {"catalog": ["USE_CATALOG"], "schema": ["CREATE_TABLE", "USE_SCHEMA"],
                            "volume": ["READ_VOLUME", "WRITE_VOLUME"]}
    assert next(g for g in grants.values() if "catalog" in g)["catalog"] == "dbw_labctl_dev"


def test_the_deployer_as_cluster_user_needs_no_grants(default_lab):
    assert default_lab.of_type("databricks:index/grant:Grant") == []
    assert default_lab.of_type("databricks:index/secretAcl:SecretAcl") == []
