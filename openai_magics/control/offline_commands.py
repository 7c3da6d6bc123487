"""`%openai offline`: start the bundled offline server and point the session at it.

It joins the session (core) to the server (offline), which only the composition root may do.
"""
from __future__ import annotations

from openai_magics.wire.sdk import wait_for_warm_up, warm_up
from openai_magics.core.session import session
from openai_magics.magics.commands import Report, command


def _offline_arguments(parser) -> None:
    parser.add_argument("--any-model", action="store_true",
                        help="Answer any model name, as a compatible server with models of its own would (to "
                             "rehearse one). Otherwise only OpenAI's models: another name is OpenAI's 404.")


@command("offline", "Start the bundled offline server and use it (no key needed).", _offline_arguments)
def offline(args, shell) -> Report:
    from openai_magics.offline import start_for

    server = start_for(session())
    server.any_model = args.any_model
    _prepare_before_next_cell(shell, session().model_for("chat"))
    any_name = " It answers any model name (--any-model), as a compatible server would." if args.any_model else ""
    return Report("Using the bundled offline server: deterministic answers, no key, nothing charged. "
                  f"Nothing it answers comes from OpenAI; costs show what OpenAI would bill.{any_name}",
                  {"base_url": server.base_url, "any_model": args.any_model})


def _prepare_before_next_cell(shell, model: str) -> None:
    """Start `_prepare_first_answer` behind the prompt; the next cell, whatever it runs, waits for it first, as
    every magic and facade does."""
    warm_up(_prepare_first_answer, model)
    if shell is None:
        return

    def before_the_cell(*_info) -> None:
        wait_for_warm_up()
        shell.events.unregister("pre_run_cell", before_the_cell)

    shell.events.register("pre_run_cell", before_the_cell)


def _prepare_first_answer(model: str) -> None:
    """Load, while the user writes the next cell, what the first answer needs: the session's client (the SDK)
    and the model's prices (the server's encoder loads in its helper process, on the other core). Without it
    the first `%%chat` paid for them all before its first token; a cell that comes sooner waits only for what
    is still loading (the imports load once, under their own locks)."""
    try:
        session().client.chat.completions  # the SDK imports a resource's modules, and its HTTP stack, on first use
        session().prices_for(model)
    except Exception:  # only a head start: the cell that needs one of them says what is wrong, in one line
        pass
