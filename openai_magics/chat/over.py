"""`%%chat --over NAME`: one chat call per row, run concurrently within the rate limits.

Identical prompts are asked once; cached ones cost nothing; under a budget, rows are sent while it lasts (each
one's worst case bounded beside the rows in flight) and the rest are marked not run; a row that fails is marked with its error while the others go on;
an interrupt keeps what finished and sends nothing more. The pacing itself is the session's (see
wire/limits.py): every request waits for room instead of meeting a 429.
"""
from __future__ import annotations

import time
from decimal import Decimal

from openai_magics.cache.policy import current
from openai_magics.chat.request import ChatRequest
from openai_magics.wire.fanout import FanOut
from openai_magics.core.errors import CallFailed, UsageError
from openai_magics.facts.models import model_info
from openai_magics.chat.rows import TemplateRows
from openai_magics.facts.tokens import count_messages
from openai_magics.views.progress import NoRowProgress, Tally, progress_shown
from openai_magics.views.row_results import RowError, RowResults

DEFAULT_CONCURRENCY = 8


def _bounds(session, request: ChatRequest) -> tuple[int, int]:
    """(prompt tokens, most output tokens) of one request."""
    out = request.max_tokens or session.config.max_tokens or model_info(request.model).max_output or 16384
    return count_messages(_messages(request), request.model).tokens, out


def worst_case(session, requests) -> tuple[int, int, Decimal | None]:
    """(prompt tokens, most output tokens, worst-case USD) of asking every request once (read one at a time)."""
    from openai_magics.metering.usage import Usage

    tokens_in = tokens_out = 0
    model = ""
    for request in requests:
        prompt, most = _bounds(session, request)
        tokens_in, tokens_out, model = tokens_in + prompt, tokens_out + most, model or request.model
    return tokens_in, tokens_out, session.worst_case(model, Usage(input_tokens=tokens_in, output_tokens=tokens_out))


class _WhileTheBudgetLasts:
    """Rows are sent while the budget lasts: one goes only when its worst case fits beside what was spent and
    the worst cases of the rows in flight. When not even the first fits, the budget's one-line refusal.
    Worst cases are worked out as rows come up and kept only while they run."""

    def __init__(self, session, make_request, first: str | None):
        self.session, self.make_request, self.worst = session, make_request, {}
        if session.budget is None or first is None:
            return
        if not self.fits(first, ()):
            request = make_request(first)
            session.check_budget(request.model, *_bounds(session, request))

    def _worst(self, prompt: str) -> Decimal | None:
        if prompt not in self.worst:
            from openai_magics.metering.usage import Usage

            request = self.make_request(prompt)
            tokens_in, tokens_out = _bounds(self.session, request)
            self.worst[prompt] = self.session.worst_case(request.model, Usage(input_tokens=tokens_in,
                                                                              output_tokens=tokens_out))
        return self.worst[prompt]

    def fits(self, prompt: str, running) -> bool:
        budget = self.session.budget
        if budget is None:
            return True
        if self._worst(prompt) is None:  # unknown price: cannot be bounded
            return False
        held = sum(self._worst(p) or 0 for p in running)
        self.worst = {p: self.worst[p] for p in (*running, prompt)}  # the rows that finished are forgotten
        return self.session.ledger.total_cost + held + self.worst[prompt] <= budget


