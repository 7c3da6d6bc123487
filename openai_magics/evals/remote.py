"""`%%eval --to-openai`: the same eval on OpenAI's Evals API (one run per model over the same items and
criteria), followed to the end, its report shown beside the local one; the run's usage is in the ledger."""
from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass, field

from openai_magics.core.errors import CallFailed, UsageError
from openai_magics.metering.usage import Usage

POLL_SECONDS, GIVE_UP_SECONDS = 0.5, 600
FINAL = ("completed", "failed", "canceled")
_COLUMN = re.compile(r"\{(\w+)\}")


@dataclass
class RemoteReport:
    eval_id: str
    criteria: list[dict]
    runs: list[dict] = field(default_factory=list)  # per model: id, status, counts, per criterion, report url

    def _repr_html_(self) -> str:
        head = "<tr><th>model</th><th>status</th><th>passed</th><th>failed</th><th>errored</th><th>per criterion</th></tr>"
        body = "".join(
            f"<tr><td>{html.escape(r['model'])}</td><td>{html.escape(r['status'])}</td><td>{r['counts'].get('passed', 0)}</td>"
            f"<td>{r['counts'].get('failed', 0)}</td><td>{r['counts'].get('errored', 0)}</td>"
            f"<td>{html.escape(_criteria_text(r))}</td></tr>" for r in self.runs)
        return f"<table>{head}{body}</table><sub>eval {html.escape(self.eval_id)}</sub>"

    def __repr__(self) -> str:
        lines = [f"{r['model']}: {r['status']} · {r['counts'].get('passed', 0)} passed · "
                 f"{r['counts'].get('failed', 0)} failed · {r['counts'].get('errored', 0)} errored · {_criteria_text(r)}"
                 for r in self.runs]
        return "\n".join([f"eval {self.eval_id}", *lines])


def _criteria_text(run: dict) -> str:
    return ", ".join(f"{c['name']} {c['passed']}/{c['passed'] + c['failed']}" for c in run["criteria"])


def items_of(request) -> tuple[list[dict], dict]:
    """The rows as Evals API items (the expected answer under `expected`, as the criteria read it) and their schema."""
    items = []
    for row in request.rows:
        item = {str(k): _jsonable(v) for k, v in row.items()}
        if request.expect:
            item["expected"] = _jsonable(row[request.expect])
        items.append({"item": item})
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string"}
    first = items[0]["item"]
    schema = {"type": "object", "properties": {k: {"type": kinds.get(type(v), "string")} for k, v in first.items()},
              "required": list(first)}
    return items, schema


def _jsonable(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value.item() if hasattr(value, "item") else value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def api_template(template: str, columns) -> str:
    """`{column}` → `{{item.column}}`; anything else left as written."""
    return _COLUMN.sub(lambda m: f"{{{{item.{m.group(1)}}}}}" if m.group(1) in columns else m.group(0), template)


def evals_api_gone() -> str | None:
    """What the installed SDK says of OpenAI's Evals API once it is shut down: its deprecation notice, when
    that names a shutdown date now past (or that the SDK has no Evals API left); None while it runs."""
    from openai_magics.wire.sdk import shutdown_notice

    try:
        from openai.resources.evals import Evals
    except ImportError:
        return "the installed openai SDK has no Evals API any more"
    return shutdown_notice(Evals.create)


def check_evals_api(session) -> str | None:
    """Refuse --to-openai before anything is sent when OpenAI's Evals API is gone; on another server (one that
    still answers it, such as the offline one) the note to show instead."""
    gone = evals_api_gone()
    if gone and session.config.is_openai:
        raise UsageError(f"--to-openai: OpenAI's Evals API is gone; the installed openai SDK says: {gone} "
                         "Nothing was sent; run the eval here without --to-openai.")
    return f"OpenAI's Evals API is gone ({gone}); {session.base_url} still answers it." if gone else None


def run_on_openai(session, request) -> RemoteReport:
    if any(g.kind == "model" for g in request.graders) and not request.judge_model:
        raise UsageError("--to-openai with the model grader needs --judge-model.")
    items, schema = items_of(request)
    criteria = [g.criterion(request.judge_model, request.rubric) for g in request.graders]
    client = session.client
    with session.api_errors():
        created = client.evals.create(name=request.name, testing_criteria=criteria,
                                      data_source_config={"type": "custom", "item_schema": schema,
                                                          "include_sample_schema": True})
    report = RemoteReport(created.id, criteria)
    template = api_template(request.template, set(request.rows[0]))
    for model in request.models:
        report.runs.append(_run_one(session, created.id, model, template, items))
    return report


def _run_one(session, eval_id: str, model: str, template: str, items: list[dict]) -> dict:
    call = session.begin("eval --to-openai")
    source = {"type": "completions", "model": model,
              "input_messages": {"type": "template", "template": [{"role": "user", "content": template}]},
              "source": {"type": "file_content", "content": items}}
    with session.api_errors(model):
        run = session.client.evals.runs.create(eval_id, name=model, data_source=source)
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while run.status not in FINAL:
            if time.monotonic() > deadline:
                raise CallFailed(f"The Evals run {run.id} is still {run.status} after {GIVE_UP_SECONDS} s; "
                                 "it goes on at OpenAI (see its report_url).")
            time.sleep(POLL_SECONDS)
            run = session.client.evals.runs.retrieve(run.id, eval_id=eval_id)
    usage = [u for u in (run.per_model_usage or []) if u is not None]
    for u in usage:  # what the run cost at OpenAI: a ledger row per model it used
        row = call if u is usage[0] else session.begin("eval --to-openai")
        row.record(u.model_name, Usage(input_tokens=u.prompt_tokens, output_tokens=u.completion_tokens,
                                       cached_tokens=u.cached_tokens or 0), latency=call.elapsed)
    # What the run says is the server's text: redacted like an API error before it is shown or kept.
    redact = session.redact
    counts = run.result_counts.model_dump() if run.result_counts else {}
    per = [{"name": redact(str(c.testing_criteria)), "passed": c.passed, "failed": c.failed}
           for c in (run.per_testing_criteria_results or [])]
    status = redact(str(run.status))
    why = getattr(getattr(run, "error", None), "message", None)
    if why and run.status == "failed":
        status += f" ({redact(' '.join(str(why).split())[:200])})"
    return {"model": model, "id": run.id, "status": status, "counts": counts, "criteria": per,
            "report_url": redact(str(run.report_url or ""))}
