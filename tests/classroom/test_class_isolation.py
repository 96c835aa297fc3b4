"""Per-learner identity and isolation in the twin: each learner's notebooks run as that learner on their dedicated
cluster, and a learner cannot read another learner's secrets or volume.

Needs the twin's identities (a token per user, secret-scope ACLs, Unity Catalog grants, dedicated clusters that run
their user's commands only: issue 17's branch); skipped where the twin has none. Expected behaviour: Databricks
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
    if answer.status_code in (404, 405):
        pytest.skip("the twin has no identities on this branch yet (issue 17's branch adds them)")
    answer.raise_for_status()
    access = labctl.control("GET", f"/databricks/workspaces/{workspace}")
    import os

    os.environ["REQUESTS_CA_BUNDLE"] = access["ca_bundle"]
    return WorkspaceClient(config=Config(host=access["host"], token=answer.json()["token"], auth_type="pat"))


def test_learners_run_as_themselves_and_cannot_read_each_other(labctl, tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("ada@example.com\ngrace@example.com\n", encoding="utf-8")
    # Before anything is created: does this twin issue tokens per user? (A POST-only route answers GET with 405.)
    probe = requests.get(f"{labctl.endpoints['data_url']}/_sandbox/databricks/workspaces/none/tokens", timeout=10)
    if probe.status_code == 404:
        pytest.skip("the twin has no identities on this branch yet (issue 17's branch adds them)")
    labctl("class", "up", "--sandbox", "--class", "iso", "--roster", str(roster))
    try:
        outputs = {s: labctl.json("status", "--stack", s)["outputs"] for s in ("iso-01", "iso-02")}
        ada_home = _as(labctl, "iso-01", "ada@example.com")
        ada_elsewhere = _as(labctl, "iso-02", "ada@example.com")
        # Her own secret scope and volume: readable (and writable) by her.
        assert ada_home.secrets.get_secret(outputs["iso-01"]["secretScope"], "openai-key").value
        mine = f"{outputs['iso-01']['dataPath']}/notebooks/note.txt"
        ada_home.files.upload(mine, io.BytesIO(b"mine"), overwrite=True)
        assert ada_home.files.download(mine).contents.read() == b"mine"
        # Another learner's: neither.
        with pytest.raises(PermissionDenied):
            ada_elsewhere.secrets.get_secret(outputs["iso-02"]["secretScope"], "openai-key")
        theirs = f"{outputs['iso-02']['dataPath']}/notebooks/note.txt"
        with pytest.raises(PermissionDenied):
            ada_elsewhere.files.upload(theirs, io.BytesIO(b"not mine"), overwrite=True)
        with pytest.raises(PermissionDenied):
            ada_elsewhere.files.download(f"{outputs['iso-02']['dataPath']}/notebooks/note.txt")

        # Each learner's notebooks run as that learner on their dedicated cluster (run_as), and write into
        # their own volume.
        verified = labctl.json("class", "verify", "--class", "iso")
        assert verified["ok"], verified
        results = verified["learners"][0]["runs"][1]["result"]["results"]
        assert results.startswith(outputs["iso-01"]["dataPath"])
        assert json.loads(ada_home.files.download(results).contents.read())["rows"]
    finally:
        labctl("class", "down", "--class", "iso", "--yes")
    assert labctl.inventory_of("iso-01") == EMPTY and labctl.inventory_of("iso-02") == EMPTY
