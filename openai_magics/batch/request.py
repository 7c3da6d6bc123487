"""What a batch asks: request bodies keyed by custom id, for one endpoint (checked before any upload)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from openai_magics.facts.data import load
from openai_magics.core.errors import UsageError

ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses")


@dataclass
class BatchRequest:
    bodies: dict[str, dict]            # custom_id → body, each as an interactive call would send it
    endpoint: str
    order: list[str] = field(default_factory=list)   # custom ids in input order (may repeat)
    name: str = ""
    labels: list = field(default_factory=list)
    template: str | None = None
    parsed: bool = False
    wait: bool = True
    most_lines: int = 0                # 0: OpenAI's limit (facts/data/batch_limits.json)

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise UsageError(f"A batch runs {', '.join(ENDPOINTS)}, not {self.endpoint}.")
        if not self.bodies:
            raise UsageError("Nothing to send: the batch has no requests.")
        most = self.most_lines or load("batch_limits.json")["max_lines"]
        if len(self.bodies) > most:
            raise UsageError(f"A batch holds at most {most:,} requests, not {len(self.bodies):,}: "
                             "`%%chat --over NAME --batch` splits a bigger run into shards.")
        models = {b.get("model") for b in self.bodies.values()}
        if len(models) != 1 or not isinstance(next(iter(models)), str):
            raise UsageError("Every request of a batch names the same model.")
        self.order = self.order or list(self.bodies)
        missing = set(self.order) - set(self.bodies)
        if missing:
            raise UsageError(f"The batch's order names requests it does not hold: {sorted(missing)[:3]}.")

    @property
    def model(self) -> str:
        return next(iter(self.bodies.values()))["model"]

    def jsonl(self) -> bytes:
        lines = (json.dumps({"custom_id": cid, "method": "POST", "url": self.endpoint, "body": body})
                 for cid, body in self.bodies.items())
        return ("\n".join(lines) + "\n").encode()
