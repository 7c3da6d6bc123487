"""run_moderation: the request through the shared moderation call, into a result."""
from __future__ import annotations

from openai_magics.moderation.check import moderate
from openai_magics.moderation.request import ModerationRequest
from openai_magics.moderation.result import ModerationResult


def run_moderation(session, request: ModerationRequest) -> ModerationResult:
    inputs = request.texts[0] if len(request.texts) == 1 else request.texts
    verdicts, record = moderate(session, inputs, model=request.model)
    result = ModerationResult(request.texts, verdicts, record)
    session.last_result = result
    return result
