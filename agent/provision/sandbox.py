"""`up` and `destroy` in the sandbox: the infra program itself, run under Pulumi's mocks, with a mocks
class that materialises every registered resource in the sandbox through the real SDKs.

So the program's inputs meet the emulators' validation (the one-deployment-at-a-time 409 included:
mocks are called from Pulumi's worker threads as resources register). What was created is recorded in
<stack>/sandbox-state.json in registration order; destroy walks it backwards, like Pulumi would.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Callable
from typing import Any

import pulumi
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.cognitiveservices.models import (
    Account, AccountProperties, Deployment, DeploymentModel, DeploymentProperties, Identity, Project,
    ProjectProperties, Sku,
)
from azure.mgmt.resource.resources.models import GenericResource
from azure.mgmt.resource.resources.models import Sku as ResourceSku
from databricks.sdk import WorkspaceClient  # noqa: F401  (imported here: mocks run on several threads)
from databricks.sdk.errors import NotFound, PermissionDenied, ResourceAlreadyExists, ResourceDoesNotExist, Unauthenticated
from databricks.sdk.service.catalog import VolumeType

from agent.errors import Interrupted, LabctlError
from agent.outputs import StackOutputs
from agent.provision.interrupt import Stop, graceful_interrupt
from agent.pulumi_mocks import unwrap_secrets
from agent.target import Target
from agent.workdir import read_sandbox_state, stack_dir, write_json

DATABRICKS_ARM_API = "2026-01-01"
Progress = Callable[[str], None]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class SandboxState:
    """The resources this stack created in the sandbox, in creation order."""

    def __init__(self, stack: str):
        self.path = stack_dir(stack) / "sandbox-state.json"
        self._lock = threading.Lock()
        self.entries: list[dict] = read_sandbox_state(self.path)["resources"]

    def find(self, key: str) -> dict | None:
        return next((e for e in self.entries if e["key"] == key), None)

    def record(self, entry: dict) -> None:
        with self._lock:
            self.entries = [e for e in self.entries if e["key"] != entry["key"]] + [entry]
            write_json(self.path, {"resources": self.entries})

    def forget(self, key: str) -> None:
        with self._lock:
            self.entries = [e for e in self.entries if e["key"] != key]
            write_json(self.path, {"resources": self.entries})


class SandboxMocks(pulumi.runtime.Mocks):
    def __init__(self, target: Target, state: SandboxState, progress: Progress, stop: Stop | None = None):
        self.target = target
        self.state = state
        self.progress = progress
        self.stop = stop or Stop()  # Ctrl-C: no resource is started after it (agent.provision.interrupt)
        self._workspaces: dict[str, Any] = {}  # provider name -> WorkspaceClient
        self._provider_hosts: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    # Invokes -------------------------------------------------------------------------------------

    def call(self, args: pulumi.runtime.MockCallArgs):
        inputs = unwrap_secrets(dict(args.args))
        if args.token == "azure-native:authorization:getClientConfig":
            return {"subscriptionId": self.target.subscription_id, "tenantId": "sandbox", "clientId": "sandbox",
                    "objectId": "sandbox"}, []
        if args.token == "azure-native:cognitiveservices:listAccountKeys":
            keys = self.target.cognitive().accounts.list_keys(inputs["resourceGroupName"], inputs["accountName"])
            return {"key1": keys.key1, "key2": keys.key2}, []
        if args.token == "azure-native:resources:getResourceGroup":
            group = self.target.resources().resource_groups.get(inputs["resourceGroupName"])
            return {"name": group.name, "location": group.location, "id": group.id, "tags": group.tags or {}}, []
        if args.token == "databricks:index/getCurrentUser:getCurrentUser":
            me = self._client(args.provider).current_user.me()
            return {"userName": me.user_name, "id": me.id, "home": f"/Users/{me.user_name}"}, []
        raise NotImplementedError(f"the sandbox cannot answer the invoke {args.token}")

    # Resources -----------------------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:
            return None, {}
        inputs = unwrap_secrets(dict(args.inputs))
        key = f"{args.typ}::{args.name}"
        handler = self._provider if args.typ.startswith("pulumi:providers:") else {
            "azure-native:resources:ResourceGroup": self._resource_group,
            "random:index/randomString:RandomString": self._random_string,
            "azure-native:cognitiveservices:Account": self._account,
            "azure-native:cognitiveservices:Deployment": self._deployment,
            "azure-native:cognitiveservices:Project": self._project,
            "azure-native:databricks:Workspace": self._databricks_workspace,
            "databricks:index/cluster:Cluster": self._cluster,
            "databricks:index/secretScope:SecretScope": self._secret_scope,
            "databricks:index/secret:Secret": self._secret,
            "databricks:index/schema:Schema": self._schema,
            "databricks:index/volume:Volume": self._volume,
            "databricks:index/grant:Grant": self._grant,
            "databricks:index/secretAcl:SecretAcl": self._secret_acl,
        }.get(args.typ)
        if handler is None:
            raise NotImplementedError(f"the sandbox cannot create {args.typ}")
        previous = self.state.find(key)
        with self.stop.operation():
            resource_id, outputs, teardown = handler(args, inputs, previous)
        self.state.record({"key": key, "type": args.typ, "name": args.name, "id": resource_id, "outputs": outputs,
                           "teardown": teardown})
        return resource_id, outputs

    def _resource_group(self, args, inputs, previous):
        name = inputs["resourceGroupName"]
        self.progress(f"resource group {name}")
        group = self.target.resources().resource_groups.create_or_update(
            name, {"location": inputs["location"], "tags": inputs.get("tags") or {}})
        return group.id, {**inputs, "name": name}, {"resource_group": name}

    def _random_string(self, args, inputs, previous):
        if previous is not None:
            return previous["id"], previous["outputs"], previous["teardown"]
        alphabet = string.ascii_lowercase + string.digits
        result = "".join(secrets.choice(alphabet) for _ in range(int(inputs["length"])))
        return args.name, {**inputs, "result": result}, {}

    def _account(self, args, inputs, previous):
        name, group = inputs["accountName"], inputs["resourceGroupName"]
        self.progress(f"Azure OpenAI account {name}")
        properties = inputs.get("properties") or {}
        teardown = {"resource_group": group, "account": name, "location": (inputs.get("location") or "").lower().replace(" ", "")}
        # Recorded before it exists (its name, random suffix included, is known now): a labctl killed while Azure
        # creates it leaves `down` what it needs to delete and purge it, and the next `up` puts the same name again.
        self.state.record({"key": f"{args.typ}::{args.name}", "type": args.typ, "name": args.name,
                           "id": (previous or {}).get("id"), "outputs": (previous or {}).get("outputs", inputs),
                           "teardown": teardown})
        account = self.target.cognitive().accounts.begin_create(group, name, Account(
            kind=inputs.get("kind"), location=inputs.get("location"), tags=inputs.get("tags") or {},
            sku=Sku(name=(inputs.get("sku") or {}).get("name")),
            identity=Identity(type=inputs["identity"]["type"]) if inputs.get("identity") else None,
            properties=AccountProperties(
                custom_sub_domain_name=properties.get("customSubDomainName"),
                public_network_access=properties.get("publicNetworkAccess"),
                disable_local_auth=properties.get("disableLocalAuth"),
                allow_project_management=properties.get("allowProjectManagement")),
        )).result()
        outputs = {**inputs, "name": name, "properties": {**properties, "endpoint": account.properties.endpoint,
                                                          "endpoints": account.properties.endpoints or {}}}
        return account.id, outputs, {**teardown, "location": account.location}

    def _deployment(self, args, inputs, previous):
        name, account, group = inputs["deploymentName"], inputs["accountName"], inputs["resourceGroupName"]
        self.progress(f"deployment {name}")
        properties = inputs.get("properties") or {}
        model = properties.get("model") or {}
        sku = inputs.get("sku") or {}
        # A PUT whose answer was lost is resent while the first is still running: Azure then answers 409
        # RequestConflict ("Another operation is being performed on the parent resource"; soak seed 2), which
        # is over once that operation ends, so conflicts are retried.
        created = self.target.cognitive(retry_conflicts=True).deployments.begin_create_or_update(group, account, name, Deployment(
            sku=Sku(name=sku.get("name"), capacity=int(sku.get("capacity", 1))), tags=inputs.get("tags"),
            properties=DeploymentProperties(
                model=DeploymentModel(format=model.get("format"), name=model.get("name"), version=model.get("version")),
                version_upgrade_option=properties.get("versionUpgradeOption"),
                rai_policy_name=properties.get("raiPolicyName")),
        )).result()
        return created.id, {**inputs, "name": name}, {"resource_group": group, "account": account, "deployment": name}

    def _project(self, args, inputs, previous):
        group, account, name = inputs["resourceGroupName"], inputs["accountName"], inputs["projectName"]
        self.progress(f"Foundry project {name}")
        properties = inputs.get("properties") or {}
        created = self.target.cognitive().projects.begin_create(group, account, name, Project(
            location=inputs.get("location"), tags=inputs.get("tags") or {},
            identity=Identity(type=inputs["identity"]["type"]) if inputs.get("identity") else None,
            properties=ProjectProperties(display_name=properties.get("displayName"),
                                         description=properties.get("description")),
        )).result()
        outputs = {**inputs, "name": created.name,
                   "properties": {**properties, "endpoints": created.properties.endpoints or {}}}
        return created.id, outputs, {"resource_group": group, "account": account, "project": name}

    def _client(self, provider_ref: str):
        provider = provider_ref.rsplit("::", 1)[0].rsplit("::", 1)[-1]
        with self._lock:
            client = self._workspaces.get(provider)
            if client is None:
                host, resource_id = self._provider_hosts[provider]
                client = self._workspaces[provider] = self.target.workspace_client_for(host, resource_id)
            return client

    def _provider(self, args, inputs, previous):
        self._provider_hosts[args.name] = (inputs["host"], inputs["azureWorkspaceResourceId"])
        return f"{args.name}-id", inputs, {}

    def _databricks_workspace(self, args, inputs, previous):
        group, name = inputs["resourceGroupName"], inputs["workspaceName"]
        self.progress(f"Databricks workspace {name}")
        resource_id = (f"/subscriptions/{self.target.subscription_id}/resourceGroups/{group}"
                       f"/providers/Microsoft.Databricks/workspaces/{name}")
        properties = {"managedResourceGroupId": inputs.get("managedResourceGroupId")}
        for key in ("computeMode", "defaultCatalog"):
            if inputs.get(key):
                properties[key] = inputs[key]
        created = self.target.resources().resources.begin_create_or_update_by_id(
            resource_id,
            GenericResource(location=inputs.get("location"), sku=ResourceSku(name=(inputs.get("sku") or {}).get("name")),
                            tags=inputs.get("tags") or {}, properties=properties),
            api_version=DATABRICKS_ARM_API,
        ).result()
        outputs = {**inputs, "name": name, "workspaceUrl": created.properties["workspaceUrl"],
                   "workspaceId": created.properties["workspaceId"]}
        if created.properties.get("defaultCatalog"):
            outputs["defaultCatalog"] = created.properties["defaultCatalog"]
        return created.id, outputs, {"resource_id": created.id}

    def _cluster(self, args, inputs, previous):
        w = self._client(args.provider)
        body = {_snake(k): v for k, v in inputs.items() if k != "libraries"}
        libraries = [{"pypi": {"package": lib["pypi"]["package"]}} for lib in inputs.get("libraries") or []]
        cluster_id = self._existing_cluster(w, previous, inputs.get("clusterName"))
        if cluster_id is not None:
            w.api_client.do("POST", "/api/2.1/clusters/edit", body={**body, "cluster_id": cluster_id})
        else:
            self.progress(f"cluster {inputs.get('clusterName')}")
            cluster_id = self._create_cluster(w, body)
        # Recorded the moment its id is known: an `up` that fails from here on leaves it to the next `up` and `down`.
        teardown = {"provider": args.provider, "cluster_id": cluster_id}
        self.state.record({"key": f"{args.typ}::{args.name}", "type": args.typ, "name": args.name, "id": cluster_id,
                           "outputs": {**inputs, "clusterId": cluster_id}, "teardown": teardown})
        # Like the Databricks provider (no_wait=false): wait for RUNNING, then for the libraries.
        w.clusters.wait_get_cluster_running(cluster_id)
        if libraries:
            w.api_client.do("POST", "/api/2.0/libraries/install", body={"cluster_id": cluster_id, "libraries": libraries})
            failed = [s for s in w.libraries.cluster_status(cluster_id) if s.status.value == "FAILED"]
            if failed:
                raise RuntimeError(f"cluster library {failed[0].library.pypi.package} failed: {failed[0].messages[0]}")
        return cluster_id, {**inputs, "clusterId": cluster_id}, teardown

    @staticmethod
    def _existing_cluster(w, previous, name: str | None) -> str | None:
        """The stack's cluster if it exists: the recorded one, else one of the same name (created by an `up` that
        failed, or whose create answer was lost)."""
        live = [c for c in w.clusters.list()
                if not c.state or c.state.value not in ("TERMINATING", "TERMINATED", "ERROR", "UNKNOWN")]
        if previous is not None and previous["id"] in {c.cluster_id for c in live}:
            return previous["id"]
        return next((c.cluster_id for c in live if name and c.cluster_name == name), None)

    def _create_cluster(self, w, body: dict) -> str:
        """clusters/create is not idempotent: each attempt first looks for the cluster the last one may have made."""
        from labctl_labs.retrying import retrying

        tried = False

        def attempt() -> str:
            nonlocal tried
            if tried:
                found = self._existing_cluster(w, None, body.get("cluster_name"))
                if found is not None:
                    return found
            tried = True
            return w.api_client.do("POST", "/api/2.1/clusters/create", body=body)["cluster_id"]

        return retrying("Databricks POST /api/2.1/clusters/create")(attempt)

    def _secret_scope(self, args, inputs, previous):
        w = self._client(args.provider)
        try:
            w.secrets.create_scope(inputs["name"])
        except ResourceAlreadyExists:
            pass
        return inputs["name"], inputs, {"provider": args.provider, "scope": inputs["name"]}

    def _secret(self, args, inputs, previous):
        w = self._client(args.provider)
        w.secrets.put_secret(inputs["scope"], inputs["key"], string_value=inputs["stringValue"])
        return f"{inputs['scope']}|||{inputs['key']}", {k: v for k, v in inputs.items() if k != "stringValue"}, \
            {"provider": args.provider, "scope": inputs["scope"], "key": inputs["key"]}

    def _schema(self, args, inputs, previous):
        w = self._client(args.provider)
        full = f"{inputs['catalogName']}.{inputs['name']}"
        _create_once("Databricks POST /api/2.1/unity-catalog/schemas", lambda: w.schemas.get(full),
                     lambda: w.schemas.create(name=inputs["name"], catalog_name=inputs["catalogName"],
                                              comment=inputs.get("comment")))
        return full, inputs, {"provider": args.provider, "schema": full}

    def _volume(self, args, inputs, previous):
        w = self._client(args.provider)
        full = f"{inputs['catalogName']}.{inputs['schemaName']}.{inputs['name']}"
        _create_once("Databricks POST /api/2.1/unity-catalog/volumes", lambda: w.volumes.read(full),
                     lambda: w.volumes.create(catalog_name=inputs["catalogName"], schema_name=inputs["schemaName"],
                                              name=inputs["name"],
                                              volume_type=VolumeType(inputs.get("volumeType", "MANAGED"))))
        return full, inputs, {"provider": args.provider, "volume": full}


    def _grant(self, args, inputs, previous):
        """databricks_grant: one principal's privileges on one securable, added to what is granted there already."""
        from databricks.sdk.service.catalog import PermissionsChange, Privilege

        w = self._client(args.provider)
        kind = next(k for k in ("catalog", "schema", "volume") if inputs.get(k))
        privileges = [Privilege(p) for p in inputs["privileges"]]
        w.grants.update(kind, inputs[kind], changes=[PermissionsChange(principal=inputs["principal"], add=privileges)])
        return f"{kind}/{inputs[kind]}/{inputs['principal']}", inputs, {
            "provider": args.provider, "securable_type": kind, "full_name": inputs[kind],
            "principal": inputs["principal"], "privileges": inputs["privileges"]}

    def _secret_acl(self, args, inputs, previous):
        from databricks.sdk.service.workspace import AclPermission

        w = self._client(args.provider)
        w.secrets.put_acl(inputs["scope"], inputs["principal"], AclPermission(inputs["permission"]))
        return f"{inputs['scope']}|||{inputs['principal']}", inputs, {
            "provider": args.provider, "scope": inputs["scope"], "principal": inputs["principal"]}


