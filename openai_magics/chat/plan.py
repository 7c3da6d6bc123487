"""`--dry-run` on a job of many chat requests (`%%chat --over`, `%%eval`): the cost planner's table of what the
job costs now, on the flex tier, through the Batch API and with its shared prefix cached; nothing is sent."""
from __future__ import annotations

import os

from openai_magics.chat.engine import messages_of
from openai_magics.chat.request import ChatRequest
from openai_magics.facts.models import model_info
from openai_magics.facts.tokens import count_messages, count_text
from openai_magics.metering.planner import plan_rows
from openai_magics.views.cost_plan import PlanTable

GUESSED_OUTPUT = 256  # tokens per answer expected when this session has no answer from the model yet


def plan_requests(session, requests: list[ChatRequest], what: str = "requests") -> PlanTable:
    """The plan of sending each request once (they share one model)."""
    model = requests[0].model
    counts = [count_messages(messages_of(r), r.model) for r in requests]
    most = requests[0].max_tokens or session.config.max_tokens or model_info(model).max_output or 16384
    expected, said = expected_output(session, model)
    plan = plan_rows(_prices(session, model), model, [c.tokens for c in counts], max_output=most,
                     expected_output=expected, shared_prefix=shared_prefix(requests),
                     exact=all(c.exact for c in counts))
    plan.notes.insert(0, said if expected < most else f"expected output: up to {most:,} tokens per answer (its limit)")
    return PlanTable(plan, what)


def expected_output(session, model: str) -> tuple[int, str]:
    """The answers' usual length: the mean of this session's answers from `model`, else a guess; and how it
    was found, in words."""
    from openai_magics.facts.models import base_name

    answers = [r.usage.output_tokens for r in session.ledger.records
               if not r.cache_hit and r.usage.output_tokens and base_name(r.model) == base_name(model)]
    if answers:
        mean = round(sum(answers) / len(answers))
        return mean, f"expected output: {mean:,} tokens per answer (the mean of this session's {len(answers):,} from {model})"
    return GUESSED_OUTPUT, (f"expected output: {GUESSED_OUTPUT} tokens per answer, a guess (no answer from {model} "
                            "yet; --max-tokens bounds it)")


def shared_prefix(requests: list[ChatRequest]) -> int:
    """The tokens every request's prompt begins with (its system prompt and the template's fixed start)."""
    if len(requests) < 2:
        return 0
    texts = [f"{r.system or ''}\n{r.prompt}" for r in requests]
    return count_text(os.path.commonprefix(texts), requests[0].model).tokens


def _prices(session, model: str):
    try:
        return session.prices_for(model)
    except Exception:  # the price data could not be read: the plan says unknown
        return None
