"""The `openai-magics` command: `openai-magics run NOTEBOOK` shows in a terminal what a notebook does."""
from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openai-magics", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", help="Execute a notebook; print each cell's source and text outputs, then the session's totals.",
        description="Execute a notebook top to bottom in a kernel of this Python and print, per cell, its source "
                    "and text outputs, then the calls, tokens, dollars and cache hits of the session. "
                    "Exits non-zero, naming the cell, when a cell fails.")
    run.add_argument("notebook", type=Path, help="The .ipynb file (its folder is the kernel's working folder).")
    run.add_argument("--offline", action="store_true",
                     help="Answer from the bundled offline server, even where the notebook does not say %%openai offline.")
    run.add_argument("--replay", metavar="FILE", type=Path,
                     help="Answer only from this cache file, never the network (as %%openai replay FILE).")
    run.add_argument("--budget", metavar="USD", type=_amount, help="Refuse calls that would spend more than this.")
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        parser.error(f"no notebook at {args.notebook}")
    if args.replay is not None and not args.replay.is_file():
        parser.error(f"--replay: no file at {args.replay}")

    import sys

    from openai_magics.cli.run import NotANotebook, Stopped, run_notebook

    try:
        return run_notebook(args.notebook, offline=args.offline, replay=args.replay, budget=args.budget)
    except NotANotebook as exc:
        print(f"openai-magics: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C: one line, not the kernel client's tracebacks
        cell = f" during cell {exc.cell}" if isinstance(exc, Stopped) and exc.cell else ""
        print(f"openai-magics: interrupted{cell}; the rest of {args.notebook} was not run.", file=sys.stderr)
        return 130


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text.lstrip("$"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"an amount in USD (e.g. 0.50), not {text!r}") from None
    if amount < 0 or not amount.is_finite():
        raise argparse.ArgumentTypeError(f"an amount in USD (e.g. 0.50), not {text!r}")
    return amount
