"""What an embedding request is: the texts (from any notebook value) and the options, checked before
anything is sent; and the API's limits per model (data/embedding_limits.json)."""
from __future__ import annotations

from openai_magics.facts.data import load

from dataclasses import dataclass
from functools import lru_cache

from openai_magics.core.errors import UsageError
from openai_magics.facts.models import base_name, model_info

DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True)
class EmbeddingLimits:
    max_inputs: int
    max_input_tokens: int
    max_request_tokens: int
    dimensions_param: bool = True


@lru_cache(maxsize=64)
def embedding_limits(model: str) -> EmbeddingLimits:
    """The API's limits for a model (data/embedding_limits.json); unlisted models get the default."""
    table = load("embedding_limits.json")
    entry = table["models"].get(model) or table["models"].get(base_name(model)) or table["default"]
    return EmbeddingLimits(**entry)


def as_texts(inputs, what: str = "the input") -> list[str]:
    """A str, a list/tuple of str, a pandas Series or one-column DataFrame, a numpy array → a list of str."""
    if isinstance(inputs, str):
        texts = [inputs]
    elif type(inputs).__name__ == "DataFrame":
        if len(inputs.columns) != 1:
            raise UsageError(f"{what} is a DataFrame with {len(inputs.columns)} columns: name one, "
                             f"e.g. `--input df.text` or `--input df['text']`.")
        texts = inputs.iloc[:, 0].tolist()
    elif hasattr(inputs, "tolist") and not isinstance(inputs, (list, tuple)):  # Series, numpy array
        texts = inputs.tolist()
    elif isinstance(inputs, (list, tuple)):
        texts = list(inputs)
    else:
        raise UsageError(f"{what} is a {type(inputs).__name__}: give a str, a list of str, "
                         "a pandas Series or a DataFrame column.")
    if not texts:
        raise UsageError(f"Nothing to embed: {what} is empty.")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise UsageError(f"Input {i} of {what} is not text but {type(text).__name__} ({text!r:.40}).")
        if not text.strip():
            raise UsageError(f"Input {i} of {what} is empty: the API cannot embed empty text.")
    return texts


@dataclass
class EmbedRequest:
    texts: list[str]
    model: str
    dimensions: int | None = None
    truncate: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    cache: bool = True  # False: --no-cache, ask the API for every text
    pool: str | None = None  # "mean": average a server's per-token vectors into one per text

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Every check that needs no network: one clear UsageError, nothing sent."""
        for name in ("dimensions", "concurrency"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise UsageError(f"--{name} must be positive, not {value!r}.")
        if self.pool not in (None, "mean"):
            raise UsageError(f"--pool takes mean, not {self.pool!r}.")
        if self.dimensions is None:
            return
        if not embedding_limits(self.model).dimensions_param:
            raise UsageError(f"{self.model} does not take --dimensions (text-embedding-3 models do).")
        native = model_info(self.model).dimensions
        if native and self.dimensions > native:
            raise UsageError(f"{self.model} gives at most {native:,} dimensions, not {self.dimensions:,}.")
