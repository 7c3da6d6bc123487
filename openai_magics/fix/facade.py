"""`openai_magics.fix()` and `openai_magics.explain()`: what `%fix` and `%explain` do, from plain Python."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def fix(question: str | None = None, *, model: str | None = None, context_tokens: int | None = None,
        dry_run: bool = False, cache: bool = True, stream: bool = False, view=None, session=None, shell=None):
    """Ask for the last error's cell, corrected; the corrected cell becomes the next input (never run).
    Returns the ChatResult (a ChatDryRun with `dry_run=True`)."""
    return ask_about_error("fix", question, model=model, context_tokens=context_tokens, dry_run=dry_run,
                           cache=cache, stream=stream, view=view, session=session, shell=shell)


@after_warm_up
def explain(question: str | None = None, *, model: str | None = None, context_tokens: int | None = None,
            dry_run: bool = False, cache: bool = True, stream: bool = False, view=None, session=None, shell=None):
    """Ask why the last error happened, in prose. Returns the ChatResult."""
    return ask_about_error("explain", question, model=model, context_tokens=context_tokens, dry_run=dry_run,
                           cache=cache, stream=stream, view=view, session=session, shell=shell)


def ask_about_error(kind: str, question: str | None, *, model=None, context_tokens=None, dry_run=False,
                    cache=True, stream=False, view=None, session=None, shell=None):
    """The one path of `%fix`, `%explain`, `fix()` and `explain()`; the ledger row is named after `kind`."""
    from openai_magics.chat.facade import ask_as
    from openai_magics.fix.error import last_error
    from openai_magics.fix.prompt import prompt_for
    from openai_magics.magics.kit import check_positive
    from openai_magics.core.errors import UsageError

    check_positive(context_tokens, "--context-tokens")
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise UsageError(f"{kind}() reads the last error of an IPython kernel: run it in a notebook or IPython.")
    s = session or current_session()
    error = last_error(shell)
    result = ask_as(kind, prompt_for(kind, error, question, s), model=model, context=error.variables or None,
                    context_tokens=context_tokens, dry_run=dry_run, stream=stream and not dry_run, cache=cache,
                    view=view, session=s)
    if kind == "fix" and not dry_run and result.code and not (result.interrupted or result.incomplete):
        shell.set_next_input(result.code, replace=False)  # the corrected cell, to read before running it
    return result
