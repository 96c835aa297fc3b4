"""What a deployed model can do, read from the ARM model catalog (`locations/{location}/models`, each model's
`capabilities` map of strings), never guessed from its name.

The name is no guide: gpt-5-chat starts like the gpt-5 reasoning family yet refuses `reasoning_effort` with 400
"Unrecognized request argument supplied" (browser-use/browser-use#2990, stanfordnlp/dspy#9032), and reasoning
models refuse `max_tokens` and a temperature other than 1 (Learn "Reasoning models").

Keys read: `reasoning` ("true"/"false"), `chatParameters` (comma-separated accepted parameters), `vision`,
`minApiVersion`, `fineTuneMethods`. The sandbox's catalog sends all of them; a catalog that does not say whether
a model reasons leaves `reasoning` None, and the labs then send only the parameters both kinds of model take
(`max_completion_tokens`, no temperature, no reasoning effort) rather than guess. [U: Azure's own key names for reasoning and accepted parameters are not
verified; see sandbox/data/catalog.yaml.]
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelCapabilities:
    reasoning: bool | None  # None: the catalog does not say
    parameters: tuple[str, ...] = ()
    vision: bool = False
    min_api_version: str | None = None
    fine_tune_methods: tuple[str, ...] = field(default=())

    @classmethod
    def from_arm(cls, capabilities: dict[str, str] | None) -> ModelCapabilities:
        """From a model's ARM `capabilities` map, e.g. {"reasoning": "true", "chatParameters": "a,b"}."""
        caps = {k.lower(): v for k, v in (capabilities or {}).items()}
        flag = caps.get("reasoning")
        return cls(
            reasoning=None if flag is None else str(flag).lower() == "true",
            parameters=_split(caps.get("chatparameters")),
            vision=str(caps.get("vision", "false")).lower() == "true",
            min_api_version=caps.get("minapiversion"),
            fine_tune_methods=_split(caps.get("finetunemethods")),
        )

    @classmethod
    def from_dict(cls, data: dict | None) -> ModelCapabilities:
        """From the JSON form preflight writes (`as_dict`)."""
        data = data or {}
        return cls(reasoning=data.get("reasoning"), parameters=tuple(data.get("parameters") or ()),
                   vision=bool(data.get("vision")), min_api_version=data.get("min_api_version"),
                   fine_tune_methods=tuple(data.get("fine_tune_methods") or ()))

    def as_dict(self) -> dict:
        return {"reasoning": self.reasoning, "parameters": list(self.parameters), "vision": self.vision,
                "min_api_version": self.min_api_version, "fine_tune_methods": list(self.fine_tune_methods)}


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def capabilities_in_catalog(client, location: str, model: str, version: str | None) -> ModelCapabilities | None:
    """The capabilities of `model` (`version`, else its newest) in `location`'s ARM catalog; None if not listed."""
    versions = [m.model for m in client.models.list(location) if m.model and m.model.name == model
                and (version is None or m.model.version == version)]
    if not versions:
        return None
    newest = max(versions, key=lambda m: m.version or "")
    return ModelCapabilities.from_arm(newest.capabilities)


def deployment_capabilities(outputs, name: str | None = None) -> ModelCapabilities:
    """The capabilities of a stack's deployment (`outputs`: agent.outputs.StackOutputs): as preflight recorded them
    from the catalog, else read from the ARM catalog of the stack's region now; `reasoning` None when neither
    says whether the model reasons."""
    from agent.workdir import read_preflight, stack_dir

    deployment = outputs.deployment(name)
    preflight = read_preflight(stack_dir(outputs.stack))
    chosen = next((r for r in preflight.get("regions", []) if r.get("region") == preflight.get("chosen")), {})
    recorded = ((chosen.get("deployments") or {}).get(deployment.name) or {})
    capabilities = None
    if recorded.get("model") == deployment.model and recorded.get("capabilities"):
        capabilities = ModelCapabilities.from_dict(recorded["capabilities"])
    if capabilities is None or capabilities.reasoning is None:
        from agent.target import load_target

        capabilities = capabilities_in_catalog(load_target(outputs.stack).cognitive(), outputs.location,
                                               deployment.model, deployment.version) or capabilities
    return capabilities or ModelCapabilities(reasoning=None)
