"""The offline model's structured side: instances valid for a JSON schema, tool calls, refusals, images.

Directives in the last user message steer it, like the length directive: `(offline: refuse)` refuses,
`(offline: N tool rounds)` keeps calling tools for N rounds (default one) before answering.
"""
from __future__ import annotations

import ast
import itertools
import json
import re
from dataclasses import dataclass, field

from openai_magics.offline.errors import RequestError, shorten
from openai_magics.offline.tokens import message_text

REFUSE = re.compile(r"\(offline:\s*refuse\)", re.I)
TOOL_ROUNDS = re.compile(r"\(offline:\s*(\d+)\s*tool rounds?\)", re.I)
DEFAULT = re.compile(r"\(default: (.+)\)\s*$")
REFUSAL = "I'm sorry, but I can't help with that request."
FORMATS = {"date": "2024-05-17", "date-time": "2024-05-17T09:30:00Z", "time": "09:30:00",
           "email": "ada@example.com", "uri": "https://example.com/", "uuid": "00000000-0000-4000-8000-000000000000"}

_call_ids = itertools.count(1)


@dataclass
class Plan:
    """What the model does instead of writing its usual Markdown answer."""

    text: str = ""
    kind: str = "content"                      # content | refusal | tool_calls
    tool_calls: list[dict] = field(default_factory=list)


def plan(body: dict, answer_text) -> Plan | None:
    """None: answer as usual. `answer_text(prompt)` is the usual answer, to build on."""
    messages = body["messages"]
    asked = _last_user(messages)
    if REFUSE.search(asked):
        return Plan(REFUSAL, "refusal")
    tools = [t["function"] for t in body.get("tools") or [] if t.get("type") == "function"]
    choice = body.get("tool_choice") or "auto"
    if tools and choice != "none" and _rounds_done(messages) < _rounds_wanted(asked):
        calls = _calls(tools, choice, body.get("parallel_tool_calls", True), _names_in(asked))
        return Plan("".join(c["function"]["arguments"] for c in calls), "tool_calls", calls)
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        value = example(fmt["json_schema"].get("schema", {}), f"response_format '{fmt['json_schema'].get('name')}'")
        if isinstance(value, dict) and isinstance(value.get("name"), str) and _names_in(asked):
            value["name"] = _names_in(asked)[0]  # who or what the prompt is about
        return Plan(json.dumps(value, ensure_ascii=False))
    if fmt.get("type") == "json_object":
        if not any("json" in message_text(m).lower() for m in messages):
            raise RequestError("'messages' must contain the word 'json' in some form, to use 'response_format' "
                               "of type 'json_object'.", param="messages")
        return Plan(json.dumps({"answer": " ".join(asked.split()[:12]), "offline": True}))
    results = _tool_results(messages)
    if results:
        return Plan(answer_text(asked) + "\n\n**From the tools:**\n\n" + "".join(
            f"- `{name}` returned `{shorten(content, 120)}`\n" for name, content in results))
    return None


def _last_user(messages: list[dict]) -> str:
    return next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")


def _since_last_user(messages: list[dict]) -> list[dict]:
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    return messages[last + 1:]


def _rounds_done(messages: list[dict]) -> int:
    return sum(1 for m in _since_last_user(messages) if m.get("role") == "assistant" and m.get("tool_calls"))


def _rounds_wanted(asked: str) -> int:
    match = TOOL_ROUNDS.search(asked)
    return int(match.group(1)) if match else 1


def _names_in(text: str) -> list[str]:
    """Capitalised words past a sentence's start ('Paris', 'Ada Lovelace'): what a tool is likely asked about."""
    return re.findall(r"(?<=[\w,] )[A-Z][\w-]+(?: [A-Z][\w-]+)*", text)


def _calls(tools: list[dict], choice, parallel: bool, names: list[str]) -> list[dict]:
    if isinstance(choice, dict):  # {"type": "function", "function": {"name": ...}}
        wanted = (choice.get("function") or {}).get("name")
        tools = [t for t in tools if t["name"] == wanted] or tools
    if parallel is False:
        tools = tools[:1]
    return [{"id": f"call_offline{next(_call_ids)}", "type": "function",
             "function": {"name": t["name"], "arguments": json.dumps(_arguments(t.get("parameters") or {}, names))}}
            for t in tools]


def _arguments(schema: dict, names: list[str]) -> dict:
    """Arguments valid for the tool's schema: a named thing from the prompt for a plain string, a default
    the description mentions, else a generated value."""
    arguments = example(schema, "a function's parameters", param="tools")
    for key, sub in (schema.get("properties") or {}).items():
        default = DEFAULT.search(sub.get("description") or "")
        if default:
            try:
                arguments[key] = ast.literal_eval(default.group(1))
            except (ValueError, SyntaxError):
                pass
        elif sub.get("type") == "string" and not ({"enum", "format", "const"} & set(sub)) and names:
            arguments[key] = names[0]
    return arguments


