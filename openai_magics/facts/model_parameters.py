"""Which request parameters a model takes (data in data/model_parameters.json): the name of its output limit,
how it takes a system prompt, and the sampling parameters it refuses."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from openai_magics.facts.data import load
from openai_magics.facts.models import base_name


@dataclass(frozen=True)
class ModelParameters:
    family: str | None = None                 # the key of the data file that matched; None: no rules
    output_limit: str | None = None           # the only output-limit name it takes (None: either)
    system_role: str = "system"               # system | developer | user (folded into the first user turn)
    only_default: dict = field(default_factory=dict)  # parameter → the one value it takes
    refuses: tuple[str, ...] = ()

    def refused(self, sent: dict) -> str | None:
        """The first of the parameters in `sent` this model would answer with a 400, or None."""
        for name, value in sent.items():
            if name in self.refuses or (name in self.only_default and value != self.only_default[name]):
                return name
        return None


@lru_cache(maxsize=None)
def parameters_of(model: str) -> ModelParameters:
    """The rules of the longest family name `model` (or its undated name) starts with."""
    families = load("model_parameters.json")["families"]
    name = base_name(model)
    family = max((key for key in families if name.startswith(key)), key=len, default=None)
    if family is None:
        return ModelParameters()
    entry = families[family]
    return ModelParameters(family, entry.get("output_limit"), entry.get("system_role", "system"),
                           dict(entry.get("only_default", {})), tuple(entry.get("refuses", ())))
