"""Chat Completions, non-streamed and streamed, from deterministic answers (Responses: responses.py)."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from openai_magics.facts.models import base_name, is_reasoning, model_info
from openai_magics.offline.api import answers, logprobs, structured
from openai_magics.offline.errors import RequestError
from openai_magics.offline.router import Route
from openai_magics.offline.tokens import definition_tokens, image_size, image_tokens, message_text

_ids = itertools.count(1)
SERVICE_TIERS = ("default", "flex", "priority", "scale")  # what a request may ask for and the answer reports


@dataclass
class Billing:
    """What the next chat answers report as their usage and service tier, whatever they were (tests and
    notebooks show a long prompt's bill, or a tier the server chose, without sending either)."""

    reports: list[dict] = field(default_factory=list)

    def take(self) -> dict:
        return self.reports.pop(0) if self.reports else {}


@dataclass
class Completion:
    """What the model 'said', before it is shaped into either API's wire format."""

    model: str
    tokens: list[str]
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    kind: str = "content"             # content | refusal | tool_calls (offline/structured.py decides)
    tool_calls: list[dict] = field(default_factory=list)
    extra_output: int = 0             # output tokens reported beyond those sent (a usage the server was told to report)

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def output_tokens(self) -> int:
        return len(self.tokens) + self.reasoning_tokens + self.extra_output


def complete(state, messages: list[dict], model: str, max_tokens: int | None, effort: str | None,
             text: str | None = None, body: dict | None = None) -> Completion:
    """`body`: the request, for its prompt-cache key and retention."""
    body = body or {}
    n_prompt = answers.prompt_tokens(messages, model)
    window = model_info(model).context_window
    if window and n_prompt > window:
        raise RequestError(
            f"This model's maximum context length is {window} tokens. However, your messages resulted in "
            f"{n_prompt} tokens. Please reduce the length of the messages.",
            code="context_length_exceeded", param="messages")
    last_user = next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    tokens = answers.tokenize(answers.answer_text(last_user, model) if text is None else text, model)
    reasoning = answers.reasoning_tokens(model, effort)
    finish = "stop"
    if max_tokens is not None and reasoning + len(tokens) > max_tokens:
        tokens, finish = tokens[: max(0, max_tokens - reasoning)], "length"
    with state.lock:
        cached = state.prompt_cache.cached_tokens(messages, model, n_prompt, body.get("prompt_cache_key"),
                                                  body.get("prompt_cache_retention"))
    return Completion(answering(state, model), tokens, finish, n_prompt, cached, min(reasoning, max_tokens or reasoning))


def answering(state, model: str) -> str:
    """The model the answer names: the snapshot an alias resolves to (or was moved to), a snapshot itself."""
    with state.lock:
        moved = state.moved.get(model)
    if moved:
        return moved
    return model if base_name(model) != model else answers.snapshot(model)


# --- Chat Completions ---------------------------------------------------------------------------

def chat_usage(c: Completion) -> dict:
    return {
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.output_tokens,
        "total_tokens": c.prompt_tokens + c.output_tokens,
        "prompt_tokens_details": {"cached_tokens": c.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": c.reasoning_tokens, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def chat_completion(state, body: dict):
    plan = structured.plan(body, lambda prompt: answers.answer_text(prompt, body["model"]))
    c = complete(state, body["messages"], body["model"],
                 body.get("max_completion_tokens", body.get("max_tokens")), body.get("reasoning_effort"),
                 text=plan.text if plan else None, body=body)
    c.prompt_tokens += extra_prompt_tokens(body)
    if plan and plan.kind != "content":
        c.kind, c.tool_calls = plan.kind, plan.tool_calls
        c.finish_reason = "tool_calls" if plan.tool_calls else c.finish_reason
    with state.lock:
        report = state.part(Billing).take()
    c.prompt_tokens = report.get("prompt_tokens", c.prompt_tokens)
    c.cached_tokens = min(c.cached_tokens, c.prompt_tokens)
    if "completion_tokens" in report:
        c.reasoning_tokens = min(c.reasoning_tokens, report["completion_tokens"])
        c.extra_output = report["completion_tokens"] - c.output_tokens
    asked = body.get("service_tier")
    tier = report.get("service_tier") or (asked if asked in SERVICE_TIERS else "default")
    base = {"id": f"chatcmpl-offline{next(_ids)}", "created": int(time.time()), "model": c.model,
            "system_fingerprint": "fp_offline", "service_tier": tier}
    probabilities = token_logprobs(body, "chat", body["messages"], c)
    if not body.get("stream"):
        message = {"role": "assistant", "content": c.text if c.kind == "content" else None,
                   "refusal": c.text if c.kind == "refusal" else None, "annotations": []}
        if c.tool_calls:
            message["tool_calls"] = c.tool_calls
        shaped = None if probabilities is None else {"content": probabilities, "refusal": None}
        return {**base, "object": "chat.completion", "usage": chat_usage(c),
                "choices": [{"index": 0, "message": message, "logprobs": shaped, "finish_reason": c.finish_reason}]}
    include_usage = (body.get("stream_options") or {}).get("include_usage", False)
    return _chat_chunks(base, c, include_usage, probabilities)


def token_logprobs(body: dict, api: str, messages: list[dict], c: Completion) -> list[dict] | None:
    """The answer's logprobs when the request asked for them (a reasoning model refuses them, as OpenAI's do)."""
    top = logprobs.wanted(body, api)
    if top is None:
        return None
    if is_reasoning(body["model"]):
        raise RequestError("Unsupported parameter: 'logprobs' is not supported with this model.",
                           code="unsupported_parameter", param="logprobs" if api == "chat" else "top_logprobs")
    if c.kind != "content" or c.tool_calls:
        return []
    last_user = next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    return logprobs.entries(last_user, c.tokens, top)


def _chat_chunks(base: dict, c: Completion, include_usage: bool, probabilities: list[dict] | None = None):
    def chunk(delta: dict, finish: str | None = None, logprob: dict | None = None) -> dict:
        shaped = None if logprob is None else {"content": [logprob], "refusal": None}
        choice = {"index": 0, "delta": delta, "logprobs": shaped, "finish_reason": finish}
        return {**base, "object": "chat.completion.chunk", "choices": [choice]}

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    if c.tool_calls:
        for index, call in enumerate(c.tool_calls):
            yield chunk({"tool_calls": [{"index": index, **call}]})
    else:
        for index, token in enumerate(c.tokens):
            yield chunk({"refusal" if c.kind == "refusal" else "content": token}, None,
                        probabilities[index] if probabilities else None)
    yield chunk({}, c.finish_reason)
    if include_usage:
        yield {**base, "object": "chat.completion.chunk", "choices": [], "usage": chat_usage(c)}


def extra_prompt_tokens(body: dict) -> int:
    """Image parts, tool definitions and a response schema count as prompt tokens, as the client reckons."""
    for message in body["messages"]:
        for part in message.get("content") if isinstance(message.get("content"), list) else []:
            url = (part.get("image_url") or {}).get("url", "") if isinstance(part, dict) else ""
            if url.startswith("data:") and image_size(url) is None:
                raise RequestError("You uploaded an unsupported image. Please make sure your image is valid.",
                                   code="invalid_image_format", param="messages")
    return image_tokens(body["messages"], body["model"]) + definition_tokens(body, body["model"])


ROUTES = [
    Route("POST", "/chat/completions", lambda state, request: chat_completion(state, request.body)),
]
