"""The runners: one chat call on either API, streamed or not, into any view. Interrupts and cut streams keep
what arrived; every answer, partial or whole, is recorded in the ledger."""
from __future__ import annotations

from dataclasses import asdict

from openai_magics.chat.moderated import StreamStopped
from openai_magics.chat.request import build_body
from openai_magics.chat.result import ChatResult
from openai_magics.core.cancel import Cancelled
from openai_magics.core.errors import CallFailed
from openai_magics.core.tokens import count_messages, count_text
from openai_magics.core.usage import Usage


EMPTY_STREAM = ("The server ended the stream without sending an answer (200, then nothing; or plain JSON "
                "where a stream was asked for). Servers do this when the prompt exceeds their context window: "
                "shorten it, or start the thread afresh with --new; nothing was stored.")
EMPTY_ANSWER = ("The server ended the answer at once with nothing in it and no usage (finish reason \"stop\", no "
                "text). A proxy such as LiteLLM answers so when its backend sent an empty stream, which servers "
                "do when the prompt is too long for them: shorten it, or start the thread afresh with --new; "
                "nothing was stored.")
NO_CHOICES = ("The server answered with no choices (an empty answer); nothing was stored. "
              "Re-run, or check the endpoint and the model.")


class Runner:
    api = "chat"
    estimated = False  # True when some of the usage had to be counted here

    def __init__(self, session, request, messages, max_out, previous_id, view, call):
        self.session, self.request, self.messages = session, request, messages
        self.max_out, self.previous_id, self.view, self.call = max_out, previous_id, view, call
        self.pieces: list[str] = []
        self.usage: Usage | None = None
        self.answered_model = request.model  # the snapshot the server says answered
        self.finish_reason = None
        self.response_id = None
        self.cached = None  # this request's place in the response cache

    def from_cache(self) -> ChatResult | None:
        """The cached answer replayed through the same view, or None when it must be asked."""
        from openai_magics.cache.keys import preview
        from openai_magics.cache.policy import lookup

        params = self.params()
        if self.request.pinned_from:  # kept under the alias asked: answers cached before pinning still answer
            params = {**params, "model": self.request.pinned_from}
        self.cached = lookup(self.session, self.call, self.api, params, enabled=self.request.cache,
                             what=preview(self.request.prompt))
        hit = self.cached.hit
        if hit is None:
            return None
        self.view.start(self.request)
        self.answered_model, self.response_id = hit["model"], hit["response_id"]
        self.finish_reason = hit["finish_reason"]
        self.usage = Usage(**hit["usage"]) if hit["usage"] else None
        self.emit(hit["text"])
        return self.finish(False, self.checked_end())  # an answer cut at the cell's --max-tokens says so again

    def run(self) -> ChatResult:
        with self.budget_hold():  # refused before sending when over budget; held until recorded
            return self._run()

    def budget_hold(self):
        """The budget held for this call's one request (a tool loop holds one per round instead)."""
        return self.session.spending(self.request.model, lambda: self.prompt_tokens().tokens, self.worst_output())

    def worst_output(self) -> int:
        from openai_magics.core.models import model_info

        return self.max_out or model_info(self.request.model).max_output or 16384

    def _run(self) -> ChatResult:
        interrupted, incomplete = False, None
        self.session.require_key()
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
        except Cancelled:  # a worker's request stopped by an interrupt: what had arrived is kept
            if not self.pieces:
                raise
            interrupted = True
        except StreamStopped as stop:  # a view ended it on purpose (moderation): keep what arrived
            incomplete = str(stop)
        except Exception as exc:  # the connection dropped mid-stream: keep what arrived
            ended = self.ended_on_error(exc)
            if not self.request.stream or not self.pieces:
                self.view.abort()
                self.record_what_was_paid()
                if ended:
                    raise CallFailed(f"{ended[0].upper()}{ended[1:]}; nothing arrived.") from None
                raise
            incomplete = ended or self.cut_short(exc)
        if not interrupted and incomplete is None:
            try:
                incomplete = self.checked_end()
            except CallFailed:
                self.record_what_was_paid()
                raise
        return self.finish(interrupted, incomplete)

    def cut_short(self, exc: Exception) -> str:
        """Why a stream that had begun stopped, with what arrived."""
        from openai_magics.core.errors import silence
        from openai_magics.core.http import NoAnswer

        if isinstance(exc, NoAnswer):
            return silence(exc, self.session.base_url, count_text("".join(self.pieces), self.answered_model).tokens)
        return f"the stream was cut ({_reason(exc, self.session)}); only part of the answer arrived"

    def ended_on_error(self, exc: Exception) -> str | None:
        """Why a stream that ended on an error event ended, in the server's words, or None for any other failure.
        The usage that came with the error (OpenRouter's "Token limit reached") is what was charged: it is kept."""
        from openai_magics.core.sdk import openai_sdk

        openai = openai_sdk()
        event = self.session.http.trace.error_event if self.session.http.trace else None
        if event is None or not isinstance(exc, openai.APIError) or isinstance(exc, openai.APIStatusError):
            return None
        usage = Usage.from_chat(event.get("usage")) if event.get("usage") else None
        self.usage = usage or self.usage
        error = event["error"] if isinstance(event["error"], dict) else {"message": event["error"]}
        reason = self.session.redact(" ".join(str(error.get("message") or "no reason given").split()))
        if self.max_out and usage and usage.output_tokens >= self.max_out:
            return f"the server stopped it at the cell's token limit ({self.max_out:,}): “{reason}”"
        return f"the server ended the stream with an error: “{reason}”"

    def record_what_was_paid(self) -> None:
        """The server said what it charged, then gave nothing usable: the charge is recorded all the same."""
        if self.usage is not None:
            self.call.record(self.answered_model, self.usage, estimated=self.estimated, interrupted=True)

    def checked_end(self) -> str | None:
        """Why a whole answer is incomplete (or empty), or None; CallFailed when nothing came at all."""
        if self.finish_reason == "length":
            return self.limit_note()
        if self.finish_reason == "content_filter":
            return "the server's content filter stopped the answer (content_filter)"
        if self.finish_reason is None and not self.pieces and not self.has_output():
            raise CallFailed(EMPTY_STREAM if self.request.stream else NO_CHOICES)
        if self.finish_reason is None:
            return "the stream ended before the answer did (no finish reason)"
        if not "".join(self.pieces).strip() and not self.has_output():
            if self.usage is None and not (self.cached and self.cached.hit):  # nothing to say it was even read
                raise CallFailed(EMPTY_ANSWER)
            return "the answer is empty"
        return None

    def has_output(self) -> bool:
        """Output other than text (tool calls, a refusal, a parsed object)."""
        return False

    def whole_answer(self, incomplete: str | None) -> bool:
        """The answer to this request, as another identical request would get it (so it may be cached): one
        that ended by itself, or stopped at the output limit the cell set (marked so on a replay). Not one cut
        by an error, a silence or the budget's cap."""
        if self.finish_reason == "stop":
            return not incomplete
        cut_at_own_limit = self.max_out is not None and self.call.budget_cap is None
        return self.finish_reason == "length" and cut_at_own_limit and incomplete == self.limit_note()

    def limit_note(self) -> str:
        return f"it stopped at the token limit ({self.max_out:,})" if self.max_out else "token limit"

    def body(self) -> dict:
        """The wire body (see request.build_body)."""
        raise NotImplementedError

    def params(self) -> dict:
        """What the SDK call receives, and what the cache key is made of: the wire body, by default."""
        return self.body()

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
            input_tokens=count_messages(self.messages, self.answered_model).tokens,
            output_tokens=count_text(text, self.answered_model).tokens,
        )
        hit = bool(self.cached and self.cached.hit)
        record = self.call.record(self.answered_model, usage, estimated=estimated, interrupted=interrupted, cache_hit=hit)
        if self.cached and not interrupted and self.whole_answer(incomplete):
            self.cached.store("chat", self.request.model, {
                "text": text, "model": self.answered_model, "usage": None if estimated else asdict(usage),
                "finish_reason": self.finish_reason, "response_id": self.response_id})
        from openai_magics.cache.pins import answered

        asked = self.request.pinned_from or self.request.model
        version = answered(self.session, asked, self.answered_model, cached_from=self.answered_model if hit else None)
        result = ChatResult(text=text, model=self.answered_model, requested_model=asked,
                            record=record, api=self.api,
                            finish_reason=self.finish_reason, interrupted=interrupted, incomplete=incomplete,
                            response_id=self.response_id, messages=self.messages, version_note=version)
        self.extend(result)
        self.view.finish(result)
        return result


