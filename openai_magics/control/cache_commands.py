"""`%openai cache on|off|clear|stats [PATH]` and `%openai replay PATH|off`: the response cache."""
from __future__ import annotations

from pathlib import Path

from openai_magics.core.errors import UsageError
from openai_magics.core.session import session
from openai_magics.magics.commands import Report, command


def _cache_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", choices=("on", "off", "clear", "stats"), default="stats")
    parser.add_argument("path", nargs="?", help="The SQLite file (default: ~/.cache/openai-magics/responses.sqlite).")
    parser.add_argument("--no-sampled", action="store_true",
                        help="Cache only answers asked at temperature 0 (by default sampled ones are cached too).")


@command("cache", "The persistent response cache: on|off|clear|stats [PATH].", _cache_arguments)
def cache(args, shell) -> Report:
    from openai_magics.cache.policy import current, stats_text, use
    from openai_magics.cache.store import ResponseCache, holds_text

    s = session()
    if args.action == "on":
        use(s, None)  # first: the same file may be open read-only for replay
        use(s, ResponseCache(args.path, sampled=not args.no_sampled))
        return Report(f"cache: {s.cache.describe()}")
    if args.action == "off":
        use(s, None)
        return Report("cache: off")
    if args.action == "clear":
        mine = current(s) is not None and (args.path is None or s.cache.shown == args.path)
        if not mine and args.path is not None and not Path(args.path).expanduser().is_file():
            raise UsageError(f"No cache file at {args.path}: nothing to clear (and none was made).")
        target = s.cache if mine else ResponseCache(args.path)
        held = target.clear()
        if not mine:
            target.close()
        return Report(f"cache: cleared {target.shown} ({holds_text(held)})", {"cleared": held})
    return Report(stats_text(s, args.path))


def _replay_arguments(parser) -> None:
    parser.add_argument("path", help="The cache file to answer from, or 'off'.")


@command("replay", "Answer only from the cache at PATH, never the network ('off' to stop).", _replay_arguments)
def replay(args, shell) -> Report:
    from openai_magics.cache.policy import use
    from openai_magics.cache.store import ResponseCache

    s = session()
    use(s, None)  # first: a writer's close turns the file back into one self-contained file
    if args.path == "off":
        return Report("replay: off (cache off)")
    use(s, ResponseCache(args.path, replay=True))
    return Report(f"cache: {s.cache.describe()}")
