"""Function calling: namespace functions → strict tool schemas, and the call loop over Chat Completions.

A function's signature and type hints become a pydantic model (so nested models, enums, Literal… work),
turned into a strict tool by the SDK's `pydantic_function_tool`; arguments are checked by `validate_call`.
"""
from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass

from openai_magics.chat import logprobs
from openai_magics.chat.request import build_body
from openai_magics.chat.runners import EMPTY_ANSWER, EMPTY_STREAM, NO_CHOICES, NoAnswerInIt, Runner
from openai_magics.chat.structured import prompt_tokens
from openai_magics.core.errors import CallFailed, UsageError
from openai_magics.core.namespace import MISSING, resolve
from openai_magics.metering.usage import Usage

_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


@dataclass
class Tool:
    function: object
    name: str
    param: dict  # the `tools` entry sent to the API

    def run(self, arguments: str) -> tuple[object, str, bool]:
        """(the value, the text the model gets back, whether it failed). A failure goes back to the model."""
        from pydantic import validate_call

        try:
            args = json.loads(arguments or "{}")
            value = validate_call(self.function)(**args)
        except Exception as exc:  # the model reads the error and can correct itself
            return exc, f"Error: {_described(exc)}", True
        try:
            return value, _as_text(value), False
        except Exception as exc:  # a result whose str/repr/JSON fails: the tool worked, its answer cannot be sent
            return value, (f"Error: the tool returned a {type(value).__name__} that cannot be turned into text "
                           f"({_described(exc)})."), True


def find_tools(names: str, namespace: dict) -> list[Tool]:
    """`--tools f,g`: each name a function in the namespace."""
    tools = []
    for name in filter(None, (n.strip() for n in names.split(","))):
        function = resolve(name, namespace) if name[:1].isidentifier() else MISSING
        if function is MISSING or function is None:
            raise UsageError(f"--tools {name}: no such function in the notebook.")
        if not callable(function) or isinstance(function, type):
            raise UsageError(f"--tools {name}: a {type(function).__name__} is not a function.")
        tools.append(tool_from_function(function, name))
    if not tools:
        raise UsageError("--tools needs at least one function name, e.g. --tools get_weather,convert.")
    return tools


def tool_from_function(function, name: str | None = None) -> Tool:
    from openai import pydantic_function_tool

    name = name or function.__name__
    summary, arg_docs = _docstring(function)
    model = _arguments_model(function, name, arg_docs)
    try:
        param = pydantic_function_tool(model, name=name, description=summary or None)
    except Exception as exc:  # a type hint pydantic cannot describe in JSON schema
        raise _unusable(name, exc) from None
    return Tool(function, name, param)


def _arguments_model(function, name: str, arg_docs: dict[str, str]):
    """A pydantic model of the function's parameters. Strict tools must send every argument, so a default
    is told to the model in the description rather than left out."""
    import typing

    from pydantic import Field, create_model

    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = getattr(function, "__annotations__", {})
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        raise UsageError(f"--tools {name}: its signature cannot be read; wrap it in a def with type hints.") from None
    fields = {}
    for param in parameters:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        description = arg_docs.get(param.name, "")
        if param.default is not param.empty and param.default is not None:
            description = f"{description} (default: {param.default!r})".strip()
        hint = hints.get(param.name, str)
        fields[param.name] = (hint, Field(..., description=description or None))
    try:
        return create_model(f"{name}_arguments", **fields)
    except Exception as exc:  # a type pydantic does not know (arbitrary classes)
        raise _unusable(name, exc) from None


def _unusable(name: str, exc: Exception) -> UsageError:
    reason = str(exc).strip().splitlines()[0].rstrip(".")
    return UsageError(f"--tools {name}: its signature cannot become a tool schema ({reason}).")


def _docstring(function) -> tuple[str, dict[str, str]]:
    """The summary (everything before an Args:/Parameters: section) and per-argument descriptions."""
    doc = inspect.getdoc(function) or ""
    parts = re.split(r"^(?:Args|Arguments|Parameters):?\s*$", doc, maxsplit=1, flags=re.M)
    summary, rest = parts[0], parts[1] if len(parts) > 1 else ""
    args = {}
    for line in rest.splitlines():
        match = _ARG_LINE.match(line)
        if match:
            args[match.group(1).lstrip("*")] = match.group(2).strip()
    return summary.strip(), args


