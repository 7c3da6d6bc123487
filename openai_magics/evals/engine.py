"""run_eval: every model answers every row (concurrently, cached, within the budget), each answer graded.
An interrupt keeps the rows that finished."""
from __future__ import annotations

import json
import time
from decimal import Decimal

from openai_magics.cache.policy import send_through_cache
from openai_magics.wire.fanout import FanOut
from openai_magics.views.progress import NoRowProgress, Tally, progress_shown
from openai_magics.core.errors import CallFailed, UsageError
from openai_magics.facts.models import is_reasoning
from openai_magics.core.namespace import interpolate
from openai_magics.metering.usage import Usage
from openai_magics.evals.graders import VERDICT_FORMAT, Grade, cosine, grade_locally, judge_messages
from openai_magics.evals.request import EvalRequest
from openai_magics.evals.result import EvalResult, RowResult

MAX_OUTPUT = 1024  # an eval answer or verdict: the most it may write, unless --max-tokens says otherwise


def run_eval(session, request: EvalRequest, progress=None) -> EvalResult:
    """`progress` follows views.progress's protocol (start, update, finish) over a Tally of the rows."""
    jobs = [(model, index) for model in request.models for index in range(len(request.rows))]
    done: list[RowResult] = []
    interrupted = False
    started = time.perf_counter()
    progress = progress or NoRowProgress()
    tally = Tally(total=len(jobs))
    try:
        with progress_shown(progress, tally), FanOut(lambda job: _one_row(session, request, *job), jobs,
                                                     concurrency=request.concurrency,
                                                     name="openai-magics-eval") as finished:
            for row in finished:
                done.append(row.result())
                tally.add(done[-1].error is None, cost=Decimal(0) if done[-1].cache_hit else done[-1].cost)
                progress.update()
    except KeyboardInterrupt:
        interrupted = True  # the rows in flight were stopped on the wire
    done.sort(key=lambda r: (request.models.index(r.model), r.index))
    result = EvalResult(request, done, interrupted=interrupted, seconds=time.perf_counter() - started)
    session.last_result = result
    return result


def _one_row(session, request: EvalRequest, model: str, index: int) -> RowResult:
    row = request.rows[index]
    prompt = interpolate(request.template, {**request.namespace, **row}).text
    expected = row.get(request.expect) if request.expect else None
    out = RowResult(model=model, index=index, inputs=row, prompt=prompt, expected=expected)
    try:
        asked = ask(session, "eval", model, prompt, cache=request.cache, **request.options)
    except (CallFailed, UsageError) as exc:  # one row failed (or was refused): marked, the others go on
        out.error = str(exc)
        return out
    out.answer, out.cost, out.latency = asked.text, asked.record.cost, asked.record.latency
    out.cache_hit = asked.record.cache_hit
    for grader in request.graders:
        try:
            out.verdicts[grader.name] = _grade(session, request, grader, out)
        except (CallFailed, UsageError) as exc:
            out.verdicts[grader.name] = Grade(False, 0.0, f"grader failed: {exc}", None)
    return out


def _grade(session, request: EvalRequest, grader, out: RowResult) -> Grade:
    if grader.kind == "model":
        return _model_verdict(session, request, out)
    if grader.kind == "similar":
        a, b, cost = embed_pair(session, request.embed_model, [out.answer or " ", str(out.expected or " ")],
                                cache=request.cache)
        score = cosine(a, b)
        return Grade(score >= grader.argument, score, f"cosine {score:.3f} (≥ {grader.argument:g} passes)", cost)
    return grade_locally(grader, out.answer, out.expected)


def _model_verdict(session, request: EvalRequest, out: RowResult) -> Grade:
    item = json.dumps(out.inputs, default=str, ensure_ascii=False)
    system, user = (m["content"] for m in judge_messages(request.rubric, str(out.expected), out.answer, item))
    asked = ask(session, "eval grader", request.judge_model, user, system=system,
                schema=VERDICT_FORMAT["json_schema"], cache=request.cache)
    cost = asked.record.cost
    try:
        verdict = json.loads(asked.text)
        label, reason = verdict["label"], str(verdict.get("reason", ""))
    except (ValueError, KeyError, TypeError):
        return Grade(False, 0.0, f"the grader's answer is not a verdict: {asked.text[:80]!r}", cost)
    return Grade(label == "pass", float(label == "pass"), f"{label}: {reason}", cost)


def ask(session, magic: str, model: str, prompt: str, **options):
    """One answer through the chat capability's own path (as `openai_magics.chat()` asks): the same request
    body `%%chat` sends for the same options, cached, within the budget, in the ledger as `magic`. An eval
    compares answers, so unless told otherwise it asks at temperature 0 and for at most MAX_OUTPUT tokens."""
    from openai_magics.chat.facade import ask_as

    return ask_as(magic, prompt, model=model, session=session, **{**_defaults(model), **options})


def _defaults(model: str) -> dict:
    return {"max_tokens": MAX_OUTPUT} | ({} if is_reasoning(model) else {"temperature": 0})


def plan_eval(session, request: EvalRequest):
    """`%%eval --dry-run`: the cost planner's table of every model's answers (the model grader's verdicts are not
    in it); a list of tables for several models. Nothing is sent."""
    from openai_magics.chat.options import facade_args, request_from_args
    from openai_magics.chat.plan import plan_requests

    plans = []
    for model in request.models:
        args = facade_args(no_stream=True, **{**_defaults(model), **request.options, "model": model})
        prompts = [interpolate(request.template, {**request.namespace, **row}).text for row in request.rows]
        plans.append(plan_requests(session, [request_from_args(args, None, prompt=p, model=model, stream=False)
                                             for p in prompts], what="rows"))
    return plans[0] if len(plans) == 1 else plans


def embed_pair(session, model: str, texts: list[str], *, cache: bool = True) -> tuple[list, list, object]:
    """Two embeddings (answer, reference) for a text-similarity grader."""
    params = {"model": model, "input": texts}
    call = session.begin("eval")

    def send() -> dict:
        with session.spending(model, sum(len(t) for t in texts), 0):
            with session.api_errors(model):
                answer = session.client.embeddings.create(**params)
        vectors = [d.embedding for d in sorted(answer.data, key=lambda d: d.index)]
        if len(vectors) != len(texts) or answer.usage is None:
            raise CallFailed(f"{model} sent {len(vectors)} embeddings for {len(texts)} texts.")
        return {"vectors": vectors, "model": answer.model or model, "tokens": answer.usage.prompt_tokens}

    value, hit = send_through_cache(session, call, "embeddings", params, send, kind="embeddings", enabled=cache)
    record = call.record(value["model"], Usage(input_tokens=value["tokens"]), cache_hit=hit)
    return value["vectors"][0], value["vectors"][1], record.cost


