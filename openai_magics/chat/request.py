"""What a chat call asks: the request (checked as it is made, so plain Python gets the same clear errors as
the magic) and the one pure function that turns it into the JSON body either API receives."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from openai_magics.chat import levers
from openai_magics.core.config import DEFAULT_CHAT_EFFORT, DEFAULT_MODELS
from openai_magics.facts.models import is_reasoning
from openai_magics.core.errors import UsageError

APIS = ("auto", "chat", "responses")
EFFORTS = ("minimal", "low", "medium", "high")
DETAILS = ("auto", "low", "high")


@dataclass
class ChatRequest:
    prompt: str
    model: str
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    reasoning_effort: str | None = None
    api: str = "auto"
    stream: bool = True
    thread: str | None = None
    new_thread: bool = False
    turn_key: str | None = None
    cache: bool = True               # False: --no-cache
    schema: object = None            # --schema: a pydantic model class or a JSON-schema dict
    schema_name: str | None = None
    json_mode: bool = False          # --json
    tools: list = field(default_factory=list)   # --tools: tools.Tool
    max_rounds: int = 8              # tool-call rounds before giving up
    images: list = field(default_factory=list)  # --image: vision.EncodedImage, encoded once
    detail: str | None = None
    reasoning_summary: bool = False  # --summary: the reasoning model's summary of its thinking (Responses API)
    dry_run: bool = False
    pinned_from: str | None = None   # `%openai pin on`: the alias `model` (its snapshot) stands for
    moderate: bool = False           # --moderate: the prompt checked before sending, the answer as it arrives
    context: object = None           # --context: magics.summaries.Context, sent ahead of the prompt
    hosted: object = None            # --web, --files, --python: hosted.HostedTools (Responses API)
    # The cost levers (chat/levers.py):
    service_tier: str | None = None  # --tier: auto, default, flex, priority, flex-or-default
    cache_key: str | None = None     # --cache-key: prompt_cache_key, prompts that share a prefix share a key
    cache_retention: str | None = None  # --cache-retention: in_memory or 24h
    logprobs: int | None = None      # --logprobs [N]: each token's probability and N alternatives
    background: bool = False         # --background: the server runs it; the cell returns with its id

    def __post_init__(self) -> None:
        self.validate()
        if self.reasoning_effort is None and self.model == DEFAULT_MODELS["chat"]:
            self.reasoning_effort = DEFAULT_CHAT_EFFORT  # the default model kept fast, named or not

    def validate(self) -> None:
        """Every check that needs no network: one clear UsageError, nothing sent."""
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise UsageError("Nothing to send: the prompt is empty.")
        if not isinstance(self.model, str) or not self.model.strip():
            raise UsageError("Name a model, e.g. -m gpt-4o-mini.")
        _positive(self.max_tokens, "--max-tokens")
        _positive(self.max_rounds, "--max-rounds")
        if self.temperature is not None and not (_is_number(self.temperature) and 0 <= self.temperature <= 2):
            raise UsageError(f"--temperature must be between 0 and 2, not {self.temperature}.")
        _choice(self.api, APIS, "--api")
        if self.reasoning_effort is not None:
            _choice(self.reasoning_effort, EFFORTS, "--reasoning-effort")
        if self.detail is not None:
            _choice(self.detail, DETAILS, "--detail")
        if self.new_thread and not self.thread:
            raise UsageError("--new starts a --thread afresh: name the thread too.")
        if self.schema is not None and self.json_mode:
            raise UsageError("--schema and --json: pick one (--schema already answers in JSON).")
        if self.detail and not self.images:
            raise UsageError("--detail goes with --image.")
        if self.api == "chat" and self.hosted is not None:
            raise UsageError(f"{self.hosted.names[0][0].upper()}{self.hosted.names[0][1:]} is a tool of the "
                             "Responses API: drop --api chat. Nothing was sent.")
        if self.api == "chat" and self.reasoning_summary:
            raise UsageError("--summary comes with the Responses API: drop --api chat.")
        if (self.api == "responses" or self.hosted is not None) and (self.stop or self.seed is not None):
            fix = "drop them (hosted tools need that API)" if self.hosted is not None else "use --api chat"
            raise UsageError(f"--stop and --seed are not part of the Responses API: {fix}.")
        levers.check(self)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive(value, option: str) -> None:
    if value is not None and not (_is_number(value) and value == int(value) and value > 0):
        raise UsageError(f"{option} must be positive, not {value}.")


def _choice(value, choices: tuple, option: str) -> None:
    if value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, not {value!r}.")


def choose_api(request: ChatRequest, config) -> str:
    """auto: the Responses API on OpenAI's own endpoint, Chat Completions elsewhere (most compatible servers
    lack /responses). Both APIs do everything here: schemas, JSON mode, tools, images."""
    if request.hosted is not None and request.api == "auto" and config.api == "chat":
        raise UsageError(f"{request.hosted.names[0][0].upper()}{request.hosted.names[0][1:]} needs the Responses "
                         "API, and this session sends Chat Completions (`%config OpenAIMagics.api = \"chat\"`): "
                         "set it back to \"auto\" on a server that has /responses. Nothing was sent.")
    if request.hosted is not None:
        return "responses"
    if request.api != "auto":
        return request.api
    if config.api != "auto":
        return config.api
    if request.reasoning_summary or request.background:
        return "responses"
    use_responses = config.is_openai and not (request.stop or request.seed is not None)
    return "responses" if use_responses else "chat"


def drop_unset(**params) -> dict:
    """The parameters that were set: None and empty values are left out of the request."""
    return {name: value for name, value in params.items() if value is not None and value != []}


def build_body(request: ChatRequest, messages: list[dict], *, api: str, max_out: int | None,
               previous_id: str | None = None, endpoint=None) -> dict:
    """The JSON body of the request, exactly as it goes on the wire (streaming flags aside): what is sent,
    what the cache key and `--dry-run` show, and what a batch line holds. `endpoint`: the session's Config
    (None: OpenAI's own); where it bills like OpenAI, the parameters follow the model (`model_parameters`)."""
    rules = _rules(request.model, endpoint)
    if rules is not None:
        _refuse_what_the_model_refuses(request, rules)
        messages = _system_as_the_model_takes_it(messages, rules.system_role, api)
    if api == "responses":
        return {**_responses_body(request, messages, max_out, previous_id), **levers.body_params(request, api)}
    # OpenAI wants max_completion_tokens (reasoning models refuse max_tokens); most compatible servers know max_tokens.
    on_openai = endpoint is None or endpoint.is_openai
    max_key = "max_completion_tokens" if on_openai or (rules and rules.output_limit) else "max_tokens"
    body = drop_unset(model=request.model, messages=messages, temperature=request.temperature, stop=request.stop,
                      seed=request.seed, reasoning_effort=request.reasoning_effort, **{max_key: max_out})
    fmt = response_format_of(request)
    if fmt is not None:
        from openai_magics.chat.structured import wire_format

        body["response_format"] = wire_format(fmt)
    if request.tools:
        body["tools"] = [t.param for t in request.tools]
    return {**body, **levers.body_params(request, api)}


OPTIONS = {"temperature": "--temperature", "stop": "--stop", "seed": "--seed", "reasoning_effort": "--reasoning-effort"}


def _rules(model: str, endpoint):
    """The model's parameter rules where OpenAI's models answer: an endpoint that bills like OpenAI (a gateway in
    front of it passes the body on) or Azure OpenAI; else None, as another server's model of that name may take
    anything."""
    if endpoint is not None and not (endpoint.bills_like_openai or endpoint.azure_layout):
        return None
    from openai_magics.facts.model_parameters import parameters_of

    return parameters_of(model)


def _refuse_what_the_model_refuses(request: ChatRequest, rules) -> None:
    if request.logprobs is not None and is_reasoning(request.model):
        raise UsageError(f"{request.model} returns no logprobs (reasoning models do not), so OpenAI would refuse the "
                         "call: drop --logprobs, or pick a model that gives them (e.g. -m gpt-4.1-mini). Nothing was "
                         "sent.")
    sent = drop_unset(temperature=request.temperature, stop=request.stop, seed=request.seed,
                      reasoning_effort=request.reasoning_effort)
    name = rules.refused(sent)
    if name is None:
        return
    only = rules.only_default.get(name)
    takes = f"only its default ({name} {only})" if only is not None else f"no {OPTIONS[name]}"
    raise UsageError(f"{request.model} takes {takes}, so OpenAI would refuse the call: drop {OPTIONS[name]}, or "
                     "pick a model that takes it (e.g. -m gpt-4.1-mini). Nothing was sent.")


def _system_as_the_model_takes_it(messages: list[dict], role: str, api: str) -> list[dict]:
    """System messages as `developer` (Chat Completions; Responses keeps them as its instructions), or folded
    into the first user turn for a model that takes neither."""
    if role == "system" or not any(m["role"] == "system" for m in messages):
        return messages
    if role == "developer":
        if api == "responses":
            return messages
        return [{**m, "role": "developer"} if m["role"] == "system" else m for m in messages]
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns = [m for m in messages if m["role"] != "system"]
    first = next((i for i, m in enumerate(turns) if m["role"] == "user"), None)
    if first is None:
        return turns
    turns[first] = {**turns[first], "content": _prefixed(system, turns[first]["content"])}
    return turns


def _prefixed(system: str, content):
    if isinstance(content, list):
        return [{"type": "text", "text": system}, *content]
    return f"{system}\n\n{content}"


def response_format_of(request: ChatRequest):
    """What `response_format` holds for the SDK: a pydantic class, a dict, or None."""
    if request.schema is None and not request.json_mode:
        return None
    from openai_magics.chat.structured import response_format

    return response_format(request.schema, request.schema_name, request.json_mode)


def _responses_body(request: ChatRequest, messages: list[dict], max_out: int | None, previous_id) -> dict:
    system = [m["content"] for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    if previous_id:
        turns = turns[-1:]
    reasoning = drop_unset(effort=request.reasoning_effort, summary="auto" if request.reasoning_summary else None)
    hosted = request.hosted
    body = drop_unset(model=request.model, input=[_input_item(m) for m in turns],
                      instructions=system[-1] if system else None, previous_response_id=previous_id,
                      temperature=request.temperature, max_output_tokens=max_out, reasoning=reasoning or None,
                      text=_text_format(request), tools=[_responses_tool(t.param) for t in request.tools]
                      + (hosted.params() if hosted else []))
    if hosted is not None:
        from openai_magics.chat.hosted import MAX_TOOL_CALLS

        body.update(include=hosted.include(), max_tool_calls=MAX_TOOL_CALLS)
    return body


def _input_item(message: dict) -> dict:
    """A Chat Completions message as a Responses input item: text parts → input_text, images → input_image."""
    content = message.get("content")
    if not isinstance(content, list):
        return message
    parts = []
    for part in content:
        if part.get("type") == "image_url":
            image = part["image_url"]
            parts.append({"type": "input_image", "image_url": image["url"], "detail": image.get("detail") or "auto"})
        else:
            parts.append({"type": "input_text", "text": part.get("text", "")})
    return {**message, "content": parts}


def _text_format(request: ChatRequest) -> dict | None:
    """`text.format`: the same strict JSON schema Chat Completions gets, flattened as Responses wants it."""
    fmt = response_format_of(request)
    if fmt is None:
        return None
    from openai_magics.chat.structured import wire_format

    wire = wire_format(fmt)
    if wire.get("type") == "json_schema":
        return {"format": {"type": "json_schema", **wire["json_schema"]}}
    return {"format": wire}


def _responses_tool(param: dict) -> dict:
    """A Chat Completions tool ({"type", "function": {...}}) as a Responses function tool (flat)."""
    return {"type": "function", **param["function"]}
