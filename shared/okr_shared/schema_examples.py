"""An example value for a JSON schema, for the AsyncAPI document's request/reply messages.

Event contracts carry hand-written examples; the forty request and result models of the
request/reply subjects get one made from their schema: a model's own examples and defaults
first, else the smallest value its type and bounds allow. `tests/unit/test_schema_examples.py`
checks that every example made this way validates as its model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_DEPTH = 8  # a recursive model (a tree node's children) stops here, with its children empty
FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T09:00:00Z",
    "uuid": "6f1c1c1e-2b1a-4b8e-9a51-0d3e0b7a2c11",
    "email": "ada@example.com",
}


def example_of(schema: dict[str, Any], definitions: dict[str, Any], depth: int = 0) -> Any:
    given = _given(schema)
    if given is not NOTHING:
        return given
    if "$ref" in schema:
        return example_of(definitions[schema["$ref"].rsplit("/", 1)[1]], definitions, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            if depth >= MAX_DEPTH and {"type": "null"} in schema[key]:
                return None  # deep enough: an optional value stays out
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_of(options[0], definitions, depth)
    make = MAKERS.get(schema.get("type", ""))
    return make(schema, definitions, depth) if make else None


NOTHING = object()


def _given(schema: dict[str, Any]) -> Any:
    """What the schema itself offers: an example, a default, a constant, an enum's first."""
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("default") is not None:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    return schema["enum"][0] if schema.get("enum") else NOTHING


def _object(schema: dict[str, Any], definitions: dict[str, Any], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return {}
    properties: dict[str, Any] = schema.get("properties", {})
    return {name: example_of(p, definitions, depth + 1) for name, p in properties.items()}


def _array(schema: dict[str, Any], definitions: dict[str, Any], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return []
    item = example_of(schema.get("items", {}), definitions, depth + 1)
    return [item] * max(1, int(schema.get("minItems", 1)))


def _string(schema: dict[str, Any], _: dict[str, Any], __: int) -> Any:
    text = FORMATS.get(schema.get("format", ""), "text")
    return text.ljust(int(schema.get("minLength", 0)), "x")


def _number(schema: dict[str, Any], kind: type[int] | type[float]) -> int | float:
    """1, unless the bounds say otherwise (a weight in (0, 1] is 1; a year from 2000 is 2000)."""
    value: float = 1
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema:
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    return kind(value)


MAKERS: dict[str, Callable[[dict[str, Any], dict[str, Any], int], Any]] = {
    "object": _object,
    "array": _array,
    "string": _string,
    "integer": lambda schema, _, __: _number(schema, int),
    "number": lambda schema, _, __: _number(schema, float),
    "boolean": lambda _, __, ___: True,
}
