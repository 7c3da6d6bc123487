"""ChatResult: the answer of a %%chat cell, its usage, and how it shows in every frontend."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from openai_magics.metering.ledger import UsageRecord
from openai_magics.views.markup import usage_sub
from openai_magics.views.usage_line import usage_line

PREVIEW_CHARS = 200  # the plain-text fallback beside the Markdown: a preview, not a second copy


@dataclass
class ChatResult:
    text: str
    model: str                        # the model that answered (a dated snapshot when the server says so)
    requested_model: str | None = None  # the name that was asked for (an alias, often)
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
    reasoning_summary: str | None = None  # --summary: what a reasoning model says of its thinking
    tool_calls: list = field(default_factory=list, repr=False)  # items.ToolCall, every round
    tools_offered: bool = False       # --tools: the model was offered tools (and may have called none)
    format: str = "markdown"          # markdown | text | code: how the answer is shown
    version_note: str | None = None   # the model answered as another snapshot than before (cache.pins)
    flagged: str | None = None        # --moderate: why moderation stopped the answer
    items: list = field(default_factory=list, repr=False)  # items.OutputItem: images, searches, code, MCP
    citations: list = field(default_factory=list)          # the sources the answer cites
    sources: list = field(default_factory=list, repr=False)  # hosted tools: sources.Sources, numbered
    citation_marks: list = field(default_factory=list, repr=False)  # [position in text, source number]
    files: list = field(default_factory=list, repr=False)    # sources.MadeFiles: what the code interpreter made
    tier_note: str | None = None      # --tier flex-or-default: flex had no room, another tier answered
    token_logprobs: list = field(default_factory=list, repr=False)  # --logprobs (chat/logprobs.py)

    @property
    def logprobs(self):
        """--logprobs: a DataFrame of the answer's tokens, each one's probability and its alternatives."""
        from openai_magics.chat.logprobs import frame

        return frame(self.token_logprobs)

    @property
    def confidence(self) -> float | None:
        """--logprobs: the probability of the answer's first token (None without logprobs)."""
        from openai_magics.chat.logprobs import confidence

        return confidence(self.token_logprobs)

    @property
    def images(self) -> list[bytes]:
        """The images the answer generated, as PNG bytes."""
        return [i.png for i in self.items if i.image]

    def __str__(self) -> str:
        return self.text

    @property
    def code(self) -> str | None:
        """The answer's fenced code blocks, joined; None when it has none."""
        import re

        blocks = re.findall(r"```[\w+-]*\n(.*?)```", self.text, re.S)
        return "\n".join(b.rstrip() for b in blocks) if blocks else None

    @property
    def usage_line(self) -> str:
        line = usage_line(self.record) if self.record else self.model
        if self.tools_offered and not self.tool_calls and not (self.record and self.record.cache_hit):
            line += " · no tool was called"  # a server that ignores tools answers in text
        if self.tier_note:
            line += f" · {self.tier_note}"
        return line

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.interrupted:
            notes.append("⚠ Interrupted: only part of the answer arrived.")
        if self.incomplete:
            notes.append(f"⚠ Incomplete answer: {self.incomplete}.")
        if self.version_note:
            notes.append(self.version_note)
        return notes

    def answer_markdown(self) -> str:
        """The notes and the answer as Markdown: what shows above the usage line."""
        from openai_magics.chat.render import answer_markdown

        notes = "".join(f"**{html.escape(n)}**\n\n" for n in self.notes)
        return f"{notes}{answer_markdown(self)}"

    def _repr_markdown_(self) -> str | None:
        if self.format == "text":
            return None
        return f"{self.answer_markdown()}\n\n{usage_sub(self.usage_line)}"

    def _repr_pretty_(self, p, cycle) -> None:
        """All of a plain-text answer; beside Markdown, which frontends prefer, only its start."""
        from openai_magics.chat.render import answer_text

        text = answer_text(self)
        if self.format != "text" and len(text) > PREVIEW_CHARS:
            cut = text[:PREVIEW_CHARS].rsplit(" ", 1)[0]
            text = f"{cut} … ({len(text) - len(cut):,} more characters: print() it for all)"
        p.text("\n".join([*self.notes, text, "", self.usage_line]))