def _create_once(what: str, get: Callable[[], object], create: Callable[[], object]) -> None:
    """A Unity Catalog create (a POST, not idempotent) retried through transient faults: every attempt first
    looks for what an earlier one may have made before its answer was lost, and an "already exists" is success."""
    from labctl_labs.retrying import retrying

    def attempt() -> None:
        try:
            get()
            return
        except NotFound:
            pass
        try:
            create()
        except ResourceAlreadyExists:
            pass

    retrying(what)(attempt)


def up(target: Target, stack: str, config: dict[str, str], progress: Progress) -> StackOutputs:
    from agent.pulumi_mocks import run_with_mocks
    from infra.config import read_pulumi_config
    from infra.program import build_lab

    state = SandboxState(stack)
    resume = f"`labctl up --sandbox --stack {stack}` resumes"
    with graceful_interrupt(
            lambda: progress("Ctrl-C: the resources being created are finished and recorded, nothing new is "
                             "started (Ctrl-C again stops at once)"),
            lambda: progress(f"stopped at once: a resource being created may exist unrecorded; {resume} and adopts "
                             f"it, `labctl down --stack {stack} --yes` removes what was made")) as stop:
        mocks = SandboxMocks(target, state, progress, stop)
        try:
            run = run_with_mocks(lambda: build_lab(read_pulumi_config(), stack), mocks, project="labctl",
                                 stack=stack, config=config)
        except Exception:
            if not stop.requested:
                raise
            stop.wait_idle()  # what was in flight is finished and recorded before labctl says where it stopped
            recorded = len(SandboxState(stack).entries)
            raise Interrupted(f"Interrupted `labctl up` of stack {stack!r}: nothing was created after Ctrl-C and "
                              f"{recorded} resources are recorded; {resume} where it stopped.") from None
        # A Ctrl-C after the last registration stopped nothing: the stack is up.
    return StackOutputs.from_pulumi(run.outputs, target="sandbox", stack=stack, subscription_id=target.subscription_id)


