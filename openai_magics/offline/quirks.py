"""What real OpenAI-compatible servers send, reproduced on demand, so every case is a deterministic test.

A server instance runs with a set of quirks (`OfflineServer(quirks=["llama.cpp"])`, or `server.quirks = …`):
single quirks by name, or a profile that names the quirks one real server shows. Three hooks apply them:
`refusal` (before an endpoint answers), `before` (what the endpoint is asked) and `after` (what it says).
"""
from __future__ import annotations

import json

from openai_magics.offline.tokens import count

SMALL_CONTEXT = 2048  # llama-cpp-python's default n_ctx
QUIRKS = {
    "per_token_embeddings": "one vector per token of each input, floats whatever encoding_format asks",
    "missing_vectors": "one vector fewer than inputs",
    "ragged_vectors": "vectors of different lengths",
    "shuffled_vectors": "vectors in reverse order (their index fields stay right)",
    "no_stream_usage": "streams never carry usage, whatever stream_options says",
    "no_usage": "no usage in any answer",
    "negative_usage": "usage numbers below zero",
    "empty_stream": "a streamed request gets 200 and an empty stream (llama.cpp over its context)",
    "stream_as_json": "a streamed request gets the plain JSON answer (Prism)",
    "validation_as_500": "json_schema or tools refused with a 500 carrying a validation error",
    "schema_as_literal_500": "json_schema refused with llama-cpp-python's 500: response_format.type should be "
                             "'text' or 'json_object'",
    "ignores_tools": "tools accepted and ignored: the answer is text",
    "small_context": f"a {SMALL_CONTEXT:,}-token context: an over-long prompt gets an empty stream, or a 400 when "
                     "not streamed (llama-cpp-python)",
    "empty_stream_as_stop": "an empty stream rewritten as one chunk: finish_reason stop, no content, no usage "
                            "(LiteLLM)",
    "litellm_errors": "refusals wrapped in LiteLLM's error chain, the backend's error inside",
    "echo_model": "the answer names the model exactly as asked; /models lists only the served model",
    "no_responses": "no /responses endpoint (404)",
    "empty_choices": "chat answers with choices: []",
    "unasked_tool_calls": "tool_calls in the answer although no tools were sent",
}
PROFILES = {
    # llama-cpp-python's server with a small GGUF, pooling off
    "llama.cpp": {"per_token_embeddings", "no_stream_usage", "schema_as_literal_500", "ignores_tools", "echo_model",
                  "no_responses", "small_context"},
    # LiteLLM's proxy in front of llama.cpp: the backend's refusals inside its own error chain, an empty stream
    # turned into an empty answer, and stream usage of its own counting
    "litellm": {"schema_as_literal_500", "ignores_tools", "echo_model", "small_context", "empty_stream_as_stop",
                "litellm_errors"},
    # Prism mocking OpenAI's published document in dynamic mode
    "prism": {"stream_as_json", "empty_choices", "unasked_tool_calls", "negative_usage"},
}
SERVED_MODEL = "gemma-3-1b-it"  # what /models lists under echo_model
PER_TOKEN_DIMENSIONS = 64
VALIDATION_500 = ("1 validation error for CreateChatCompletionRequest\n{param}\n  Extra inputs are not permitted "
                  "[type=extra_forbidden, input_value={value}, input_type=dict]")
# FastAPI's RequestValidationError as llama-cpp-python's error handler turns it into a 500
LITERAL_500 = ("1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
               "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
               "'ctx': {'expected': \"'text' or 'json_object'\"}}\n")
CONTEXT_400 = ("This model's maximum context length is {window} tokens. However, you requested {n} tokens "
               "({n} in the messages, None in the completion). Please reduce the length of the messages or "
               "completion.")
LITELLM_CHAIN = ("litellm.{kind}: OpenAIException - Error code: {status} - {inner!r}\nReceived Model Group={model}"
                 "\nAvailable Model Group Fallbacks=None")
LITELLM_KINDS = {400: "BadRequestError", 404: "NotFoundError", 500: "InternalServerError"}


