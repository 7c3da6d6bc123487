"""What we know about models: context windows, output limits, snapshots (data in data/models.json)."""
from __future__ import annotations

from openai_magics.facts.data import load

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


def is_openai_model(model: str) -> bool:
    """Whether OpenAI has a model of this name (or a dated snapshot of one): our data files first, then the
    OpenAI models genai-prices knows (loaded only for a name the files lack, such as a typo)."""
    if model in _known_names() or base_name(model) in _known_names():
        return True
    from genai_prices import data_snapshot

    try:
        data_snapshot.get_snapshot().find_provider_model(model, None, "openai", None)
    except LookupError:
        return False
    return True


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    audio = load("audio_models.json")
    prices = load("prices_extra.json")
    return frozenset([
        *_table()["models"], *load("image_models.json")["models"], *audio["transcribe"],
        *audio["speech"]["models"], *load("embedding_limits.json")["models"], *load("fine_tuning.json")["models"],
        *prices["per_image"], *prices["per_minute_audio"], *prices["per_million_characters"],
        *load("video_models.json")["models"],
    ])
