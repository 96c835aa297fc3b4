"""The twin's Azure OpenAI data plane as the openai SDK's other features use it: JSON mode, Structured Outputs
(`.parse()`), forced tool calls and tool wiring, the parameter checks Azure makes, and the Responses API.
Expected answers come from OpenAI's / Azure's docs and public reports, cited per test (never from the product).
The twin starts on the catalog's day: gpt-chat-latest retires 2026-12-02 (sandbox/data/catalog.yaml)."""

import json
from typing import Literal

import openai
import pytest
from pydantic import BaseModel

from tests.sandbox.conftest import Lab

DEPLOYMENTS = (("reasoning", "gpt-5-mini", "2025-08-07", 10), ("plain", "gpt-chat-latest", "2026-08-06", 10))
HELLO = [{"role": "user", "content": "Describe a nurse."}]



@pytest.fixture
def lab(sandbox):
    return Lab(sandbox, deployments=DEPLOYMENTS)


@pytest.fixture
def client(lab):
    return lab.v1_client(max_retries=0)


def refusal(call) -> dict:
    with pytest.raises(openai.BadRequestError) as refused:
        call()
    assert refused.value.status_code == 400
    return refused.value.body


class Weather(BaseModel):
    city: str
    celsius: float
    sunny: bool
    hours: list[int]


class Lookup(BaseModel):
    query: str
    limit: int


class Step(BaseModel):
    explanation: str
    output: str


class Plan(BaseModel):
    # Nested models ($defs/$ref), a list of them, an enum and a nullable field: shapes the Structured Outputs guide
    # lists as supported ("Supported schemas").
    level: Literal["beginner", "advanced"]
    steps: list[Step]
    note: str | None


# --- JSON mode and Structured Outputs -----------------------------------------------------------------------------

@pytest.mark.parametrize("deployment", ["plain", "reasoning"])
def test_json_mode_needs_the_word_json_and_then_answers_a_json_object(client, deployment):
    # OpenAI "JSON mode" guide: the messages must tell the model to produce JSON, else the API errors with
    # "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'".
    body = refusal(lambda: client.chat.completions.create(model=deployment, messages=HELLO,
                                                          response_format={"type": "json_object"}))
    assert "must contain the word 'json'" in body["message"] and body["param"] == "messages"
    answer = client.chat.completions.create(
        model=deployment, response_format={"type": "json_object"},
        messages=[{"role": "system", "content": "Answer in JSON."}, *HELLO])
    assert isinstance(json.loads(answer.choices[0].message.content), dict)


@pytest.mark.parametrize("deployment", ["plain", "reasoning"])
def test_structured_outputs_parse_into_the_schema(client, deployment):
    # OpenAI "Structured Outputs": the output always matches the supplied JSON Schema; the SDK's .parse() validates
    # it into the pydantic model (it raises if the content does not fit).
    answer = client.chat.completions.parse(model=deployment, messages=[{"role": "user", "content": "Weather?"}],
                                           response_format=Weather)
    parsed = answer.choices[0].message.parsed
    assert isinstance(parsed, Weather) and parsed.city
    assert Weather.model_validate_json(answer.choices[0].message.content) == parsed


def test_structured_outputs_follow_nested_schemas(client):
    for _ in range(5):  # several draws: the twin's answers vary between identical requests
        answer = client.chat.completions.parse(model="plain", messages=[{"role": "user", "content": "Plan?"}],
                                               response_format=Plan)
        assert isinstance(answer.choices[0].message.parsed, Plan)


# --- tools ---------------------------------------------------------------------------------------------------------

TOOLS = [openai.pydantic_function_tool(Weather), openai.pydantic_function_tool(Lookup)]


def test_tool_choice_required_calls_a_tool_with_arguments_that_fit_its_parameters(client):
    # OpenAI function-calling guide: tool_choice "required" makes the model call one or more functions;
    # finish_reason is "tool_calls" when the model called a tool (chat completions reference).
    answer = client.chat.completions.create(model="plain", messages=HELLO, tools=TOOLS, tool_choice="required")
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.id
    schema = {"Weather": Weather, "Lookup": Lookup}[call.function.name]
    schema.model_validate_json(call.function.arguments)


def test_a_named_tool_choice_calls_that_function_and_parse_reads_it(client):
    # Function-calling guide: {"type": "function", "function": {"name": ...}} forces exactly that function; the
    # SDK's .parse() parses strict tools' arguments into their pydantic models.
    answer = client.chat.completions.parse(model="reasoning", messages=HELLO, tools=TOOLS,
                                           tool_choice={"type": "function", "function": {"name": "Lookup"}})
    call = answer.choices[0].message.tool_calls[0]
    assert call.function.name == "Lookup"
    assert isinstance(call.function.parsed_arguments, Lookup)


