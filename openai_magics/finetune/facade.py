"""`openai_magics.finetune(training, …)`: start (and optionally follow) a fine-tuning job from plain Python."""
from __future__ import annotations

from pathlib import Path

from openai_magics.core.errors import UsageError
from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def finetune(training, *, model: str | None = None, suffix: str | None = None, epochs: int | None = None,
             validation=None, wait: bool = False, session=None):
    """Check `training` (a JSONL path, a list of conversations, or a DataFrame with a `messages` column),
    upload it (and `validation`), start the job and return its `JobView`; with `wait`, followed to its end."""
    from openai_magics.finetune import engine
    from openai_magics.finetune.prepare import load_training_set
    from openai_magics.finetune.result import JobView

    def loaded(source, name: str):
        return load_training_set(str(source) if isinstance(source, Path) else source, name)

    s = session or current_session()
    sets = [loaded(training, _name(training, "training"))]
    if validation is not None:
        sets.append(loaded(validation, _name(validation, "validation")))
    job = launch(s, sets, model, suffix=suffix, epochs=epochs)
    return JobView(engine.follow(s, job.id, lambda _: None) if wait else job)


def launch(s, sets: list, model: str | None, *, suffix: str | None, epochs: int | None):
    """Check the training (and validation) sets, hold the training to the budget, upload and start the job:
    nothing is uploaded when a set has problems or the training would not fit."""
    from openai_magics.finetune import engine
    from openai_magics.finetune.prepare import DEFAULT_MODEL, prepare
    from openai_magics.finetune.result import PrepareReport

    if epochs is not None and epochs < 1:
        raise UsageError(f"--epochs must be positive, not {epochs}.")
    model = model or DEFAULT_MODEL
    preparations = [prepare(found, model) for found in sets]
    for preparation in preparations:
        if preparation.problems:
            raise UsageError("\n".join(PrepareReport(preparation).lines()))
    _check_budget(s, preparations[0], epochs)
    ids = [engine.upload(s, Path(found.name).name if found.name.endswith(".jsonl") else f"{found.name}.jsonl",
                         found.jsonl) for found in sets]
    return engine.start(s, ids[0], model, suffix=suffix, epochs=epochs, validation=ids[1] if len(ids) > 1 else None)


def _name(source, fallback: str) -> str:
    return str(source) if isinstance(source, (str, Path)) else fallback


def _check_budget(s, preparation, epochs: int | None) -> None:
    """With a budget set, training must fit in what is left, counted before anything is uploaded."""
    from openai_magics.metering.pricing import format_usd

    if s.budget is None:
        return
    if preparation.cost_per_epoch is None or epochs is None:
        why = (f"the training price of {preparation.model} is unknown" if preparation.cost_per_epoch is None
               else "without --epochs the API chooses how many, so the cost has no bound")
        raise UsageError(f"Refused before uploading: a budget of {format_usd(s.budget)} is set and {why}. "
                         "Give --epochs N, or turn the budget off with `%openai budget off`.")
    worst, spent = preparation.cost_per_epoch * epochs, s.ledger.total_cost
    if spent + worst > s.budget:
        raise UsageError(f"Refused before uploading: training ({preparation.total:,} tokens × {epochs} epochs, "
                         f"{format_usd(worst)}) would bring spending to {format_usd(spent + worst)}, over the "
                         f"budget of {format_usd(s.budget)}.")
