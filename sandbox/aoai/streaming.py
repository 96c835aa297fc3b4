"""Chat completions as server-sent events (`stream: true`), in the shape Azure OpenAI sends them.

The stream (OpenAI API reference "The chat completion chunk object"; Learn "Azure OpenAI reference", streaming):
- a first chunk with no choices and the prompt's `prompt_filter_results` (Azure's own addition);
- per choice, a chunk whose delta carries the role, then chunks of a few tokens of content each, then a chunk
  with an empty delta and the `finish_reason`;
- with `stream_options: {"include_usage": true}`, a last chunk with `choices: []` and the request's `usage`
  (every other chunk then carries `usage: null`);
- `data: [DONE]`.
Each event is `data: <json>` followed by a blank line; the response's content type is text/event-stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

TOKENS_PER_CHUNK = 4


def chunks(completion: dict, enc, include_usage: bool) -> list[dict]:
    """The chunk objects that stream `completion` (a chat.completion body)."""
    base = {"id": completion["id"], "object": "chat.completion.chunk", "created": completion["created"],
            "model": completion["model"], "system_fingerprint": completion["system_fingerprint"]}
    usage = {"usage": None} if include_usage else {}
    out = [{**base, "model": "", "choices": [], "prompt_filter_results": completion["prompt_filter_results"],
            **usage}]
    for choice in completion["choices"]:
        index, content = choice["index"], choice["message"]["content"] or ""
        out.append({**base, "choices": [_delta(index, {"role": "assistant", "content": "", "refusal": None})],
                    **usage})
        for position, call in enumerate(choice["message"].get("tool_calls") or []):
            # A tool call streams as a tool_calls delta (index, id, type, function name and arguments).
            out.append({**base, "choices": [_delta(index, {"tool_calls": [{"index": position, **call}]})], **usage})
        tokens = enc.encode_ordinary(content)
        for start in range(0, len(tokens), TOKENS_PER_CHUNK):
            piece = enc.decode(tokens[start:start + TOKENS_PER_CHUNK])
            out.append({**base, "choices": [{**_delta(index, {"content": piece}),
                                             "content_filter_results": choice["content_filter_results"]}],
                        **usage})
        out.append({**base, "choices": [_delta(index, {}, choice["finish_reason"])], **usage})
    if include_usage:
        out.append({**base, "choices": [], "usage": completion["usage"]})
    return out


def _delta(index: int, delta: dict, finish: str | None = None) -> dict:
    return {"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}


def stream_response(completion: dict, enc, include_usage: bool, seconds_per_token: float,
                    headers: dict[str, str]) -> StreamingResponse:
    events = chunks(completion, enc, include_usage)

    async def send() -> AsyncIterator[bytes]:
        for event in events:
            pieces = event["choices"][0]["delta"].get("content") if event["choices"] else None
            if pieces and seconds_per_token:
                await asyncio.sleep(seconds_per_token * TOKENS_PER_CHUNK)
            yield f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(send(), media_type="text/event-stream", headers=headers)
