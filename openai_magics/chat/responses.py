"""The Responses API with everything Chat Completions does here: structured outputs (`text.format`), JSON
mode, function tools run in rounds (`function_call` → `function_call_output` on `previous_response_id`),
images in, reasoning summaries; streamed as its typed events or whole. Results and ledger rows match the
Chat Completions runner's: one record for the cell, every round's usage added up."""
from __future__ import annotations

from types import SimpleNamespace

from openai_magics.chat.items import citations, output_items
from openai_magics.chat import logprobs
from openai_magics.chat.request import build_body
from openai_magics.chat.runners import EMPTY_STREAM, NoAnswerInIt, Runner, failed_response, finish_reason_of
from openai_magics.chat.structured import prompt_tokens
from openai_magics.core.errors import CallFailed
from openai_magics.metering.usage import Usage

ENDED = ("response.completed", "response.incomplete", "response.failed")


class StreamEnded(Exception):
    """A stream that stopped before its final event: what arrived is kept, marked incomplete."""


class ResponsesLoop(Runner):
    """The Responses API runner: function calls answered on `previous_response_id`, reasoning summaries,
    built-in tools' items and citations read from each round's output."""

    api = "responses"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.summary = None
        self.tool_outputs: list[dict] | None = None  # what the next round sends back

    def body(self) -> dict:
        return build_body(self.request, self.messages, api="responses", max_out=self.max_out,
                          previous_id=self.previous_id, endpoint=self.session.config)

    def params(self) -> dict:
        body = self.body()
        if self.tool_outputs is not None:  # a tool round: the model has the rest under its response id
            body.update(previous_response_id=self.response_id, input=self.tool_outputs)
        return body

    def prompt_tokens(self):
        chat = build_body(self.request, self.messages, api="chat", max_out=self.max_out,
                          endpoint=self.session.config)
        return prompt_tokens(chat, self.request.model)

    def sent(self) -> dict:
        """The params as sent: a hosted container's files uploaded now, their ids in place."""
        hosted = self.request.hosted
        return hosted.wire(self.params(), self.session) if hosted is not None else self.params()

    def worst_tools(self):
        return self.request.hosted.worst_usage() if self.request.hosted is not None else None

    def send_round(self):
        return self.session.client.responses.create(**self.sent())

    def stream_round(self, rounds):
        with self.session.api_errors(self.request.model):
            rounds.stream = self.session.client.responses.create(**self.sent(), stream=True)
        final = None
        with rounds.stream:
            for event in rounds.stream:
                if event.type == "error":  # the server's own words, not "ended without an answer"
                    raise failed_response(event)
                yield event
                if event.type in ENDED:
                    final = event.response
        if final is None:
            if self.pieces:
                raise StreamEnded("the stream ended before its final event")
            raise NoAnswerInIt(EMPTY_STREAM)
        return final

    def record_answer(self, response) -> None:
        """A round answered: its usage into the ledger. A failed response that says what it used was charged
        that: recorded, then the failure is raised."""
        failed = getattr(response, "status", None) == "failed"
        self.answered_model, self.response_id = response.model or self.answered_model, response.id
        if not failed or getattr(response, "usage", None):
            usage = Usage.from_responses(response.usage, response.service_tier) if response.usage else None
            self.record_round(usage, _text(response), self.tool_usage(response))
        if failed:
            error = getattr(response, "error", None)
            reason = (getattr(error, "message", None) or "no reason given").rstrip(".")
            raise CallFailed(f"The response failed: {reason}.")

    def tool_usage(self, response) -> Usage | None:
        """The hosted tools' calls this response made: searches, and containers new to this session."""
        if self.request.hosted is None:
            return None
        from openai_magics.chat.hosted import new_containers
        from openai_magics.chat.sources import containers_of

        output = list(response.output or [])
        kinds = [getattr(o, "type", None) for o in output]
        return Usage(web_searches=kinds.count("web_search_call"), file_searches=kinds.count("file_search_call"),
                     containers=new_containers(self.session, containers_of(output)))

    def on_complete(self, response) -> None:
        self.emit(_text(response))

    def on_event(self, event) -> None:
        if event.type == "response.output_text.delta":
            self.emit(event.delta)

    def after_round(self, response) -> bool:
        """Read the round's output; run the tools it asked for. True: another round follows."""
        self.rounds += 1
        self.finish_reason = finish_reason_of(response)
        output = list(response.output or [])
        self.summary = "\n\n".join(s.text for o in output if o.type == "reasoning"
                                   for s in (o.summary or [])) or self.summary
        self.items += output_items(output)
        if self.request.logprobs is not None:
            self.token_logprobs = logprobs.from_responses(output)
        self.citations += [c for c in citations(output) if c not in self.citations]
        if self.request.hosted is not None:
            self.read_hosted(output)
        if self.answer_calls([_as_chat_call(o) for o in output if o.type == "function_call"]):
            return True
        refusal = next((p.refusal for o in output if o.type == "message" for p in o.content or []
                        if p.type == "refusal"), None)
        return self.finish_round(_text(response), refusal)

    def read_hosted(self, output) -> None:
        """The round's sources and the numbers' places in its text (the answer is the last round's text), and
        the files the code interpreter made, downloaded from its container."""
        from openai_magics.chat.items import OutputItem
        from openai_magics.chat.sources import ContainerFile, made_files, read_sources

        self.marks = []
        read_sources(output, self.sources, self.marks, 0)
        for container, file_id, name in made_files(output):
            try:
                with self.session.api_errors(self.request.model):
                    data = self.session.client.containers.files.content.retrieve(file_id,
                                                                                 container_id=container).read()
            except CallFailed as failed:  # the answer is paid for and kept; the file is said to be missing
                self.items.append(OutputItem("code_interpreter_file", f"⚠ {name} could not be downloaded: {failed}"))
                continue
            made = ContainerFile(name, data)
            self.files.append(made)
            if made.is_image:
                import base64

                self.items.append(OutputItem("code_interpreter_file", f"made {name}",
                                             image=base64.b64encode(data).decode("ascii")))

    def send_back(self, done) -> None:
        self.tool_outputs = [{"type": "function_call_output", "call_id": c.id, "output": c.result} for c in done]

    def extend(self, result) -> None:
        super().extend(result)
        result.reasoning_summary = self.summary

    def kept(self) -> dict:
        return {**super().kept(), "summary": self.summary}

    def restore(self, hit: dict) -> None:
        super().restore(hit)
        self.summary = hit.get("summary")


def _text(response) -> str:
    return "".join(p.text for o in response.output or [] if o.type == "message"
                   for p in o.content or [] if p.type == "output_text")


def _as_chat_call(item):
    """A Responses function_call in the shape the tool runner reads (Chat Completions' tool call)."""
    return SimpleNamespace(id=item.call_id, function=SimpleNamespace(name=item.name, arguments=item.arguments))
