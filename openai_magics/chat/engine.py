"""Chat on either API, streamed or not, into any view; interrupts and cut streams keep what arrived."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from openai_magics.core.errors import UsageError
from openai_magics.chat.vision import user_content
from openai_magics.core.models import model_info
from openai_magics.chat.result import ChatResult
from openai_magics.chat.threads import Threads, Turn
from openai_magics.core.tokens import count_messages, count_text
from openai_magics.core.usage import Usage


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
    images: list = field(default_factory=list)  # --image: images.EncodedImage, encoded once
    detail: str | None = None
    dry_run: bool = False

    @property
    def chat_only(self) -> bool:
        """Structured outputs, tools and images go through Chat Completions' parse helpers."""
        return bool(self.schema is not None or self.json_mode or self.tools or self.images)


class NullView:
    """Where a quiet or non-streamed call sends its deltas."""

    def start(self, request: ChatRequest) -> None: ...
    def delta(self, text: str, tokens: int, elapsed: float) -> None: ...
    def finish(self, result: ChatResult) -> None: ...
    def abort(self) -> None: ...


def choose_api(session, request: ChatRequest) -> str:
    if request.chat_only:
        if request.api == "responses":
            raise UsageError("--schema, --json, --tools and --image use Chat Completions: drop --api responses.")
        return "chat"
    if request.api != "auto":
        if request.api == "responses" and (request.stop or request.seed is not None):
            raise UsageError("--stop and --seed are not part of the Responses API: use --api chat.")
        return request.api
    if session.config.api != "auto":
        return session.config.api
    use_responses = session.config.is_openai and not (request.stop or request.seed is not None)
    return "responses" if use_responses else "chat"


def run_chat(session, request: ChatRequest, view=None) -> ChatResult:
    view = view or NullView()
    thread = session.part(Threads).get(request.thread, new=request.new_thread) if request.thread else None
    if thread is not None and request.system:
        thread.system = request.system
    history = thread.history(request.turn_key) if thread else (
        [{"role": "system", "content": request.system}] if request.system else [])
    user = {"role": "user", "content": user_content(request.prompt, request.images, request.detail)}
    messages = history + [user]
    api = choose_api(session, request)

    max_out = request.max_tokens or session.config.max_tokens
    call = session.begin("chat")
    runner = _chat_runner(request) if api == "chat" else _Responses
    previous = thread.previous_response_id(request.turn_key) if thread and api == "responses" else None
    runner = runner(session, request, messages, max_out, previous, view, call)
    if request.dry_run:
        from openai_magics.chat.dry_run import DryRun

        return DryRun.of(runner)
    result = runner.from_cache()  # a cache hit costs nothing, so no budget stands in its way
    if result is None:
        session.check_budget(request.model, runner.prompt_tokens().tokens,
                             max_out or model_info(request.model).max_output or 16384)
        result = runner.run()
    result.thread = request.thread
    if thread is not None and not result.interrupted and not result.incomplete:
        thread.record(Turn(request.turn_key, user, {"role": "assistant", "content": result.text},
                           result.response_id))
    session.last_result = result
    return result


def given(**params) -> dict:
    """The parameters that were set: None and empty values are left out of the request."""
    return {name: value for name, value in params.items() if value is not None and value != []}


def _chat_runner(request: ChatRequest):
    if not request.chat_only:
        return _ChatCompletions
    from openai_magics.chat.tools import ToolLoop

    return ToolLoop


