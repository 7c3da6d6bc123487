"""The runner: one chat call on either API, streamed or not, into any view, in rounds when the model calls
tools (each round held to the budget and paid for, then the tools run). Each API's runner (tools.ToolLoop for
Chat Completions, responses.ResponsesLoop) says how a round is sent and read. Interrupts and cut streams keep
what arrived; every answer, partial or whole, is recorded in the ledger, and the cache keeps all it shows."""
from __future__ import annotations

import time
from dataclasses import asdict, fields
from types import SimpleNamespace

from openai_magics.chat.items import ToolCall
from openai_magics.chat.moderated import StreamStopped
from openai_magics.chat.request import response_format_of
from openai_magics.chat.result import ChatResult
from openai_magics.chat.structured import check_json_mode, parse_answer
from openai_magics.wire.cancel import Cancelled
from openai_magics.core.errors import CallFailed
from openai_magics.facts.tokens import count_messages, count_text
from openai_magics.metering.usage import Usage


EMPTY_STREAM = ("The server ended the stream without sending an answer (200, then nothing; or plain JSON "
                "where a stream was asked for). Servers do this when the prompt exceeds their context window: "
                "shorten it, or start the thread afresh with --new; nothing was stored.")
EMPTY_ANSWER = ("The server ended the answer at once with nothing in it and no usage (finish reason \"stop\", no "
                "text). A proxy such as LiteLLM answers so when its backend sent an empty stream, which servers "
                "do when the prompt is too long for them: shorten it, or start the thread afresh with --new; "
                "nothing was stored.")
NO_CHOICES = ("The server answered with no choices (an empty answer); nothing was stored. "
              "Re-run, or check the endpoint and the model.")


class NoAnswerInIt(CallFailed):
    """The server answered, and may have charged, but its answer holds nothing to read: what it charged is
    recorded, marked unreadable."""