class ChatCompletionsRunner(Runner):
    api = "chat"

    def body(self) -> dict:
        return build_body(self.request, self.messages, api="chat", max_out=self.max_out,
                          endpoint=self.session.config)

    def open_stream(self):
        return self.session.client.chat.completions.create(
            **self.params(), stream=True, stream_options={"include_usage": True})

    def create(self):
        return self.session.client.chat.completions.create(**self.params())

    def on_event(self, chunk) -> None:
        self.answered_model = chunk.model or self.answered_model
        self.response_id = chunk.id
        if chunk.usage:
            self.usage = Usage.from_chat(chunk.usage, chunk.service_tier) or self.usage
        for choice in chunk.choices:
            if choice.delta and choice.delta.content:
                self.emit(choice.delta.content)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def on_complete(self, completion) -> None:
        self.answered_model, self.response_id = completion.model or self.answered_model, completion.id
        if completion.usage:
            self.usage = Usage.from_chat(completion.usage, completion.service_tier)
        if not completion.choices:
            raise CallFailed(NO_CHOICES)
        choice = completion.choices[0]
        self.finish_reason = choice.finish_reason
        self.emit(choice.message.content or "")


class ResponsesRunner(Runner):
    api = "responses"

    def body(self) -> dict:
        return build_body(self.request, self.messages, api="responses", max_out=self.max_out,
                          previous_id=self.previous_id, endpoint=self.session.config)

    def open_stream(self):
        return self.session.client.responses.create(**self.params(), stream=True)

    def create(self):
        return self.session.client.responses.create(**self.params())

    def on_event(self, event) -> None:
        if event.type == "response.output_text.delta":
            self.emit(event.delta)
        elif event.type in ("response.completed", "response.incomplete"):
            self._final(event.response)
        elif event.type in ("response.failed", "error"):
            raise failed_response(event)

    def on_complete(self, response) -> None:
        if getattr(response, "status", None) == "failed":
            raise failed_response(response)
        self.emit(response.output_text or "")
        self._final(response)

    def _final(self, response) -> None:
        self.answered_model, self.response_id = response.model or self.answered_model, response.id
        if response.usage:
            self.usage = Usage.from_responses(response.usage, response.service_tier) or self.usage
        self.finish_reason = finish_reason_of(response)


def finish_reason_of(response) -> str:
    """A Responses answer's end in Chat Completions' words: `length` at the token limit, `content_filter` when
    the filter stopped it, `stop` when it is whole."""
    details = getattr(response, "incomplete_details", None)
    reason = getattr(details, "reason", None)
    if reason == "max_output_tokens":
        return "length"
    if reason == "content_filter":
        return "content_filter"
    return "stop"


def failed_response(event) -> Exception:
    """A Responses `response.failed` (or `error`) event, or a failed response: one line with the server's words,
    never an empty answer shown as a success."""
    from openai_magics.core.errors import CallFailed

    response = getattr(event, "response", None) or event
    error = getattr(response, "error", None) or event
    message = getattr(error, "message", None) or "no reason given"
    code = getattr(error, "code", None)
    return CallFailed(f"The server says the response failed{f' ({code})' if code else ''}: {message}")


def _reason(exc: Exception, session) -> str:
    """Why a stream broke off, in a few words: the server's own (key redacted) when it said one."""
    from openai_magics.core.errors import CallFailed

    return session.redact(str(exc)) if isinstance(exc, CallFailed) else type(exc).__name__
