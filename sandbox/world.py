"""Everything one sandbox holds: its resources, clock, catalog and settings, behind one lock.

Resources are plain records; the ARM, Azure OpenAI and Databricks surfaces each change them through
their own module. Anything with a duration stores when it finishes, and its state is derived from the
sandbox clock when read.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.catalog import Catalog, CatalogModel
from sandbox.clock import SandboxClock
from sandbox.config import SandboxConfig
from sandbox.ratelimit import DeploymentLimiter
from sandbox.synthetic_model import SyntheticModel


def new_hex() -> str:
    return uuid.uuid4().hex


@dataclass
class ResourceGroup:
    name: str
    location: str
    tags: dict[str, str]
    created_at: float
    # ARM's `managedBy`: the id of the resource that manages the group (a Databricks workspace's managed group).
    managed_by: str | None = None
    # Resources the twin only lists (Resources - List By Resource Group): {"type", "name", "location", "tags"}.
    # A Databricks managed group holds the workspace's storage account and access connector.
    resources: list[dict] = field(default_factory=list)


@dataclass
class Deployment:
    name: str
    model_name: str
    model_version: str
    sku_name: str
    capacity: int
    version_upgrade_option: str | None
    rai_policy_name: str | None
    tags: dict[str, str]
    usage_name: str
    encoding: str
    reasoning: bool
    created_at: float
    ready_at: float
    fine_tuned: bool = False


@dataclass
class AoaiFile:
    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: float
    ready_at: float
    path: Path
    error: str | None = None
    examples: int = 0
    tokens: int = 0
    token_counts: list[int] = field(default_factory=list)
    image_examples: int = 0  # examples holding images: only a vision base trains on them


@dataclass
class FineTuneJob:
    id: str
    model: str
    training_file: str
    validation_file: str | None
    seed: int
    suffix: str | None
    training_type: str
    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float
    created_at: float
    running_at: float
    finished_at: float
    trained_tokens: int
    fine_tuned_model: str
    training_examples: int
    cancelled_at: float | None = None
    failure: dict[str, str] | None = None


@dataclass
class Account:
    name: str
    resource_group: str
    location: str
    kind: str
    sku: str
    tags: dict[str, str]
    custom_subdomain: str | None
    public_network_access: str
    disable_local_auth: bool
    created_at: float
    ready_at: float
    key1: str = field(default_factory=lambda: secrets.token_hex(16))
    key2: str = field(default_factory=lambda: secrets.token_hex(16))
    internal_id: str = field(default_factory=new_hex)
    busy_until: float = 0.0  # a deployment operation runs on this account until then
    deployments: dict[str, Deployment] = field(default_factory=dict)
    files: dict[str, AoaiFile] = field(default_factory=dict)
    jobs: dict[str, FineTuneJob] = field(default_factory=dict)
    deleted_at: float | None = None
    limiters: dict[str, DeploymentLimiter] = field(default_factory=dict)
    # kind AIServices (Microsoft Foundry): projects need allowProjectManagement (sandbox.arm.projects)
    allow_project_management: bool = False
    identity: dict | None = None
    projects: dict[str, dict] = field(default_factory=dict)  # lower-case name -> {name, location, identity, ...}

    def keys(self) -> tuple[str, str]:
        return self.key1, self.key2


@dataclass
class Operation:
    id: str
    done_at: float


class World:
    def __init__(self, config: SandboxConfig, state_dir: Path):
        self.config = config
        self.state_dir = state_dir
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.clock = SandboxClock(config.clock_speed, config.start)
        self.catalog = Catalog.load()
        self.model = SyntheticModel(config.model)
        self.lock = threading.RLock()
        self.groups: dict[str, ResourceGroup] = {}
        self.accounts: dict[str, Account] = {}
        self.deleted_accounts: dict[str, Account] = {}
        self.operations: dict[str, Operation] = {}
        self.data_plane_url = ""  # set by the server once it listens
        self.arm_url = ""
        self.extensions: dict[str, Any] = {}  # other surfaces (Databricks) keep their state here

    def now(self) -> float:
        return self.clock.time()

    def today(self):
        return self.clock.now().date()

    def start_operation(self, seconds: float) -> Operation:
        operation = Operation(new_hex(), self.now() + seconds)
        self.operations[operation.id] = operation
        return operation

    def account_endpoint(self, name: str) -> str:
        return f"{self.data_plane_url}/aoai/{name}/"

    def find_account(self, name: str) -> Account | None:
        return self.accounts.get(name.lower())

    def catalog_model(self, deployment: Deployment) -> CatalogModel | None:
        return self.catalog.find(deployment.model_name, deployment.model_version)

    def set_model_config(self, model_config) -> None:
        with self.lock:
            self.config = self.config.model_copy(update={"model": model_config})
            self.model = SyntheticModel(model_config)
