"""The Responses API: text, structured outputs (text.format), function tools, images in, reasoning summaries,
previous_response_id threads, non-streamed and streamed as its typed events.

A Responses body is read as the Chat Completions body it amounts to, so both APIs answer alike (same text,
same tool calls, same usage); only the shapes differ.
"""
from __future__ import annotations

import itertools
import time

from openai_magics.offline.api import answers, hosted_tools, output_items, structured
from openai_magics.offline.api.background import BackgroundRuns
from openai_magics.offline.api.chat import SERVICE_TIERS, Completion, complete, extra_prompt_tokens, token_logprobs
from openai_magics.offline.errors import RequestError
from openai_magics.offline.router import Route

_ids = itertools.count(1)
SUMMARY = ("**Reading the question**\n\nThe offline server does not think; this summary stands where a "
           "reasoning model's would, so that its place in a notebook can be seen.")


def response(state, body: dict):
    chat = chat_body(state, body)
    model = body["model"]
    hosted = hosted_tools.run(state, body, _last_prompt(chat["messages"]))
    plan = None if hosted else structured.plan(chat, lambda prompt: answers.answer_text(prompt, model))
    c = complete(state, chat["messages"], model, body.get("max_output_tokens"),
                 (body.get("reasoning") or {}).get("effort"),
                 text=hosted.text if hosted else plan.text if plan else None, body=body)
    c.prompt_tokens += extra_prompt_tokens(chat)
    if plan and plan.kind != "content":
        c.kind, c.tool_calls = plan.kind, plan.tool_calls
    probabilities = token_logprobs(body, "responses", chat["messages"], c)
    rid = f"resp_offline{next(_ids)}"
    with state.lock:
        state.responses[rid] = chat["messages"] + [_assistant(c)]
    final = _final(rid, body, c, output_items.asked(_last_prompt(chat["messages"])), hosted,
                   probabilities or [])
    if body.get("background"):  # answered now, reported as it would run on OpenAI's side (background.py)
        with state.lock:
            return state.part(BackgroundRuns).start(final)
    return final if not body.get("stream") else _events(final, c.tokens, probabilities or [])


def _last_prompt(messages: list[dict]) -> str:
    users = [m.get("content") for m in messages if m.get("role") == "user"]
    last = users[-1] if users else ""
    return last if isinstance(last, str) else " ".join(p.get("text", "") for p in last if isinstance(p, dict))


def chat_body(state, body: dict) -> dict:
    """The Chat Completions body this Responses body amounts to."""
    messages = []
    if body.get("previous_response_id"):
        previous = state.responses.get(body["previous_response_id"])
        if previous is None:
            raise RequestError(f"Previous response with id '{body['previous_response_id']}' not found.",
                               param="previous_response_id")
        messages += previous
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    for item in [{"role": "user", "content": items}] if isinstance(items, str) else items or []:
        _add_item(messages, item)
    chat = {"model": body["model"], "messages": messages}
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        chat["response_format"] = {"type": "json_schema", "json_schema": {
            k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}}
    elif fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    tools = [{"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters", "strict")
                                               if k in t}}
             for t in body.get("tools") or [] if t.get("type") == "function"]
    if tools:
        chat["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    if choice is not None:
        chat["tool_choice"] = choice
    if "parallel_tool_calls" in body:
        chat["parallel_tool_calls"] = body["parallel_tool_calls"]
    return chat


def _add_item(messages: list[dict], item: dict) -> None:
    kind = item.get("type", "message")
    if kind == "function_call":
        call = {"id": item["call_id"], "type": "function",
                "function": {"name": item["name"], "arguments": item.get("arguments", "")}}
        last = messages[-1] if messages else {}
        if last.get("role") == "assistant" and last.get("tool_calls") is not None:
            last["tool_calls"].append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        messages.append({"role": "tool", "tool_call_id": item["call_id"],
                         "content": output if isinstance(output, str) else str(output)})
    elif kind == "message" and "role" in item:
        messages.append({"role": item["role"], "content": _content(item.get("content"))})


def _content(content):
    """Responses content parts → Chat Completions parts (text stays text, input_image becomes image_url)."""
    if not isinstance(content, list):
        return content or ""
    parts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image":
            image = {"url": part.get("image_url") or ""}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
    if parts and all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _assistant(c: Completion) -> dict:
    if c.tool_calls:
        return {"role": "assistant", "content": None, "tool_calls": c.tool_calls}
    return {"role": "assistant", "content": c.text}


def usage(c: Completion) -> dict:
    return {
        "input_tokens": c.prompt_tokens,
        "input_tokens_details": {"cached_tokens": c.cached_tokens},
        "output_tokens": c.output_tokens,
        "output_tokens_details": {"reasoning_tokens": c.reasoning_tokens},
        "total_tokens": c.prompt_tokens + c.output_tokens,
    }


def _final(rid: str, body: dict, c: Completion, kinds: list[str] = (), hosted=None,
           probabilities: list[dict] = ()) -> dict:
    incomplete = c.finish_reason == "length" and not c.tool_calls
    status = "incomplete" if incomplete else "completed"
    output = []
    if c.reasoning_tokens and (body.get("reasoning") or {}).get("summary"):
        output.append({"type": "reasoning", "id": f"rs_offline{next(_ids)}",
                       "summary": [{"type": "summary_text", "text": SUMMARY}]})
    output += output_items.items(kinds, c.text) + (hosted.items if hosted else [])
    for call in c.tool_calls:
        output.append({"type": "function_call", "id": f"fc_offline{next(_ids)}", "call_id": call["id"],
                       "name": call["function"]["name"], "arguments": call["function"]["arguments"],
                       "status": "completed"})
    if not c.tool_calls and "no text" not in kinds:
        part = ({"type": "refusal", "refusal": c.text} if c.kind == "refusal" else
                {"type": "output_text", "text": c.text, "logprobs": list(probabilities),
                 "annotations": output_items.annotations(kinds, c.text) + (hosted.annotations if hosted else [])})
        output.append({"type": "message", "id": f"msg_offline{next(_ids)}", "status": status,
                       "role": "assistant", "content": [part]})
    text = body.get("text") or {"format": {"type": "text"}}
    return {
        "id": rid, "object": "response", "created_at": int(time.time()), "model": c.model, "status": status,
        "error": None, "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"), "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"), "temperature": body.get("temperature", 1.0),
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [], "top_p": 1.0,
        "text": text, "reasoning": body.get("reasoning"), "usage": usage(c), "metadata": {}, "store": True,
        "service_tier": body.get("service_tier") if body.get("service_tier") in SERVICE_TIERS else "default",
    }


