"""What an eval asks: a prompt template, rows, models, graders; checked before anything is sent."""
from __future__ import annotations

from dataclasses import dataclass, field

from openai_magics.core.errors import UsageError

DEFAULT_CONCURRENCY = 8
RUBRIC_LINE = "--- rubric ---"  # in a %%eval cell, what follows this line is the model grader's rubric


@dataclass
class EvalRequest:
    template: str
    rows: list[dict]                  # one dict per row of the data
    models: list[str]
    graders: list                     # graders.Grader
    expect: str | None = None         # the column holding the expected answer
    judge_model: str | None = None
    rubric: str | None = None
    embed_model: str = "text-embedding-3-small"
    namespace: dict = field(default_factory=dict, repr=False)  # the notebook's variables, for {expressions}
    concurrency: int = DEFAULT_CONCURRENCY
    cache: bool = True
    name: str = "eval"
    options: dict = field(default_factory=dict)  # what each answer is asked with: system, temperature, max_tokens, seed

    def __post_init__(self) -> None:
        if not isinstance(self.template, str) or not self.template.strip():
            raise UsageError("Nothing to evaluate: the prompt template is empty.")
        if not self.rows:
            raise UsageError("--data has no rows.")
        if not self.models or not all(isinstance(m, str) and m.strip() for m in self.models):
            raise UsageError("Name the models to evaluate, e.g. -m gpt-4o-mini,gpt-4.1-mini.")
        if not self.graders:
            raise UsageError("Say how answers are graded, e.g. --grader contains (see %eval? for all).")
        columns = list(dict.fromkeys(column for row in self.rows for column in row))
        if self.expect is not None and self.expect not in columns:
            raise UsageError(f"--expect {self.expect}: no such column (columns: {', '.join(map(str, columns))}).")
        needing = [g.name for g in self.graders if g.needs_expected]
        if needing and self.expect is None:
            raise UsageError(f"--grader {needing[0]} compares with an expected answer: name its column with --expect.")
        if needing:
            self._check_expected(needing[0])
        self._check_template(columns)
        if any(g.kind == "model" for g in self.graders):
            if not (self.rubric or "").strip():
                raise UsageError(f"The model grader needs a rubric: write it below a line {RUBRIC_LINE!r} in the "
                                 "cell, or name a variable with --rubric.")
            if not self.judge_model:
                raise UsageError("The model grader needs --judge-model.")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise UsageError(f"--concurrency must be positive, not {self.concurrency}.")


    def _check_expected(self, grader: str) -> None:
        """Every row has the expected answer a grader compares with (else `contains ''` would pass it)."""
        from openai_magics.chat.rows import is_missing

        lacking = [i for i, row in enumerate(self.rows)
                   if is_missing(row.get(self.expect)) or not str(row.get(self.expect)).strip()]
        if lacking:
            shown = ", ".join(map(str, lacking[:5])) + (f" and {len(lacking) - 5:,} more" if len(lacking) > 5 else "")
            raise UsageError(f"--expect {self.expect}: {len(lacking):,} row{'s' * (len(lacking) != 1)} of {self.name} "
                             f"without an expected answer (row {shown}); --grader {grader} would grade them against "
                             "nothing. Fill or drop them; nothing was sent.")

    def _check_template(self, columns: list) -> None:
        """A template naming a column the rows lack, or reading a missing value, is refused before sending."""
        from openai_magics.chat.rows import TemplateRows, check_template, check_values

        rows = TemplateRows(self.name, list(range(len(self.rows))), self.rows, columns)
        check_template(self.template, rows, self.namespace, row_names=False)
        check_values(self.template, rows, "--data")


def split_rubric(cell: str) -> tuple[str, str | None]:
    """The template above the rubric line, and the rubric below it (or None)."""
    lines = cell.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == RUBRIC_LINE:
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i + 1:]).strip()
    return cell.strip(), None


def rows_of(data, option: str = "--data") -> list[dict]:
    """A DataFrame, a list of dicts or a list of strings, as a list of row dicts."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return data.to_dict(orient="records")
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return list(data)
    if isinstance(data, list) and all(isinstance(r, str) for r in data):
        return [{"text": r} for r in data]
    raise UsageError(f"{option}: a DataFrame, a list of dicts or a list of texts, not {type(data).__name__}.")


def chat_options(args, template: str | None = None) -> dict:
    """The chat options a %%eval line gave (-s, -t, --max-tokens, --seed, --tier): each row is asked with them,
    and with one prompt-cache key for the template's rows."""
    from openai_magics.chat.levers import template_cache_key

    given = {"system": args.system, "temperature": args.temperature, "max_tokens": args.max_tokens, "seed": args.seed,
             "tier": args.tier, "cache_key": template_cache_key(template, args.system) if template else None}
    return {name: value for name, value in given.items() if value is not None}
