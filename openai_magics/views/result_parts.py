"""What the result types share: a file name made from the prompt, read-only properties forwarded from one of
their parts, and what a result with a ledger record says of its money."""
from __future__ import annotations

import re
from decimal import Decimal

from openai_magics.views.usage_line import usage_line

SLUG_WORDS = 6


def slug(prompt: str, fallback: str) -> str:
    """`a-red-fox-in-the-snow`: the prompt's first words as a file name (`fallback` when it has none)."""
    return "-".join(re.findall(r"[a-z0-9]+", prompt.lower())[:SLUG_WORDS]) or fallback


def forwarded(part: str, name: str) -> property:
    """A read-only property that is `self.<part>.<name>` (`id = forwarded("job", "id")`)."""
    return property(lambda self: getattr(getattr(self, part), name), doc=f"The {part}'s {name}.")


class Metered:
    """Money of a result that holds `record` (its ledger row, None when nothing was charged) and `model`."""

    @property
    def cost(self) -> Decimal | None:
        return self.record.cost if self.record else None

    @property
    def usage_line(self) -> str:
        return usage_line(self.record) if self.record else self.model