def _events(final: dict, tokens: list[str], probabilities: list[dict] = ()):
    """The stream: created, each output item with its deltas, then completed (or incomplete)."""
    seq = itertools.count()

    def event(kind: str, **fields) -> dict:
        return {"type": kind, "sequence_number": next(seq), **fields}

    pending = {**final, "status": "in_progress", "output": [], "usage": None}
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    for index, item in enumerate(final["output"]):
        yield event("response.output_item.added", output_index=index, item=_started(item))
        yield from _item_events(event, index, item, tokens, probabilities)
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.incomplete" if final["status"] == "incomplete" else "response.completed",
                response=final)


def _started(item: dict) -> dict:
    if item["type"] == "message":
        return {**item, "status": "in_progress", "content": []}
    if item["type"] == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    if item["type"] == "reasoning":
        return {**item, "summary": []}
    return item


def _item_events(event, index: int, item: dict, tokens: list[str], probabilities: list[dict] = ()):
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "reasoning":
        for n, part in enumerate(item["summary"]):
            yield event("response.reasoning_summary_part.added", **where, summary_index=n,
                        part={"type": "summary_text", "text": ""})
            yield event("response.reasoning_summary_text.delta", **where, summary_index=n, delta=part["text"])
            yield event("response.reasoning_summary_text.done", **where, summary_index=n, text=part["text"])
            yield event("response.reasoning_summary_part.done", **where, summary_index=n, part=part)
    elif item["type"] == "function_call":
        yield event("response.function_call_arguments.delta", **where, delta=item["arguments"])
        yield event("response.function_call_arguments.done", **where, arguments=item["arguments"])
    elif item["type"] == "message":
        part = item["content"][0]
        where["content_index"] = 0
        empty = {**part, "text": ""} if part["type"] == "output_text" else {**part, "refusal": ""}
        yield event("response.content_part.added", **where, part=empty)
        if part["type"] == "refusal":
            yield event("response.refusal.delta", **where, delta=part["refusal"])
            yield event("response.refusal.done", **where, refusal=part["refusal"])
        else:
            for n, token in enumerate(tokens):
                yield event("response.output_text.delta", **where, delta=token,
                            logprobs=[probabilities[n]] if n < len(probabilities) else [])
            yield event("response.output_text.done", **where, text=part["text"], logprobs=list(probabilities))
        yield event("response.content_part.done", **where, part=part)


ROUTES = [Route("POST", "/responses", lambda state, request: response(state, request.body))]
