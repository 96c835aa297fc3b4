"""Permissions per identity in the Databricks twin, through databricks-sdk: secret-scope ACLs, Unity Catalog
privileges and dedicated (single-user) clusters. Every refusal is what the product meets when the cluster's user
is not the identity that deployed the lab (labctl:clusterUser).

Expected behaviour, from Databricks' documentation:
- "Secret ACLs": READ < WRITE < MANAGE; the scope's creator has MANAGE, workspace admins MANAGE on every scope.
- "Manage privileges in Unity Catalog": users start with no access to data; owners have every privilege;
  privileges are inherited from catalog to schema to volume; every workspace user has USE CATALOG on the workspace
  catalog. Reading a volume takes USE CATALOG + USE SCHEMA + READ VOLUME, writing WRITE VOLUME as well.
- "Access modes": a dedicated (single user) cluster runs the commands of its assigned user only ("Single-user
  check failed", as users report it); runs/submit's `run_as` lets a workspace admin run a job as another user.
"""

from __future__ import annotations

import io

import pytest
from databricks.sdk.errors import OperationFailed, PermissionDenied
from databricks.sdk.service import catalog, jobs
from databricks.sdk.service.workspace import AclPermission

from tests.sandbox.conftest import Workspace
from tests.sandbox.test_databricks_contract import make_volume, output_of, put_script

OTHER = "other.user@sandbox.local"
WHOAMI = """
    from databricks.sdk import WorkspaceClient
    w = WorkspaceClient()
    print("me", w.current_user.me().user_name)
    print("secret", w.dbutils.secrets.get(scope="lab", key="k"))
"""


def other_client(workspace: Workspace):
    token = workspace.sandbox.control("POST", f"/databricks/workspaces/{workspace.access['name']}/tokens",
                                      json={"user": OTHER})["token"]
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    return WorkspaceClient(config=Config(host=workspace.access["host"], token=token, auth_type="pat",
                                         retry_timeout_seconds=10))


def test_tokens_carry_their_identity(workspace):
    assert workspace.client.current_user.me().user_name == "lab.user@sandbox.local"
    assert other_client(workspace).current_user.me().user_name == OTHER


def test_a_secret_scope_is_readable_only_with_an_acl(workspace):
    w, other = workspace.client, other_client(workspace)
    w.secrets.create_scope("lab")
    w.secrets.put_secret("lab", "k", string_value="s3cret-value")
    with pytest.raises(PermissionDenied):
        other.secrets.get_secret("lab", "k")
    w.secrets.put_acl("lab", OTHER, AclPermission.READ)
    assert other.secrets.get_secret("lab", "k").value  # base64 of the value
    with pytest.raises(PermissionDenied):
        other.secrets.put_secret("lab", "k", string_value="changed")  # READ is not WRITE
    assert {a.principal: a.permission for a in w.secrets.list_acls("lab")} == {
        "lab.user@sandbox.local": AclPermission.MANAGE, OTHER: AclPermission.READ}


def test_a_volume_is_reachable_only_with_unity_catalog_privileges(workspace):
    w, other = workspace.client, other_client(workspace)
    root = make_volume(w)  # created by the admin, who owns schema and volume
    w.files.upload(f"{root}/in.txt", io.BytesIO(b"data"), overwrite=True)
    with pytest.raises(PermissionDenied, match="USE SCHEMA"):  # USE CATALOG every user has on the workspace catalog
        other.files.download(f"{root}/in.txt")
    schema = root.split("/")[2] + "." + root.split("/")[3]
    w.grants.update("schema", schema, changes=[catalog.PermissionsChange(
        principal=OTHER, add=[catalog.Privilege.USE_SCHEMA, catalog.Privilege.READ_VOLUME])])
    assert other.files.download(f"{root}/in.txt").contents.read() == b"data"
    with pytest.raises(PermissionDenied, match="WRITE VOLUME"):
        other.files.upload(f"{root}/out.txt", io.BytesIO(b"x"), overwrite=True)
    with pytest.raises(PermissionDenied):  # not the owner: cannot grant itself more
        other.grants.update("volume", f"{schema}.labdata", changes=[catalog.PermissionsChange(
            principal=OTHER, add=[catalog.Privilege.WRITE_VOLUME])])
    w.grants.update("volume", f"{schema}.labdata", changes=[catalog.PermissionsChange(
        principal=OTHER, add=[catalog.Privilege.WRITE_VOLUME])])
    other.files.upload(f"{root}/out.txt", io.BytesIO(b"x"), overwrite=True)
    assert w.files.download(f"{root}/out.txt").contents.read() == b"x"


def submit(client, cluster_id: str, run_as: str | None = None):
    return client.jobs.submit(
        run_name="whoami", run_as=jobs.JobRunAs(user_name=run_as) if run_as else None,
        tasks=[jobs.SubmitTask(task_key="main", existing_cluster_id=cluster_id, spark_python_task=jobs.SparkPythonTask(
            python_file="/Workspace/Shared/whoami.py"))])


def test_a_dedicated_cluster_runs_only_its_user_and_run_as_is_for_admins(workspace):
    w, other = workspace.client, other_client(workspace)
    w.secrets.create_scope("lab")
    w.secrets.put_secret("lab", "k", string_value="s3cret-value")
    put_script(workspace, "/Workspace/Shared/whoami.py", WHOAMI)
    cluster_id = workspace.cluster(single_user_name=OTHER)

    # The admin's own identity is not the cluster's user: the run ends before its code starts ("Run result
    # unavailable: job failed with error message Single-user check failed: ...", as users report it).
    with pytest.raises(OperationFailed, match="Single-user check failed"):
        submit(w, cluster_id).result()

    no_acl = submit(w, cluster_id, run_as=OTHER).result()  # runs as the user, who cannot read the scope yet
    assert no_acl.state.result_state == jobs.RunResultState.FAILED
    assert f"{OTHER} does not have READ permission on scope lab" in output_of(workspace, no_acl).error

    w.secrets.put_acl("lab", OTHER, AclPermission.READ)
    ran = submit(w, cluster_id, run_as=OTHER).result()
    assert ran.state.result_state == jobs.RunResultState.SUCCESS, output_of(workspace, ran).error
    assert f"me {OTHER}" in output_of(workspace, ran).logs

    with pytest.raises(PermissionDenied, match="only workspace admins"):
        submit(other, cluster_id, run_as="lab.user@sandbox.local")
