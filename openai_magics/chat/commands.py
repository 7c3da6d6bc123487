"""`%openai threads` and `%openai reset [NAME]`: the named conversations of this session."""
from __future__ import annotations

from openai_magics.chat.threads import Threads
from openai_magics.core.errors import UsageError
from openai_magics.core.session import session
from openai_magics.magics.commands import Report, command


def _cut(thread) -> str:
    cut = sum(1 for t in thread.turns if t.incomplete)
    return f" ({cut} cut at the token limit)" if cut else ""


@command("threads", "The named conversations.")
def threads(args, shell) -> Report:
    found = list(session().part(Threads))
    if not found:
        return Report("No threads yet: `%%chat --thread NAME` starts one.", {"threads": {}})
    lines = [f"{t.name}: {len(t.turns)} turn{'s' * (len(t.turns) != 1)}{_cut(t)}" for t in found]
    return Report("\n".join(lines), {"threads": {t.name: len(t.turns) for t in found}})


def _reset_arguments(parser) -> None:
    parser.add_argument("name", nargs="?", help="The thread to forget (all of them when omitted).")


@command("reset", "Forget one thread, or all of them.", _reset_arguments)
def reset(args, shell) -> Report:
    all_threads = session().part(Threads)
    if not len(all_threads) or (args.name and not all_threads.reset(args.name)):
        raise UsageError(f"No thread named {args.name!r}." if args.name else "No threads to reset.")
    if not args.name:
        all_threads.reset()
    return Report(f"reset: {args.name or 'all threads'}")
