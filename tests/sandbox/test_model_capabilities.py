"""The product reads what a model can do from the ARM catalog (azure-mgmt-cognitiveservices models.list), never
from its name: gpt-5-chat starts like the gpt-5 reasoning family yet is a chat model that refuses
reasoning_effort (browser-use/browser-use#2990, stanfordnlp/dspy#9032)."""

import pytest

from agent.model_capabilities import capabilities_in_catalog
from labctl_labs.options import OptionError, check_options
from tests.sandbox.conftest import Lab


def test_reasoning_comes_from_the_catalog_not_the_name(sandbox):
    client = sandbox.cognitive()
    mini = capabilities_in_catalog(client, "eastus2", "gpt-5-mini", "2025-08-07")
    chat = capabilities_in_catalog(client, "eastus2", "gpt-5-chat", "2025-10-03")
    latest = capabilities_in_catalog(client, "eastus2", "gpt-chat-latest", None)
    assert mini.reasoning is True and "max_tokens" not in mini.parameters
    assert mini.min_api_version == "2025-04-01-preview"
    assert chat.reasoning is False and "max_tokens" in chat.parameters and "reasoning_effort" not in chat.parameters
    assert latest.reasoning is False
    assert capabilities_in_catalog(client, "eastus2", "no-such-model", None) is None


def test_temperature_is_checked_against_the_catalogs_answer():
    check_options(["llmops"], {"temperature": 0.3}, "gpt-5-chat", reasoning=False)
    with pytest.raises(OptionError, match="reasoning model"):
        check_options(["llmops"], {"temperature": 0.3}, "gpt-chat-latest", reasoning=True)
    # A catalog that does not say (Azure's key names are not verified): the option cannot be honoured.
    with pytest.raises(OptionError, match="does not say whether"):
        check_options(["llmops"], {"temperature": 0.3}, "some-model", reasoning=None)


def test_a_model_of_unknown_kind_gets_only_what_both_kinds_take(sandbox):
    """Reasoning models refuse max_tokens and temperature, chat models refuse reasoning_effort (Learn "Reasoning
    models"); both take max_completion_tokens, so that is all the labs send when the catalog is silent."""
    from labctl_labs.common import completion_parameters

    parameters = completion_parameters(None, 50, temperature=0.3, reasoning_effort="minimal")
    assert parameters == {"max_completion_tokens": 50}
    lab = Lab(sandbox, deployments=(("reasoning", "gpt-5-mini", "2025-08-07", 10),
                                    ("plain", "gpt-chat-latest", "2026-08-06", 10)))
    client = lab.azure_client()
    for deployment in ("reasoning", "plain"):
        answer = client.chat.completions.create(model=deployment, messages=[{"role": "user", "content": "Hi"}],
                                                **parameters)
        assert answer.choices[0].message.content is not None
