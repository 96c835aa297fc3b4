"""Azure OpenAI as it answers in 2026, through the openai SDK: api-versions, streaming, the 86400 s 429,
unconstrained requests on small deployments, a non-reasoning chat model, and key auth on a keyless account.
Expected values come from Azure's docs and public reports, cited per test (not from the product)."""

import openai
import pytest
from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku

from sandbox.credentials import SandboxCredential
from tests.sandbox.conftest import Lab

DEPLOYMENTS = (("chat", "gpt-5-mini", "2025-08-07", 10), ("small", "gpt-5-mini", "2025-08-07", 1),
               ("plain", "gpt-chat-latest", "2026-08-06", 10))
HELLO = [{"role": "user", "content": "Describe a nurse."}]


@pytest.fixture
def lab(sandbox):
    return Lab(sandbox, deployments=DEPLOYMENTS)


# --- api-versions -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["2031-13-45", "not-a-date", "2023-03-15-preview", "2024-05-01-preview"])
def test_unknown_and_retired_api_versions_are_refused(lab, version):
    # hotovo/aider-desk#460, spring-projects/spring-ai#3873: {"error":{"code":"BadRequest","message":"API version not
    # supported"}}. 2023-03-15-preview retired 2024-07-01 (Learn "API preview lifecycle"); 2024-05-01-preview left
    # the supported "latest three previews" after 2025-02-03. Both are in the seeds' notebooks.
    with pytest.raises(openai.BadRequestError) as refused:
        lab.azure_client(api_version=version).chat.completions.create(model="plain", messages=HELLO, max_tokens=50)
    assert refused.value.status_code == 400
    assert refused.value.body["code"] == "BadRequest" and refused.value.body["message"] == "API version not supported"


def test_ga_versions_serve_a_non_reasoning_model(lab):
    # 2024-02-01 (a seed's version) and 2024-10-21 are GA versions (Learn "API version lifecycle").
    for version in ("2024-02-01", "2024-10-21"):
        answer = lab.azure_client(api_version=version).chat.completions.create(
            model="plain", messages=HELLO, max_tokens=50, temperature=0.7)
        assert answer.choices[0].message.content


def test_reasoning_models_need_their_minimum_api_version(lab):
    # "Model {modelName} is enabled only for api versions 2024-12-01-preview and later", placeholder left unfilled
    # (microsoft/semantic-kernel#12268, Azure/azure-sdk-for-python#40759); the gpt-5 family from 2025-04-01-preview.
    with pytest.raises(openai.BadRequestError) as refused:
        lab.azure_client(api_version="2024-10-21").chat.completions.create(model="chat", messages=HELLO)
    assert refused.value.body["code"] == "BadRequest"
    assert refused.value.body["message"] == ("Model {modelName} is enabled only for api versions 2025-04-01-preview "
                                             "and later")
    assert lab.azure_client(api_version="2025-04-01-preview").chat.completions.create(model="chat", messages=HELLO)


def test_retired_api_versions_are_refused_on_the_authoring_surfaces_too(lab):
    # The lifecycle applies to every dated operation (files, fine-tuning), not only inference.
    with pytest.raises(openai.BadRequestError) as refused:
        lab.azure_client(api_version="2024-05-01-preview").files.list()
    assert refused.value.body["message"] == "API version not supported"
    assert lab.azure_client(api_version="2024-10-21").files.list().data == []


def test_the_v1_surface_takes_no_api_version(lab):
    assert lab.v1_client().chat.completions.create(model="chat", messages=HELLO).choices[0].message.content


# --- a non-reasoning chat model -------------------------------------------------------------------------------------

def test_non_reasoning_model_takes_the_seeds_parameters_and_refuses_reasoning_effort(lab):
    # The seeds send max_tokens and temperature; a chat model refuses reasoning_effort with "Unrecognized request
    # argument supplied" (browser-use/browser-use#2990, stanfordnlp/dspy#9032, about gpt-5-chat).
    client = lab.azure_client()
    answer = client.chat.completions.create(model="plain", messages=HELLO, max_tokens=60, temperature=0.2)
    assert answer.model == "gpt-chat-latest-2026-08-06"
    assert answer.usage.completion_tokens_details.reasoning_tokens == 0
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="plain", messages=HELLO, reasoning_effort="low")
    assert "Unrecognized request argument supplied: reasoning_effort" in str(refused.value)


# --- streaming ----------------------------------------------------------------------------------------------------

