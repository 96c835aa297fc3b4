"""`labctl:compute serverless`: no cluster; each lab runs as a serverless job task whose environment installs the
lab artifact and its dependencies.

Serverless compute for jobs needs no Databricks resource of its own (it is on in every workspace of a supported
region), so this part registers nothing: it decides what the environment installs, the same pins the cluster gets
(infra.lockpins), and exports it for `labctl run`, which adds the staged wheel from the volume.

Contract (Jobs API 2.2, runs/submit; docs.databricks.com/api/azure/workspace/jobs/submit):
- `environments: [{environment_key, spec: {environment_version, dependencies}}]` on the run, `environment_key` on
  the task, and no cluster field; "For Python script, Python wheel, and dbt tasks, environment_key is required for
  serverless compute" (docs.databricks.com/dev-tools/bundles/resource-examples.html).
- `dependencies` are pip requirement lines; "a local project path (such as WSFS or UC Volumes)" is allowed, which
  is how the wheel staged in the lab volume is installed (databricks-sdk `compute.Environment.dependencies`).
- `environment_version` "2" is serverless environment version 2, Python 3.11 (docs.databricks.com/release-notes/
  serverless/environment-version/two), the Python the labs are tested on (labs/pyproject.toml requires >=3.11).
- "Access to DBFS is limited. Use Unity Catalog volumes or workspace files instead"
  (docs.databricks.com/compute/serverless/limitations): serverless takes `storage: volume` only (infra.config).
"""

from __future__ import annotations

from dataclasses import dataclass

ENVIRONMENT_KEY = "labctl"
ENVIRONMENT_VERSION = "2"


@dataclass(frozen=True)
class ServerlessArgs:
    dependencies: list[str]  # pip requirement lines, "name==version" (infra.lockpins.cluster_pins)


def environment_output(args: ServerlessArgs) -> dict:
    """The stack output `serverlessEnvironment`: `{environmentKey, environmentVersion, dependencies}`; labctl run
    submits it as the run's one environment, the staged wheel's volume path added to `dependencies`."""
    return {"environmentKey": ENVIRONMENT_KEY, "environmentVersion": ENVIRONMENT_VERSION,
            "dependencies": list(args.dependencies)}
