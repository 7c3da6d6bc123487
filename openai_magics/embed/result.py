"""EmbedResult: the vectors of an %%embed cell, in input order, with search and similarity."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from openai_magics.core.errors import UsageError
from openai_magics.metering.ledger import UsageRecord
from openai_magics.metering.usage import Usage
from openai_magics.views.markup import LEFT, NO_MATHS, escape_markup, usage_sub
from openai_magics.views.usage_line import usage_line

PREVIEW_ROWS = 3
PREVIEW_VALUES = 4
TEXT_WIDTH = 48


@dataclass(repr=False)
class EmbedResult:
    vectors: object                     # numpy float32 array, n × d, row i is texts[i]
    texts: list[str]
    model: str
    dimensions: int | None = None       # as asked for (None: the model's own)
    records: list[UsageRecord] = field(default_factory=list)  # one per request sent
    hit_record: UsageRecord | None = None   # texts served from the session cache
    elapsed: float = 0.0
    truncated: list[int] = field(default_factory=list)        # indices of inputs cut to fit
    peak_concurrency: int = 0
    pool: str | None = None             # "mean": token vectors averaged (a server that does not pool)
    embedder: object = None  # embeds more texts the same way (model, dimensions, session): for queries

    def __getstate__(self) -> dict:
        """Pickled without the embedder (it holds the session): a loaded result searches with vectors."""
        return {**self.__dict__, "embedder": None}

    # -- numbers --
    @property
    def shape(self) -> tuple[int, int]:
        return self.vectors.shape

    def __len__(self) -> int:
        return len(self.texts)

    def __array__(self, dtype=None, copy=None):
        return self.vectors if dtype is None else self.vectors.astype(dtype)

    @property
    def requests(self) -> int:
        return len(self.records)

    @property
    def tokens(self) -> int:
        """Tokens the requests were billed for (texts from the session cache cost nothing)."""
        return sum(r.usage.input_tokens for r in self.records)

    @property
    def cost(self) -> Decimal | None:
        if any(r.cost is None for r in self.records):
            return None
        return sum((r.cost for r in self.records), Decimal(0))

    @property
    def record(self) -> UsageRecord:
        """All of this cell's calls as one record, for the usage line."""
        if not self.records and self.hit_record is not None:
            return self.hit_record
        usage = sum((r.usage for r in self.records), Usage())
        return UsageRecord(magic="embed", model=self.records[0].model if self.records else self.model,
                           usage=usage, cost=self.cost, latency=self.elapsed,
                           estimated=any(r.estimated for r in self.records))

    @property
    def usage_line(self) -> str:
        parts = [usage_line(self.record)]
        if self.requests > 1:
            parts.append(f"{self.requests} requests")
        if self.records and self.hit_record is not None:
            parts.append(f"{self.hit_record.usage.input_tokens:,} tokens from the cache")
        if self.truncated:
            parts.append(f"{len(self.truncated)} truncated to fit")
        return " · ".join(parts)

    # -- search --
    def _query_vectors(self, query):
        """A text or list of texts (embedded with this result's model), an EmbedResult, or vectors."""
        import numpy as np

        if isinstance(query, EmbedResult):
            return query.vectors
        if isinstance(query, str) or isinstance(query, (list, tuple)) and all(isinstance(q, str) for q in query):
            if self.embedder is None:
                raise UsageError("This result has no session to embed the query with: pass vectors instead.")
            return self.embedder(query)
        return np.atleast_2d(np.asarray(query, dtype=np.float32))

    def similarity(self, other=None):
        """Cosine similarities: n × n among these texts, or n × m against `other` (texts, a result, vectors)."""
        import numpy as np

        a = _unit(self.vectors)
        b = a if other is None else _unit(self._query_vectors(other))
        return np.asarray(a @ b.T)

    def search(self, query, k: int = 5):
        """The k texts nearest the query, nearest first (a DataFrame: index = position in the input)."""
        import numpy as np

        if isinstance(query, str) and not query.strip():
            raise UsageError("Nothing to search for: the query is empty.")
        if k < 1:
            raise UsageError(f"k must be positive, not {k}.")
        scores = self.similarity(query)[:, 0]
        order = np.argsort(-scores, kind="stable")[:k]
        try:
            import pandas as pd
        except ImportError:
            return [(self.texts[i], float(scores[i])) for i in order]
        frame = pd.DataFrame({"text": [self.texts[i] for i in order], "score": scores[order].round(4)},
                             index=pd.Index(order, name="input"))
        return frame

    def to_pandas(self):
        """One row per input: its text and its vector."""
        import pandas as pd

        return pd.DataFrame({"text": self.texts, "embedding": list(self.vectors)})

    # -- display --
    @property
    def summary(self) -> str:
        n, d = self.shape
        return f"EmbedResult: {n:,} text{'s' * (n != 1)} × {d:,} dimensions (float32, in input order)"

    def _preview(self) -> list[tuple[int, str, str]]:
        rows = []
        for i in range(min(PREVIEW_ROWS, len(self.texts))):
            text = " ".join(self.texts[i].split())
            text = text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…"
            values = ", ".join(f"{v:+.4f}" for v in self.vectors[i][:PREVIEW_VALUES])
            more = ", …" if self.shape[1] > PREVIEW_VALUES else ""
            rows.append((i, text, f"[{values}{more}]"))
        return rows

    @property
    def _more(self) -> str:
        extra = len(self.texts) - PREVIEW_ROWS
        return f"… {extra:,} more" if extra > 0 else ""

    def _repr_pretty_(self, p, cycle) -> None:
        rows = self._preview()
        width = max(len(text) for _, text, _ in rows)
        lines = [self.summary] + [f"  {i:>3}  {text:<{width}}  {vec}" for i, text, vec in rows]
        if self._more:
            lines.append(f"  {self._more}")
        p.text("\n".join(lines + [self.usage_line]))

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><td>{i}</td><td{LEFT}>{escape_markup(text)}</td><td{LEFT}><code>{vec}</code></td></tr>"
                       for i, text, vec in self._preview())
        if self._more:
            body += f'<tr><td colspan="3"{LEFT}>{escape_markup(self._more)}</td></tr>'
        return (f'<div class="{NO_MATHS}"><p><b>{escape_markup(self.summary)}</b></p>'
                f'<table class="oaim-embed"><thead><tr><th>#</th><th{LEFT}>text</th><th{LEFT}>vector</th></tr>'
                f"</thead><tbody>{body}</tbody></table>{usage_sub(self.usage_line)}</div>")

    def __repr__(self) -> str:
        return f"<{self.summary} · {self.usage_line}>"


def _unit(vectors):
    import numpy as np

    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)