def test_streaming_sends_chunks_and_a_final_usage_chunk(lab):
    # OpenAI API reference, "The chat completion chunk object" and stream_options.include_usage: chunks of
    # object chat.completion.chunk; with include_usage, a last chunk with empty choices carries the usage.
    client = lab.azure_client()
    stream = client.chat.completions.create(model="plain", messages=HELLO, max_tokens=200, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = client.chat.completions.create(model="plain", messages=HELLO, max_tokens=200, temperature=0)
    assert "nurse" in text.lower() and len(text) > 40
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.prompt_tokens == whole.usage.prompt_tokens
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_streaming_without_include_usage_sends_no_usage(lab):
    chunks = list(lab.azure_client().chat.completions.create(model="chat", messages=HELLO, stream=True))
    assert chunks and all(getattr(c, "usage", None) is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_stream_options_without_stream_is_refused(lab):
    with pytest.raises(openai.BadRequestError) as refused:
        lab.azure_client().chat.completions.create(model="plain", messages=HELLO,
                                                   stream_options={"include_usage": True})
    assert "stream_options" in str(refused.value)


# --- 429s and reservations -----------------------------------------------------------------------------------------

def test_a_request_larger_than_the_whole_tpm_gets_a_429_asking_for_86400_seconds(lab):
    # "... have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 86400
    # seconds." (vanderschaarlab/climb#1, alex-wolf-ps/dbchatprov2#2): a 1K TPM deployment, 5,000 tokens asked.
    client = lab.azure_client(max_retries=0)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="small", messages=HELLO, max_completion_tokens=5000)
    assert refused.value.status_code == 429
    assert "Please retry after 86400 seconds" in refused.value.body["message"]
    assert refused.value.response.headers["retry-after"] == "86400"


def test_a_request_without_max_tokens_is_served_on_a_small_deployment(lab):
    # Azure serves requests with no max_tokens on a 1K TPM deployment (issue 18's replay); it reserves what the
    # TPM leaves, so the next unconstrained request in the same minute waits (429 with retry headers).
    client = lab.azure_client(max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="small", messages=HELLO)
    assert raw.parse().choices[0].message.content
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) < 100
    with pytest.raises(openai.RateLimitError) as waited:
        client.chat.completions.create(model="small", messages=HELLO)
    assert 0 < int(waited.value.response.headers["retry-after"]) <= 60


# --- local auth disabled ----------------------------------------------------------------------------------------

def test_keys_are_refused_and_entra_tokens_accepted_when_local_auth_is_disabled(lab, sandbox):
    # Learn "Disable local authentication in Azure AI services": with disableLocalAuth, key requests get 401;
    # Microsoft Entra ID tokens still work.
    from openai import AzureOpenAI

    lab.arm.accounts.begin_create("rg-lab", "lab-aoai", Account(
        kind="OpenAI", sku=Sku(name="S0"), location=lab.location,
        properties=AccountProperties(custom_sub_domain_name="lab-aoai", disable_local_auth=True))).result()
    with pytest.raises(openai.AuthenticationError) as refused:
        lab.azure_client(max_retries=0).chat.completions.create(model="chat", messages=HELLO)
    assert refused.value.status_code == 401 and refused.value.body["code"] == "AuthenticationTypeDisabled"
    credential = SandboxCredential()
    entra = AzureOpenAI(azure_endpoint=lab.endpoint, api_version="2025-04-01-preview",
                        azure_ad_token_provider=lambda: credential.get_token("https://ai.azure.com/.default").token)
    assert entra.chat.completions.create(model="chat", messages=HELLO).choices[0].message.content


def test_a_service_principal_authenticates_through_azure_identity(lab, sandbox, monkeypatch):
    # azure-identity's ClientSecretCredential against the twin's Entra endpoint, as the labs use it when an account
    # takes no keys; a wrong secret gets Entra's AADSTS7000215 (Learn "Microsoft identity platform error codes").
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientSecretCredential, get_bearer_token_provider
    from openai import AzureOpenAI

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.endpoints.ca_file)
    principal = sandbox.control("POST", "/entra/service-principals")
    credential = ClientSecretCredential(principal["tenant_id"], principal["client_id"], principal["client_secret"],
                                        authority=principal["authority_host"], disable_instance_discovery=True)
    provider = get_bearer_token_provider(credential, "https://cognitiveservices.azure.com/.default")
    client = AzureOpenAI(azure_endpoint=lab.endpoint, api_version="2025-04-01-preview", azure_ad_token_provider=provider)
    assert client.chat.completions.create(model="chat", messages=HELLO).choices[0].message.content
    wrong = ClientSecretCredential(principal["tenant_id"], principal["client_id"], "not-the-secret",
                                   authority=principal["authority_host"], disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as refused:
        wrong.get_token("https://cognitiveservices.azure.com/.default")
    assert "AADSTS7000215" in str(refused.value)
