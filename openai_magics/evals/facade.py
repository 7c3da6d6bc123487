"""`openai_magics.evals(template, data, models=[...], graders=[...])`: what `%%eval` does, from plain Python."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def evaluate(template: str, data, *, models: list[str], graders: list[str], expect: str | None = None,
             judge_model: str | None = None, rubric: str | None = None, namespace: dict | None = None,
             cache: bool = True, concurrency: int | None = None, session=None):
    from openai_magics.evals.engine import run_eval
    from openai_magics.evals.graders import parse_grader
    from openai_magics.evals.request import DEFAULT_CONCURRENCY, EvalRequest, rows_of

    namespace = namespace or {}
    request = EvalRequest(template, rows_of(data), list(models), [parse_grader(g, namespace) for g in graders],
                          expect=expect, judge_model=judge_model, rubric=rubric, namespace=namespace, cache=cache,
                          concurrency=concurrency or DEFAULT_CONCURRENCY)
    return run_eval(session or current_session(), request)
