"""What `%fix` and `%explain` ask: the instruction, the failing cell, the error, the user's question; with no
byte of the session's keys (a frame's locals under `%xmode Verbose` may hold one)."""
from __future__ import annotations

from openai_magics.fix.error import LastError
from openai_magics.magics.summaries import scrub

INSTRUCTIONS = {
    "fix": "Fix this notebook cell: it raised the error below. Answer with the whole corrected cell in one "
           "```python block, then say in one sentence what was wrong.",
    "explain": "Explain the error this notebook cell raised: what went wrong and why, in a few sentences of "
               "prose. Do not rewrite the cell.",
}


def prompt_for(kind: str, error: LastError, question: str | None, session) -> str:
    """The user message (the variables' summaries go ahead of it, as `--context` sends them)."""
    parts = [INSTRUCTIONS[kind], f"The cell ({error.label}):\n```python\n{error.cell}\n```",
             "The error:\n```text\n" + (f"Traceback (most recent call last):\n{error.traceback}\n"
                                        if error.traceback else "") + f"{error.message}\n```"]
    if question and question.strip():
        parts.append(f"My question: {question.strip()}")
    return scrub("\n\n".join(parts), session)
