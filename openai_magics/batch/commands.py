"""`%openai batch list|status ID|results ID|cancel ID`: batches of this account, also after a restart."""
from __future__ import annotations

from openai_magics.batch import engine
from openai_magics.batch.store import known
from openai_magics.core.errors import UsageError
from openai_magics.core.session import session
from openai_magics.magics.kit import check_positive
from openai_magics.magics.commands import Report, command

ACTIONS = ("list", "status", "results", "cancel", "resume")


def _arguments(parser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="list | status ID | results ID | cancel ID | resume [JOB]")
    parser.add_argument("id", nargs="?", help="The batch id (batch_…), or with resume a sharded job's (job-…).")
    parser.add_argument("--limit", type=int, default=20, help="With list: how many of the most recent (default 20).")


@command("batch", "Batches: list, status ID, results ID (aligned with the input), cancel ID, resume [JOB] (a "
                  "sharded job after a restart).", _arguments)
def batch(args, shell):
    s = session()
    if args.action == "resume":
        from openai_magics.batch.shards import resume
        from openai_magics.magics.kit import is_terminal
        from openai_magics.views.progress import NoRowProgress, RowProgress

        return resume(s, args.id, NoRowProgress() if is_terminal(shell) else RowProgress())
    if args.action == "list":
        check_positive(args.limit, "--limit")
        found, more, malformed = engine.listing(s, args.limit)
        if not found and not malformed:
            return Report("No batches yet: `%%chat --over NAME --batch` submits one.", {"batches": []})
        mine = set(known())
        lines = [f"{b}{' · kept here' if b.id in mine else ''}" for b in found]
        if malformed:
            lines.append(f"… {malformed:,} entr{'ies' if malformed != 1 else 'y'} of the server's list "
                         "not a batch (no id or no known status), left out.")
        if more:
            lines.append(f"… older ones too: `%openai batch list --limit {args.limit * 5}` shows more.")
        return Report("\n".join(lines), {"batches": [b.id for b in found]})
    if not args.id:
        raise UsageError(f"%openai batch {args.action} needs a batch id (`%openai batch list` shows them).")
    if args.action == "status":
        return engine.BatchInfo.of(engine.retrieve(s, args.id))
    if args.action == "cancel":
        return engine.cancel(s, args.id)
    return engine.collect(s, args.id)
