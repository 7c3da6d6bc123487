"""ChatResult: the answer of a %%chat cell, its usage, and how it shows in every frontend."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from openai_magics.core.ledger import UsageRecord
from openai_magics.views.usage_line import usage_line


@dataclass
class ChatResult:
    text: str
    model: str
    record: UsageRecord | None = None
    api: str = "chat"
    finish_reason: str | None = None
    interrupted: bool = False
    incomplete: str | None = None     # why the answer is incomplete (a stream cut, the token limit)
    response_id: str | None = None
    messages: list[dict] = field(default_factory=list, repr=False)  # what was sent
    thread: str | None = None
    parsed: object = None             # a structured output, when a schema was asked for
    refusal: str | None = None        # the model declined to answer in the schema
    tool_calls: list = field(default_factory=list, repr=False)  # tools.ToolCall, every round
    format: str = "markdown"          # markdown | text | code: how the answer is shown

    def __str__(self) -> str:
        return self.text

    @property
    def usage_line(self) -> str:
        return usage_line(self.record) if self.record else self.model

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.interrupted:
            notes.append("⚠ Interrupted: the answer below is partial.")
        if self.incomplete:
            notes.append(f"⚠ Incomplete answer: {self.incomplete}.")
        return notes

    def _repr_markdown_(self) -> str | None:
        if self.format == "text":
            return None
        notes = "".join(f"**{html.escape(n)}**\n\n" for n in self.notes)
        from openai_magics.chat.render import answer_markdown

        return f"{notes}{answer_markdown(self)}\n\n<sub>{html.escape(self.usage_line)}</sub>"

    def _repr_pretty_(self, p, cycle) -> None:
        from openai_magics.chat.render import answer_text

        p.text("\n".join([*self.notes, answer_text(self), "", self.usage_line]))
