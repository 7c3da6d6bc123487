"""`%openai usage`: the ledger as a table (by call, cell, model or magic), to a variable or a CSV file."""
from __future__ import annotations

from openai_magics.core.errors import UsageError
from openai_magics.core.session import session
from openai_magics.magics.commands import command


def _usage_arguments(parser) -> None:
    parser.add_argument("--by", choices=("call", "cell", "model", "magic"), default="call")
    parser.add_argument("-o", "--output", metavar="NAME", help="Also bind the table to this variable.")
    parser.add_argument("--csv", metavar="PATH", help="Also write it to a CSV file.")


@command("usage", "The ledger: every call's tokens and dollars.", _usage_arguments)
def usage(args, shell):
    from openai_magics.views.usage_table import UsageTable

    table = UsageTable(session().ledger, by=args.by)
    if args.csv:
        try:
            table.to_csv(args.csv)
        except OSError as exc:
            raise UsageError(f"Cannot write {args.csv}: {exc.strerror or exc}. Does its folder exist?") from None
    if args.output:
        shell.user_ns[args.output] = table
    return table