class _ProviderGone(Exception):
    """The Databricks provider of an entry is no longer recorded: its workspace, and the entry with it, are gone."""


def destroy(target: Target, stack: str, progress: Progress, gone: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Delete what `up` created, newest first; returns what could not be deleted (and stays recorded). Entries
    whose keys are in `gone` (found absent by down's plan) are forgotten without a delete.

    Converges: an entry is forgotten once its deletion is confirmed (deleted, or found gone on a second
    look); a provider stays recorded while something of its workspace does; a Databricks object whose
    provider or workspace is gone is gone too."""
    state = SandboxState(stack)
    failures = []
    clients: dict[str, Any] = {}
    providers = {e["name"]: e for e in state.entries if e["type"].startswith("pulumi:providers:")}

    def workspace(provider_ref: str):
        name = _provider_name(provider_ref)
        if name not in providers:
            raise _ProviderGone(name)
        if name not in clients:
            host, resource_id = providers[name]["outputs"]["host"], providers[name]["outputs"]["azureWorkspaceResourceId"]
            clients[name] = target.workspace_client_for(host, resource_id)
        return clients[name]

    resume = f"`labctl down --stack {stack} --yes` resumes"
    with graceful_interrupt(
            lambda: progress("Ctrl-C: the deletion under way is finished, nothing more is deleted (Ctrl-C again "
                             "stops at once)"),
            lambda: progress(f"stopped at once: the deletion under way may not be recorded; {resume} (what is "
                             f"already gone counts as deleted)")) as stop:
        for entry in reversed(list(state.entries)):
            if stop.requested:
                raise Interrupted(f"Interrupted `labctl down` of stack {stack!r}: {len(state.entries)} of its "
                                  f"resources are still recorded (the stack is partly down, see `labctl status "
                                  f"--stack {stack}`); {resume} where it stopped.")
            if entry["key"] in gone:  # found absent by down's plan: nothing to delete
                state.forget(entry["key"])
                continue
            _destroy_entry(target, state, workspace, entry, failures, progress)
    return failures


def _destroy_entry(target: Target, state: SandboxState, workspace, entry: dict, failures: list[str],
                   progress: Progress) -> None:
    """Delete one recorded resource and forget it once its deletion is confirmed; a failure is added to `failures`."""
    kind = entry["type"]
    if kind.startswith("pulumi:providers:") and any(
            _provider_name(e["teardown"].get("provider") or "") == entry["name"] for e in state.entries):
        failures.append(f"{entry['name']}: still has Databricks objects to delete")
        return  # kept: the next `down` needs it to reach them
    try:
        _delete_entry(target, workspace, entry, progress)
    except (ResourceNotFoundError, NotFound, ResourceDoesNotExist, _ProviderGone):
        pass  # already gone: that is the goal
    except Exception as error:  # keep going: report every leftover, not only the first
        if not (_gone_with_workspace(kind, error) or _confirmed_gone(target, workspace, entry)):
            failures.append(f"{entry['name']}: {describe(error)}")
            return
    state.forget(entry["key"])


def destroy_named(target: Target, outputs: StackOutputs, progress: Progress) -> list[str]:
    """When sandbox-state.json was unreadable: delete what outputs.json names (workspace, account, group)."""
    from agent.provision.workspace_deletion import force_delete

    failures = []
    steps = (
        (f"Databricks workspace {outputs.workspace_name}", lambda: force_delete(
            target, outputs.workspace_resource_id, lambda _: None)),
        (f"Azure OpenAI account {outputs.openai_account_name} (soft delete)", lambda: target.cognitive().accounts.begin_delete(
            outputs.resource_group_name, outputs.openai_account_name).result()),
        (f"resource group {outputs.resource_group_name}", lambda: target.resources().resource_groups.begin_delete(
            outputs.resource_group_name).result()),
    )
    for what, step in steps:
        progress(what)
        try:
            step()
        except ResourceNotFoundError:
            pass
        except Exception as error:  # keep going: report every leftover
            failures.append(f"{what}: {error}")
    return failures


def _provider_name(provider_ref: str) -> str:
    return provider_ref.rsplit("::", 1)[0].rsplit("::", 1)[-1]


def describe(error: Exception) -> str:
    from agent.errors import describe_service_error

    return describe_service_error(error) or str(error)


def _delete_entry(target: Target, workspace, entry: dict, progress: Progress) -> None:
    kind, teardown = entry["type"], entry["teardown"]
    if kind == "databricks:index/grant:Grant":
        from databricks.sdk.service.catalog import PermissionsChange, Privilege

        workspace(teardown["provider"]).grants.update(
            teardown["securable_type"], teardown["full_name"], changes=[PermissionsChange(
                principal=teardown["principal"], remove=[Privilege(p) for p in teardown["privileges"]])])
    elif kind == "databricks:index/secretAcl:SecretAcl":
        workspace(teardown["provider"]).secrets.delete_acl(teardown["scope"], teardown["principal"])
    elif kind == "databricks:index/volume:Volume":
        workspace(teardown["provider"]).volumes.delete(teardown["volume"])
    elif kind == "databricks:index/schema:Schema":
        workspace(teardown["provider"]).schemas.delete(teardown["schema"], force=True)
    elif kind == "databricks:index/secret:Secret":
        workspace(teardown["provider"]).secrets.delete_secret(teardown["scope"], teardown["key"])
    elif kind == "databricks:index/secretScope:SecretScope":
        workspace(teardown["provider"]).secrets.delete_scope(teardown["scope"])
    elif kind == "databricks:index/cluster:Cluster":
        progress(f"cluster {teardown['cluster_id']}")
        workspace(teardown["provider"]).clusters.permanent_delete(teardown["cluster_id"])
    elif kind == "azure-native:databricks:Workspace":
        from agent.provision.workspace_deletion import force_delete

        force_delete(target, teardown["resource_id"], progress)
    elif kind == "azure-native:cognitiveservices:Deployment":
        progress(f"deployment {teardown['deployment']}")
        target.cognitive().deployments.begin_delete(
            teardown["resource_group"], teardown["account"], teardown["deployment"]).result()
    elif kind == "azure-native:cognitiveservices:Project":
        progress(f"Foundry project {teardown['project']}")
        target.cognitive().projects.begin_delete(
            teardown["resource_group"], teardown["account"], teardown["project"]).result()
    elif kind == "azure-native:cognitiveservices:Account":
        progress(f"Azure OpenAI account {teardown['account']} (soft delete)")
        target.cognitive().accounts.begin_delete(teardown["resource_group"], teardown["account"]).result()
    elif kind == "azure-native:resources:ResourceGroup":
        progress(f"resource group {teardown['resource_group']}")
        target.resources().resource_groups.begin_delete(teardown["resource_group"]).result()


def _confirmed_gone(target: Target, workspace, entry: dict) -> bool:
    """A second look after a failed delete: True when the object no longer exists (the delete went through and
    only its answer was lost, or something else removed it). Any doubt counts as still there."""
    kind, teardown = entry["type"], entry["teardown"]
    try:
        if kind == "databricks:index/secret:Secret":
            return teardown["key"] not in {s.key for s in workspace(teardown["provider"]).secrets.list_secrets(teardown["scope"])}
        if kind == "databricks:index/secretScope:SecretScope":
            return teardown["scope"] not in {s.name for s in workspace(teardown["provider"]).secrets.list_scopes()}
        if kind == "databricks:index/cluster:Cluster":
            return teardown["cluster_id"] not in {c.cluster_id for c in workspace(teardown["provider"]).clusters.list()}
        if kind == "databricks:index/secretAcl:SecretAcl":
            return teardown["principal"] not in {
                a.principal for a in workspace(teardown["provider"]).secrets.list_acls(teardown["scope"])}
        if kind == "databricks:index/grant:Grant":
            granted = workspace(teardown["provider"]).grants.get(teardown["securable_type"], teardown["full_name"])
            held = {str(getattr(p, "value", p)) for a in granted.privilege_assignments or []
                    if a.principal == teardown["principal"] for p in a.privileges or []}
            return not held & set(teardown["privileges"])
        if kind == "databricks:index/volume:Volume":
            workspace(teardown["provider"]).volumes.read(teardown["volume"])
        elif kind == "databricks:index/schema:Schema":
            workspace(teardown["provider"]).schemas.get(teardown["schema"])
        elif kind == "azure-native:databricks:Workspace":
            target.resources().resources.get_by_id(teardown["resource_id"], api_version=DATABRICKS_ARM_API)
        elif kind == "azure-native:cognitiveservices:Deployment":
            target.cognitive().deployments.get(teardown["resource_group"], teardown["account"], teardown["deployment"])
        elif kind == "azure-native:cognitiveservices:Project":
            target.cognitive().projects.get(teardown["resource_group"], teardown["account"], teardown["project"])
        elif kind == "azure-native:cognitiveservices:Account":
            target.cognitive().accounts.get(teardown["resource_group"], teardown["account"])
        elif kind == "azure-native:resources:ResourceGroup":
            return not target.resources().resource_groups.check_existence(teardown["resource_group"])
        else:
            return False
        return False
    except (ResourceNotFoundError, NotFound, ResourceDoesNotExist, _ProviderGone):
        return True
    except Exception as error:  # noqa: BLE001 - cannot tell: keep it recorded
        return _gone_with_workspace(kind, error)


def _gone_with_workspace(kind: str, error: Exception) -> bool:
    """Databricks objects of a workspace that no longer exists are gone too (the token is refused)."""
    return kind.startswith("databricks:") and isinstance(error, (PermissionDenied, Unauthenticated, LabctlError))
