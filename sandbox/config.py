"""Settings of one sandbox: identities, timings, the synthetic model, and what it enforces."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from sandbox.synthetic_model import SyntheticModelConfig


class Timings(BaseModel):
    """How long operations take, in seconds of the sandbox clock."""

    account_provisioning: float = 0.3
    deployment_provisioning: float = 0.5
    deletion: float = 0.3
    file_processing: float = 0.5
    finetune_queued: float = 1.0
    finetune_running: float = 4.0
    workspace_provisioning: float = 0.3
    cluster_starting: float = 1.0


class SandboxConfig(BaseModel):
    seed: int = 105
    subscription_id: str = "00000000-0000-4000-8000-000000000001"
    tenant_id: str = "00000000-0000-4000-8000-0000000000aa"
    # Azure keeps fine-tuning on retiring base models open for customers who already used them ("existing");
    # a subscription new to fine-tuning loses a base at its retirement ("new"). The labs' audience is new
    # subscriptions, so the twin is one unless told otherwise (PATCH /_sandbox/settings {"customer": ...}).
    customer: Literal["existing", "new"] = "new"
    clock_speed: float = Field(1.0, gt=0)
    # Where the twin's clock starts (an aware datetime); None: now. Tests that deploy a model retiring soon start
    # the twin at the catalog's `as_of` date (Catalog.load().as_of), so they do not fail once the real date passes
    # the model's retirement.
    start: dt.datetime | None = None
    timings: Timings = Field(default_factory=Timings)
    model: SyntheticModelConfig = Field(default_factory=SyntheticModelConfig)
    # Azure estimates a request's token cost before running it; without max tokens we assume this many.
    default_max_tokens_estimate: int = 1000
    max_file_bytes: int = 512 * 1024 * 1024