def _tool_results(messages: list[dict]) -> list[tuple[str, str]]:
    names = {c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or []}
    return [(names.get(m.get("tool_call_id"), "tool"), message_text(m).replace("`", "'"))
            for m in _since_last_user(messages) if m.get("role") == "tool"]


# --- instances of a JSON schema -------------------------------------------------------------------

DEEP = 3        # past this depth a recursive schema takes its shortest way out (null, no items, fewer keys)
TOO_DEEP = 32   # deeper still: the schema has no way out (a required property that holds itself)


class Unmakeable(ValueError):
    """A schema no value can satisfy, or one this generator cannot read."""


def example(schema: dict, what: str, param: str = "response_format"):
    """`instance`, or the 400 the API gives for a schema it will not take."""
    from openai_magics.offline.errors import RequestError

    try:
        return instance(schema)
    except Unmakeable as exc:
        raise RequestError(f"Invalid schema for {what}: the offline server cannot make an example of it ({exc}).",
                           param=param) from None


def instance(schema: dict, root: dict | None = None, key: str = "value", index: int = 0, depth: int = 0):
    """A deterministic value valid for the schema (the subset Structured Outputs allows, and a bit more)."""
    root = root if root is not None else schema
    if depth > TOO_DEEP:
        raise Unmakeable("it nests without end: a required property holds itself")
    if schema is True or schema == {}:
        return key.replace("_", " ")
    if not isinstance(schema, dict):
        raise Unmakeable(f"{schema!r} where a schema should be")
    if "$ref" in schema:
        return instance(_resolve(root, schema["$ref"]), root, key, index, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        if not schema["enum"]:
            raise Unmakeable("an empty enum allows no value")
        return schema["enum"][index % len(schema["enum"])]
    for union in ("anyOf", "oneOf"):
        if union in schema:
            nulls = [s for s in schema[union] if isinstance(s, dict) and s.get("type") == "null"]
            others = [s for s in schema[union] if s not in nulls]
            options = (nulls + others) if depth >= DEEP else (others + nulls)
            if not options:
                raise Unmakeable(f"an empty {union} allows no value")
            return instance(options[0], root, key, index, depth + 1)
    if "allOf" in schema:
        merged = {k: v for part in schema["allOf"] for k, v in part.items()}
        return instance(merged, root, key, index, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null") if depth < DEEP or "null" not in kind else "null"
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind not in _BUILDERS:
        raise Unmakeable(f"unknown type {kind!r}")
    return _BUILDERS[kind](schema, root, key, index, depth)


def _resolve(root: dict, ref: str) -> dict:
    node = root
    try:
        for part in ref.lstrip("#/").split("/"):
            if part:
                node = node[part.replace("~1", "/").replace("~0", "~")]
    except (KeyError, IndexError, TypeError):
        raise Unmakeable(f"$ref {ref!r} points nowhere in the schema") from None
    return node


def _object(schema, root, key, index, depth):
    properties = schema.get("properties") or {}
    if depth >= DEEP:  # nested deep: only what must be there
        properties = {name: sub for name, sub in properties.items() if name in schema.get("required", ())}
    return {name: instance(sub, root, name, index, depth + 1) for name, sub in properties.items()}


def _array(schema, root, key, index, depth):
    low, high = schema.get("minItems", 0), schema.get("maxItems")
    n = low if depth >= DEEP else max(low, 2 if high is None else min(2, high))
    item = schema.get("items") or {}
    singular = key[:-1] if key.endswith("s") and len(key) > 3 else key
    return [instance(item, root, singular, i, depth + 1) for i in range(n)]


def _string(schema, root, key, index, depth):
    if schema.get("format") in FORMATS:
        return FORMATS[schema["format"]]
    text = f"{key.replace('_', ' ')} {index + 1}" if index else key.replace("_", " ")
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    text = text.ljust(low, "x")
    return text[:high] if high is not None else text


def _number(schema, root, key, index, depth, default=3.5):
    value = default + index
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema:
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    if "exclusiveMaximum" in schema:
        value = min(value, schema["exclusiveMaximum"] - (1 if default == int(default) else 0.5))
    return value


_BUILDERS = {
    "object": _object,
    "array": _array,
    "string": _string,
    "number": _number,
    "integer": lambda s, r, k, i, d: int(_number(s, r, k, i, d, default=3)),
    "boolean": lambda s, r, k, i, d: i % 2 == 0,
    "null": lambda s, r, k, i, d: None,
}
