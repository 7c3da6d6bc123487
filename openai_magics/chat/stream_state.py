"""A streamed Chat Completions answer read into its events and final completion by the SDK's own
`ChatCompletionStreamState`, at a fraction of its cost per chunk.

The state rebuilds its whole message snapshot for every chunk (~0.16 ms each, most of a long answer's
overhead). A chunk that only adds answer text (`is_text_only`) is seen at once as the state would show it
(a "chunk" then a "content.delta" event) and handed to the state later, with the text chunks after it, as one
chunk: appending strings is all the state does with them. Every other chunk (the first of the answer, tool
calls, refusals, logprobs, the finish, usage, anything a compatible server adds) goes to the state as it comes,
so the final completion is the state's own.
"""
from __future__ import annotations

from typing import NamedTuple


class TextEvent(NamedTuple):
    """What `ToolLoop.on_event` reads of the SDK's ChunkEvent and ContentDeltaEvent."""

    type: str
    chunk: object = None
    delta: str | None = None


def is_text_only(chunk) -> bool:
    """One choice, index 0, whose delta is answer text and nothing else (every other field unset or null)."""
    if chunk.usage is not None or getattr(chunk, "moderation", None) is not None or len(chunk.choices) != 1:
        return False
    choice = chunk.choices[0]
    if choice.index != 0 or choice.finish_reason is not None or choice.logprobs is not None or choice.model_extra:
        return False
    delta = choice.delta
    return (isinstance(delta.content, str) and bool(delta.content) and delta.role is None and delta.refusal is None
            and delta.tool_calls is None and delta.function_call is None and not delta.model_extra)


class StreamState:
    """`handle_chunk(chunk)` → its events; `final()` → the completion (see the module's docstring)."""

    def __init__(self) -> None:
        from openai.lib.streaming.chat import ChatCompletionStreamState

        self.state = ChatCompletionStreamState()  # no response format: nothing parsed
        self._text: list = []  # text-only chunks not handed to the state yet
        self._started = False  # the state has its first chunk (its snapshot is made from that one)

    def handle_chunk(self, chunk) -> list:
        if self._started and is_text_only(chunk):
            self._text.append(chunk)
            return [TextEvent("chunk", chunk=chunk), TextEvent("content.delta", delta=chunk.choices[0].delta.content)]
        self._catch_up()
        self._started = True
        return self.state.handle_chunk(chunk)

    def final(self):
        self._catch_up()
        return self.state.get_final_completion()

    def _catch_up(self) -> None:
        """The held text chunks, to the state as one: the last of them with all their text."""
        if not self._text:
            return
        last, text = self._text[-1], "".join(c.choices[0].delta.content for c in self._text)
        self._text.clear()
        choice = last.choices[0]
        merged = last.model_copy(update={"choices": [
            choice.model_copy(update={"delta": choice.delta.model_copy(update={"content": text})})]})
        self.state.handle_chunk(merged)  # its events were given as each chunk came
