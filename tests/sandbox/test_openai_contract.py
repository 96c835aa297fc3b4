"""The Azure OpenAI data plane through the openai SDK: both surfaces, auth, model families, rate limits."""

import warnings

import openai
import pytest

from sandbox.credentials import SandboxCredential
from tests.cookbook import COOKBOOK_CONVERSATION
from tests.sandbox.conftest import Lab

SYSTEM = "You are an advanced language model designed to assist with a variety of tasks."


@pytest.fixture
def lab(sandbox):
    return Lab(sandbox)


def ask(client, model, prompt="Describe a nurse.", **kwargs):
    return client.chat.completions.create(
        model=model, messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}], **kwargs
    )


def test_dated_api_chat_parses_into_the_sdk_model_without_warnings(lab):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        completion = ask(lab.azure_client(), "chat", max_completion_tokens=300)
        completion.model_dump()
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-5-mini-2025-08-07"
    message = completion.choices[0].message
    assert message.role == "assistant" and "nurse" in message.content.lower()
    assert completion.usage.prompt_tokens > 10
    assert completion.usage.completion_tokens_details.reasoning_tokens == 24
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


# The OpenAI cookbook's example conversation ("How to count tokens with tiktoken", section 6), which the API
# counts as 124 prompt tokens on o200k_base models (gpt-4o, gpt-4o-mini), as the cookbook's function does.



def test_prompt_tokens_are_counted_as_the_cookbook_publishes(lab):
    completion = lab.azure_client().chat.completions.create(model="chat", messages=COOKBOOK_CONVERSATION)
    assert completion.usage.prompt_tokens == 124  # gpt-5-mini encodes with o200k_base


def test_v1_api_chat_takes_the_deployment_as_model(lab):
    completion = ask(lab.v1_client(), "chat", prompt="Tell me a joke about animals.")
    assert "animal" in completion.choices[0].message.content


def test_wrong_key_gets_azures_401(lab):
    client = lab.azure_client()
    client.api_key = "0" * 32
    with pytest.raises(openai.AuthenticationError) as refused:
        ask(client, "chat")
    assert "invalid subscription key or wrong API endpoint" in str(refused.value)


def test_entra_bearer_token_is_accepted_and_audience_checked(lab):
    from openai import AzureOpenAI

    credential = SandboxCredential()
    good = AzureOpenAI(azure_endpoint=lab.endpoint, api_version="2025-04-01-preview",
                       azure_ad_token_provider=lambda: credential.get_token("https://cognitiveservices.azure.com/.default").token)
    assert ask(good, "chat").choices[0].message.content
    bad = AzureOpenAI(azure_endpoint=lab.endpoint, api_version="2025-04-01-preview",
                      azure_ad_token_provider=lambda: credential.get_token("https://management.azure.com/.default").token)
    with pytest.raises(openai.AuthenticationError):
        ask(bad, "chat")


def test_unknown_deployment_and_missing_api_version(lab):
    import requests

    with pytest.raises(openai.NotFoundError) as missing:
        ask(lab.azure_client(), "nope")
    assert missing.value.code == "DeploymentNotFound"
    dated = requests.post(f"{lab.endpoint}openai/deployments/chat/chat/completions", headers={"api-key": lab.key},
                          json={"messages": [{"role": "user", "content": "hi"}]}, timeout=10)
    assert dated.status_code == 404 and dated.json()["error"]["message"] == "Resource not found"


def test_reasoning_model_rejects_max_tokens_and_custom_temperature(lab):
    client = lab.azure_client(max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        ask(client, "chat", max_tokens=100)
    assert refused.value.code == "unsupported_parameter" and "max_completion_tokens" in refused.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        ask(client, "chat", temperature=0.2)
    assert refused.value.code == "unsupported_value"


def test_reasoning_tokens_count_against_the_completion_budget(lab):
    starved = ask(lab.azure_client(), "chat", max_completion_tokens=20)
    assert starved.choices[0].message.content == "" and starved.choices[0].finish_reason == "length"
    assert starved.usage.completion_tokens == 20
    light = ask(lab.azure_client(), "chat", max_completion_tokens=40, reasoning_effort="minimal")
    assert light.usage.completion_tokens_details.reasoning_tokens == 0
    assert light.choices[0].finish_reason == "length" and light.usage.completion_tokens == 40


def test_success_carries_rate_limit_headers(lab):
    raw = lab.azure_client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "Describe a chef."}], max_completion_tokens=200)
    assert raw.headers["x-ratelimit-limit-tokens"] == "10000"
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) < 10000
    assert raw.headers["x-ratelimit-remaining-requests"] == "9"
    assert raw.parse().choices


def test_requests_above_the_tpm_get_429_until_the_window_frees(lab):
    client = lab.azure_client(max_retries=0)
    ask(client, "chat", max_completion_tokens=4500)
    ask(client, "chat", max_completion_tokens=4500)
    with pytest.raises(openai.RateLimitError) as limited:
        ask(client, "chat", max_completion_tokens=4500)
    headers = limited.value.response.headers
    assert "exceeded token rate limit" in limited.value.message
    assert 0 < int(headers["retry-after-ms"]) <= 60_000 and int(headers["retry-after"]) >= 1
    lab.sandbox.advance(61)
    assert ask(client, "chat", max_completion_tokens=4500).choices


def test_the_sdks_own_retry_honours_retry_after_ms(sandbox, monkeypatch):
    """The SDK waits what `retry-after-ms` says, then succeeds. Its sleep is replaced by a jump of the sandbox
    clock of the same length, so the test waits for nothing and does not depend on how fast the machine is."""
    import time
    import types

    import openai._base_client

    lab = Lab(sandbox, deployments=(("chat", "gpt-5-mini", "2025-08-07", 1),))
    client = lab.azure_client(max_retries=3)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        sandbox.advance(seconds)

    ask(client, "chat", max_completion_tokens=50)  # gpt-5-mini, capacity 1 = 1 request per minute (quota tier table)
    # Only the SDK's own module sees the replacement; the sandbox's threads keep the real time.sleep.
    monkeypatch.setattr(openai._base_client, "time", types.SimpleNamespace(sleep=sleep, time=time.time))
    raw = client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "Describe a pilot."}], max_completion_tokens=50)
    assert raw.retries_taken == 1 and raw.parse().choices[0].message.content
    assert 0 < slept[0] <= 60  # what the 429 advised: the rest of the one-minute request window


def test_injected_429_is_retried_by_the_sdk(lab):
    lab.sandbox.control("PUT", "/faults", json={"rules": [{"path": "/chat/completions", "status": 429, "times": 1}]})
    raw = lab.azure_client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "Describe a doctor."}])
    assert raw.retries_taken == 1
    assert lab.sandbox.control("GET", "/faults")["injected"] == [1]
