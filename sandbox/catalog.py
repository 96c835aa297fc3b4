"""The model catalog and quota table that ARM serves, loaded from data/catalog.yaml."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

Customer = Literal["existing", "new"]
API_VERSION_DATE = len("2024-10-21")
TRAINING_TYPES = {"standard": "Standard", "globalstandard": "GlobalStandard", "developer": "Developer",
                  "developertier": "Developer"}


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class CatalogModel(_Model):
    name: str
    version: str
    encoding: str
    inference: dt.date
    skus: list[str]
    reasoning: bool = False
    fine_tune: dict[str, dt.date] | None = Field(None, alias="fineTune")
    fine_tune_training: dict[str, list[str] | Literal["global"]] | None = Field(None, alias="fineTuneTraining")
    max_example_tokens: int = Field(65_536, alias="maxExampleTokens")
    fine_tuned_standard_regions: list[str] = Field(default_factory=list, alias="fineTunedStandardRegions")
    min_api_version: str | None = Field(None, alias="minApiVersion")
    vision: bool = False
    fine_tune_methods: list[str] = Field(default_factory=list, alias="fineTuneMethods")
    lifecycle: Literal["GenerallyAvailable", "Preview"] = "GenerallyAvailable"
    vision_fine_tune: bool = Field(False, alias="visionFineTune")
    # Account kinds that offer the model: the open-weight bases train on Microsoft Foundry (AIServices) only.
    kinds: list[Literal["OpenAI", "AIServices"]] = Field(default_factory=lambda: ["OpenAI", "AIServices"])
    format: str = "OpenAI"

    @property
    def base_model_id(self) -> str:
        """The string fine-tuning jobs take as `model`, e.g. gpt-4.1-mini-2025-04-14."""
        return f"{self.name}-{self.version}"

    def retired(self, today: dt.date) -> bool:
        return today >= self.inference


class ApiVersion(_Model):
    """A dated data-plane api-version, e.g. 2024-10-21 (GA) or 2025-04-01-preview, and when Azure stopped
    serving it (None: still served)."""

    version: str
    kind: Literal["GA", "preview"]
    retired: dt.date | None = None

    def served(self, today: dt.date) -> bool:
        return self.retired is None or today < self.retired


class ChatParameters(_Model):
    reasoning: list[str]
    chat: list[str]


class FineTunedDeployment(_Model):
    skus: list[str]


class Quota(_Model):
    default: dict[str, int]
    regions: dict[str, dict[str, int]] = {}


class Catalog(_Model):
    as_of: dt.date
    regions: list[str]
    models: list[CatalogModel]
    global_training_regions: list[str] = Field(alias="globalTrainingRegions")
    fine_tuned_deployment: FineTunedDeployment = Field(alias="fineTunedDeployment")
    quota: Quota
    rpm_per_1000_tpm: dict[str, float] = Field(default_factory=lambda: {"default": 6}, alias="rpmPer1000Tpm")
    api_versions: list[ApiVersion] = Field(alias="apiVersions")
    chat_parameters: ChatParameters = Field(alias="chatParameters")

    @classmethod
    def load(cls) -> Catalog:
        text = resources.files("sandbox").joinpath("data/catalog.yaml").read_text()
        return cls.model_validate(yaml.safe_load(text))

    @cached_property
    def _by_key(self) -> dict[tuple[str, str], CatalogModel]:
        return {(m.name, m.version): m for m in self.models}

    def find(self, name: str, version: str | None) -> CatalogModel | None:
        if version is None:
            versions = [m for m in self.models if m.name == name]
            return max(versions, key=lambda m: m.version) if versions else None
        return self._by_key.get((name, version))

    def find_base(self, model_id: str) -> CatalogModel | None:
        return next((m for m in self.models if m.base_model_id == model_id), None)

    def default_version(self, name: str, today: dt.date) -> CatalogModel | None:
        live = [m for m in self.models if m.name == name and not m.retired(today)]
        return max(live, key=lambda m: m.version) if live else None

    def requests_per_unit(self, model_name: str) -> float:
        """Requests per minute per capacity unit (1,000 TPM) of `model_name`, from Azure's quota tables."""
        return self.rpm_per_1000_tpm.get(model_name, self.rpm_per_1000_tpm.get("default", 6))

    def api_version(self, version: str) -> ApiVersion | None:
        return next((v for v in self.api_versions if v.version == version), None)

    def accepted_parameters(self, model: CatalogModel) -> list[str]:
        """The chat-completions parameters this model takes (beyond messages, n, stream, stream_options)."""
        return self.chat_parameters.reasoning if model.reasoning else self.chat_parameters.chat

    def quota_limit(self, region: str, usage_name: str) -> int:
        regional = self.quota.regions.get(region, {})
        if usage_name in regional:
            return regional[usage_name]
        sku = usage_name.split(".")[1]
        return self.quota.default.get(sku, 0)

    def training_regions(self, model: CatalogModel, training_type: str) -> list[str]:
        where = (model.fine_tune_training or {}).get(training_type)
        if where == "global":
            return list(self.global_training_regions)
        return list(where or [])

    def fine_tune_refusal(
        self, model_id: str, region: str, training_type: str, customer: Customer, today: dt.date,
        account_kind: str = "OpenAI",
    ) -> str | None:
        """Why Azure would refuse to train `model_id` here, or None if it would accept."""
        model = self.find_base(model_id)
        if model is None or model.fine_tune is None:
            return f"The specified base model does not support fine-tuning. Model: {model_id}"
        if account_kind not in model.kinds:
            return (f"The specified base model does not support fine-tuning on this resource. {model_id} is "
                    f"fine-tuned on Microsoft Foundry resources (kind {', '.join(model.kinds)}) only.")
        if today >= model.fine_tune[customer]:
            return (f"The specified base model does not support fine-tuning. Training on {model_id} ended on "
                    f"{model.fine_tune[customer].isoformat()} for this subscription.")
        canonical = TRAINING_TYPES.get(training_type.lower())
        if canonical is None:
            return f"Unknown trainingType '{training_type}'; use Standard, GlobalStandard or Developer."
        regions = self.training_regions(model, canonical)
        if region not in regions:
            return (f"{canonical} training of {model_id} is not available in region '{region}'. "
                    f"Regions: {', '.join(regions) or 'none'}.")
        return None


def api_version_at_least(version: str, minimum: str) -> bool:
    """Whether dated api-version `version` is `minimum` or later; the date decides (2024-12-01-preview is
    later than 2024-10-21), and on the same date a GA version counts as later than its preview."""
    def key(v: str) -> tuple[str, int]:
        return v[:API_VERSION_DATE], 0 if v.endswith("-preview") else 1
    return key(version) >= key(minimum)


def usage_name(sku: str, model: str) -> str:
    return f"OpenAI.{sku}.{model}"