def test_a_forced_tool_call_streams_as_tool_call_deltas(client):
    # Chat completion chunk object: delta.tool_calls carries index, id, type and the function's name and arguments.
    chunks = list(client.chat.completions.create(model="plain", messages=HELLO, tools=TOOLS, stream=True,
                                                 tool_choice={"type": "function", "function": {"name": "Lookup"}}))
    calls = [c for chunk in chunks for choice in chunk.choices for c in choice.delta.tool_calls or []]
    assert calls and calls[0].function.name == "Lookup"
    Lookup.model_validate_json("".join(c.function.arguments for c in calls))
    assert [choice.finish_reason for chunk in chunks for choice in chunk.choices if choice.finish_reason] == [
        "tool_calls"]


def test_a_tool_round_trip_is_answered_in_text(client):
    first = client.chat.completions.create(model="plain", messages=HELLO, tools=TOOLS, tool_choice="required")
    call = first.choices[0].message.tool_calls[0]
    messages = [*HELLO, first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": '{"ok": true}'}]
    answer = client.chat.completions.create(model="plain", messages=messages, tools=TOOLS)
    assert answer.choices[0].message.content and answer.choices[0].finish_reason == "stop"


def test_a_tool_choice_naming_an_unknown_function_is_refused(client):
    # "Tool choice '<name>' not found in 'tools' parameter." (OpenAI's answer reported in code-yeongyu/senpi#2234
    # and CLIProxyAPI reports; param tool_choice).
    body = refusal(lambda: client.chat.completions.create(
        model="plain", messages=HELLO, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}}))
    assert body["message"] == "Tool choice 'nope' not found in 'tools' parameter." and body["param"] == "tool_choice"


def test_tool_choice_without_tools_is_refused(client):
    # karthink/gptel-quick#13: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are
    # specified."
    body = refusal(lambda: client.chat.completions.create(model="plain", messages=HELLO, tool_choice="required"))
    assert "only allowed when 'tools' are specified" in body["message"]


def test_a_tool_message_answering_no_call_is_refused(client):
    # "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
    # with param messages.[N].role (reports quoting the live body, e.g. in langchain4j and LiteLLM issues).
    messages = [*HELLO, {"role": "tool", "tool_call_id": "call_1", "content": "42"}]
    body = refusal(lambda: client.chat.completions.create(model="plain", messages=messages))
    assert "must be a response to a preceeding message with 'tool_calls'" in body["message"]
    assert body["param"] == "messages.[1].role"


def test_an_unanswered_tool_call_is_refused(client):
    # "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.
    # The following tool_call_ids did not have response messages: call_..." (LiteLLM / OpenAI reports).
    call = {"id": "call_abc", "type": "function", "function": {"name": "Lookup", "arguments": "{}"}}
    messages = [*HELLO, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "user", "content": "And?"}]
    body = refusal(lambda: client.chat.completions.create(model="plain", messages=messages, tools=TOOLS))
    assert body["message"].endswith("did not have response messages: call_abc")


# --- parameters Azure refuses --------------------------------------------------------------------------------------

@pytest.mark.parametrize("parameter", [{"logprobs": True}, {"top_p": 0.5}, {"presence_penalty": 0.5},
                                       {"frequency_penalty": 0.5}, {"stop": ["\n"]}, {"top_logprobs": 2}])
def test_reasoning_models_refuse_sampling_parameters(client, parameter):
    # Learn "Reasoning models" (not supported: temperature, top_p, presence_penalty, frequency_penalty, logprobs,
    # top_logprobs, logit_bias, max_tokens); the live answer: "Unsupported parameter: 'top_p' is not supported with
    # this model." code unsupported_parameter.
    name = next(iter(parameter))
    body = refusal(lambda: client.chat.completions.create(model="reasoning", messages=HELLO, **parameter))
    assert body["message"] == f"Unsupported parameter: '{name}' is not supported with this model."
    assert body["code"] == "unsupported_parameter" and body["param"] == name


def test_chat_models_take_the_sampling_parameters(client):
    answer = client.chat.completions.create(model="plain", messages=HELLO, top_p=0.5, presence_penalty=0.2,
                                            frequency_penalty=0.2, stop=["zzz"], max_tokens=40)
    assert answer.choices[0].message.content


def test_an_unknown_role_is_refused(client):
    # "Invalid value: 'foobar'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and
    # 'developer'." param messages[0].role, code invalid_value (OpenAI's answer quoted in client test suites).
    body = refusal(lambda: client.chat.completions.create(model="plain",
                                                          messages=[{"role": "foobar", "content": "Hi"}]))
    assert body["message"].startswith("Invalid value: 'foobar'. Supported values are: 'system'")
    assert body["param"] == "messages[0].role" and body["code"] == "invalid_value"


