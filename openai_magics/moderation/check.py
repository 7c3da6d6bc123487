"""One moderation call, shared by `%moderate` and `%%chat --moderate`: the verdicts, checked at the boundary,
and a $0 row in the ledger (moderation is free, and the row says so)."""
from __future__ import annotations

from dataclasses import dataclass, field

from openai_magics.core.errors import CallFailed
from openai_magics.metering.usage import Usage

MODERATION_MODEL = "omni-moderation-latest"


@dataclass
class ModerationVerdict:
    flagged: bool
    categories: list[str] = field(default_factory=list)   # the flagged ones
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return ", ".join(f"{c} {self.scores.get(c, 0):.2f}" for c in self.categories)


def moderate(session, inputs, *, model: str = MODERATION_MODEL, magic: str = "moderate"):
    """Verdicts for `inputs` (a text, or a list of texts / image parts) and the call's ledger record."""
    call = session.begin(magic)
    with session.api_errors(model):
        response = session.client.moderations.create(model=model, input=inputs)
    verdicts = [_verdict(r) for r in (response.results or [])]
    expected = 1 if isinstance(inputs, str) else len(inputs)
    if len(verdicts) != expected:
        raise CallFailed(f"The moderation endpoint answered {len(verdicts)} verdicts for {expected} inputs.")
    record = call.record(response.model or model, Usage())
    return verdicts, record


def _verdict(result) -> ModerationVerdict:
    scores = {k: float(v) for k, v in (result.category_scores.model_dump(by_alias=True) or {}).items()
              if isinstance(v, (int, float))}
    flagged = [k for k, v in result.categories.model_dump(by_alias=True).items() if v]
    flagged.sort(key=lambda c: -scores.get(c, 0))
    return ModerationVerdict(bool(result.flagged), flagged, scores)
