"""Checking a chat-format training set before anything is uploaded: each problem with its line number.

A training set is JSONL (one `{"messages": [...]}` per line), or, from the notebook, a list of conversations
(each a dict with "messages" or a list of messages) or a DataFrame with a `messages` column.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

ROLES = ("system", "user", "assistant", "tool", "function")


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Example:
    line: int
    messages: list


def read_lines(text: str) -> list[tuple[int, object]]:
    """(line number, parsed value or the JSON error) for each non-blank line."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append((number, json.loads(line)))
        except ValueError as exc:
            entries.append((number, exc))
    return entries


def from_values(values) -> list[tuple[int, object]]:
    """Entries of a list of conversations or a DataFrame's `messages` column, numbered from 1."""
    if hasattr(values, "columns"):
        if "messages" not in values.columns:
            return [(1, TypeError("the DataFrame has no 'messages' column"))]
        values = list(values["messages"])
    return [(n, v if isinstance(v, dict) else {"messages": v}) for n, v in enumerate(values, 1)]


def check(entries: list[tuple[int, object]]) -> tuple[list[Example], list[Problem]]:
    examples, problems = [], []
    for line, value in entries:
        found = _problems(value)
        problems += [Problem(line, p) for p in found]
        if not found:
            examples.append(Example(line, value["messages"]))
    if not entries:
        problems.append(Problem(1, "the training set is empty"))
    return examples, problems


def _problems(value) -> list[str]:
    if isinstance(value, Exception):
        if isinstance(value, json.JSONDecodeError):
            return [f"not valid JSON ({value.msg} at column {value.colno})"]
        return [str(value)]
    if not isinstance(value, dict) or not isinstance(value.get("messages"), list) or not value["messages"]:
        return ["expected an object with a non-empty \"messages\" list"]
    problems = []
    offered: set[str] = set()
    for index, message in enumerate(value["messages"], 1):
        problems += [f"message {index}: {p}" for p in _message_problems(message, offered)]
    roles = [m.get("role") for m in value["messages"] if isinstance(m, dict)]
    if not problems and "assistant" not in roles:
        problems.append("no assistant message to learn from")
    return problems


def _message_problems(message, offered: set[str]) -> list[str]:
    if not isinstance(message, dict):
        return ["not an object"]
    role = message.get("role")
    if role not in ROLES:
        return [f"role {role!r} is not one of {', '.join(ROLES)}"]
    if "weight" in message and message["weight"] not in (0, 1):
        return [f"weight must be 0 or 1, not {message['weight']!r}"]
    calls = message.get("tool_calls") or ([message["function_call"]] if message.get("function_call") else [])
    if role == "assistant" and calls:
        return _call_problems(message, offered)
    if role == "tool" and message.get("tool_call_id") not in offered:
        return [f"tool answer for {message.get('tool_call_id')!r}, which no earlier assistant message called"]
    if not _has_content(message.get("content")):
        return [f"{role} message has empty content"]
    return []


def _has_content(content) -> bool:
    if isinstance(content, str):
        return bool(content.strip())
    if isinstance(content, list):
        return any(isinstance(p, dict) and (p.get("text", "").strip() or p.get("type") != "text") for p in content)
    return False


def _call_problems(message: dict, offered: set[str]) -> list[str]:
    if message.get("function_call"):
        return _function_problems(message["function_call"], "function_call")
    if not isinstance(message["tool_calls"], list):
        return ["tool_calls must be a list"]
    problems = []
    for number, call in enumerate(message["tool_calls"], 1):
        where = f"tool call {number}"
        if not isinstance(call, dict) or not call.get("id") or call.get("type") != "function":
            problems.append(f"{where} needs an id and type \"function\"")
            continue
        offered.add(call["id"])
        problems += _function_problems(call.get("function"), where)
    return problems


def _function_problems(function, where: str) -> list[str]:
    if not isinstance(function, dict) or not function.get("name"):
        return [f"{where} has no function name"]
    arguments = function.get("arguments")
    try:
        json.loads(arguments) if isinstance(arguments, str) else None
        assert isinstance(arguments, str)
    except (ValueError, AssertionError):
        return [f"{where} ({function['name']}): arguments must be a JSON string, got {str(arguments)[:40]!r}"]
    return []
