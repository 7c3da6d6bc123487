"""`%%chat --compare a,b,c`: one prompt to several models at once, the answers side by side."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from openai_magics.core.errors import UsageError
from openai_magics.views.markup import NO_MATHS, escape_markup, usage_sub_unbroken


def compared_models(spec: str | None) -> list[str]:
    """`a,b,c` as a list of distinct names: at least two, or one clear line."""
    models = list(dict.fromkeys(m.strip() for m in (spec or "").split(",") if m.strip()))
    if len(models) < 2:
        raise UsageError(f"--compare needs two or more models separated by commas, not {spec!r}.")
    return models


def run_compare(session, requests: list, run_one) -> "CompareResult":
    """Every request sent at once (one thread each); a model that fails is one line in its column. An
    interrupt stops every stream on the wire; what each had brought is recorded."""
    from openai_magics.wire.fanout import FanOut

    with FanOut(lambda i: run_one(session, requests[i]), range(len(requests)), concurrency=len(requests),
                name="openai-magics-compare") as answers:
        finished = sorted(answers, key=lambda done: done.item)
    results, errors = [], {}
    for request, done in zip(requests, finished):
        if done.error is None:
            results.append(done.value)
        else:
            errors[request.model] = session.redact(str(done.error)) or type(done.error).__name__
    if not results:
        raise finished[0].error
    compared = CompareResult(results, errors)
    session.last_result = compared
    return compared


@dataclass
class CompareResult:
    results: list                       # ChatResult, in the order the models were named
    errors: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key):
        """By position, or by the model name asked for."""
        if isinstance(key, int):
            return self.results[key]
        for result in self.results:
            if key in (result.requested_model, result.model):
                return result
        raise KeyError(key)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def models(self) -> list[str]:
        return [r.requested_model or r.model for r in self.results]

    def _columns(self) -> list[tuple[str, str, str]]:
        """(model, answer, usage line) per column, failed models included."""
        from openai_magics.chat.render import answer_text

        cols = [(r.requested_model or r.model, "\n".join([*r.notes, answer_text(r)]).strip(), r.usage_line)
                for r in self.results]
        return cols + [(model, f"⚠ {error}", "") for model, error in self.errors.items()]

    def _repr_markdown_(self) -> str | None:
        """The columns side by side, each answer Markdown as a single answer is (its maths typeset, the figures
        under it not). Markdown goes on inside an HTML block after a blank line: each column's answer is
        rendered between its column's opening and closing lines. `--format text`: plain text only."""
        if all(r.format == "text" for r in self.results):
            return None
        columns = [(r.requested_model or r.model, closed_fences(r.answer_markdown()), usage_sub_unbroken(r.usage_line))
                   for r in self.results]
        columns += [(model, f'<div class="{NO_MATHS}">⚠ {escape_markup(error)}</div>', "")
                    for model, error in self.errors.items()]
        shown = "\n".join(
            '<div style="flex:1 1 0;min-width:14em;border:1px solid rgba(128,128,128,.35);border-radius:6px;'
            f'padding:.5em .75em">\n<div style="font-weight:600">{html.escape(model)}</div>\n\n{answer}\n\n'
            f'{usage}\n\n</div>' for model, answer, usage in columns)
        row = '<div class="openai-magics-compare" style="display:flex;gap:.75em;align-items:stretch">'
        return f"{row}\n{shown}\n</div>"

    def _repr_pretty_(self, p, cycle) -> None:
        blocks = [f"── {model} ──\n{text}\n{usage}".rstrip() for model, text, usage in self._columns()]
        p.text("\n\n".join(blocks))


def closed_fences(markdown: str) -> str:
    """The Markdown with a code fence left open (an answer cut short) closed, so that it does not swallow the
    rest of the page."""
    fences = re.findall(r"^ {0,3}(`{3,}|~{3,})", markdown, re.M)
    return f"{markdown}\n{fences[-1]}" if len(fences) % 2 else markdown