class Runner:
    """What both APIs share. An API's runner defines `body()`, `send_round()` (one non-streamed round's answer),
    `stream_round()` (a generator of one streamed round's events, returning its answer), `on_event(event)`,
    `on_complete(answer)`, `paid(answer)`, `after_round(answer)` (False when no tool was called) and
    `prompt_tokens()`."""

    api = "chat"

    def __init__(self, session, request, messages, max_out, previous_id, view, call):
        self.session, self.request, self.messages = session, request, messages
        self.max_out, self.previous_id, self.view, self.call = max_out, previous_id, view, call
        self.pieces: list[str] = []
        self.usage: Usage | None = None
        self.estimated = False  # True when some of the usage had to be counted here
        self.answered_model = request.model  # the snapshot the server says answered
        self.finish_reason = None
        self.response_id = None
        self.cached = None  # this request's place in the response cache
        self.moderation = None  # moderated.AnswerModeration: checks the answer between the stream and the view
        if request.json_mode:
            check_json_mode(messages)
        self.format = response_format_of(request)
        self.tools = {t.name: t for t in request.tools}
        self.calls: list = []      # items.ToolCall, every round
        self.rounds = 0
        self.refusal = self.parsed = self.problem = None
        self.items: list = []      # items.OutputItem: what built-in tools did (Responses)
        self.citations: list = []  # the sources the answer cites
        self.sources: list = []    # hosted tools: the sources, numbered (sources.read_sources)
        self.marks: list = []      # [position in the text, source number]
        self.files: list = []      # sources.ContainerFile: what the code interpreter made
        self.token_logprobs: list = []  # --logprobs: the answer's tokens (chat/logprobs.py)

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
        self.view.start(self.request, self.prices())
        self.answered_model, self.response_id = hit["model"], hit["response_id"]
        self.finish_reason = hit["finish_reason"]
        self.usage = Usage(**hit["usage"]) if hit["usage"] else None
        self.restore(hit)
        self.emit(hit["text"])
        return self.finish(False, self.checked_end())  # an answer cut at the cell's --max-tokens says so again

    def prices(self):
        """The model's prices for the view's running cost; None when they cannot be had (the call's bill then
        says why its price is unknown)."""
        try:
            return self.session.prices_for(self.request.model)
        except Exception:
            return None

    def run(self) -> ChatResult:
        """Ask (each round refused before sending when over budget, held until paid) and show the answer."""
        return self._run()

    def round_hold(self):
        """The budget held for one round: its prompt (grown by the rounds before) and the most it may write."""
        return self.session.spending(self.request.model, lambda: self.prompt_tokens().tokens, self.worst_output(),
                                     tools=self.worst_tools())

    def worst_tools(self) -> Usage | None:
        """The most the hosted tools' calls of one round may use (none here; the Responses runner's may)."""
        return None

    def create(self):
        """Every round of a non-streamed call; the last round's answer."""
        for _ in range(self.request.max_rounds):
            with self.round_hold():
                with self.session.api_errors(self.request.model):
                    answer = self.send_round()
                self.record_answer(answer)
            if not self.after_round(answer):
                break
        return answer

    def open_stream(self):
        from openai_magics.chat.rounds import StreamedRounds

        return StreamedRounds(self)

    def record_round(self, usage: Usage | None, said: str, tools: Usage | None = None) -> None:
        """A round answered: its usage (counted here when the server sent none, and said so) goes into the
        ledger now, marked unfinished until the call ends, so that whatever fails later, what was paid is kept."""
        if usage is None:
            self.estimated = True
            usage = Usage(input_tokens=self.prompt_tokens().tokens,
                          output_tokens=count_text(said or "", self.answered_model).tokens)
        if tools is not None:  # hosted tools' calls, billed beside the tokens
            usage = usage + tools
        self.usage = usage if self.usage is None else self.usage + usage
        self.usage.images = len(self.request.images)
        self.call.record(self.answered_model, self.usage, estimated=self.estimated, interrupted=True)

    def finish_round(self, said: str, refusal: str | None, parsed=None) -> bool:
        """The round that answers (no tool to run): its refusal and parsed object. False: no round follows."""
        self.refusal = refusal
        self.parsed, problem = parse_answer(said or "", SimpleNamespace(refusal=refusal, parsed=parsed), self.format)
        self.problem = self.problem or problem
        return False

    def answer_calls(self, calls) -> bool:
        """Run the calls the round asked for, when tools were offered and rounds remain. True: another round."""
        if not calls or not self.tools:
            return False
        if self.rounds >= self.request.max_rounds:
            self.problem = f"it stopped after {self.rounds} rounds of tool calls (raise --max-rounds)"
            return False
        done = run_calls(self.tools, calls, self.rounds)
        self.calls += done
        self.send_back(done)
        self.pieces.clear()  # what a tool round said is not the answer
        return True

    def worst_output(self) -> int:
        from openai_magics.facts.models import model_info

        return self.max_out or model_info(self.request.model).max_output or 16384

    def _run(self) -> ChatResult:
        interrupted, incomplete = False, None
        self.session.require_key()
        self.view.start(self.request, self.prices())
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
        except StreamStopped as stop:  # moderation ended it on purpose: keep what arrived
            incomplete = str(stop)
        except Exception as exc:  # the connection dropped mid-stream: keep what arrived
            ended = self.ended_on_error(exc)
            if not self.request.stream or not self.pieces:
                self.view.abort()
                self.record_what_was_paid(unreadable=isinstance(exc, NoAnswerInIt))
                if ended:
                    raise CallFailed(f"{ended[0].upper()}{ended[1:]}; nothing arrived.") from None
                raise
            incomplete = ended or self.cut_short(exc)
        if not interrupted and incomplete is None:
            try:
                incomplete = self.checked_end()
            except NoAnswerInIt:
                self.record_what_was_paid(unreadable=True)
                raise
        return self.finish(interrupted, incomplete)

    def cut_short(self, exc: Exception) -> str:
        """Why a stream that had begun stopped, with what arrived."""
        from openai_magics.wire.errors import silence
        from openai_magics.wire.http import NoAnswer

        if isinstance(exc, NoAnswer):
            return silence(exc, self.session.base_url, count_text("".join(self.pieces), self.answered_model).tokens)
        return f"the stream was cut ({_reason(exc, self.session)}); only part of the answer arrived"

    def ended_on_error(self, exc: Exception) -> str | None:
        """Why a stream that ended on an error event ended, in the server's words, or None for any other failure.
        The usage that came with the error (OpenRouter's "Token limit reached") is what was charged: it is kept."""
        from openai_magics.wire.sdk import openai_sdk

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

    def record_what_was_paid(self, unreadable: bool = False) -> None:
        """The server said what it charged, then gave nothing usable: the charge is recorded all the same (marked
        unreadable when what came could not be read as an answer)."""
        if self.usage is not None:
            self.call.record(self.answered_model, self.usage, estimated=self.estimated, interrupted=True)
            if unreadable:
                self.call.mark_unreadable()

    def checked_end(self) -> str | None:
        """Why a whole answer is incomplete (or empty), or None; CallFailed when nothing came at all."""
        if self.finish_reason == "length":
            return self.limit_note()
        if self.finish_reason == "content_filter":
            return "the server's content filter stopped the answer (content_filter)"
        if self.finish_reason is None and not self.pieces and not self.has_output():
            raise NoAnswerInIt(EMPTY_STREAM if self.request.stream else NO_CHOICES)
        if self.finish_reason is None:
            return "the stream ended before the answer did (no finish reason)"
        if not "".join(self.pieces).strip() and not self.has_output():
            if self.usage is None and not (self.cached and self.cached.hit):  # nothing to say it was even read
                raise CallFailed(EMPTY_ANSWER)
            return "the answer is empty"
        return None

    def has_output(self) -> bool:
        """Output other than text (tool calls, a refusal, a parsed object, built-in tools' items)."""
        return bool(self.calls or self.refusal or self.parsed is not None or self.items)

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
        """The tool calls, parsed answer, refusal and items on the result (a replayed answer is parsed again)."""
        if self.cached is not None and self.cached.hit is not None:
            self.parsed, self.problem = parse_answer(result.text, SimpleNamespace(refusal=self.refusal), self.format)
        result.parsed, result.refusal, result.tool_calls = self.parsed, self.refusal, self.calls
        from openai_magics.chat.sources import MadeFiles, Sources

        result.items, result.citations = self.items, self.citations
        result.sources, result.citation_marks, result.files = Sources(self.sources), self.marks, MadeFiles(self.files)
        result.token_logprobs = self.token_logprobs
        result.tools_offered = bool(self.tools)
        result.incomplete = result.incomplete or self.problem

    def kept(self) -> dict:
        """What the cache keeps beside the text, so that a hit shows all the first run showed."""
        # A tool's value is not kept, nor walked into: `asdict` would recurse forever into one that holds itself.
        calls = [{**{f.name: getattr(c, f.name) for f in fields(c)}, "value": None} for c in self.calls]
        return {"refusal": self.refusal, "citations": self.citations, "items": [asdict(i) for i in self.items],
                "tool_calls": calls, "sources": self.sources, "marks": self.marks,
                "files": [f.as_dict() for f in self.files], "logprobs": self.token_logprobs}

    def restore(self, hit: dict) -> None:
        """Take back what `kept()` gave the cache."""
        from openai_magics.chat.items import OutputItem

        self.refusal, self.citations = hit.get("refusal"), hit.get("citations") or []
        self.token_logprobs = hit.get("logprobs") or []
        self.items = [OutputItem(**i) for i in hit.get("items") or []]
        self.calls = [ToolCall(**c) for c in hit.get("tool_calls") or []]
        from openai_magics.chat.sources import ContainerFile

        self.sources, self.marks = hit.get("sources") or [], hit.get("marks") or []
        self.files = [ContainerFile.from_dict(f) for f in hit.get("files") or []]

    def emit(self, text: str) -> None:
        if self.request.stream:
            self.call.token_arrived()
        self.pieces.append(text)
        self.view.delta(text, len(self.pieces), self.call.elapsed)
        if self.moderation is not None and self.moderation.check(text):
            raise StreamStopped(self.moderation.reason)  # what was shown stays; nothing more is read

    def finish(self, interrupted: bool, incomplete: str | None) -> ChatResult:
        if self.moderation is not None and not interrupted and incomplete is None:
            incomplete = self.moderation.at_end()  # the end of the answer, after the last check
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
                "finish_reason": self.finish_reason, "response_id": self.response_id, **self.kept()})
        from openai_magics.cache.pins import answered

        asked = self.request.pinned_from or self.request.model
        version = answered(self.session, asked, self.answered_model, cached_from=self.answered_model if hit else None)
        result = ChatResult(text=text, model=self.answered_model, requested_model=asked,
                            record=record, api=self.api,
                            finish_reason=self.finish_reason, interrupted=interrupted, incomplete=incomplete,
                            response_id=self.response_id, messages=self.messages, version_note=version)
        self.extend(result)
        result.flagged = self.moderation and self.moderation.reason
        self.view.finish(result)
        return result


