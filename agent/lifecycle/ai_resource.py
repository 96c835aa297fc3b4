"""Which model account the lab gets, `labctl:aiResourceKind`: a classic Azure OpenAI account (`OpenAI`) or a
Microsoft Foundry resource (`AIServices`, infra.foundry_project), as preflight decides it.

Azure's fine-tuning tables (shared/reference/azure-facts.md section 3) make the choice for the fine-tuning lab: a
subscription that never fine-tuned gpt-4o / gpt-4.1 cannot train them after their base models retire, while the
open-weight bases (gpt-oss-20b, ...) train with Global training "on new Foundry resources only". ARM's model
catalog lists such a base under kind AIServices. So: a configured kind is kept (an `OpenAI` account never gets a
Foundry-only base: preflight says why instead); an unconfigured one becomes `AIServices` exactly when the base
preflight chose needs it.
"""

from __future__ import annotations

from agent.preflight import ACCOUNT_KINDS

KEY = "labctl:aiResourceKind"


def allowed_kinds(config: dict) -> tuple[str, ...]:
    """The account kinds whose bases preflight may choose: all, unless the config pins kind OpenAI."""
    return ("OpenAI",) if config.get(KEY) == "OpenAI" else ACCOUNT_KINDS


def apply_choice(config: dict, fine_tune: dict | None, progress) -> dict:
    """The config with `aiResourceKind` set to AIServices when the chosen base trains only there."""
    if fine_tune and fine_tune.get("account_kind") == "AIServices" and config.get(KEY) != "AIServices":
        progress(f"preflight: fine-tuning base {fine_tune['base_model']} trains on Microsoft Foundry resources only; "
                 f"the lab gets one ({KEY} AIServices)")
        return {**config, KEY: "AIServices"}
    return config
