"""`%tokens` / `%%tokens`: how many tokens a text is, its share of the context window, its input cost."""
from __future__ import annotations

from IPython.core.magic import magics_class
from IPython.core.magic_arguments import magic_arguments

from openai_magics.core.session import session
from openai_magics.facts.tokens import estimate_reason
from openai_magics.magics.kit import GuardedMagics, expand, line_or_cell_magic, require_text, shared_options


class TokenReport:
    def __init__(self, text: str, model: str):
        from openai_magics.facts.models import model_info
        from openai_magics.facts.tokens import count_text

        self.model, self.count = model, count_text(text, model)
        self.window = model_info(model).context_window
        from openai_magics.core.session import session

        from openai_magics.metering.usage import Usage

        self.cost = session().cost_of(model, Usage(input_tokens=self.count.tokens))

    @property
    def tokens(self) -> int:
        return self.count.tokens

    def __str__(self) -> str:
        from openai_magics.metering.pricing import format_usd

        parts = [f"{self.count} tokens ({self.model})"]
        if self.window:
            parts.append(f"{self.count.tokens / self.window:.2%} of the {self.window:,}-token window")
        parts.append(f"{format_usd(self.cost, approx=not self.count.exact)} as input")
        if not self.count.exact:
            parts.append(estimate_reason(self.model))
        return " · ".join(parts)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


@magics_class
class TokensMagics(GuardedMagics):
    @magic_arguments()
    @shared_options("model", "no_interpolate")
    @line_or_cell_magic()
    def tokens(self, args, body: str):
        """Count the tokens of the cell (or of the rest of the line) for a model (default: the chat model)."""
        text = require_text(expand(body, self.shell, not args.no_interpolate), "the text")
        return TokenReport(text, session().model_for("chat", args.model))
