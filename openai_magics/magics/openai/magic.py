"""`%openai`: the session's status, key, endpoint, models, offline server, usage, budget, prices (SPEC §7).

The configurable `OpenAIMagics` also carries the traitlets (`%config OpenAIMagics.chat_model = "…"`).
"""
from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser
from traitlets import Float, Int, Unicode, observe

from openai_magics.core.config import MODEL_KINDS
from openai_magics.core.errors import UsageError
from openai_magics.core.pricing import format_usd
from openai_magics.core.session import session


def _parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(prog="%openai", description="The OpenAI session of this kernel.")
    sub = parser.add_subparsers(dest="command", parser_class=MagicArgumentParser)
    sub.add_parser("status", help="Endpoint, key (masked), models, budget, totals.")
    key = sub.add_parser("key", help="Set the API key (asked for, never echoed).")
    key.add_argument("--env", metavar="VAR", help="Read it from this environment variable instead.")
    endpoint = sub.add_parser("endpoint", help="Use an OpenAI-compatible server (or 'default').")
    endpoint.add_argument("url")
    endpoint.add_argument("--key-env", metavar="VAR", help="The key for this server, from this environment variable.")
    endpoint.add_argument("--send-openai-key", action="store_true",
                          help="Send your OpenAI key to this server too (a proxy you trust in front of OpenAI).")
    endpoint.add_argument("--bills", choices=("openai",),
                          help="openai: it bills like OpenAI (a proxy or gateway in front of it): price calls "
                               "by OpenAI's table. Otherwise prices are unknown unless `%%openai price` sets them.")
    model = sub.add_parser("model", help="Default model: `model NAME` (chat) or `model KIND NAME`.")
    model.add_argument("words", nargs="+", metavar="[KIND] NAME")
    sub.add_parser("offline", help="Start the bundled offline server and use it (no key needed).")
    usage = sub.add_parser("usage", help="The ledger: every call's tokens and dollars.")
    usage.add_argument("--by", choices=("call", "cell", "model", "magic"), default="call")
    usage.add_argument("-o", "--output", metavar="NAME")
    usage.add_argument("--csv", metavar="PATH")
    budget = sub.add_parser("budget", help="A hard spending cap in USD, or 'off'.")
    budget.add_argument("amount", nargs="?")
    price = sub.add_parser("price", help="Token prices of a model; `price MODEL IN OUT` sets them (USD per million).")
    price.add_argument("model")
    price.add_argument("rates", nargs="*", metavar="IN OUT", help="USD per million input and output tokens.")
    sub.add_parser("models", help="The models the endpoint offers.")
    sub.add_parser("threads", help="The named conversations.")
    cache = sub.add_parser("cache", help="The persistent response cache: on|off|clear|stats [PATH].")
    cache.add_argument("action", nargs="?", choices=("on", "off", "clear", "stats"), default="stats")
    cache.add_argument("path", nargs="?", help="The SQLite file (default: ~/.cache/openai-magics/responses.sqlite).")
    cache.add_argument("--no-sampled", action="store_true",
                       help="Cache only answers asked at temperature 0 (by default sampled ones are cached too).")
    replay = sub.add_parser("replay", help="Answer only from the cache at PATH, never the network ('off' to stop).")
    replay.add_argument("path")
    reset = sub.add_parser("reset", help="Forget one thread, or all of them.")
    reset.add_argument("name", nargs="?")
    return parser


UNKNOWN_HINT = ("If the endpoint bills like OpenAI (a proxy in front of it): `%openai endpoint URL --bills openai`; "
                "or set a price: `%openai price MODEL IN OUT` (USD per million tokens).")


def prices_text(s) -> str:
    mine = f"; yours for {', '.join(s.prices)}" if s.prices else ""
    if s.config.offline:
        return "as OpenAI bills (the offline server teaches costs; nothing is charged)" + mine
    if s.config.is_openai:
        return "OpenAI's" + mine
    if s.config.bills_like_openai:
        return "OpenAI's (you said this endpoint bills like OpenAI)" + mine
    return "unknown on this endpoint" + mine + ". " + UNKNOWN_HINT


def _user_prices(model: str, rates: list[str]):
    from openai_magics.core.pricing import TokenPrices

    try:
        given = [Decimal(r.lstrip("$")) for r in rates]
    except InvalidOperation:
        given = []
    if len(given) != 2 or any(r < 0 or not r.is_finite() for r in given):
        raise UsageError(f"`%openai price {model} IN OUT`: two amounts in USD per million tokens, e.g. 0.15 0.60.")
    return TokenPrices(model=model, input=given[0], cached_input=given[0], output=given[1])


