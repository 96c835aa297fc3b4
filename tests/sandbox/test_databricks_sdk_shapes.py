"""Every GET/LIST answer of the Databricks twin parses into databricks-sdk's own dataclass and back unchanged:
no field the SDK does not know (it would drop it silently) and no explicit null where Databricks omits an unset
field (the SDK's `as_dict` never writes one). The SDK's dataclasses are generated from Databricks' OpenAPI
specification, so they are the contract (databricks-sdk-py, `databricks/sdk/service/*.py`)."""

from __future__ import annotations

import io
from importlib.metadata import version

import pytest
from databricks.sdk.service import catalog, compute, files, iam, jobs, settings
from databricks.sdk.service import workspace as workspace_api
from databricks.sdk.service.catalog import VolumeType
from databricks.sdk.service.workspace import AclPermission, ImportFormat

from tests.sandbox.test_databricks_contract import run_script


def nulls(value, where: str = "") -> list[str]:
    if isinstance(value, dict):
        return [f"{where}.{k}" for k, v in value.items() if v is None] + [
            p for k, v in value.items() for p in nulls(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in nulls(v, f"{where}[{n}]")]
    return []


def drop_empty(value):
    """Empty lists and maps: the SDK's `as_dict` leaves them out, and so may an answer."""
    if isinstance(value, dict):
        return {k: drop_empty(v) for k, v in value.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    return value


def unknown(raw, parsed, where: str = "") -> list[str]:
    """Paths in `raw` that did not survive the SDK's round trip (unknown fields, or values it reads otherwise)."""
    if isinstance(raw, dict) and isinstance(parsed, dict):
        return [p for k, v in raw.items() for p in
                ([f"{where}.{k}"] if k not in parsed else unknown(v, parsed[k], f"{where}.{k}"))]
    if isinstance(raw, list) and isinstance(parsed, list) and len(raw) == len(parsed):
        return [p for n, (a, b) in enumerate(zip(raw, parsed)) for p in unknown(a, b, f"{where}[{n}]")]
    return [] if raw == parsed else [f"{where} = {raw!r} (read as {parsed!r})"]


def round_trip_problems(raw: dict, shape, what: str) -> list[str]:
    raw = drop_empty(raw)
    return [f"{what}: null {p}" for p in nulls(raw)] + [
        f"{what}: {p}" for p in unknown(raw, drop_empty(shape.from_dict(raw).as_dict()))]


@pytest.fixture
def furnished(workspace):
    """A workspace with one of everything the product creates, and one finished run."""
    w = workspace.client
    catalog_name = w.settings.default_namespace.get().namespace.value
    w.schemas.create(name="lab", catalog_name=catalog_name, comment="labctl")
    w.volumes.create(catalog_name=catalog_name, schema_name="lab", name="data", volume_type=VolumeType.MANAGED)
    w.files.upload(f"/Volumes/{catalog_name}/lab/data/x.txt", io.BytesIO(b"x"), overwrite=True)
    w.secrets.create_scope("lab")
    w.secrets.put_secret("lab", "k", string_value="value-1")
    w.secrets.put_acl("lab", "other@sandbox.local", AclPermission.READ)
    w.workspace.upload("/Shared/a.py", io.BytesIO(b"print(1)\n"), format=ImportFormat.AUTO)
    w.dbfs.upload("dbfs:/FileStore/x.txt", io.BytesIO(b"x"))
    cluster_id = workspace.cluster()
    w.api_client.do("POST", "/api/2.0/libraries/install",
                    body={"cluster_id": cluster_id, "libraries": [{"pypi": {"package": f"requests=={version('requests')}"}}]})
    run = run_script(workspace, cluster_id, "print('hello')\n")
    return workspace, catalog_name, cluster_id, run


def test_get_and_list_answers_are_the_sdks_shapes(furnished):
    workspace, catalog_name, cluster_id, run = furnished
    do = workspace.client.api_client.do
    schema, volume = f"{catalog_name}.lab", f"{catalog_name}.lab.data"
    task_run = run.tasks[0].run_id
    calls = [
        ("/api/2.1/clusters/get", {"cluster_id": cluster_id}, compute.ClusterDetails),
        ("/api/2.1/clusters/list", None, compute.ListClustersResponse),
        ("/api/2.1/clusters/spark-versions", None, compute.GetSparkVersionsResponse),
        ("/api/2.0/libraries/cluster-status", {"cluster_id": cluster_id}, compute.ClusterLibraryStatuses),
        ("/api/2.2/jobs/runs/get", {"run_id": run.run_id}, jobs.Run),
        ("/api/2.2/jobs/runs/list", None, jobs.ListRunsResponse),
        ("/api/2.2/jobs/runs/get-output", {"run_id": task_run}, jobs.RunOutput),
        ("/api/2.0/secrets/scopes/list", None, workspace_api.ListScopesResponse),
        ("/api/2.0/secrets/list", {"scope": "lab"}, workspace_api.ListSecretsResponse),
        ("/api/2.0/secrets/acls/list", {"scope": "lab"}, workspace_api.ListAclsResponse),
        ("/api/2.0/workspace/get-status", {"path": "/Shared/a.py"}, workspace_api.ObjectInfo),
        ("/api/2.0/workspace/list", {"path": "/Shared"}, workspace_api.ListResponse),
        ("/api/2.0/dbfs/get-status", {"path": "dbfs:/FileStore/x.txt"}, files.FileInfo),
        ("/api/2.0/dbfs/list", {"path": "dbfs:/FileStore"}, files.ListStatusResponse),
        (f"/api/2.0/fs/directories/Volumes/{catalog_name}/lab/data", None, files.ListDirectoryResponse),
        ("/api/2.1/unity-catalog/catalogs", None, catalog.ListCatalogsResponse),
        (f"/api/2.1/unity-catalog/catalogs/{catalog_name}", None, catalog.CatalogInfo),
        (f"/api/2.1/unity-catalog/schemas/{schema}", None, catalog.SchemaInfo),
        (f"/api/2.1/unity-catalog/volumes/{volume}", None, catalog.VolumeInfo),
        ("/api/2.1/unity-catalog/volumes", {"catalog_name": catalog_name, "schema_name": "lab"},
         catalog.ListVolumesResponseContent),
        ("/api/2.1/unity-catalog/tables", {"catalog_name": catalog_name, "schema_name": "lab"},
         catalog.ListTablesResponse),
        (f"/api/2.1/unity-catalog/permissions/catalog/{catalog_name}", None, catalog.GetPermissionsResponse),
        ("/api/2.1/unity-catalog/current-metastore-assignment", None, catalog.MetastoreAssignment),
        ("/api/2.0/settings/types/default_namespace_ws/names/default", None, settings.DefaultNamespaceSetting),
        ("/api/2.0/preview/scim/v2/Me", None, iam.User),
    ]
    problems = [p for path, query, shape in calls for p in round_trip_problems(do("GET", path, query=query), shape, path)]
    assert problems == [], "\n".join(problems)
