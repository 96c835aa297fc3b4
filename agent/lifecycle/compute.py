"""Where a lab run executes: on the stack's cluster (`labctl:compute cluster`) or as a serverless job task
(`labctl:compute serverless`). `labctl run` asks this module for the compute part of each submission and nothing
else differs between the two.

Jobs API 2.2 runs/submit (docs.databricks.com/api/azure/workspace/jobs/submit): a task on a cluster names
`existing_cluster_id` and attaches the wheel as a `libraries` entry; a serverless task names no cluster but an
`environment_key` of one of the run's `environments`, whose `spec.dependencies` are pip requirement lines, here
the pins from the stack (infra.databricks_serverless) and the staged wheel's path in the volume ("For Python
script, Python wheel, and dbt tasks, environment_key is required for serverless compute",
docs.databricks.com/dev-tools/bundles/resource-examples.html).
"""

from __future__ import annotations

from collections.abc import Callable

from agent.outputs import StackOutputs


def make_ready(w, outputs: StackOutputs, progress: Callable[[str], None]) -> None:
    """Start the cluster if it is not running (and wait for it); serverless compute has nothing to start."""
    if outputs.compute == "serverless":
        progress("serverless compute: each lab runs as a serverless job task, no cluster to start")
        return
    progress(f"cluster {outputs.cluster_id}: making sure it is running")
    w.clusters.ensure_cluster_is_running(outputs.cluster_id)


def submission(outputs: StackOutputs, wheel: str) -> tuple[dict, dict]:
    """(the task's compute fields, the run's compute fields) for `w.jobs.submit`, as databricks-sdk objects.

    `wheel` is the staged artifact's path in the lab volume (`<dataPath>/wheels/<hash>/<file>.whl`)."""
    from databricks.sdk.service import compute, jobs

    if outputs.compute == "serverless":
        environment = outputs.serverless_environment
        if environment is None:
            raise ValueError("the stack's outputs have compute serverless but no serverlessEnvironment; run `labctl up`")
        spec = compute.Environment(environment_version=environment.environment_version,
                                   dependencies=[wheel, *environment.dependencies])
        return ({"environment_key": environment.environment_key},
                {"environments": [jobs.JobEnvironment(environment_key=environment.environment_key, spec=spec)]})
    return {"existing_cluster_id": outputs.cluster_id, "libraries": [compute.Library(whl=wheel)]}, {}


# Azure regions with serverless compute for notebooks and jobs: the "Serverless availability" table of
# learn.microsoft.com/azure/databricks/resources/feature-region-support, which is the authority. NOT yet checked
# row by row against the page (only its other tables could be read when this was written): verify and update. No vCPU quota is involved: serverless compute runs in Databricks'
# own subscription, so preflight checks the region only.
SERVERLESS_REGIONS = frozenset("""
    australiaeast brazilsouth canadacentral centralindia centralus eastus eastus2 francecentral germanywestcentral
    japaneast koreacentral northcentralus northeurope norwayeast southcentralus southeastasia swedencentral
    switzerlandnorth uaenorth uksouth westeurope westus westus3
""".split())


def region_check(compute: str) -> Callable[[str], str | None] | None:
    """For preflight: with serverless compute, a function saying why a region cannot run it (None when it can);
    with a cluster, None (the cluster's VM quota is not checked by preflight)."""
    if compute != "serverless":
        return None

    def check(region: str) -> str | None:
        if region in SERVERLESS_REGIONS:
            return None
        return (f"serverless compute for jobs is not offered in {region} (Azure Databricks' feature region support); "
                f"choose another region or labctl:compute cluster")

    return check


def serverless_cost_item(prices: dict, hours: float) -> tuple[str, str, float]:
    """(item, basis, USD) of serverless job compute for `hours` of lab runs, from the price table's optional
    `serverless: {dbu_per_hour, dbu_price}` section (agent/data/prices.yaml); billed only while a run runs."""
    table = prices.get("serverless") or {}
    dbu, rate = float(table.get("dbu_per_hour", 0)), float(table.get("dbu_price", 0))
    return ("serverless DBUs", f"{hours:.2f} h x {dbu} DBU/h x ${rate}/DBU (jobs serverless; no idle time)",
            hours * dbu * rate)
