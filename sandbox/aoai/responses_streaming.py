"""The Responses API with `stream: true`: server-sent events in the order OpenAI's Responses streaming reference
lists them, each with a `sequence_number` counting from 0 and an `event:` line naming its type:

response.created and response.in_progress (the response with status in_progress and no output), then per output
item response.output_item.added; for the message, response.content_part.added, response.output_text.delta events
of a few tokens each, response.output_text.done (the whole text), response.content_part.done; then
response.output_item.done; last response.completed, or response.incomplete when max_output_tokens cut the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi.responses import StreamingResponse

TOKENS_PER_DELTA = 4


def events(answer: dict, enc) -> Iterator[dict]:
    """The stream's events for `answer` (a finished response object)."""
    pending = {**answer, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    yield {"type": "response.created", "response": pending}
    yield {"type": "response.in_progress", "response": pending}
    for index, item in enumerate(answer["output"]):
        if item["type"] != "message":
            yield {"type": "response.output_item.added", "output_index": index, "item": item}
            yield {"type": "response.output_item.done", "output_index": index, "item": item}
            continue
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        yield {"type": "response.output_item.added", "output_index": index,
               "item": {**item, "status": "in_progress", "content": []}}
        part = item["content"][0]
        yield {"type": "response.content_part.added", **where, "part": {**part, "text": ""}}
        tokens = enc.encode_ordinary(part["text"])
        for start in range(0, len(tokens), TOKENS_PER_DELTA):
            yield {"type": "response.output_text.delta", **where, "logprobs": [],
                   "delta": enc.decode(tokens[start:start + TOKENS_PER_DELTA])}
        yield {"type": "response.output_text.done", **where, "logprobs": [], "text": part["text"]}
        yield {"type": "response.content_part.done", **where, "part": part}
        yield {"type": "response.output_item.done", "output_index": index, "item": item}
    final = "response.incomplete" if answer["status"] == "incomplete" else "response.completed"
    yield {"type": final, "response": answer}


def stream_response(answer: dict, enc, headers: dict[str, str]) -> StreamingResponse:
    def send() -> Iterator[bytes]:
        for number, event in enumerate(events(answer, enc)):
            event = {**event, "sequence_number": number}
            yield f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()

    return StreamingResponse(send(), media_type="text/event-stream", headers=headers)
