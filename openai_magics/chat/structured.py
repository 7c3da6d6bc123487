"""Structured outputs: a pydantic model or JSON-schema dict → response_format, and the answer → an object."""
from __future__ import annotations

import json
import re

from openai_magics.core.errors import UsageError
from openai_magics.core.namespace import MISSING, resolve
from openai_magics.facts.tokens import TokenCount, count_text


def find_schema(name: str, namespace: dict):
    """`--schema NAME`: a pydantic model class or a JSON-schema dict from the namespace."""
    if name.lstrip().startswith(("{", "[")):
        raise UsageError(f"--schema {name}: give the name of a variable that holds the schema (a pydantic model "
                         "or a JSON-schema dict), not the schema itself.")
    value = resolve(name, namespace) if name[:1].isidentifier() else MISSING
    if value is MISSING:
        raise UsageError(f"--schema {name}: no such variable in the notebook.")
    if isinstance(value, dict):
        schema = value.get("schema", value) if "name" in value and "schema" in value else value
        check_schema(schema, name)
        return value
    from pydantic import BaseModel

    if isinstance(value, type) and issubclass(value, BaseModel):
        return value
    raise UsageError(f"--schema {name}: give a pydantic model class or a JSON-schema dict, "
                     f"not a {type(value).__name__}.")


def check_schema(schema, name: str) -> None:
    """A JSON-schema dict the API can take, or one UsageError before anything is sent: the API wants an
    object at the top, a schema its meta-schema accepts, and every `$ref` pointing inside it."""
    if schema == {}:
        raise UsageError(f"--schema {name}: the schema is empty, so it says nothing of the answer; "
                         "give it properties, or use --json for any JSON object.")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise UsageError(f"--schema {name}: a JSON schema for Structured Outputs must describe an object "
                         '("type": "object" at the top).')
    from openai_magics.wire.sdk import jsonschema_module

    jsonschema_module()
    from jsonschema import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise UsageError(f"--schema {name} is not a valid JSON schema ({exc.message}"
                         f"{f' at {where}' if where else ''}).") from None
    _check_refs(schema, name)


def _check_refs(schema: dict, name: str) -> None:
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    resolver = Registry().with_resource("urn:schema", Resource.from_contents(
        schema, default_specification=DRAFT202012)).resolver(base_uri="urn:schema")
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise UsageError(f"--schema {name}: its $ref {ref!r} points nowhere in the schema.") from None


def _refs(node) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
    return own + [ref for key, value in node.items() if key not in ("enum", "const") for ref in _refs(value)]


def response_format(schema, name: str | None, json_mode: bool):
    """What `response_format` holds: the model class itself (the cache key is made of it; the runners send
    its strict json_schema and parse the answer into an instance), or a json_schema / json_object dict."""
    if json_mode:
        return {"type": "json_object"}
    if schema is None or isinstance(schema, type):
        return schema
    if "name" in schema and "schema" in schema:  # already {"name", "schema", "strict"?}
        return {"type": "json_schema", "json_schema": schema}
    label = re.sub(r"[^A-Za-z0-9_-]", "_", name or "schema")[:64]
    return {"type": "json_schema", "json_schema": {"name": label, "schema": schema, "strict": _is_strict(schema)}}


def _is_strict(schema) -> bool:
    """Strict mode needs every object closed and every property required: only ask for it then."""
    if isinstance(schema, list):
        return all(_is_strict(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False or set(schema.get("required", [])) != set(properties):
            return False
    return all(_is_strict(v) for k, v in schema.items() if k not in ("enum", "const", "default", "examples"))


def wire_format(fmt) -> dict | None:
    """The response_format exactly as the SDK sends it (for dry runs and token counts)."""
    if fmt is None or isinstance(fmt, dict):
        return fmt
    from openai.lib._parsing._completions import type_to_response_format_param

    return type_to_response_format_param(fmt)


def check_json_mode(messages: list[dict]) -> None:
    """JSON mode is refused by the API unless a message mentions JSON: say so before sending."""
    from openai_magics.facts.messages import message_text

    if not any("json" in message_text(m).lower() for m in messages):
        raise UsageError("--json needs the word JSON in the prompt or the system prompt (the API requires it), "
                         "e.g. 'Answer in JSON.'")


def parse_answer(text: str, message, fmt) -> tuple[object, str | None]:
    """(the validated object, or None; a problem to show, or None)."""
    if getattr(message, "refusal", None):
        return None, None
    if getattr(message, "parsed", None) is not None:
        return message.parsed, None
    if not text or not isinstance(fmt, (dict, type)):
        return None, None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"the answer is not valid JSON ({exc}); its text is kept as it came"
    if isinstance(fmt, type):  # a pydantic model class
        from pydantic import ValidationError

        try:
            return fmt.model_validate_json(text), None
        except ValidationError as exc:
            return None, f"the answer does not match {fmt.__name__} ({exc.error_count()} errors)"
    if fmt.get("type") == "json_schema":
        from openai_magics.wire.sdk import jsonschema_module

        jsonschema_module()
        from jsonschema import ValidationError, validate

        try:
            validate(value, fmt["json_schema"]["schema"])
        except ValidationError as exc:
            return None, f"the answer does not match the schema ({exc.message})"
    return value, None


def definition_tokens(body: dict, model: str) -> TokenCount:
    """Tokens the tool definitions and the response schema add to the prompt. OpenAI does not document
    how it renders them, so this counts their JSON: an estimate, never exact."""
    pieces = [json.dumps((t.get("function") or t), sort_keys=True) for t in body.get("tools") or []]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        pieces.append(json.dumps(fmt["json_schema"].get("schema", {}), sort_keys=True))
    if not pieces:
        return TokenCount(0, True)
    return TokenCount(count_text("\n".join(pieces), model).tokens, exact=False)


def prompt_tokens(body: dict, model: str) -> TokenCount:
    """All the prompt tokens of a Chat Completions body: messages, images, tools, schema."""
    from openai_magics.chat.vision import messages_image_tokens
    from openai_magics.facts.tokens import count_messages

    counts = [count_messages(body["messages"], model), messages_image_tokens(body["messages"], model),
              definition_tokens(body, model)]
    return TokenCount(sum(c.tokens for c in counts), all(c.exact for c in counts))
