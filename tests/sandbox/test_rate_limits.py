"""The twin's rate limits through the real SDKs, as Azure documents them.

Sources: Microsoft Learn, "Manage Azure OpenAI quota" (MicrosoftDocs/azure-ai-docs articles/foundry/openai/includes/
quota-1.md, ms.date 2026-09-16; quota-2.md, ms.date 2026-05-06) and the quota tier table (includes/quota-tier/
tier-1.md, ms.date 2026-08-20): gpt-5-mini 1,000 RPM / 1,000,000 TPM (1 RPM per unit), gpt-5 10,000 RPM /
1,000,000 TPM (10 per unit); every reply carries x-ratelimit-limit/remaining/reset for requests and tokens;
"Unsuccessful requests still count toward your per-minute rate limit."
"""

import openai
import pytest

from tests.sandbox.conftest import Lab


def ask(client, model="chat", **kwargs):
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "Describe a chef."}], max_completion_tokens=100, **kwargs)


@pytest.fixture
def lab(sandbox):
    return Lab(sandbox, deployments=(("mini", "gpt-5-mini", "2025-08-07", 10), ("full", "gpt-5", "2025-08-07", 10)))


def test_rpm_per_capacity_unit_comes_from_the_models_quota_table(lab):
    for name, rpm in (("mini", 10), ("full", 100)):
        rules = {r.key: r for r in lab.arm.deployments.get("rg-lab", "lab-aoai", name).properties.rate_limits}
        assert rules["request"].count * 60 / rules["request"].renewal_period == rpm
        assert rules["token"].count == 10_000 and rules["token"].renewal_period == 60
        raw = ask(lab.azure_client(max_retries=0), name)
        assert raw.headers["x-ratelimit-limit-requests"] == str(rpm)
        assert raw.headers["x-ratelimit-limit-tokens"] == "10000"


def test_headers_agree_and_reset_headers_come_with_every_reply(lab):
    client = lab.azure_client(max_retries=0)
    first, second = ask(client, "full"), ask(client, "full")
    for n, raw in enumerate((first, second), start=1):
        headers = raw.headers
        # limit and remaining describe the same minute: 100 RPM, n requests used
        assert int(headers["x-ratelimit-remaining-requests"]) == 100 - n
        assert 0 < int(headers["x-ratelimit-reset-requests"]) <= 60
        assert 0 < int(headers["x-ratelimit-reset-tokens"]) <= 60
    spent = 10_000 - int(first.headers["x-ratelimit-remaining-tokens"])
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 10_000 - 2 * spent


def test_a_throttled_reply_carries_the_reset_headers_too(lab):
    client = lab.azure_client(max_retries=0)
    for _ in range(2):  # gpt-5-mini at 10 units: 10 RPM, of which 2 in any 10 seconds
        ask(client, "mini")
    with pytest.raises(openai.RateLimitError) as limited:
        ask(client, "mini")
    headers = limited.value.response.headers
    assert "call rate limit" in limited.value.message
    assert int(headers["retry-after"]) <= int(headers["x-ratelimit-reset-requests"]) <= 60
    assert headers["x-ratelimit-limit-requests"] == "10" and "x-ratelimit-reset-tokens" in headers


def test_hammering_during_a_429_delays_admission(lab):
    """A client that waits what the 429 says gets in; one that resends meanwhile has spent the minute's
    requests on refusals and is refused again when the first would have got in."""
    patient, hammering = lab.azure_client(max_retries=0), lab.azure_client(max_retries=0)
    ask(patient, "mini")
    ask(patient, "mini")
    with pytest.raises(openai.RateLimitError) as limited:
        ask(patient, "mini")
    wait = int(limited.value.response.headers["retry-after"])
    assert wait <= 10  # the 10-second window, not the minute, is full
    lab.sandbox.advance(wait)
    assert ask(patient, "mini").parse().choices  # 4th request of the minute: admitted

    # Same again on a fresh deployment, resending 8 times inside the advised wait.
    lab.arm.deployments.begin_create_or_update("rg-lab", "lab-aoai", "mini", lab.arm.deployments.get(
        "rg-lab", "lab-aoai", "mini")).result()
    ask(hammering, "mini")
    ask(hammering, "mini")
    refusals = 0
    for _ in range(9):
        with pytest.raises(openai.RateLimitError):
            ask(hammering, "mini")
        refusals += 1
    lab.sandbox.advance(wait)
    with pytest.raises(openai.RateLimitError) as still:
        ask(hammering, "mini")  # 2 admitted + 10 refused > 10 RPM: the minute is spent
    assert refusals == 9 and int(still.value.response.headers["x-ratelimit-remaining-requests"]) == 0