@magics_class
class OpenAIMagics(Magics):
    chat_model = Unicode(None, allow_none=True, help="Default model for %%chat.").tag(config=True)
    embed_model = Unicode(None, allow_none=True, help="Default model for %%embed.").tag(config=True)
    image_model = Unicode(None, allow_none=True, help="Default model for %%image.").tag(config=True)
    transcribe_model = Unicode(None, allow_none=True, help="Default model for %%transcribe.").tag(config=True)
    speech_model = Unicode(None, allow_none=True, help="Default model for %%speak.").tag(config=True)
    api = Unicode(None, allow_none=True, help="auto, chat or responses.").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="Default cap on answer tokens.").tag(config=True)
    timeout = Float(None, allow_none=True, help="Seconds before a request times out.").tag(config=True)
    max_retries = Int(None, allow_none=True, help="Retries on 429/5xx/timeouts.").tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self._parser = _parser()
        self._apply_all()

    @observe("chat_model", "embed_model", "image_model", "transcribe_model", "speech_model",
             "api", "max_tokens", "timeout", "max_retries")
    def _config_changed(self, change):
        self._apply(change["name"], change["new"])

    def _apply_all(self):
        for name in self.trait_names(config=True):
            if getattr(self, name) is not None:
                self._apply(name, getattr(self, name))

    def _apply(self, name, value):
        if value is None:
            return
        s = session()
        if name.endswith("_model"):
            s.config.models[name.removesuffix("_model")] = value
        elif name == "api" and value not in ("auto", "chat", "responses"):
            raise UsageError(f"OpenAIMagics.api must be auto, chat or responses, not {value!r}.")
        else:
            s.configure(**{name: value})

    @no_var_expand
    @line_magic
    def openai(self, line: str):
        """The OpenAI session of this kernel. `%openai` alone shows its status; `%openai -h`-style help: `%openai?`.

        Subcommands: status, key [--env VAR], endpoint URL|default, model [KIND] NAME, offline,
        usage [--by call|cell|model|magic] [-o NAME] [--csv PATH], budget USD|off, price MODEL,
        models, threads, cache on|off|clear|stats [PATH] [--no-sampled], replay PATH|off, reset [NAME].
        """
        args = self._parser.parse_argstring(line)
        handler = getattr(self, f"_cmd_{args.command or 'status'}")
        return handler(args)

    # -- subcommands --
    def _cmd_status(self, args):
        from openai_magics.cache.policy import current

        s = session()
        cache = current(s)
        c = s.config
        where = f"offline server at {s.base_url} (answers are not from OpenAI)" if c.offline else s.base_url
        lines = [
            f"endpoint: {where}",
            f"key:      {_key_line(c)}",
            "models:   " + ", ".join(f"{k} {v}" for k, v in c.models.items()),
            f"api:      {c.api}",
            f"prices:   {prices_text(s)}",
            f"budget:   {format_usd(s.budget) + ' (' + format_usd(s.budget - s.ledger.total_cost) + ' left)' if s.budget is not None else 'off'}",
            f"cache:    {cache.describe() if cache else 'off'}",
            f"session:  {len(s.ledger)} calls, {format_usd(s.ledger.total_cost)} spent"
            + (f" (+{s.ledger.unknown_calls} at unknown prices)" if s.ledger.unknown_calls else "")
            + (f", {format_usd(s.ledger.total_saved)} saved by the cache" if s.ledger.total_saved else ""),
        ]
        print("\n".join(lines))

    def _cmd_key(self, args):
        if args.env:
            value = os.environ.get(args.env)
            if not value:
                raise UsageError(f"Environment variable {args.env} is not set.")
            session().set_key(value, source=args.env)
        else:
            import getpass

            value = getpass.getpass("OpenAI API key (not shown): ")
            if not value.strip():
                raise UsageError("No key entered; nothing changed.")
            session().set_key(value, source="%openai key")
        print(f"key set: {session().config.api_key.masked}")

    def _cmd_endpoint(self, args):
        from openai_magics.core.config import Secret

        s = session()
        if args.url == "default":
            if args.key_env or args.send_openai_key:
                raise UsageError("OpenAI's own endpoint gets your OpenAI key (`%openai key`): no --key-env here.")
            s.configure(base_url=None, offline=False, bills=None)
            print(f"endpoint: {s.base_url}")
            print(f"prices:   {prices_text(s)}")
            return
        url = _checked_url(args.url)
        if args.key_env and args.send_openai_key:
            raise UsageError("--key-env or --send-openai-key: one key per endpoint.")
        key = None
        if args.key_env:
            value = os.environ.get(args.key_env, "").strip()
            if not value:
                raise UsageError(f"Environment variable {args.key_env} is not set; nothing changed.")
            key = Secret(value, args.key_env)
        elif args.send_openai_key:
            if s.config.api_key is None:
                raise UsageError("No OpenAI key to send: set one with `%openai key` first.")
            key = s.config.api_key
        s.configure(base_url=url, offline=False, endpoint_key=key, bills=args.bills)
        sent = s.config.key_to_send()
        print(f"endpoint: {s.base_url} (key: {sent.masked if sent else 'none sent'})")
        print(f"prices:   {prices_text(s)}")
        if not s.config.is_openai:
            from openai_magics.magics.openai.served import served_check

            print(served_check(s))

    def _cmd_model(self, args):
        words = args.words
        if len(words) == 1:
            kind, name = "chat", words[0]
        elif len(words) == 2 and words[0] in MODEL_KINDS:
            kind, name = words
        else:
            raise UsageError(f"Use `%openai model NAME` or `%openai model KIND NAME` (KIND: {', '.join(MODEL_KINDS)}).")
        session().config.models[kind] = name
        print(f"{kind} model: {name}")

    def _cmd_offline(self, args):
        from openai_magics.offline import start_for

        start_for(session())
        print("Using the bundled offline server: deterministic answers, no key, nothing charged. "
              "Nothing it answers comes from OpenAI; costs show what OpenAI would bill.")

    def _cmd_usage(self, args):
        from openai_magics.views.usage_table import UsageTable

        table = UsageTable(session().ledger, by=args.by)
        if args.csv:
            table.to_csv(args.csv)
        if args.output:
            self.shell.user_ns[args.output] = table
        return table

    def _cmd_budget(self, args):
        s = session()
        if args.amount is None:
            print(f"budget: {format_usd(s.budget) if s.budget is not None else 'off'}")
            return
        if args.amount == "off":
            s.budget = None
            print("budget: off")
            return
        try:
            amount = Decimal(args.amount.lstrip("$"))
        except InvalidOperation:
            raise UsageError(f"A budget is an amount in USD (e.g. 0.50) or 'off', not {args.amount!r}.") from None
        if amount < 0:
            raise UsageError("A budget cannot be negative.")
        s.budget = amount
        print(f"budget: {format_usd(amount)} ({format_usd(max(Decimal(0), amount - s.ledger.total_cost))} left)")

    def _cmd_price(self, args):
        s = session()
        if args.rates:
            s.prices[args.model] = _user_prices(args.model, args.rates)
        prices = s.prices_for(args.model)
        if prices is None:
            print(f"{args.model}: price unknown here. {UNKNOWN_HINT}")
            return
        print(f"{args.model} (priced as {prices.model}), per million tokens: input ${prices.input}, "
              f"cached input ${prices.cached_input}, output ${prices.output}")

    def _cmd_models(self, args):
        s = session()
        s.http.begin()
        with s.api_errors():
            names = sorted(m.id for m in s.client.models.list())
        print("\n".join(names))

    def _cmd_threads(self, args):
        from openai_magics.chat.threads import Threads

        threads = list(session().part(Threads))
        if not threads:
            print("No threads yet: `%%chat --thread NAME` starts one.")
        for t in threads:
            print(f"{t.name}: {len(t.turns)} turn{'s' * (len(t.turns) != 1)}")

    def _cmd_cache(self, args):
        from openai_magics.cache.policy import current, stats_text, use
        from openai_magics.cache.store import ResponseCache, holds_text

        s = session()
        if args.action == "on":
            use(s, None)  # first: the same file may be open read-only for replay
            use(s, ResponseCache(args.path, sampled=not args.no_sampled))
            print(f"cache: {s.cache.describe()}")
        elif args.action == "off":
            use(s, None)
            print("cache: off")
        elif args.action == "clear":
            mine = current(s) is not None and (args.path is None or s.cache.shown == args.path)
            cache = s.cache if mine else ResponseCache(args.path)
            held = cache.clear()
            if not mine:
                cache.close()
            print(f"cache: cleared {cache.shown} ({holds_text(held)})")
        else:
            print(stats_text(s, args.path))

    def _cmd_replay(self, args):
        from openai_magics.cache.policy import use
        from openai_magics.cache.store import ResponseCache

        s = session()
        use(s, None)  # first: a writer's close turns the file back into one self-contained file
        if args.path == "off":
            print("replay: off (cache off)")
            return
        use(s, ResponseCache(args.path, replay=True))
        print(f"cache: {s.cache.describe()}")

    def _cmd_reset(self, args):
        from openai_magics.chat.threads import Threads

        threads = session().part(Threads)
        if not len(threads) or (args.name and not threads.reset(args.name)):
            raise UsageError(f"No thread named {args.name!r}." if args.name else "No threads to reset.")
        if not args.name:
            threads.reset()
        print(f"reset: {args.name or 'all threads'}")


def _key_line(config) -> str:
    """Which key this endpoint gets: OpenAI's goes to OpenAI (or Azure) only."""
    sent = config.key_to_send()
    if sent is not None:
        return sent.masked
    if config.is_openai or config.is_azure:
        return "not set (%openai key, OPENAI_API_KEY, or %openai offline)"
    kept = f"; your OpenAI key ({config.api_key.masked}) goes to OpenAI only" if config.api_key else ""
    return f"none sent to this endpoint{kept} (`%openai endpoint URL --key-env VAR` gives it one)"


def _checked_url(url: str) -> str:
    """An endpoint URL the HTTP client can use, or one clear UsageError."""
    from urllib.parse import urlsplit

    problem = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as exc:
        parts, problem = None, str(exc)
    if parts is not None and parts.scheme not in ("http", "https"):
        problem = "it must start with http:// or https://"
    elif parts is not None and not parts.hostname:
        problem = "it names no host"
    elif any(c.isspace() for c in url):
        problem = "it contains spaces"
    if problem:
        raise UsageError(f"Not an endpoint URL: {url!r} ({problem}). E.g. `%openai endpoint http://localhost:11434/v1`.")
    return url.rstrip("/")