def run_over(session, rows: TemplateRows, prompts: list[str], make_request, *, concurrency: int = DEFAULT_CONCURRENCY,
             progress=None, parsed: bool = False, run_chat=None, sink=None) -> RowResults:
    """Ask `make_request(prompt)` for each distinct prompt; the answers come back aligned with `rows`.
    `run_chat`: what asks one row (the engine's, or a wrapper that reads more of each result). A `sink`
    (chat/sink.py) asks its own pending prompts instead of `prompts` and takes each answer as it arrives; the
    run then keeps none of them, and its calls are summed in the sink's ledger rows: memory stays bounded
    whatever the count. Requests are made as rows start (after one pass that checks them all: nothing is sent
    when one is bad)."""
    if run_chat is None:
        from openai_magics.chat.engine import run_chat

    progress = progress or NoRowProgress()
    started = time.monotonic()
    distinct = sink.pending if sink is not None else list(dict.fromkeys(prompts))
    worst = worst_case(session, map(make_request, distinct))[2]  # each validates itself: nothing sent yet
    model = make_request(next(iter(distinct))).model if distinct else ""
    budget = _WhileTheBudgetLasts(session, make_request, next(iter(distinct), None))
    if current(session) is None:  # every row needs the network: say a missing key once, before the progress
        session.require_key()
    tally = Tally(total=len(distinct), worst=worst)
    answers: dict[str, object] = {}
    records: list = []
    answered = 0
    interrupted = False
    fan = FanOut(lambda prompt: _ask(session, run_chat, make_request(prompt), parsed), distinct,
                 concurrency=concurrency, name="openai-magics-over", admit=budget.fits)
    try:
        with progress_shown(progress, tally), fan:
            for done in fan:
                answer, record = done.result()
                answered += 1
                if sink is None:
                    answers[done.item] = answer
                    if record is not None:
                        records.append(record)
                else:
                    sink.write(done.item, answer, record)
                    if record is not None:
                        session.ledger.fold(record, into=sink.ledger_rows)
                tally.add(not isinstance(answer, RowError), _tokens(record), _cost(record))
                progress.update()
    except KeyboardInterrupt:
        interrupted = True  # the rows in flight were stopped on the wire
    spent_out = bool(fan.unstarted) and not interrupted
    unanswered = len(distinct) - answered
    notes = [f"budget reached: {unanswered:,} row{'s' * (unanswered != 1)} not sent"] if spent_out and unanswered else []
    if sink is not None:
        return RowResults(rows.name, rows.labels, [], model=model, records=list(sink.ledger_rows.rows.values()),
                          index=rows.index, interrupted=interrupted, asked=len(distinct),
                          elapsed=time.monotonic() - started, notes=notes)
    not_run = RowError("not run: the cell was interrupted" if interrupted else
                       "not run: the budget ran out before this row (`%openai budget USD` raises it)")
    values = [answers.get(prompt, not_run) for prompt in prompts]
    return RowResults(rows.name, rows.labels, values, model=model, records=records, index=rows.index,
                      interrupted=interrupted, asked=len(distinct), elapsed=time.monotonic() - started, notes=notes)


def _ask(session, run_chat, request: ChatRequest, parsed: bool):
    """One row's answer (or its error) and its ledger record."""
    try:
        result = run_chat(session, request)
    except (CallFailed, UsageError) as exc:
        return RowError(str(exc)), None
    except Exception as exc:  # a row's failure never stops the others, nor escapes as a traceback
        return RowError(f"{type(exc).__name__}: {session.redact(str(exc))}"), None
    if result.flagged:  # --moderate: a flagged answer is not the row's answer
        return RowError(result.flagged), result.record
    if parsed:
        if result.parsed is None:
            return RowError(f"no object: {result.refusal or 'the answer did not match the schema'}"), result.record
        return result.parsed, result.record
    return result.text, result.record


def _tokens(record) -> int:
    return 0 if record is None else record.usage.input_tokens + record.usage.output_tokens


def _cost(record):
    if record is None or record.cache_hit:
        return Decimal(0)
    return record.cost


def as_batch(session, rows: TemplateRows, prompts: list[str], make_request, *, template: str, wait: bool, progress,
             parsed: bool, say=print):
    """The same run through the Batch API: each distinct prompt's body as an interactive call would send it,
    given to the batch service; its worst case (at the interactive price, an upper bound) within budget."""
    from openai_magics.batch.shards import submit_rows
    from openai_magics.chat.request import build_body

    from openai_magics.chat.cached_rows import answered_by_cache, joined

    distinct = list(dict.fromkeys(prompts))
    hits = answered_by_cache(session, {p: make_request(p) for p in distinct}, parsed) if wait else {}
    distinct = [prompt for prompt in distinct if prompt not in hits]
    if hits and not distinct:
        return joined(rows, prompts, hits, None)
    requests = [make_request(prompt) for prompt in distinct]
    if session.budget is not None:
        tokens_in, tokens_out, _ = worst_case(session, requests)
        session.check_budget(requests[0].model, tokens_in, tokens_out)
    position = {prompt: j for j, prompt in enumerate(distinct)}
    bodies = [build_body(r, _messages(r), api="chat", max_out=r.max_tokens or session.config.max_tokens,
                         endpoint=session.config) for r in requests]
    asked = [i for i, p in enumerate(prompts) if p in position]
    result = submit_rows(session, endpoint="/v1/chat/completions", bodies=bodies,
                         rows=[position[prompts[i]] for i in asked], name=rows.name,
                         labels=[rows.labels[i] for i in asked], template=template, parsed=parsed, wait=wait,
                         progress=progress, say=say)
    return joined(rows, prompts, hits, result) if hits and isinstance(result, RowResults) else result


def _messages(request: ChatRequest) -> list[dict]:
    from openai_magics.chat.engine import messages_of

    return messages_of(request)
