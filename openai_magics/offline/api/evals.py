"""`/evals` and `/evals/{eval_id}/runs`: enough of the Evals API to create an eval, run it over inline items
with a model, and report. Answers come from the same deterministic text as chat; string checks and label
models are graded here (a label model picks its first label, as the offline structured output does); other
criteria are reported as errored, not guessed."""
from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field

from openai_magics.offline.api import answers
from openai_magics.offline.errors import RequestError, known, not_found
from openai_magics.offline.router import Route

_ids = itertools.count(1)
_VARIABLE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


@dataclass
class EvalStore:
    evals: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)   # run id → (run, times retrieved)


def _fill(template: str, item: dict, sample: dict | None = None) -> str:
    def value(match):
        scope, _, key = match.group(1).partition(".")
        source = item if scope == "item" else (sample or {}) if scope == "sample" else None
        if source is None:
            return match.group(0)
        return str(source.get(key, "")) if key else str(source)
    return _VARIABLE.sub(value, template)


def create_eval(state, request) -> dict:
    body = request.body
    config = body["data_source_config"]
    if config.get("type") != "custom":
        raise RequestError("The offline server takes custom data source configs only.", param="data_source_config")
    created = {"object": "eval", "id": f"eval_offline{next(_ids)}", "name": body.get("name") or "eval",
               "created_at": int(time.time()), "metadata": body.get("metadata"),
               "data_source_config": {"type": "custom", "schema": config["item_schema"]},
               "testing_criteria": body["testing_criteria"]}
    with state.lock:
        state.part(EvalStore).evals[created["id"]] = created
    return created


def _eval(state, eval_id: str) -> dict:
    return known(state.part(EvalStore).evals, eval_id, "Eval", "eval_id")


def retrieve_eval(state, request) -> dict:
    return _eval(state, request.params["eval_id"])


def _grade(criterion: dict, item: dict, output: str) -> bool | None:
    """Passed or not; None when the offline server does not grade this kind."""
    if criterion["type"] == "string_check":
        given, reference = _fill(criterion["input"], item, {"output_text": output}), _fill(criterion["reference"], item)
        op = criterion["operation"]
        return {"eq": given == reference, "ne": given != reference, "like": reference in given,
                "ilike": reference.casefold() in given.casefold()}[op]
    if criterion["type"] == "label_model":
        return criterion["labels"][0] in criterion["passing_labels"]
    return None


def create_run(state, request) -> dict:
    evaluation = _eval(state, request.params["eval_id"])
    source = request.body["data_source"]
    if source.get("type") != "completions" or source.get("source", {}).get("type") != "file_content":
        raise RequestError("The offline server runs completions over file_content items only.", param="data_source")
    model = source.get("model") or "gpt-4o-mini"
    template = source["input_messages"]["template"]
    counts = {"total": 0, "passed": 0, "failed": 0, "errored": 0}
    per = {c["name"]: {"testing_criteria": c["name"], "passed": 0, "failed": 0} for c in evaluation["testing_criteria"]}
    usage = {"model_name": model, "invocation_count": 0, "prompt_tokens": 0, "completion_tokens": 0,
             "total_tokens": 0, "cached_tokens": 0}
    for row in source["source"]["content"]:
        item = row["item"]
        messages = [{"role": m["role"], "content": _fill(m["content"], item)} for m in template]
        output = answers.answer_text(messages[-1]["content"], model)
        usage["invocation_count"] += 1
        usage["prompt_tokens"] += answers.prompt_tokens(messages, model)
        usage["completion_tokens"] += len(answers.tokenize(output, model))
        verdicts = [(c["name"], _grade(c, item, output)) for c in evaluation["testing_criteria"]]
        counts["total"] += 1
        if any(v is None for _, v in verdicts):
            counts["errored"] += 1
        else:
            counts["passed" if all(v for _, v in verdicts) else "failed"] += 1
        for name, passed in verdicts:
            if passed is not None:
                per[name]["passed" if passed else "failed"] += 1
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    run = {"object": "eval.run", "id": f"evalrun_offline{next(_ids)}", "eval_id": evaluation["id"],
           "status": "queued", "model": model, "name": request.body.get("name") or model,
           "created_at": int(time.time()), "report_url": f"https://platform.openai.com/evaluations/{evaluation['id']}",
           "result_counts": counts, "per_model_usage": [usage],
           "per_testing_criteria_results": list(per.values()), "data_source": source,
           "metadata": request.body.get("metadata"), "error": None}
    with state.lock:
        state.part(EvalStore).runs[run["id"]] = run
    return {**run, "result_counts": {k: 0 for k in counts}, "per_model_usage": [],
            "per_testing_criteria_results": []}


def retrieve_run(state, request) -> dict:
    _eval(state, request.params["eval_id"])
    run = state.part(EvalStore).runs.get(request.params["run_id"])
    if run is None:
        raise not_found("EvalRun", request.params["run_id"], param="run_id")
    with state.lock:  # queued when created, then done: a client has to follow it
        run["status"] = "completed"
    return run


ROUTES = [
    Route("POST", "/evals", create_eval),
    Route("GET", "/evals/{eval_id}", retrieve_eval),
    Route("POST", "/evals/{eval_id}/runs", create_run),
    Route("GET", "/evals/{eval_id}/runs/{run_id}", retrieve_run),
]