@pytest.mark.parametrize(("n", "code"), [(0, "integer_below_min_value"), (200, "integer_above_max_value")])
def test_n_outside_its_range_is_refused(client, n, code):
    # Azure OpenAI REST reference (chat completions `n`: 1..128); OpenAI's wording "Invalid 'n': integer below
    # minimum value. Expected a value >= 1, but got 0 instead."
    body = refusal(lambda: client.chat.completions.create(model="plain", messages=HELLO, n=n))
    assert body["code"] == code and body["param"] == "n" and f"but got {n} instead" in body["message"]


def test_n_choices_are_answered(client):
    assert len(client.chat.completions.create(model="plain", messages=HELLO, n=3, max_tokens=30).choices) == 3


def test_unknown_body_keys_are_refused(client):
    # Azure: "Unrecognized request argument supplied: <key>" (browser-use/browser-use#2990).
    body = refusal(lambda: client.chat.completions.create(model="plain", messages=HELLO, extra_body={"frobnicate": 1}))
    assert body["message"] == "Unrecognized request argument supplied: frobnicate"


# --- the Responses API ---------------------------------------------------------------------------------------------

def test_responses_answer_text_with_usage_on_the_v1_surface(client):
    # Learn "Azure OpenAI Responses API": POST {endpoint}/openai/v1/responses with the deployment name as model;
    # usage reports input, output and reasoning tokens (OpenAI Responses reference).
    answer = client.responses.create(model="reasoning", input="Describe a nurse.", instructions="Be brief.",
                                     reasoning={"effort": "low"})
    assert answer.status == "completed" and answer.output_text
    assert answer.model == "gpt-5-mini-2025-08-07"
    assert answer.usage.input_tokens > 0
    assert answer.usage.output_tokens_details.reasoning_tokens > 0
    assert answer.usage.total_tokens == answer.usage.input_tokens + answer.usage.output_tokens
    assert client.responses.retrieve(answer.id).output_text == answer.output_text


def test_responses_take_message_input_on_the_dated_surface(lab):
    # The dated form, {endpoint}/openai/responses?api-version=2025-04-01-preview (same Learn page).
    client = lab.azure_client(max_retries=0)
    answer = client.responses.create(model="plain", temperature=0.3, input=[
        {"role": "user", "content": [{"type": "input_text", "text": "Describe a teacher."}]}])
    assert "teacher" in answer.output_text.lower()
    assert answer.usage.output_tokens_details.reasoning_tokens == 0


def test_max_output_tokens_cuts_the_answer_and_says_so(client):
    # OpenAI Responses reference: max_output_tokens bounds visible and reasoning tokens; a cut response is
    # "incomplete" with incomplete_details.reason "max_output_tokens".
    answer = client.responses.create(model="reasoning", input="Describe a nurse.", max_output_tokens=30,
                                     reasoning={"effort": "low"})
    assert answer.status == "incomplete" and answer.incomplete_details.reason == "max_output_tokens"
    assert answer.usage.output_tokens <= 30


@pytest.mark.parametrize(("deployment", "parameters", "param"), [
    ("plain", {"reasoning": {"effort": "low"}}, "reasoning.effort"),  # a chat model has no reasoning effort
    ("reasoning", {"temperature": 0.2}, "temperature"),  # Learn "Reasoning models": temperature not supported
    ("reasoning", {"max_output_tokens": 8}, "max_output_tokens"),  # minimum 16 (OpenAI Responses reference)
])
def test_responses_refuse_what_the_model_does_not_take(client, deployment, parameters, param):
    body = refusal(lambda: client.responses.create(model=deployment, input="Hi", **parameters))
    assert body["param"] == param


def test_responses_json_mode_and_structured_outputs(client):
    # OpenAI Responses: text.format json_object needs "json" in the input messages ("Response input messages must
    # contain the word 'json' ..."); responses.parse() validates a json_schema answer into the pydantic model.
    body = refusal(lambda: client.responses.create(model="plain", input="Weather?", instructions="Answer in JSON.",
                                                   text={"format": {"type": "json_object"}}))
    assert body["param"] == "text.format"
    parsed = client.responses.parse(model="plain", input="Weather in JSON?", text_format=Weather).output_parsed
    assert isinstance(parsed, Weather)


def test_responses_stream_as_events_ending_with_the_response(client):
    # OpenAI Responses streaming reference: response.created ... response.output_text.delta ... response.completed,
    # each event with a sequence_number; the SDK's responses.stream() helper assembles the final response.
    events = list(client.responses.create(model="plain", input="Describe a chef.", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text and text == events[-1].response.output_text
    with client.responses.stream(model="reasoning", input="Describe a chef.") as stream:
        final = stream.get_final_response()
    assert final.output_text and final.usage.output_tokens_details.reasoning_tokens > 0