def expand(names) -> frozenset[str]:
    """Quirk and profile names → the quirks; an unknown name is a ValueError naming the known ones."""
    quirks = set()
    for name in [names] if isinstance(names, str) else names or ():
        if name in PROFILES:
            quirks |= PROFILES[name]
        elif name in QUIRKS:
            quirks.add(name)
        else:
            raise ValueError(f"unknown quirk {name!r}: one of {sorted(QUIRKS) + sorted(PROFILES)}")
    return frozenset(quirks)


def endpoint(path: str) -> str:
    """`/v1/chat/completions?x` → `chat`; `/v1/responses` → `responses`; `/v1/embeddings` → `embeddings`."""
    path = path.split("?")[0].rstrip("/")
    for name, suffix in (("chat", "/chat/completions"), ("responses", "/responses"), ("embeddings", "/embeddings")):
        if path.endswith(suffix):
            return name
    return ""


def served_models(quirks, models: list[str]) -> list[str]:
    return [SERVED_MODEL] if "echo_model" in quirks else models


def refusal(quirks, path: str, body: dict) -> tuple[int, dict] | None:
    """(status, error body) when a quirky server would refuse this request outright."""
    refused = _refusal(quirks, path, body)
    if refused and "litellm_errors" in quirks:
        return refused[0], _litellm_chain(*refused, body.get("model"))
    return refused


def error_headers(quirks) -> dict:
    """The headers a refusal comes with: LiteLLM's proxy names itself in its own."""
    return {"x-litellm-version": "1.74.0"} if "litellm_errors" in quirks else {}


def _litellm_chain(status: int, inner: dict, model) -> dict:
    """The backend's error as LiteLLM's proxy passes it on: a Python repr of it inside LiteLLM's own words."""
    kind = LITELLM_KINDS.get(status, "APIError")
    message = LITELLM_CHAIN.format(kind=kind, status=status, inner=inner, model=model)
    return {"error": {"message": message, "type": None, "param": None, "code": str(status)}}


def over_context(quirks, body: dict) -> int | None:
    """The prompt's tokens when it is over the small context, else None."""
    if "small_context" not in quirks or not isinstance(body.get("messages"), list):
        return None
    from openai_magics.offline.tokens import message_text

    n = count("\n".join(message_text(m) for m in body["messages"] if isinstance(m, dict)), str(body.get("model")))
    return n if n > SMALL_CONTEXT else None


def _refusal(quirks, path: str, body: dict) -> tuple[int, dict] | None:
    kind = endpoint(path)
    if "no_responses" in quirks and kind == "responses":
        return 404, {"detail": "Not Found"}
    if "validation_as_500" in quirks and kind in ("chat", "responses"):
        param, value = _unsupported(body)
        if param:
            message = VALIDATION_500.format(param=param, value=json.dumps(value)[:60])
            return 500, {"error": {"code": 500, "message": message, "type": "server_error"}}
    schema_sent = _unsupported(body)[0] == "response_format.json_schema"
    if "schema_as_literal_500" in quirks and kind == "chat" and schema_sent:
        return 500, {"error": {"message": LITERAL_500, "type": "internal_server_error", "param": None, "code": None}}
    n = over_context(quirks, body) if kind == "chat" and not body.get("stream") else None
    if n:
        return 400, {"error": {"message": CONTEXT_400.format(window=SMALL_CONTEXT, n=n), "param": "messages",
                               "type": "invalid_request_error", "code": "context_length_exceeded"}}
    return None


