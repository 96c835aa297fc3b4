"""Stack configuration of the lab environment: one typed model, read once from Pulumi config.

Every key lives in the `labctl:` namespace and is spelled in camelCase in the stack file
(`labctl:deployments`, `labctl:autoterminationMinutes`). Pulumi.yaml carries the same schema with
descriptions; the defaults below are the source of truth and a test keeps the two in step.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from infra.runtimes import DEFAULT_SPARK_VERSION

NAMESPACE = "labctl"

DEPLOYMENT_SKUS = ("Standard", "GlobalStandard", "DataZoneStandard")
UPGRADE_OPTIONS = ("OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade")
TTL_PATTERN = re.compile(r"^(\d+)([mhd])$")
TTL_UNITS = {"m": "minutes", "h": "hours", "d": "days"}

# Azure naming rules for the resources whose names we derive or accept.
RESOURCE_GROUP_NAME = re.compile(r"^[-\w._()]{0,89}[-\w_()]$")
DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SUBDOMAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")
WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,62}$")
SECRET_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
UC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
TAG_VALUE_LIMIT = 256  # Azure caps tag values at 256 characters

# Azure's public regions (`az account list-locations --query "[].name"`, checked 2026-11-21). A location
# outside this list is refused before anything is created; add a region here when Azure opens one.
AZURE_REGIONS = frozenset("""
    australiacentral australiacentral2 australiaeast australiasoutheast austriaeast belgiumcentral brazilsouth
    brazilsoutheast canadacentral canadaeast centralindia centralus chilecentral denmarkeast eastasia eastus eastus2
    francecentral francesouth germanynorth germanywestcentral indonesiacentral israelcentral italynorth japaneast
    japanwest jioindiacentral jioindiawest koreacentral koreasouth malaysiawest mexicocentral newzealandnorth
    northcentralus northeurope norwayeast norwaywest polandcentral qatarcentral southafricanorth southafricawest
    southcentralus southeastasia southindia spaincentral swedencentral swedensouth switzerlandnorth switzerlandwest
    uaecentral uaenorth uksouth ukwest westcentralus westeurope westindia westus westus2 westus3
