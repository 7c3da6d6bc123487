"""Dated data files: model facts, limits and the prices genai-prices lacks. Each file says when it was read."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    """One data file (`models.json`, `prices_extra.json`…), parsed once per process."""
    return json.loads(resources.files(__name__).joinpath(name).read_text())