def _unsupported(body: dict) -> tuple[str | None, object]:
    fmt = body.get("response_format") or (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        return ("response_format.json_schema" if "response_format" in body else "text.format"), fmt
    if body.get("tools"):
        return "tools", body["tools"][0]
    return None, None


def before(quirks, path: str, body: dict) -> dict:
    """What the endpoint is asked instead of `body`."""
    if body.get("stream") and "stream_as_json" in quirks:
        body = {**body, "stream": False}
    if "no_stream_usage" in quirks or "no_usage" in quirks:
        body = {**body, "stream_options": None}
    if "ignores_tools" in quirks and body.get("tools"):
        body = {k: v for k, v in body.items() if k not in ("tools", "tool_choice", "parallel_tool_calls")}
    return body


def after(quirks, path: str, asked: dict, result):
    """What the server sends instead of `result` (a JSON dict, or a stream of events)."""
    kind = endpoint(path)
    if kind == "embeddings":
        return _embeddings(quirks, asked, result)
    if kind not in ("chat", "responses"):
        return result
    if asked.get("stream") and not isinstance(result, dict) and (
            "empty_stream" in quirks or over_context(quirks, asked)):
        return _stop_chunk(asked) if "empty_stream_as_stop" in quirks and kind == "chat" else iter(())
    if isinstance(result, dict):
        return _answer(quirks, kind, asked, result)
    return (_answer(quirks, kind, asked, event) for event in result)


def _answer(quirks, kind: str, asked: dict, payload: dict) -> dict:
    """One JSON answer or one streamed event, as the quirky server sends it."""
    payload = dict(payload)
    if kind == "responses" and isinstance(payload.get("response"), dict):
        payload["response"] = _answer(quirks, kind, asked, payload["response"])
        return payload
    if "echo_model" in quirks and "model" in payload:
        payload["model"] = asked.get("model")
    if "no_usage" in quirks and payload.get("usage"):
        payload["usage"] = None
    if "negative_usage" in quirks and payload.get("usage"):
        payload["usage"] = {k: (-abs(v) * 1000 if isinstance(v, int) else v) for k, v in payload["usage"].items()}
    if kind == "chat" and "empty_choices" in quirks and payload.get("choices"):
        payload["choices"] = []
    if kind == "chat" and "unasked_tool_calls" in quirks and not asked.get("tools"):
        payload["choices"] = [_with_tool_call(c) for c in payload.get("choices") or []]
    return payload


def _stop_chunk(asked: dict):
    """LiteLLM's rewrite of an empty stream: one chunk that ends the answer with nothing in it."""
    yield {"id": "chatcmpl-litellm", "object": "chat.completion.chunk", "created": 0, "model": asked.get("model"),
           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


def _with_tool_call(choice: dict) -> dict:
    call = {"id": "call_unasked", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    choice = dict(choice)
    if "message" in choice:
        choice["message"] = {**choice["message"], "tool_calls": [call]}
        choice["finish_reason"] = "tool_calls"
    elif choice.get("finish_reason"):
        choice["delta"] = {**choice.get("delta", {}), "tool_calls": [{"index": 0, **call}]}
        choice["finish_reason"] = "tool_calls"
    return choice


def _embeddings(quirks, asked: dict, result: dict) -> dict:
    data = [dict(item) for item in result["data"]]
    if "per_token_embeddings" in quirks:
        from openai_magics.offline.vectors import vectors

        texts = [asked["input"]] if isinstance(asked["input"], str) else asked["input"]
        for item, text in zip(data, texts):
            words = [f"{text}#{n}" for n in range(max(1, count(text, asked["model"])))]
            item["embedding"] = vectors(words, PER_TOKEN_DIMENSIONS).tolist()
    if "missing_vectors" in quirks:
        data = data[:-1]
    if "ragged_vectors" in quirks and len(data) > 1:
        data[-1]["embedding"] = _shorter(data[-1]["embedding"])
    if "shuffled_vectors" in quirks:
        data.reverse()
    if "echo_model" in quirks:
        result = {**result, "model": asked.get("model")}
    result = {**result, "data": data}
    if "negative_usage" in quirks and result.get("usage"):
        result["usage"] = {k: -abs(v) for k, v in result["usage"].items()}
    if "no_usage" in quirks:
        result.pop("usage", None)
    return result


def _shorter(embedding):
    if isinstance(embedding, str):
        import base64

        raw = base64.b64decode(embedding)
        return base64.b64encode(raw[: len(raw) // 8 * 4]).decode()
    return embedding[: len(embedding) // 2]