def run_calls(tools: dict, tool_calls, round_number: int) -> list[ToolCall]:
    """Run the calls of one round (`tools`: name → chat.tools.Tool), in the order the model gave them."""
    done = []
    for call in tool_calls:
        name, arguments = call.function.name, call.function.arguments
        started = time.perf_counter()
        tool = tools.get(name)
        if tool is None:
            value, text, failed = None, f"Error: there is no tool named {name!r}.", True
        else:
            value, text, failed = tool.run(arguments)
        done.append(ToolCall(name, arguments, text, failed, time.perf_counter() - started, round_number,
                             call.id, value))
    return done


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
    """A Responses `error` event, or a failed response: one line with the server's words, never an empty answer
    shown as a success."""
    response = getattr(event, "response", None) or event
    error = getattr(response, "error", None) or event
    message = (getattr(error, "message", None) or "no reason given").rstrip(".")
    code = getattr(error, "code", None)
    return CallFailed(f"The server says the response failed{f' ({code})' if code else ''}: {message}.")


def _reason(exc: Exception, session) -> str:
    """Why a stream broke off, in a few words: the server's own (key redacted) when it said one."""
    from openai_magics.core.errors import CallFailed

    return session.redact(str(exc)) if isinstance(exc, CallFailed) else type(exc).__name__
