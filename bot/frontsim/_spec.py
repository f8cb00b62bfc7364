"""The simulator's reading of `bot/front/openapi.json`: routes and request validation.

Routes and schemas come from the vendored spec itself, not from the client's models,
so that a disagreement between the two fails a test instead of passing unnoticed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator

__all__ = [
    "BodyError",
    "SpecOperation",
    "load_spec",
    "match_route",
    "operations",
    "rebuild_form",
]

_PARAM = re.compile(r"^\{(\w+)\}$")


@cache
def load_spec() -> dict[str, Any]:
    text = resources.files("bot.front").joinpath("openapi.json").read_text("utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


class BodyError(ValueError):
    """A request body the spec refuses; the message names the field."""


@dataclass(frozen=True)
class SpecOperation:
    name: str  # snake_case operationId, as the client names it
    method: str
    path: str
    segments: tuple[str, ...]  # "{name}" for a parameter
    content_types: tuple[str, ...]
    schema: Mapping[str, Any]

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(s[1:-1] for s in self.segments if _PARAM.match(s))

    def validate(self, body: Any) -> None:
        """Raise BodyError listing what is wrong, each problem prefixed by its field."""
        if not isinstance(body, dict):
            # Several schemas omit `type: object`, which would let `[]` through.
            raise BodyError("body: must be a JSON object")
        problems = sorted(_validator(self.name).iter_errors(body), key=_error_order)
        if problems:
            # The discriminator makes the validator report some errors more than once.
            raise BodyError("; ".join(dict.fromkeys(_describe(problems))))

    @property
    def accepts_multipart(self) -> bool:
        """Recording is multipart only; message syncs take files (`attachments`) that way."""
        return "multipart/form-data" in self.content_types or "attachments" in _properties(
            self.schema
        )

    def coerce_form(self, body: dict[str, Any]) -> dict[str, Any]:
        """Form fields arrive as text; give numbers and booleans their schema type."""
        coerced: dict[str, Any] = _coerce(body, self.schema)
        return coerced


@cache
def operations() -> tuple[SpecOperation, ...]:
    spec = load_spec()
    found: list[SpecOperation] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {})
            media = content.get("application/json") or content.get("multipart/form-data")
            found.append(
                SpecOperation(
                    name=op["operationId"].replace("-", "_"),
                    method=method.upper(),
                    path=path,
                    segments=tuple(path.strip("/").split("/")),
                    content_types=tuple(content),
                    schema=(media or {}).get("schema", {}),
                )
            )
    return tuple(found)


def match_route(method: str, raw_path: str) -> tuple[SpecOperation | None, dict[str, str], bool]:
    """(operation, path parameters, path known) for a request line.

    Matches on the raw path, decoding each segment afterwards, so that an id holding an
    encoded `/` stays one segment.
    """
    parts = raw_path.strip("/").split("/")
    path_known = False
    for op in operations():
        if len(op.segments) != len(parts):
            continue
        params: dict[str, str] = {}
        for pattern, part in zip(op.segments, parts, strict=True):
            m = _PARAM.match(pattern)
            if m:
                value = unquote(part)
                if not value:
                    break
                params[m.group(1)] = value
            elif pattern != part:
                break
        else:
            path_known = True
            if op.method == method:
                return op, params, True
    return None, {}, path_known


@cache
def _validator(name: str) -> OAS30Validator:
    spec = load_spec()
    op = next(o for o in operations() if o.name == name)
    # Local $refs ("#/components/...") resolve against the root we hand the validator.
    root = {**op.schema, "components": spec["components"]}
    return OAS30Validator(root)


def _error_order(err: ValidationError) -> tuple[str, str]:
    return (".".join(str(p) for p in err.absolute_path), err.message)


def _describe(errors: Iterable[ValidationError]) -> list[str]:
    out: list[str] = []
    errors = list(errors)
    for err in errors:
        path = [str(p) for p in err.absolute_path]
        if err.validator == "required":
            missing = [
                p
                for p in err.validator_value
                if isinstance(err.instance, dict) and p not in err.instance
            ]
            out.extend(_join(path + [m], "is required") for m in missing)
        elif err.validator == "oneOf" and "discriminating property" in err.message:
            out.append(_join(path + ["direction"], "is required"))
        elif err.validator == "oneOf" and "could not be resolved" in err.message:
            # The enum error on `direction` says it better; keep this only if alone.
            if len(errors) == 1:
                out.append(_join(path + ["direction"], "must be inbound or outbound"))
        elif err.validator == "maxLength":
            out.append(_join(path, f"is longer than {err.validator_value} characters"))
        elif err.validator == "minLength":
            out.append(_join(path, f"is shorter than {err.validator_value} characters"))
        elif err.validator == "minItems":
            out.append(_join(path, f"needs at least {err.validator_value} item(s)"))
        elif err.validator == "enum":
            allowed = ", ".join(str(v) for v in err.validator_value)
            out.append(_join(path, f"{_short(err.instance)} is not one of {allowed}"))
        elif err.validator == "type":
            out.append(_join(path, f"{_short(err.instance)} is not of type {err.validator_value}"))
        else:
            out.append(_join(path, _short(err.message, 200)))
    return out


def _join(path: list[str], text: str) -> str:
    return f"{'.'.join(path) or 'body'}: {text}"


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) and limit > 60 else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Multipart bodies ------------------------------------------------------------------------

_BRACKETS = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def rebuild_form(fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild JSON from Front's bracketed form names (`to[0][handle]` → to: [{handle}])."""
    root: dict[str, Any] = {}
    for name, value in fields:
        m = _BRACKETS.match(name)
        if not m:
            raise BodyError(f"{name}: not a valid form field name")
        keys = [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))]
        if any(k == "" for k in keys):
            raise BodyError(f"{name}: empty brackets are not supported, use [0], [1]...")
        node = root
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise BodyError(f"{name}: conflicts with another field")
            node = child
        if keys[-1] in node:
            raise BodyError(f"{name}: given more than once")
        node[keys[-1]] = value
    listed = _lists(root)
    assert isinstance(listed, dict)
    return listed


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        indices = sorted(int(k) for k in items)
        if indices == list(range(len(indices))):
            return [items[str(i)] for i in indices]
    return items


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = load_spec()["components"]["schemas"][name]
    return schema


def _properties(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    schema = _resolve(schema)
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props.update(_properties(part))
    return props


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    schema = _resolve(schema)
    kind = schema.get("type")
    if isinstance(value, dict):
        props = _properties(schema)
        return {k: _coerce(v, props[k]) if k in props else v for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [_coerce(v, items) for v in value]
    if isinstance(value, str):
        # Unparseable text is left alone: the validator then names the field.
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            return int(value)
        if kind == "number":
            try:
                number = float(value)
            except ValueError:
                return value
            return int(number) if number.is_integer() and "." not in value else number
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
    return value
