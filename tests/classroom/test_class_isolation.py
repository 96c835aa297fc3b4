"""Per-learner identity and isolation in the twin: each learner's notebooks run as that learner on their dedicated
cluster, and a learner cannot read another learner's secrets or volume.

The learners are `--learners 2 --user-pattern learner{n:02d}@example.com`, as a hosted-lab tenant numbers its users.
The twin gives a token per user and enforces secret-scope ACLs, Unity Catalog grants and dedicated clusters that
run their user's commands only. Expected behaviour: Databricks
"Secret ACLs" (a user without READ on a scope cannot get its secrets: PERMISSION_DENIED), Unity Catalog privileges
(READ VOLUME is needed to read a volume's files) and "Access modes" (a dedicated cluster runs one user's commands)."""

import io
import json

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import PermissionDenied

from tests.lifecycle.conftest import EMPTY


def _as(labctl, stack: str, user: str) -> WorkspaceClient:
    """`user`'s own client in the workspace of `stack` (the twin's token selects the workspace)."""
    workspace = f"dbw-labctl-{stack}"
    answer = requests.post(f"{labctl.endpoints['data_url']}/_sandbox/databricks/workspaces/{workspace}/tokens",
                           json={"user": user}, timeout=10)
    answer.raise_for_status()
    access = labctl.control("GET", f"/databricks/workspaces/{workspace}")
    import os

    os.environ["REQUESTS_CA_BUNDLE"] = access["ca_bundle"]
    return WorkspaceClient(config=Config(host=access["host"], token=answer.json()["token"], auth_type="pat"))


def test_learners_run_as_themselves_and_cannot_read_each_other(labctl):
    labctl("class", "up", "--sandbox", "--class", "iso", "--learners", "2", "--user-pattern", "learner{n:02d}@example.com")
    try:
        outputs = {s: labctl.json("status", "--stack", s)["outputs"] for s in ("iso-01", "iso-02")}
        mine_client = _as(labctl, "iso-01", "learner01@example.com")
        elsewhere_client = _as(labctl, "iso-02", "learner01@example.com")
        # The learner's own secret scope and volume: readable (and writable) by them.
        assert mine_client.secrets.get_secret(outputs["iso-01"]["secretScope"], "openai-key").value
        mine = f"{outputs['iso-01']['dataPath']}/notebooks/note.txt"
        mine_client.files.upload(mine, io.BytesIO(b"mine"), overwrite=True)
        assert mine_client.files.download(mine).contents.read() == b"mine"
        # Another learner's: neither.
        with pytest.raises(PermissionDenied):
            elsewhere_client.secrets.get_secret(outputs["iso-02"]["secretScope"], "openai-key")
        theirs = f"{outputs['iso-02']['dataPath']}/notebooks/note.txt"
        with pytest.raises(PermissionDenied):
            elsewhere_client.files.upload(theirs, io.BytesIO(b"not mine"), overwrite=True)
        with pytest.raises(PermissionDenied):
            elsewhere_client.files.download(f"{outputs['iso-02']['dataPath']}/notebooks/note.txt")

        # Each learner's notebooks run as that learner on their dedicated cluster (run_as), and write into
        # their own volume.
        verified = labctl.json("class", "verify", "--class", "iso")
        assert verified["ok"], verified
        results = verified["learners"][0]["runs"][1]["result"]["results"]
        assert results.startswith(outputs["iso-01"]["dataPath"])
        assert json.loads(mine_client.files.download(results).contents.read())["rows"]
    finally:
        labctl("class", "down", "--class", "iso", "--yes")
    assert labctl.inventory_of("iso-01") == EMPTY and labctl.inventory_of("iso-02") == EMPTY
