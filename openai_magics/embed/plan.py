"""`%%embed --dry-run`: the cost planner's table of embedding the texts, now and through the Batch API (an
embedding has no output, no service tier and no prompt cache); nothing is sent."""
from __future__ import annotations

from openai_magics.embed.engine import count_tokens
from openai_magics.metering.planner import BATCH, NOW, plan_rows
from openai_magics.views.cost_plan import PlanTable


def plan_embed(session, texts: list[str], model: str) -> PlanTable:
    tokens, exact = count_tokens(texts, model)
    try:
        prices = session.prices_for(model)
    except Exception:  # the price data could not be read: the plan says unknown
        prices = None
    plan = plan_rows(prices, model, tokens, max_output=0, expected_output=0, exact=exact, levers=(NOW, BATCH))
    return PlanTable(plan, "texts")