class _Runner:
    api = "chat"
    estimated = False  # True when some of the usage had to be counted here

    def __init__(self, session, request, messages, max_out, previous_id, view, call):
        self.session, self.request, self.messages = session, request, messages
        self.max_out, self.previous_id, self.view, self.call = max_out, previous_id, view, call
        self.pieces: list[str] = []
        self.usage: Usage | None = None
        self.model = request.model
        self.finish_reason = None
        self.response_id = None
        self.cached = None  # this request's place in the response cache

    def from_cache(self) -> ChatResult | None:
        """The cached answer replayed through the same view, or None when it must be asked (SPEC §7)."""
        from openai_magics.cache.keys import preview
        from openai_magics.cache.policy import lookup

        self.cached = lookup(self.session, self.call, self.api, self.params(), enabled=self.request.cache,
                             what=preview(self.request.prompt))
        hit = self.cached.hit
        if hit is None:
            return None
        self.view.start(self.request)
        self.model, self.response_id, self.finish_reason = hit["model"], hit["response_id"], hit["finish_reason"]
        self.usage = Usage(**hit["usage"]) if hit["usage"] else None
        self.emit(hit["text"])
        return self.finish(False, None)

    def run(self) -> ChatResult:
        interrupted, incomplete = False, None
        self.view.start(self.request)
        try:
            with self.session.api_errors(self.request.model):
                if not self.request.stream:
                    self.on_complete(self.create())
                else:
                    stream = self.open_stream()
            if self.request.stream:
                with stream:
                    for event in stream:
                        self.on_event(event)
        except KeyboardInterrupt:
            interrupted = True
        except Exception as exc:  # the connection dropped mid-stream: keep what arrived
            if not self.request.stream or not self.pieces:
                self.view.abort()
                raise
            incomplete = f"the stream was cut ({type(exc).__name__}); only part of the answer arrived"
        if self.finish_reason == "length":
            incomplete = f"it stopped at the token limit ({self.max_out:,})" if self.max_out else "token limit"
        return self.finish(interrupted, incomplete)

    def prompt_tokens(self):
        return count_messages(self.messages, self.request.model)

    def extend(self, result: ChatResult) -> None:
        """What a runner adds to the result (a parsed object, tool calls…)."""

    def emit(self, text: str) -> None:
        if self.request.stream:
            self.call.token_arrived()
        self.pieces.append(text)
        self.view.delta(text, len(self.pieces), self.call.elapsed)

    def finish(self, interrupted: bool, incomplete: str | None) -> ChatResult:
        text = "".join(self.pieces)
        estimated = self.usage is None or self.estimated
        usage = self.usage or Usage(
            input_tokens=count_messages(self.messages, self.model).tokens,
            output_tokens=count_text(text, self.model).tokens,
        )
        hit = bool(self.cached and self.cached.hit)
        record = self.call.record(self.model, usage, estimated=estimated, interrupted=interrupted, cache_hit=hit)
        if self.cached and not interrupted and not incomplete and self.finish_reason == "stop":
            self.cached.store("chat", self.request.model, {
                "text": text, "model": self.model, "usage": None if estimated else asdict(usage),
                "finish_reason": self.finish_reason, "response_id": self.response_id})
        result = ChatResult(text=text, model=self.model, record=record, api=self.api,
                            finish_reason=self.finish_reason, interrupted=interrupted, incomplete=incomplete,
                            response_id=self.response_id, messages=self.messages)
        self.extend(result)
        self.view.finish(result)
        return result


class _ChatCompletions(_Runner):
    api = "chat"

    def params(self) -> dict:
        r = self.request
        # OpenAI wants max_completion_tokens (o-series refuse max_tokens); most compatible servers know max_tokens.
        max_key = "max_completion_tokens" if self.session.config.is_openai else "max_tokens"
        return given(model=r.model, messages=self.messages, temperature=r.temperature, stop=r.stop,
                     seed=r.seed, reasoning_effort=r.reasoning_effort, **{max_key: self.max_out})

    def open_stream(self):
        return self.session.client.chat.completions.create(
            **self.params(), stream=True, stream_options={"include_usage": True})

    def create(self):
        return self.session.client.chat.completions.create(**self.params())

    def on_event(self, chunk) -> None:
        self.model = chunk.model or self.model
        self.response_id = chunk.id
        if chunk.usage:
            self.usage = Usage.from_chat(chunk.usage)
        for choice in chunk.choices:
            if choice.delta and choice.delta.content:
                self.emit(choice.delta.content)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def on_complete(self, completion) -> None:
        self.model, self.response_id = completion.model or self.model, completion.id
        choice = completion.choices[0]
        self.finish_reason = choice.finish_reason
        self.emit(choice.message.content or "")
        if completion.usage:
            self.usage = Usage.from_chat(completion.usage)


class _Responses(_Runner):
    api = "responses"

    def params(self) -> dict:
        r = self.request
        system = [m["content"] for m in self.messages if m["role"] == "system"]
        turns = [m for m in self.messages if m["role"] != "system"]
        if self.previous_id:
            turns = turns[-1:]
        return given(model=r.model, input=turns, instructions=system[-1] if system else None,
                     previous_response_id=self.previous_id, temperature=r.temperature,
                     max_output_tokens=self.max_out,
                     reasoning={"effort": r.reasoning_effort} if r.reasoning_effort else None)

    def open_stream(self):
        return self.session.client.responses.create(**self.params(), stream=True)

    def create(self):
        return self.session.client.responses.create(**self.params())

    def on_event(self, event) -> None:
        if event.type == "response.output_text.delta":
            self.emit(event.delta)
        elif event.type in ("response.completed", "response.incomplete"):
            self._final(event.response)

    def on_complete(self, response) -> None:
        self.emit(response.output_text or "")
        self._final(response)

    def _final(self, response) -> None:
        self.model, self.response_id = response.model or self.model, response.id
        if response.usage:
            self.usage = Usage.from_responses(response.usage)
        details = response.incomplete_details
        self.finish_reason = "length" if details and details.reason == "max_output_tokens" else "stop"
