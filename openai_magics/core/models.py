"""What we know about models: context windows, output limits, snapshots (data in data/models.json)."""
from __future__ import annotations

from openai_magics.core.data import load

import re
from dataclasses import dataclass
from functools import lru_cache

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    context_window: int | None = None
    max_output: int | None = None
    snapshot: str | None = None
    reasoning: bool = False
    dimensions: int | None = None


@lru_cache(maxsize=1)
def _table() -> dict:
    return load("models.json")


def base_name(model: str) -> str:
    """`gpt-4o-2024-08-06` → `gpt-4o`; `ft:gpt-4o-mini:org::id` → `gpt-4o-mini`."""
    if model.startswith("ft:"):
        model = model.split(":")[1]
    return _DATED.sub("", model)


def model_info(model: str) -> ModelInfo:
    models = _table()["models"]
    entry = models.get(model) or models.get(base_name(model)) or {}
    return ModelInfo(name=model, **entry)


def is_reasoning(model: str) -> bool:
    info = model_info(model)
    return info.reasoning or base_name(model).startswith(("o1", "o3", "o4", "gpt-5"))
