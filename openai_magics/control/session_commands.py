"""`%openai status|key|endpoint|model|offline|budget|price|models`: the session's where, who and how much."""
from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation

from openai_magics.core.config import MODEL_KINDS
from openai_magics.core.errors import UsageError
from openai_magics.metering.pricing import format_usd
from openai_magics.core.session import session
from openai_magics.magics.commands import Report, command

UNKNOWN_HINT = ("If the endpoint bills like OpenAI (a proxy in front of it): `%openai endpoint URL --bills openai`; "
                "or set a price: `%openai price MODEL IN OUT` (USD per million tokens).")


def prices_text(s) -> str:
    """Which price table this session's calls are charged by."""
    mine = f"; yours for {', '.join(s.prices)}" if s.prices else ""
    if s.config.offline:
        return "as OpenAI bills (the offline server teaches costs; nothing is charged)" + mine
    if s.config.is_openai:
        return "OpenAI's" + mine
    if s.config.bills_like_openai:
        return "OpenAI's (you said this endpoint bills like OpenAI)" + mine
    return "unknown on this endpoint" + mine + ". " + UNKNOWN_HINT


@command("status", "Endpoint, key (masked), models, budget, cache, totals.")
def status(args, shell) -> Report:
    from openai_magics.cache.policy import current

    s = session()
    try:
        cache = current(s)
        cache_line = cache.describe() if cache else "off"
    except UsageError as exc:  # a replay file from the environment that cannot be used: say why here too
        cache_line = str(exc)
    c, ledger = s.config, s.ledger
    where = f"offline server at {s.base_url} (answers are not from OpenAI)" if c.offline else s.base_url
    budget = (f"{format_usd(s.budget)} ({format_usd(s.budget - ledger.total_cost)} left)"
              if s.budget is not None else "off")
    spent = f"{ledger.calls} calls, {format_usd(ledger.total_cost)} spent"
    if ledger.unknown_calls:
        spent += f" (+{ledger.unknown_calls} at unknown prices)"
    if ledger.total_saved:
        spent += f", {format_usd(ledger.total_saved)} saved by the cache"
    lines = [
        f"endpoint: {where}",
        f"key:      {_key_line(c)}",
        *([f"key type: {_key_type(c.api_key)}"] if c.api_key is not None else []),
        "models:   " + ", ".join(f"{k} {v}" for k, v in c.models.items()),
        f"api:      {c.api}",
        f"prices:   {prices_text(s)}",
        f"budget:   {budget}",
        f"cache:    {cache_line}",
        f"session:  {spent}",
    ]
    return Report("\n".join(lines), {"endpoint": s.base_url, "calls": ledger.calls, "spent": ledger.total_cost,
                                     "budget": s.budget, "models": dict(c.models)})


def _key_arguments(parser) -> None:
    parser.add_argument("--env", metavar="VAR", help="Read it from this environment variable instead.")


@command("key", "Set the API key (asked for, never echoed).", _key_arguments)
def key(args, shell) -> Report:
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
    return Report(f"key set: {session().config.api_key.masked}")


def _endpoint_arguments(parser) -> None:
    parser.add_argument("url", help="The server's base URL (…/v1), or 'default' for OpenAI's.")
    parser.add_argument("--key-env", metavar="VAR", help="The key for this server, from this environment variable.")
    parser.add_argument("--send-openai-key", action="store_true",
                        help="Send your OpenAI key to this server too (a proxy you trust in front of OpenAI).")
    parser.add_argument("--bills", choices=("openai",),
                        help="openai: it bills like OpenAI (a proxy or gateway in front of it): price calls "
                             "by OpenAI's table. Otherwise prices are unknown unless `%%openai price` sets them.")
    parser.add_argument("--azure", action="store_true",
                        help="Azure OpenAI's layout (deployments, api-version) on a host that is not *.azure.com.")
    parser.add_argument("--api-version", metavar="V", help="Azure OpenAI's api-version (default 2024-10-21).")


@command("endpoint", "Use an OpenAI-compatible server (or 'default').", _endpoint_arguments)
def endpoint(args, shell) -> Report:
    from openai_magics.core.config import Secret

    s = session()
    if args.url == "default":
        if args.key_env or args.send_openai_key:
            raise UsageError("OpenAI's own endpoint gets your OpenAI key (`%openai key`): no --key-env here.")
        s.configure(base_url=None, offline=False, bills=None, azure=False, api_version=None)
        return Report(f"endpoint: {s.base_url}\nprices:   {prices_text(s)}", {"endpoint": s.base_url})
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
    s.configure(base_url=url, offline=False, endpoint_key=key, bills=args.bills, azure=args.azure,
                api_version=args.api_version)
    sent = s.config.key_to_send()
    lines = [f"endpoint: {s.base_url} (key: {sent.masked if sent else 'none sent'})", f"prices:   {prices_text(s)}"]
    if s.config.azure_layout:
        lines.append(f"azure:    deployments named by the model (-m DEPLOYMENT), api-version "
                     f"{s.config.api_version or 'default'}")
    elif not s.config.is_openai:
        from openai_magics.control.served import served_check

        lines.append(served_check(s))
    return Report("\n".join(lines), {"endpoint": s.base_url})