""".split())

# Base models Azure OpenAI fine-tunes (families; the version is the date after the family name).
FINE_TUNE_FAMILIES = ("gpt-35-turbo", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o4-mini",
                      "gpt-oss-20b")
# Bases Azure fine-tunes on Microsoft Foundry resources only ("Global only, new Foundry resources only",
# fine-tune-supported-models.md, ms.date 2026-03-05): they need labctl:aiResourceKind AIServices.
FOUNDRY_ONLY_FAMILIES = ("gpt-oss-20b",)
# Bases Azure trains by reinforcement fine-tuning only ("only o4-mini supports RFT", how-to/reinforcement-fine-tuning;
# "RFT only" in fine-tune-supported-models.md): the fine-tuning lab trains supervised, so it cannot use them.
RFT_ONLY_FAMILIES = ("o4-mini",)
FINE_TUNE_BASE = re.compile(r"^(?P<family>[a-z0-9.-]+?)-(?P<version>\d{4}-\d{2}-\d{2}|\d{4})$")


def check_region(value: str, what: str) -> str:
    """`value` if it is an Azure region; else ValueError naming `what`."""
    if value not in AZURE_REGIONS:
        close = sorted(r for r in AZURE_REGIONS if r[:4] == value.lower()[:4])
        hint = f" (did you mean {', '.join(close)}?)" if close else " (for example eastus2 or swedencentral)"
        raise ValueError(f"{what} {value!r} is not an Azure region{hint}".lstrip())
    return value


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class DeploymentSpec(_Model):
    """One Azure OpenAI model deployment. Capacity is in thousands of tokens per minute."""

    name: str
    model: str
    version: str | None = None
    sku: Literal["Standard", "GlobalStandard", "DataZoneStandard"] = "GlobalStandard"
    capacity: int = Field(10, ge=1, le=10_000)
    version_upgrade_option: Literal[
        "OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"
    ] = "NoAutoUpgrade"
    rai_policy: str | None = None

    @field_validator("name")
    @classmethod
    def _deployment_name(cls, value: str) -> str:
        if not DEPLOYMENT_NAME.match(value):
            raise ValueError("a deployment name is 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit")
        return value


# 100 units: gpt-5-mini has 1 request per minute per unit (Azure's quota tier table), and the responsible-AI lab's
# default probe (1,180 requests) takes about 12 minutes at 100 RPM; tier 1's regional quota is 1,000 units.
DEFAULT_CHAT_CAPACITY = 100


def _default_deployments() -> list[DeploymentSpec]:
    # The labs' gpt-35-turbo and gpt-4o are retired; gpt-5-mini 2025-08-07 is deployable until 2027-02-06.
    # Preflight replaces this with the newest version the chosen region can actually deploy.
    return [DeploymentSpec(name="chat", model="gpt-5-mini", version="2025-08-07", sku="GlobalStandard",
                           capacity=DEFAULT_CHAT_CAPACITY)]


class LabConfig(_Model):
    owner: str = Field(min_length=1, max_length=TAG_VALUE_LIMIT)
    lab: str = Field("mslearn-databricks-ai", min_length=1, max_length=TAG_VALUE_LIMIT)
    ttl: str = "8h"
    expires_at: dt.datetime | None = None
    location: str = "eastus2"
    name_prefix: str = "labctl"
    resource_group_name: str | None = None
    existing_resource_group: str | None = None

    openai_account_name: str | None = None
    openai_public_network_access: bool = True
    openai_disable_local_auth: bool = False
    deployments: list[DeploymentSpec] = Field(default_factory=_default_deployments, min_length=1)
    fine_tune_base_model: str = "gpt-4.1-mini-2025-04-14"
    # OpenAI: a classic Azure OpenAI account; AIServices: a Microsoft Foundry resource with a project
    # (infra.foundry_project), where the open-weight fine-tuning bases train.
    ai_resource_kind: Literal["OpenAI", "AIServices"] = "OpenAI"
    foundry_project: str = "lab"

    # cluster: the seeds' single-node cluster; serverless: no cluster, each lab a serverless job task
    # (infra.databricks_serverless, agent.lifecycle.compute).
    compute: Literal["cluster", "serverless"] = "cluster"
    workspace_sku: Literal["premium", "trial"] = "premium"
    workspace_compute_mode: Literal["Hybrid"] = "Hybrid"
    spark_version: str = DEFAULT_SPARK_VERSION
    node_type: str = "Standard_D4ds_v5"
    autotermination_minutes: int = 20
    cluster_user: str | None = None
    secret_scope: str = "labctl"
    storage: Literal["volume"] = "volume"
    catalog: str | None = None  # None: the workspace catalog (see LabNames.workspace_catalog)
    schema_name: str | None = None  # None: "labctl_<stack>", one schema per stack (see LabNames.schema_name)
    volume: str = "labdata"

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: str) -> str:
        match = TTL_PATTERN.match(value)
        if not match or int(match.group(1)) == 0:
            raise ValueError("the TTL is a positive whole number followed by m, h or d, for example 8h or 2d")
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expiresAt needs a time zone, for example 2026-12-01T18:00:00Z")
        return value

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        return check_region(value, "")

    @field_validator("fine_tune_base_model")
    @classmethod
    def _fine_tune_base(cls, value: str) -> str:
        match = FINE_TUNE_BASE.match(value)
        if not match or match.group("family") not in FINE_TUNE_FAMILIES:
            raise ValueError(f"{value!r} is not a base model Azure OpenAI fine-tunes; give <family>-<version> with "
                             f"a family of {', '.join(FINE_TUNE_FAMILIES)} (for example gpt-4.1-mini-2025-04-14)")
        return value

    @field_validator("foundry_project")
    @classmethod
    def _foundry_project(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$", value):
            raise ValueError("a Foundry project name is 2-64 letters, digits, '-' or '_', starting with a letter or digit")
        return value

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]{0,19}$", value):
            raise ValueError("the name prefix is 1-20 lower-case letters, digits or '-', starting with a letter")
        return value

    @field_validator("resource_group_name", "existing_resource_group")
    @classmethod
    def _rg_name(cls, value: str | None) -> str | None:
        if value is not None and not RESOURCE_GROUP_NAME.match(value):
            raise ValueError("a resource group name is 1-90 letters, digits, '-', '_', '.', '(' or ')' and does not end in '.'")
        return value

    @field_validator("openai_account_name")
    @classmethod
    def _account_name(cls, value: str | None) -> str | None:
        if value is not None and not SUBDOMAIN_NAME.match(value):
            raise ValueError("the account name becomes the custom subdomain: 2-64 lower-case letters, digits or '-', not starting or ending with '-'")
        return value

    @field_validator("autotermination_minutes")
    @classmethod
    def _autotermination(cls, value: int) -> int:
        if value != 0 and not 10 <= value <= 10_000:
            raise ValueError("Databricks accepts 10 to 10000 minutes, or 0 to never terminate")
        return value

    @field_validator("secret_scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if not SECRET_SCOPE_NAME.match(value):
            raise ValueError("a secret scope name is 1-128 letters, digits, '_', '-', '.' or '@'")
        return value

    @field_validator("catalog", "schema_name", "volume")
    @classmethod
    def _uc_name(cls, value: str | None) -> str | None:
        if value is not None and not UC_NAME.match(value):
            raise ValueError("a Unity Catalog name is letters, digits, '_' or '-'")
        return value

    @field_validator("storage", mode="before")
    @classmethod
    def _storage(cls, value: object) -> object:
        # DBFS mode is gone: Databricks Runtime 15.1 and above do not install libraries from the DBFS root and new
        # accounts are provisioned without DBFS root access ("DBFS root and mounts are deprecated", Databricks docs),
        # while Unity Catalog is on by default for new workspaces.
        if value == "dbfs":
            raise ValueError("dbfs is no longer supported (Databricks Runtime 15.1+ cannot install the lab artifact "
                             "from the DBFS root and new accounts have none); use volume, the default")
        return value

    @model_validator(mode="after")
    def _unique_deployments(self) -> LabConfig:
        names = [d.name for d in self.deployments]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"deployment names must be unique; repeated: {', '.join(duplicates)}")
        base_family = (FINE_TUNE_BASE.match(self.fine_tune_base_model) or {"family": ""})["family"]
        if base_family in FOUNDRY_ONLY_FAMILIES and self.ai_resource_kind != "AIServices":
            raise ValueError(f"fineTuneBaseModel {self.fine_tune_base_model} is fine-tuned on Microsoft Foundry "
                             f"resources only; set labctl:aiResourceKind AIServices or choose another base")
        if base_family in RFT_ONLY_FAMILIES:
            raise ValueError(f"fineTuneBaseModel {self.fine_tune_base_model} is trained by reinforcement fine-tuning "
                             "only, and the fine-tuning lab trains supervised (SFT); choose another base, such as "
                             "gpt-4.1-mini-2025-04-14")
        if self.resource_group_name and self.existing_resource_group:
            raise ValueError("set either resourceGroupName (to create one) or existingResourceGroup (to use one), not both")
        return self

    # Derived values -----------------------------------------------------------------------------

    def ttl_delta(self) -> dt.timedelta:
        amount, unit = TTL_PATTERN.match(self.ttl).groups()  # type: ignore[union-attr]
        return dt.timedelta(**{TTL_UNITS[unit]: int(amount)})

    def expiry(self, now: dt.datetime) -> dt.datetime:
        """When the lab expires; an expiresAt that is already past is refused (the stack would be born expired,
        and the next cleanup would delete it)."""
        if self.expires_at is not None and self.expires_at <= now:
            raise ConfigError(f"Invalid stack configuration: {NAMESPACE}:expiresAt {self.expires_at.isoformat()} is in "
                              f"the past; set a later time or leave it out to use the TTL ({self.ttl}).")
        return self.expires_at or now + self.ttl_delta()

    def tags(self, now: dt.datetime) -> dict[str, str]:
        expires = self.expiry(now).astimezone(dt.timezone.utc).replace(microsecond=0)
        return {
            "owner": self.owner,
            "lab": self.lab,
            "created-by": "labctl",
            "expires-at": expires.isoformat().replace("+00:00", "Z"),
        }

    def names(self, stack: str) -> LabNames:
        slug = re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-") or "stack"
        base = f"{self.name_prefix}-{slug}"
        return LabNames(
            resource_group=self.existing_resource_group or self.resource_group_name or f"rg-{base}"[:90],
            account_stem=self.openai_account_name or f"{base}"[:56].rstrip("-"),
            account_fixed=self.openai_account_name is not None,
            workspace=f"dbw-{base}"[:64].rstrip("-_"),
            schema_name=self.schema_name or f"labctl_{slug}".replace("-", "_"),
        )


class LabNames(BaseModel):
    resource_group: str
    account_stem: str
    account_fixed: bool
    workspace: str
    schema_name: str  # the lab's Unity Catalog schema: one per stack, so stacks sharing a catalog never share it

    def managed_resource_group(self) -> str:
        return f"{self.resource_group}-databricks"[:90]

    def workspace_catalog(self) -> str:
        """The name labctl gives the workspace catalog at creation (ARM `properties.defaultCatalog.initialName`).

        Azure names it after the workspace when no name is given ("If not specified, the name of the workspace
        will be used": DefaultCatalogProperties.initialName, Microsoft.Databricks REST API 2026-01-01). labctl
        names it itself, the workspace name with '-' as '_', because a hyphen in a catalog name must be
        back-quoted in every SQL statement and table name (Databricks "Names" reference)."""
        return self.workspace.replace("-", "_")


class ConfigError(Exception):
    """Stack configuration that the program refuses, with one sentence per problem."""


def describe_errors(error: ValidationError) -> str:
    sentences = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = f"is required (pulumi config set {NAMESPACE}:{where} ...)"
            sentences.append(f"{NAMESPACE}:{where} {message}")
        elif problem["type"] == "extra_forbidden":
            import difflib

            known = [info.alias or name for name, info in LabConfig.model_fields.items()]
            close = difflib.get_close_matches(where, known, n=1)
            sentences.append(f"{NAMESPACE}:{where} is not a setting of the lab"
                             + (f" (did you mean {NAMESPACE}:{close[0]}?)" if close else f"; the settings are {', '.join(known)}"))
        elif problem["type"] == "list_type" and isinstance(problem.get("input"), str):
            sentences.append(f"{NAMESPACE}:{where} is not a JSON list (it is the text {problem['input'][:40]!r})")
        elif problem["type"] == "string_too_long" and where in ("owner", "lab"):
            sentences.append(f"{NAMESPACE}:{where} is {len(problem['input'])} characters; it becomes a tag, and Azure "
                             f"caps tag values at {TAG_VALUE_LIMIT}")
        elif where:
            sentences.append(f"{NAMESPACE}:{where}: {message}")
        else:
            sentences.append(message)
    return "; ".join(sentences)


def parse_config(raw: dict[str, Any]) -> LabConfig:
    try:
        return LabConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"Invalid stack configuration: {describe_errors(error)}.") from None


def read_pulumi_config() -> LabConfig:
    """Read the `labctl:` namespace; structured values (lists, objects, numbers) arrive as JSON."""
    import json

    import pulumi

    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for field, info in LabConfig.model_fields.items():
        key = info.alias or field
        value = config.get(key)
        if value is None:
            continue
        if info.annotation in (str, str | None):
            raw[key] = value
            continue
        try:
            raw[key] = json.loads(value)
        except json.JSONDecodeError:
            raw[key] = value
    return parse_config(raw)