def _described(exc: BaseException) -> str:
    """`Kind: message`, even for an exception whose own str fails."""
    try:
        detail = str(exc)
    except Exception:
        detail = ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _as_text(value) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "model_dump_json"):
        return value.model_dump_json()
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


class ToolLoop(Runner):
    """The Chat Completions runner: every call, with or without a schema, JSON mode, images or tools, the
    answer parsed here (see `sent`). Every round is one request; the rounds add up to one ledger record."""

    api = "chat"

    def body(self) -> dict:
        return build_body(self.request, self.messages, api="chat", max_out=self.max_out,
                          endpoint=self.session.config)

    def params(self) -> dict:
        """The body with `response_format` as the cache key has always held it (a pydantic class stays one)."""
        params = self.body()
        if self.format is not None:
            params["response_format"] = self.format
        return params

    def sent(self) -> dict:
        """What the SDK gets: a pydantic class as its JSON schema. The answer and the tool arguments are
        parsed here, not by the SDK's parse helpers, which raise on a malformed one and lose the paid round:
        an answer that is not JSON is reported as such with its text kept, bad arguments go back to the
        model as the tool's error."""
        from openai_magics.chat.structured import wire_format

        params = self.params()
        if isinstance(self.format, type):
            params["response_format"] = wire_format(self.format)
        return params

    def prompt_tokens(self):
        return prompt_tokens(self.body(), self.request.model)

    def send_round(self):
        return self.session.client.chat.completions.create(**self.sent())

    def stream_round(self, rounds):
        import openai

        from openai_magics.chat.stream_state import StreamState

        with self.session.api_errors(self.request.model):
            rounds.stream = self.session.client.chat.completions.create(
                **self.sent(), stream=True, stream_options={"include_usage": True})
        state = StreamState()  # the SDK's events and final completion
        try:
            for chunk in rounds.stream:
                yield from state.handle_chunk(chunk)
            return state.final()
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
            return exc.completion
        except (AssertionError, IndexError, KeyError):  # no chunk to build an answer on
            raise NoAnswerInIt(EMPTY_STREAM) from None
        finally:
            rounds.stream.close()

    def record_answer(self, completion) -> None:
        self.answered_model = completion.model or self.answered_model
        message = completion.choices[0].message if completion.choices else None
        usage = Usage.from_chat(completion.usage, getattr(completion, "service_tier", None)) if completion.usage else None
        if usage is None and self.usage is None and not (message and (message.content or message.tool_calls)):
            raise CallFailed(EMPTY_ANSWER)  # no answer, no usage: no sign the prompt was even read
        self.record_round(usage, message.content if message else None)

    def on_complete(self, completion) -> None:
        self.answered_model, self.response_id = completion.model or self.answered_model, completion.id
        self.emit(completion.choices[0].message.content or "")

    def on_event(self, event) -> None:
        if event.type == "content.delta" and event.delta:  # an empty first delta is not an answer begun
            self.emit(event.delta)
        elif event.type == "chunk":
            self.answered_model, self.response_id = event.chunk.model or self.answered_model, event.chunk.id

    def after_round(self, completion) -> bool:
        """Run the tools the round asked for (its usage is in, see `paid`). True: another round follows."""
        self.rounds += 1
        if not completion.choices:
            raise NoAnswerInIt(NO_CHOICES)
        choice = completion.choices[0]
        message, self.finish_reason = choice.message, choice.finish_reason
        if self.request.logprobs is not None:
            self.token_logprobs = logprobs.from_chat(choice)
        if message.tool_calls and not self.tools:  # a server that calls tools nobody offered: not run
            self.finish_reason = "stop" if message.content else self.finish_reason
        self.assistant = message
        if self.answer_calls(message.tool_calls):
            return True
        return self.finish_round(message.content, getattr(message, "refusal", None), getattr(message, "parsed", None))

    def send_back(self, done) -> None:
        """The round's calls and their results, as the next round's last messages."""
        self.messages.append({"role": "assistant", "content": self.assistant.content, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in done]})
        self.messages += [{"role": "tool", "tool_call_id": c.id, "content": c.result} for c in done]
