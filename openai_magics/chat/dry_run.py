"""`--dry-run`: the exact request a cell would send, its tokens and worst-case cost; nothing is sent."""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from decimal import Decimal

from openai_magics.metering.pricing import format_usd
from openai_magics.facts.tokens import TokenCount
from openai_magics.metering.usage import Usage
from openai_magics.facts.tokens import why_estimated
from openai_magics.views.markup import usage_sub

DATA_URL = re.compile(r"(data:[\w/+.-]+;base64,)([A-Za-z0-9+/=]{24})[A-Za-z0-9+/=]+")
ENDPOINTS = {"chat": "/chat/completions", "responses": "/responses"}
DEFAULT_MAX_OUTPUT = 16384


OPEN_LINES = 20  # a body longer than this shows folded


@dataclass
class ChatDryRun:
    api: str
    body: dict                    # exactly what would be POSTed (data URLs in full)
    input_tokens: TokenCount
    max_output: int
    worst_case: Decimal | None    # None: the model's price is unknown
    max_rounds: int = 1           # a tool loop may make this many requests
    context: object = None        # --context: the summaries the user message starts with (magics.summaries)

    @classmethod
    def of(cls, runner) -> "ChatDryRun":
        from openai_magics.facts.models import model_info

        request = runner.request
        body = runner.body()
        if request.stream:
            body["stream"] = True
            if runner.api == "chat":
                body["stream_options"] = {"include_usage": True}
        tokens = runner.prompt_tokens()
        max_output = runner.max_out or model_info(request.model).max_output or DEFAULT_MAX_OUTPUT
        worst = runner.session.worst_case(request.model, Usage(input_tokens=tokens.tokens, output_tokens=max_output))
        return cls(runner.api, copy.deepcopy(body), tokens, max_output, worst,
                   request.max_rounds if request.tools else 1, request.context or None)

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[self.api]

    @property
    def summary(self) -> str:
        cost = format_usd(self.worst_case, approx=not self.input_tokens.exact)
        line = (f"{self.body['model']} · {self.input_tokens} tokens in · up to {self.max_output:,} out · "
                f"worst case {cost}")
        if self.max_rounds > 1:
            line += f" per request (tools: up to {self.max_rounds} requests)"
        why = None if self.input_tokens.exact else why_estimated(self.body["model"])
        if why:
            line += f" · ≈ {why}"
        return line + " · nothing sent"

    def shown_body(self) -> str:
        """The body as JSON, long data URLs shortened to their first characters."""
        text = json.dumps(self.body, indent=2, ensure_ascii=False, default=str)
        return DATA_URL.sub(lambda m: f"{m.group(1)}{m.group(2)}…({len(m.group(0)):,} chars)", text)

    @property
    def context_heading(self) -> str:
        c = self.context
        return f"Context: {', '.join(c.names)} · {c.tokens:,} tokens of a {c.budget:,}-token budget, as sent"

    def _context_markdown(self) -> str:
        if not self.context:
            return ""
        return f"{self.context_heading}:\n\n```text\n{self.context.text}\n```\n\n"

    def _repr_markdown_(self) -> str:
        body = self.shown_body()
        shown = f"```json\n{body}\n```"
        lines = body.count("\n") + 1
        if lines > OPEN_LINES:  # tools and a schema make screens of JSON: folded, one click away
            shown = f"<details><summary>the body: {lines:,} lines of JSON</summary>\n\n{shown}\n\n</details>"
        return (f"**Dry run** · POST `{self.endpoint}`\n\n{self._context_markdown()}{shown}\n\n"
                f"{usage_sub(self.summary)}")

    def _repr_pretty_(self, p, cycle) -> None:
        context = f"{self.context_heading}:\n{self.context.text}\n\n" if self.context else ""
        p.text(f"Dry run · POST {self.endpoint}\n{context}{self.shown_body()}\n\n{self.summary}")
