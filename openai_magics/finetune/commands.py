"""`%openai finetune prepare|start|status|list|cancel`: fine-tuning from the notebook."""
from __future__ import annotations

from pathlib import Path

from openai_magics.core.errors import UsageError
from openai_magics.core.session import session
from openai_magics.magics.kit import variable
from openai_magics.magics.commands import Report, command

ACTIONS = ("prepare", "start", "status", "list", "cancel")


def _arguments(parser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="What to do.")
    parser.add_argument("target", nargs="?",
                        help="prepare/start: a JSONL file or a notebook variable (a list of conversations, a "
                             "DataFrame with a messages column); status/cancel: a job id (status: the latest).")
    parser.add_argument("-m", "--model", help="The model to fine-tune (prepare: whose tokenizer, limit and price).")
    parser.add_argument("--suffix", help="start: a name the fine-tuned model carries.")
    parser.add_argument("--epochs", type=int, help="start: passes over the training set (the API chooses if omitted).")
    parser.add_argument("--validation", help="start: a validation file or variable.")
    parser.add_argument("--once", action="store_true", help="status: read the job once instead of following it.")


@command("finetune", "Fine-tuning: prepare (check a training set), start, status, list, cancel.", _arguments)
def finetune(args, shell):
    return {"prepare": _prepare, "start": _start, "status": _status, "list": _list, "cancel": _cancel}[args.action](
        args, shell)


def _training_set(target: str | None, shell, what: str = "the training set"):
    from openai_magics.finetune.prepare import load_training_set

    if not target:
        raise UsageError(f"Name {what}: a JSONL file or a notebook variable.")
    if Path(target).expanduser().is_file() or shell is None:
        return load_training_set(target, target)
    try:
        value = variable(shell, target, "")
    except UsageError:
        raise UsageError(f"{target}: no such file or notebook variable.") from None
    return load_training_set(str(value) if isinstance(value, Path) else value, target)


def _prepare(args, shell):
    from openai_magics.finetune.prepare import prepare
    from openai_magics.finetune.result import PrepareReport

    return PrepareReport(prepare(_training_set(args.target, shell), args.model))


def _start(args, shell):
    from openai_magics.finetune.facade import launch
    from openai_magics.finetune.result import JobView

    sets = [_training_set(args.target, shell)]
    if args.validation:
        sets.append(_training_set(args.validation, shell, "the validation set"))
    return JobView(launch(session(), sets, args.model, suffix=args.suffix, epochs=args.epochs))


def _job_id(args) -> str:
    from openai_magics.finetune.jobs import JobStore

    found = args.target or JobStore(session().base_url).latest()
    if not found:
        raise UsageError("No fine-tuning job started here yet: name one (`%openai finetune list`).")
    return found


def _status(args, shell):
    from openai_magics.finetune import engine
    from openai_magics.finetune.result import JobView

    s, job_id = session(), _job_id(args)
    if args.once:
        return JobView(engine.retrieve(s, job_id))
    from openai_magics.views.live import LiveHtml

    live = LiveHtml()  # the job as it runs; a saved notebook keeps only the finished view the cell returns
    try:
        job = engine.follow(s, job_id, lambda j: live.show(JobView(j)._repr_html_()))
    finally:
        live.retire()
    return JobView(job)


def _list(args, shell):
    from openai_magics.finetune import engine
    from openai_magics.finetune.result import JobList

    return JobList(engine.list_jobs(session()))


def _cancel(args, shell) -> Report:
    from openai_magics.finetune import engine

    if not args.target:
        raise UsageError("Name the job to cancel: `%openai finetune cancel ftjob-…`.")
    job = engine.cancel(session(), args.target)
    return Report(f"{job.id}: {job.status}", {"job": job})
