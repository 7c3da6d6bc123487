"""run_eval: every model answers every row (concurrently, cached, within the budget), each answer graded.
An interrupt keeps the rows that finished."""
from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from openai_magics.core.cancel import Scope, stop
from openai_magics.core.errors import CallFailed, UsageError
from openai_magics.core.namespace import interpolate
from openai_magics.evals.ask import ask, embed_pair
from openai_magics.evals.graders import VERDICT_FORMAT, Verdict, cosine, grade_locally, judge_messages
from openai_magics.evals.request import EvalRequest
from openai_magics.evals.result import EvalResult, RowResult


def run_eval(session, request: EvalRequest, progress=None) -> EvalResult:
    jobs = [(model, index) for model in request.models for index in range(len(request.rows))]
    done: list[RowResult] = []
    interrupted = False
    started = time.perf_counter()
    scope = Scope()
    pool = ThreadPoolExecutor(max_workers=min(request.concurrency, len(jobs)), thread_name_prefix="openai-magics-eval")
    pending = {pool.submit(scope.run, _one_row, session, request, model, index) for model, index in jobs}
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            done.extend(f.result() for f in finished)
            if progress is not None:
                progress(len(done), len(jobs))
    except KeyboardInterrupt:
        interrupted = True
        stop(scope, pool, pending)  # the rows in flight are stopped on the wire
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
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
        asked = ask(session, model, [{"role": "user", "content": prompt}], magic="eval", cache=request.cache)
    except (CallFailed, UsageError) as exc:  # one row failed (or was refused): marked, the others go on
        out.error = str(exc)
        return out
    out.answer, out.cost, out.latency, out.cache_hit = asked.text, asked.cost, asked.latency, asked.cache_hit
    for grader in request.graders:
        try:
            out.verdicts[grader.name] = _grade(session, request, grader, out)
        except (CallFailed, UsageError) as exc:
            out.verdicts[grader.name] = Verdict(False, 0.0, f"grader failed: {exc}", None)
    return out


def _grade(session, request: EvalRequest, grader, out: RowResult) -> Verdict:
    if grader.kind == "model":
        return _model_verdict(session, request, out)
    if grader.kind == "similar":
        a, b, cost = embed_pair(session, request.embed_model, [out.answer or " ", str(out.expected or " ")],
                                cache=request.cache)
        score = cosine(a, b)
        return Verdict(score >= grader.argument, score, f"cosine {score:.3f} (≥ {grader.argument:g} passes)", cost)
    return grade_locally(grader, out.answer, out.expected)


def _model_verdict(session, request: EvalRequest, out: RowResult) -> Verdict:
    item = json.dumps(out.inputs, default=str, ensure_ascii=False)
    messages = judge_messages(request.rubric, str(out.expected), out.answer, item)
    asked = ask(session, request.judge_model, messages, magic="eval grader", response_format=VERDICT_FORMAT,
                cache=request.cache)
    try:
        verdict = json.loads(asked.text)
        label, reason = verdict["label"], str(verdict.get("reason", ""))
    except (ValueError, KeyError, TypeError):
        return Verdict(False, 0.0, f"the grader's answer is not a verdict: {asked.text[:80]!r}", asked.cost)
    return Verdict(label == "pass", float(label == "pass"), f"{label}: {reason}", asked.cost)


