"""The OpenAPI document as generated clients read it, refined after FastAPI (and `document_credentials`) made it.

- Error responses are shared: each operation's 4xx/5xx is a `$ref` to one of `components/responses`, named after
  its codes (`AuthRequiredOrAuthInvalidOrAuthExpired`), whose examples show every code. The same examples repeated
  on 175 operations made the document a megabyte that Swagger UI and ReDoc took seconds to read.
- Request bodies are named: an inline body schema (the multipart uploads, the login form) becomes a component.
- Defaults speak for each side. openapi-typescript reads a `default` on a component's property as "always
  present" and types the field as required. That is true of a response (Pydantic serializes every field), not of
  a request, which may leave the field out: request schemas say their defaults in the description instead, and a
  component that both carry is split in two, as FastAPI splits input and output schemas that differ.
- Event streams are typed: `event_stream` names each stream's events as components (a union discriminated by the
  event's name, `data` as JSON of a named schema) and describes the stream as OpenAPI 3.2 does, `itemSchema` one
  event and `schema` their array, which is what openapi-typescript (that reads `schema` only) types.
- Request text holds no NUL: the request middleware refuses one anywhere in the URL, a form or a JSON body
  (`NulCharacter`), so every string a request carries says so with a pattern.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

JSON = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SCHEMAS = "#/components/schemas/"
NO_NUL = "^[^\\x00]*$"
_FORM_SUFFIXES = {"multipart/form-data": "Form", "application/x-www-form-urlencoded": "Form"}
# The events of each stream, by component name: what `event_stream` declared, added to every document.
_STREAM_EVENTS: dict[str, Any] = {}


def event_stream(name: str, events: Any) -> JSON:
    """The `text/event-stream` media type of a response whose events are `events` (a TypedDict of an event's
    fields, or a union of them), which becomes the component `name`."""
    if _STREAM_EVENTS.setdefault(name, events) is not events:
        raise ValueError(f"two event streams are named {name}")
    reference = {"$ref": SCHEMAS + name}
    return {"itemSchema": reference, "schema": {"type": "array", "items": reference}}


def refine_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` return the refined document, made once as FastAPI's is."""
    generate = app.openapi
    made: list[JSON] = []  # FastAPI's document, then the refined copy

    def openapi() -> JSON:
        generated = generate()
        if not made or made[0] is not generated:
            # A copy: FastAPI's document shares dictionaries with the routes' `openapi_extra` and `responses`.
            made[:] = [generated, refine(copy.deepcopy(generated))]
        return made[1]

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema


def refine(schema: JSON) -> JSON:
    add_stream_events(schema)
    name_request_bodies(schema)
    share_error_responses(schema)
    for operation in operations(schema):
        for parameter in operation.get("parameters", []):
            _plain_parameter(parameter)
    requests, responses = reachable(schema)
    _split_outputs(schema, requests, responses)
    for name in requests:
        _defaults_described(schema["components"]["schemas"][name])
    for node in _request_schemas(schema, requests):
        _strings_without_nul(node)
    return schema


def operations(schema: JSON) -> Iterator[JSON]:
    for item in schema["paths"].values():
        for method in HTTP_METHODS:
            if method in item:
                yield item[method]


def pascal(name: str) -> str:
    """`auth-login` → `AuthLogin`, `AUTH_REQUIRED` → `AuthRequired`."""
    return "".join(part[:1].upper() + part[1:].lower() for part in name.replace("-", "_").split("_") if part)


def add_stream_events(schema: JSON) -> None:
    """The components `event_stream` names. They are made as Pydantic validates (`data` is a string holding JSON,
    with its `contentSchema`); a model the routes describe already keeps the routes' description, which is how the
    server serializes it."""
    components = schema["components"]["schemas"]
    for name, events in _STREAM_EVENTS.items():
        made = TypeAdapter(events).json_schema(ref_template=SCHEMAS + "{model}", mode="validation")
        for each, definition in made.pop("$defs", {}).items():
            components.setdefault(each, definition)
        components[name] = made
    for operation in operations(schema):
        for response in operation["responses"].values():
            stream = response.get("content", {}).get("text/event-stream", {})
            if "$ref" in stream.get("itemSchema", {}):
                # FastAPI merges its own description of a server-sent event into the one declared.
                stream["itemSchema"] = {"$ref": stream["itemSchema"]["$ref"]}


def name_request_bodies(schema: JSON) -> None:
    """Each inline request body schema becomes `components/schemas/<its title>` (else `<OperationId>Form` or
    `<OperationId>Body`), referenced from the operation."""
    components = schema["components"]["schemas"]
    for operation in operations(schema):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            body = content.get("schema")
            if body is None or "$ref" in body:
                continue
            name = body.pop("title", None) or pascal(operation["operationId"]) + _FORM_SUFFIXES.get(media_type, "Body")
            if components.setdefault(name, body) != body:
                raise ValueError(f"two request bodies are named {name}")
            content["schema"] = {"$ref": SCHEMAS + name}


