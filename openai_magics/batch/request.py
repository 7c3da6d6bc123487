"""What a batch asks: request bodies keyed by custom id, for one endpoint (checked before any upload)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from openai_magics.wire.errors import UsageError

ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses")
MOST_LINES = 50_000  # OpenAI's limit per batch


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

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise UsageError(f"A batch runs {', '.join(ENDPOINTS)}, not {self.endpoint}.")
        if not self.bodies:
            raise UsageError("Nothing to send: the batch has no requests.")
        if len(self.bodies) > MOST_LINES:
            raise UsageError(f"A batch holds at most {MOST_LINES:,} requests, not {len(self.bodies):,}: split it.")
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
