"""A value that validates against a JSON Schema, drawn from a seeded random generator.

The synthetic model answers Structured Outputs (`response_format` json_schema) and forced tool calls with such a
value, as a real model constrained to the schema does (OpenAI "Structured Outputs" guide: the output always
matches the supplied schema). The subset covered is the one Structured Outputs accepts (same guide, "Supported
schemas"): object (properties, required, additionalProperties false), array (items, minItems, maxItems), string
(enum, const, minLength, maxLength; `format` date-time / date / email / uuid), number and integer (minimum,
maximum, exclusive bounds, multipleOf), boolean, null, anyOf, $ref to $defs / definitions (recursion included).
"""

from __future__ import annotations

import random
from typing import Any

WORDS = ("alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "sierra", "tango", "zulu")
FORMATS = {"date-time": "2026-01-01T12:00:00Z", "date": "2026-01-01", "time": "12:00:00",
           "email": "learner@example.com", "uuid": "00000000-0000-4000-8000-000000000001",
           "hostname": "example.com", "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "duration": "P1D"}
MAX_DEPTH = 6  # a recursive schema ($ref to itself) stops nesting here by taking its non-recursive branch


def value_for(schema: dict, rng: random.Random) -> Any:
    """A JSON value (dict, list, str, int, float, bool or None) that validates against `schema`."""
    return _value(schema, schema, rng, 0)


def _value(schema: dict, root: dict, rng: random.Random, depth: int) -> Any:
    if not isinstance(schema, dict) or not schema:
        return rng.choice(WORDS)
    if "$ref" in schema:
        return _value(_resolve(schema["$ref"], root), root, rng, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = schema[key]
            if depth >= MAX_DEPTH:  # prefer a branch that ends (null, a scalar) over one that nests further
                options = sorted(options, key=lambda o: o.get("type") not in ("null", "string", "number", "integer"))
                return _value(options[0], root, rng, depth + 1)
            return _value(rng.choice(options), root, rng, depth + 1)
    if "allOf" in schema:
        merged: dict = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part["$ref"], root) if "$ref" in part else part)
        return _value(merged, root, rng, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "null" if depth >= MAX_DEPTH and "null" in kind else rng.choice(kind)
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return GENERATORS[kind](schema, root, rng, depth)


def _resolve(ref: str, root: dict) -> dict:
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _object(schema: dict, root: dict, rng: random.Random, depth: int) -> dict:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    return {name: _value(sub, root, rng, depth + 1) for name, sub in properties.items()
            if name in required or depth < MAX_DEPTH}


def _array(schema: dict, root: dict, rng: random.Random, depth: int) -> list:
    low = schema.get("minItems", 1 if depth < MAX_DEPTH else 0)
    high = max(low, min(schema.get("maxItems", 3), low + 3))
    count = rng.randint(low, high) if depth < MAX_DEPTH else low
    return [_value(schema.get("items", {}), root, rng, depth + 1) for _ in range(count)]


def _string(schema: dict, root: dict, rng: random.Random, depth: int) -> str:
    if schema.get("format") in FORMATS:
        return FORMATS[schema["format"]]
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    while len(text) < low:
        text += " " + rng.choice(WORDS)
    return text[:high] if high is not None else text


def _number(schema: dict, root: dict, rng: random.Random, depth: int, integer: bool = False) -> float | int:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
    high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100))
    if "exclusiveMinimum" in schema and "minimum" not in schema:
        low += 1 if integer else 1e-6
    if "exclusiveMaximum" in schema and "maximum" not in schema:
        high -= 1 if integer else 1e-6
    step = schema.get("multipleOf")
    if integer or step:
        step = step or 1
        first, last = -(-low // step), high // step  # the multiples of step within [low, high]
        picked = rng.randint(int(first), int(max(first, last))) * step
        return int(picked) if integer else float(picked)
    return round(rng.uniform(low, high), 3)


GENERATORS = {
    "object": _object,
    "array": _array,
    "string": _string,
    "number": _number,
    "integer": lambda s, r, g, d: _number(s, r, g, d, integer=True),
    "boolean": lambda s, r, g, d: g.random() < 0.5,
    "null": lambda s, r, g, d: None,
}