def _model_arguments(parser) -> None:
    parser.add_argument("words", nargs="+", metavar="[KIND] NAME", help=f"KIND: {', '.join(MODEL_KINDS)}.")


@command("model", "Default model: `model NAME` (chat) or `model KIND NAME`.", _model_arguments)
def model(args, shell) -> Report:
    words = args.words
    if len(words) == 1 and words[0] in MODEL_KINDS:
        raise UsageError(f"Name the model too: `%openai model {words[0]} NAME` "
                         f"(now {session().config.models[words[0]]}).")
    if len(words) == 1:
        kind, name = "chat", words[0]
    elif len(words) == 2 and words[0] in MODEL_KINDS:
        kind, name = words
    else:
        raise UsageError(f"Use `%openai model NAME` or `%openai model KIND NAME` (KIND: {', '.join(MODEL_KINDS)}).")
    session().config.models[kind] = name
    return Report(f"{kind} model: {name}", {"kind": kind, "model": name})


def _budget_arguments(parser) -> None:
    parser.add_argument("amount", nargs="?", help="USD, e.g. 0.50, or 'off'.")


@command("budget", "A hard spending cap in USD, or 'off'.", _budget_arguments)
def budget(args, shell) -> Report:
    s = session()
    if args.amount is None:
        return Report(f"budget: {format_usd(s.budget) if s.budget is not None else 'off'}", {"budget": s.budget})
    if args.amount == "off":
        s.budget = None
        return Report("budget: off", {"budget": None})
    try:
        amount = Decimal(args.amount.lstrip("$"))
    except InvalidOperation:
        raise UsageError(f"A budget is an amount in USD (e.g. 0.50) or 'off', not {args.amount!r}.") from None
    if not amount.is_finite():
        raise UsageError(f"A budget is an amount in USD (e.g. 0.50) or 'off', not {args.amount!r}.")
    if amount < 0:
        raise UsageError("A budget cannot be negative.")
    s.budget = amount
    left = max(Decimal(0), amount - s.ledger.total_cost)
    return Report(f"budget: {format_usd(amount)} ({format_usd(left)} left)", {"budget": amount, "left": left})


def _price_arguments(parser) -> None:
    parser.add_argument("model")
    parser.add_argument("rates", nargs="*", metavar="IN OUT", help="USD per million input and output tokens.")


def _user_prices(model: str, rates: list[str]):
    from openai_magics.metering.pricing import user_prices

    try:
        given = [Decimal(r.lstrip("$")) for r in rates]
    except InvalidOperation:
        given = []
    if len(given) != 2 or any(r < 0 or not r.is_finite() for r in given):
        raise UsageError(f"`%openai price {model} IN OUT`: two amounts in USD per million tokens, e.g. 0.15 0.60.")
    return user_prices(model, given[0], given[1])


@command("price", "Token prices of a model; `price MODEL IN OUT` sets them (USD per million).", _price_arguments)
def price(args, shell) -> Report:
    s = session()
    if args.rates:
        s.prices[args.model] = _user_prices(args.model, args.rates)
    try:
        prices = s.prices_for(args.model)
    except Exception as exc:  # genai-prices' data could not be read (a broken update): say so in one line
        return Report(f"{args.model}: price unknown (the prices could not be read: {type(exc).__name__}: {exc})",
                      {"prices": None})
    if prices is None:
        return Report(f"{args.model}: price unknown here. {UNKNOWN_HINT}", {"prices": None})
    source = "your prices" if args.model in s.prices else "genai-prices" if prices.listed is not None else "the dated table"
    return Report(f"{args.model} (priced as {prices.model}, from {source}):\n{prices.describe()}", {"prices": prices})


@command("models", "The models the endpoint offers.")
def models(args, shell) -> Report:
    from openai_magics.cache.policy import current

    s = session()
    cache = current(s)
    if cache is not None and cache.replay:
        raise UsageError("Replay mode never goes to the network, so it cannot list the server's models: "
                         "`%openai replay off` first.")
    s.http.begin()
    with s.api_errors():
        names = sorted(m.id for m in s.client.models.list())
    return Report("\n".join(names), {"models": names})


def _key_line(config) -> str:
    """Which key this endpoint gets: OpenAI's goes to OpenAI (or Azure) only."""
    sent = config.key_to_send()
    if sent is not None:
        return sent.masked
    if config.is_openai or config.is_azure:
        return "not set (%openai key, OPENAI_API_KEY, or %openai offline)"
    kept = f"; your OpenAI key ({config.api_key.masked}) goes to OpenAI only" if config.api_key else ""
    return f"none sent to this endpoint{kept} (`%openai endpoint URL --key-env VAR` gives it one)"


KEY_TYPES = {
    "project": "project key (it reaches one project's models and limits)",
    "service account": "service account key (a project's, owned by no person)",
    "admin": "admin key: it manages the organization and cannot call models; use a project key",
    "user": "user key (the kind from before projects, reaching everything you can): a project key "
            "(platform.openai.com/api-keys) limits what a leaked key can reach",
}


def _key_type(secret) -> str:
    """What kind of OpenAI key it is, from its prefix alone: no character of it is shown."""
    return KEY_TYPES.get(secret.kind, "not an OpenAI key (its form is none of OpenAI's)")


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
