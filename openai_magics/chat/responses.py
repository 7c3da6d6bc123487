"""The Responses API with everything Chat Completions does here: structured outputs (`text.format`), JSON
mode, function tools run in rounds (`function_call` → `function_call_output` on `previous_response_id`),
images in, reasoning summaries; streamed as its typed events or whole. Results and ledger rows match the
Chat Completions runner's: one record for the cell, every round's usage added up."""
from __future__ import annotations

from types import SimpleNamespace

from openai_magics.chat.request import build_body
from openai_magics.chat.rounds import RoundsLoop, StreamedRounds
from openai_magics.chat.runners import EMPTY_STREAM, ResponsesRunner, failed_response, finish_reason_of
from openai_magics.chat.structured import parse_answer, prompt_tokens
from openai_magics.core.errors import CallFailed
from openai_magics.core.tokens import count_text
from openai_magics.core.usage import Usage

ENDED = ("response.completed", "response.incomplete", "response.failed")


class StreamEnded(Exception):
    """A stream that stopped before its final event: what arrived is kept, marked incomplete."""


class ResponsesLoop(RoundsLoop, ResponsesRunner):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.summary = None
        self.tool_outputs: list[dict] | None = None  # what the next round sends back

    def params(self) -> dict:
        body = self.body()
        if self.tool_outputs is not None:  # a tool round: the model has the rest under its response id
            body.update(previous_response_id=self.response_id, input=self.tool_outputs)
        return body

    def prompt_tokens(self):
        chat = build_body(self.request, self.messages, api="chat", max_out=self.max_out,
                          endpoint=self.session.config)
        return prompt_tokens(chat, self.request.model)

    def send_round(self):
        return self.session.client.responses.create(**self.params())

    def paid(self, response) -> None:
        """A round answered: its usage goes into the ledger now (marked unfinished until the loop ends). A failed
        response that says what it used was charged that: recorded, then the failure is raised."""
        failed = getattr(response, "status", None) == "failed"
        if not failed or getattr(response, "usage", None):
            self._add_usage(response)
            self.call.record(self.answered_model, self.usage, estimated=self.estimated, interrupted=True)
        self._check_failed(response)

    def on_complete(self, response) -> None:
        self.emit(_text(response))

    def open_stream(self):
        return _Rounds(self)

    def on_event(self, event) -> None:
        if event.type == "response.output_text.delta":
            self.emit(event.delta)

    def after_round(self, response) -> bool:
        """Add up the round's usage; run the tools it asked for. True: another round follows."""
        self.rounds += 1
        self.finish_reason = finish_reason_of(response)
        output = list(response.output or [])
        self.summary = "\n\n".join(s.text for o in output if o.type == "reasoning"
                                   for s in (o.summary or [])) or self.summary
        calls = [o for o in output if o.type == "function_call"]
        if calls and self.tools and self.rounds < self.request.max_rounds:
            from openai_magics.chat.tools import run_calls

            done = run_calls(self.tools, [_as_chat_call(c) for c in calls], self.rounds)
            self.calls += done
            self.tool_outputs = [{"type": "function_call_output", "call_id": c.id, "output": c.result}
                                 for c in done]
            self.pieces.clear()  # what a tool round said is not the answer
            return True
        if calls and self.tools:
            self.problem = f"it stopped after {self.rounds} rounds of tool calls (raise --max-rounds)"
        self.refusal = next((p.refusal for o in output if o.type == "message" for p in o.content or []
                             if p.type == "refusal"), None)
        message = SimpleNamespace(refusal=self.refusal, parsed=None)
        self.parsed, problem = parse_answer(_text(response), message, self.format)
        self.problem = self.problem or problem
        return False

    @staticmethod
    def _check_failed(response) -> None:
        if getattr(response, "status", None) == "failed":
            error = getattr(response, "error", None)
            reason = (getattr(error, 'message', None) or 'no reason given').rstrip(".")
            raise CallFailed(f"The response failed: {reason}.")

    def _add_usage(self, response) -> None:
        self.answered_model, self.response_id = response.model or self.answered_model, response.id
        usage = Usage.from_responses(response.usage, response.service_tier) if response.usage else None
        if usage is None:  # a server that sends no usage (or nonsense): count it ourselves, and say so
            self.estimated = True
            usage = Usage(input_tokens=self.prompt_tokens().tokens,
                          output_tokens=count_text(_text(response), self.answered_model).tokens)
        self.usage = usage if self.usage is None else self.usage + usage
        self.usage.images = len(self.request.images)

    def extend(self, result) -> None:
        super().extend(result)
        result.reasoning_summary = self.summary


def _text(response) -> str:
    return "".join(p.text for o in response.output or [] if o.type == "message"
                   for p in o.content or [] if p.type == "output_text")


def _as_chat_call(item):
    """A Responses function_call in the shape the tool runner reads (Chat Completions' tool call)."""
    return SimpleNamespace(id=item.call_id, function=SimpleNamespace(name=item.name, arguments=item.arguments))


class _Rounds(StreamedRounds):
    def _one_round(self):
        loop = self.loop
        with loop.session.api_errors(loop.request.model):
            self.stream = loop.session.client.responses.create(**loop.params(), stream=True)
        final = None
        with self.stream:
            for event in self.stream:
                if event.type == "error":  # the server's own words, not "ended without an answer"
                    raise failed_response(event)
                yield event
                if event.type in ENDED:
                    final = event.response
        if final is None:
            if loop.pieces:
                raise StreamEnded("the stream ended before its final event")
            raise CallFailed(EMPTY_STREAM)
        return final
