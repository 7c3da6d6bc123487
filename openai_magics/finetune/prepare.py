"""What a training set would cost and where it breaks, before anything is uploaded."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from openai_magics.facts.data import load
from openai_magics.core.errors import UsageError
from openai_magics.facts.models import model_info
from openai_magics.facts.tokens import count_messages
from openai_magics.finetune.validate import Example, Problem, check, from_values, read_lines

DEFAULT_MODEL = "gpt-4o-mini"


@dataclass
class TrainingSet:
    name: str                          # the file or variable it came from
    jsonl: bytes                       # what would be uploaded
    examples: list[Example]
    problems: list[Problem]


def load_training_set(source, name: str) -> TrainingSet:
    """From a path (str or Path) to JSONL, a list of conversations or a DataFrame."""
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise UsageError(f"{name}: no such file (or notebook variable).")
        data = path.read_bytes()
        entries = read_lines(data.decode("utf-8", "replace"))
    else:
        entries = from_values(source)
        data = None
    examples, problems = check(entries)
    if data is None:
        import json

        data = "".join(json.dumps({"messages": e.messages}) + "\n" for e in examples).encode()
    return TrainingSet(name, data, examples, problems)


@dataclass
class Preparation:
    """Tokens per example and in total, examples over the model's limit, and the training cost."""

    name: str
    model: str                         # the dated snapshot that would be trained
    problems: list[Problem]
    tokens: dict[int, int] = field(default_factory=dict)   # line → tokens
    exact: bool = True
    limit: int | None = None
    epochs: int = 3
    cost_per_epoch: Decimal | None = None

    @property
    def total(self) -> int:
        return sum(self.tokens.values())

    @property
    def over_limit(self) -> list[int]:
        return [line for line, n in self.tokens.items() if self.limit and n > self.limit]

    @property
    def cost_default(self) -> Decimal | None:
        return None if self.cost_per_epoch is None else self.cost_per_epoch * self.epochs

    @property
    def ok(self) -> bool:
        return not self.problems and not self.over_limit


def prepare(training: TrainingSet, model: str | None = None) -> Preparation:
    snapshot = model_info(model or DEFAULT_MODEL).snapshot or model or DEFAULT_MODEL
    facts = load("fine_tuning.json")
    found = Preparation(training.name, snapshot, training.problems, epochs=facts["default_epochs"],
                        limit=facts["models"].get(snapshot, {}).get("example_limit"))
    for example in training.examples:
        count = count_messages(example.messages, snapshot)
        found.tokens[example.line] = count.tokens
        found.exact = found.exact and count.exact
    found.cost_per_epoch = training_price(snapshot, found.total)
    return found


def training_price(base_model: str, tokens: int) -> Decimal | None:
    """What training on this many tokens costs, or None while the price is unknown."""
    from openai_magics.metering.pricing import training_cost

    return training_cost(base_model, tokens)