def share_error_responses(schema: JSON) -> None:
    """Move every error response with examples into `components/responses`, named after its codes (prefixed by its
    envelope when that is not Folio's: `OpenAIAuthRequiredOr…`). An operation whose description of the same
    response differs (the /v1 routes say which errors come before routing) keeps it next to the `$ref`."""
    shared: JSON = schema["components"].setdefault("responses", {})
    for operation in operations(schema):
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json", {})
            if status[0] not in "45" or not content.get("examples"):
                continue
            envelope = content["schema"]["$ref"].removeprefix(SCHEMAS).removesuffix("ErrorEnvelope")
            name = envelope + "Or".join(pascal(code) for code in content["examples"])
            existing = shared.setdefault(name, response)
            if existing["content"] != response["content"]:
                raise ValueError(f"two error responses would be {name}: give their examples the same codes")
            reference: JSON = {"$ref": f"#/components/responses/{name}"}
            if existing["description"] != response["description"]:
                reference["description"] = response["description"]
            operation["responses"][status] = reference


def _plain_parameter(parameter: JSON) -> None:
    """A parameter's schema without what its parameter says already (FastAPI repeats the description, and adds a
    title made from the name), and without `null`: a URL or a header cannot carry one, only leave it out."""
    schema = parameter.get("schema")
    if schema is None:
        return
    schema.pop("title", None)
    if schema.get("description") == parameter.get("description"):
        schema.pop("description", None)
    branches = schema.get("anyOf")
    if branches and {"type": "null"} in branches:
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1:
            del schema["anyOf"]
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept


def _refs(node: Any) -> Iterator[str]:
    """The component schemas `node` names, directly."""
    for each in _dicts(node):
        reference = each.get("$ref")
        if isinstance(reference, str) and reference.startswith(SCHEMAS):
            yield reference.removeprefix(SCHEMAS)


def _closure(schema: JSON, roots: list[Any]) -> set[str]:
    """The component schemas reachable from `roots`, through the components that name others."""
    components = schema["components"]["schemas"]
    found: set[str] = set()
    pending = list(_refs(roots))
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(_refs(components[name]))
    return found


def reachable(schema: JSON) -> tuple[set[str], set[str]]:
    """The component schemas a request can carry, and those a response can."""
    sent = [[operation.get("requestBody"), operation.get("parameters")] for operation in operations(schema)]
    answered = [operation["responses"] for operation in operations(schema)]
    return _closure(schema, sent), _closure(schema, [answered, schema["components"].get("responses", {})])


def _split_outputs(schema: JSON, requests: set[str], responses: set[str]) -> None:
    """A component that requests and responses share, and whose fields have defaults (or that holds one that does),
    gets a copy for responses, `<name>-Output` as FastAPI would name it, which keeps the defaults."""
    components = schema["components"]["schemas"]
    both = requests & responses
    split = {name for name in both if any("default" in field for field in _properties(components[name]).values())}
    while grown := {name for name in both - split if split & set(_refs(components[name]))}:
        split |= grown
    for name in split:
        components[f"{name}-Output"] = copy.deepcopy(components[name])
    outputs = [components[f"{name}-Output"] for name in split]
    response_only = [components[name] for name in responses - requests]
    answers = [operation["responses"] for operation in operations(schema)]
    for node in [*outputs, *response_only, *answers, schema["components"].get("responses", {})]:
        for each in _dicts(node):
            if each.get("$ref", "").removeprefix(SCHEMAS) in split:
                each["$ref"] += "-Output"


def _dicts(node: Any) -> Iterator[JSON]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _properties(node: JSON) -> dict[str, JSON]:
    properties: dict[str, JSON] = node.get("properties", {})
    return properties


def _defaults_described(node: JSON) -> None:
    for field in _properties(node).values():
        if "default" in field:
            default = json.dumps(field.pop("default"), ensure_ascii=False)
            field["description"] = " ".join(filter(None, [field.get("description"), f"Default: `{default}`."]))


def _request_schemas(schema: JSON, requests: set[str]) -> Iterator[JSON]:
    """Every schema a request's parts are described with: the request components, and the inline schemas of the
    operations' parameters and bodies."""
    components = schema["components"]["schemas"]
    yield from (components[name] for name in requests)
    for operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") in ("path", "query") and "schema" in parameter:
                yield parameter["schema"]


def _strings_without_nul(node: JSON) -> None:
    """Every string schema in `node` (not through `$ref`s: their components come one by one) gets the NUL-free
    pattern, unless a pattern, a format, an enum or a constant bounds it already."""
    for each in _subschemas(node):
        if each.get("type") == "string" and not {"pattern", "format", "enum", "const"} & each.keys():
            each["pattern"] = NO_NUL


_SUBSCHEMA = ("items", "additionalProperties", "not", "contentSchema", "propertyNames", "unevaluatedProperties")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs")


def _subschemas(node: JSON) -> Iterator[JSON]:
    """`node` and the schemas in it, by JSON Schema's keywords (so that a property named `default` is one)."""
    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(item[key] for key in _SUBSCHEMA if isinstance(item.get(key), dict))
        stack.extend(each for key in _SUBSCHEMA_LISTS for each in item.get(key, ()) if isinstance(each, dict))
        stack.extend(each for key in _SUBSCHEMA_MAPS for each in item.get(key, {}).values() if isinstance(each, dict))
