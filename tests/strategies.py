"""Hypothesis strategies shared by the tests of the product's validator and of the sandbox's file checks."""

from __future__ import annotations

import json

from hypothesis import strategies as st

KEYS = ["messages", "role", "content", "weight", "name", "tool_calls", "x"]


def jsonl_lines(*, line_bytes: int, text: int, leaves: int, lines: int):
    """Lists of up to `lines` byte strings: raw bytes, text, and JSON values built of the chat format's keys."""
    value = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=text),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner,
                                                                                     max_size=4),
                         max_leaves=leaves)
    return st.lists(st.one_of(st.binary(max_size=line_bytes), st.text(max_size=line_bytes).map(str.encode),
                              value.map(lambda v: json.dumps(v).encode())), max_size=lines)
