"""`%openai store create NAME PATH…|VAR`, `add NAME PATH…|VAR`, `list`, `status NAME`, `delete NAME`: vector
stores for `%%chat --files NAME`, kept by name across restarts."""
from __future__ import annotations

from openai_magics.core.session import session
from openai_magics.magics.commands import Report, command
from openai_magics.stores import engine
from openai_magics.core.errors import UsageError

ACTIONS = ("create", "add", "list", "status", "delete")


def _arguments(parser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="create NAME PATH… | add NAME PATH… | list | status NAME | "
                                                        "delete NAME")
    parser.add_argument("name", nargs="?", help="The store's name (one word).")
    parser.add_argument("sources", nargs="*", help="Files, globs, folders, or a variable holding a list, Series or "
                                                   "DataFrame column of texts.")


@command("store", "Vector stores for %%chat --files: create NAME PATH…, add NAME PATH…, list, status NAME, "
                  "delete NAME.", _arguments)
def store(args, shell):
    s = session()
    if args.action == "list":
        found = engine.listing(s)
        if not found:
            return Report("No stores on this endpoint yet: `%openai store create NAME PATH…` makes one.",
                          {"stores": []})
        return Report("\n".join(i.line for i in found), {"stores": {i.name: i.id for i in found}})
    if not args.name:
        raise UsageError(f"%openai store {args.action} needs the store's name (`%openai store list` shows them).")
    if args.action in ("create", "add"):
        if not args.sources:
            raise UsageError(f"%openai store {args.action} {args.name} needs files: paths, globs, folders or a "
                             "variable of texts. Nothing was uploaded.")
        act = engine.create if args.action == "create" else engine.add
        return act(s, args.name, args.sources, shell, _progress(shell))
    if args.action == "status":
        return engine.status(s, args.name)
    return Report(engine.delete(s, args.name))


def _progress(shell):
    from openai_magics.magics.kit import is_terminal
    from openai_magics.views.progress import NoRowProgress, RowProgress

    return NoRowProgress() if is_terminal(shell) else RowProgress()
