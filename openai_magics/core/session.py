"""The one session per kernel: SDK client, configuration, ledger, budget, and each capability's state.

Everything a magic does goes through here, so it is usable from plain Python without IPython.
"""
from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal

from openai_magics.core.config import Config, Secret
from openai_magics.core.errors import UsageError
from openai_magics.wire.errors import api_errors
from openai_magics.wire.http import HttpWatcher
from openai_magics.metering.ledger import Ledger, UsageRecord
from openai_magics.metering.pricing import Bill, Prices, format_usd, token_prices
from openai_magics.metering.usage import Usage
from openai_magics.core.cell import current_cell

AZURE_API_VERSION = "2024-10-21"  # Azure OpenAI's generally available version when none is given
NO_KEY_PLACEHOLDER = "sk-no-key-needed"  # compatible servers (Ollama, vLLM…) want some bearer token
OFFLINE_KEY = "sk-offline"
PROMPT_MARGIN = 20  # a budget's output cap counts the prompt 1/20 larger than we counted it
_BEARER = re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]+", re.I)


class Call:
    """One API call in the making: knows its cell, times itself, and records itself in the ledger."""

    def __init__(self, session: "Session", magic: str):
        self.session, self.magic = session, magic
        self.cell, self.cell_id = current_cell()
        self.trace = session.http.begin()
        self.started = time.perf_counter()
        self.at = datetime.now(timezone.utc)  # prices in force when the call was made apply to it
        self.first_token: float | None = None
        self.recorded: UsageRecord | None = None
        self.budget_cap: int | None = None  # the output limit the budget set, when it set one

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def token_arrived(self) -> None:
        """The first piece of a streamed answer: the wait users feel most."""
        if self.first_token is None:
            self.first_token = self.elapsed

    def record(self, model: str, usage: Usage, *, estimated: bool = False, interrupted: bool = False,
               cache_hit: bool = False, batch: bool = False, latency: float | None = None) -> UsageRecord:
        """The call's ledger record. Recorded again (a tool loop after each paid round), the same record is
        brought up to date: what was paid is in the ledger whatever fails after it."""
        bill = self.session.bill(model, usage, batch=batch, at=self.at)
        cost = bill.cost
        record = UsageRecord(
            magic=self.magic, model=model, usage=usage, latency=self.elapsed if latency is None else latency,
            cell=self.cell, cell_id=self.cell_id, first_token=None if cache_hit else self.first_token,
            estimated=estimated, interrupted=interrupted, batch=batch, budget_cap=self.budget_cap,
            cache_hit=cache_hit, cost=Decimal(0) if cache_hit else cost, saved=cost if cache_hit else None,
            unpriced=bill.why_unknown,
        )
        if self.recorded is None:
            self.recorded = self.session.ledger.add(record)
        else:
            self.session.ledger.replace(self.recorded, record)
            self.recorded = record
        return record

    def mark_unreadable(self) -> None:
        """The recorded answer was paid for but could not be read: its ledger row says so."""
        if self.recorded is not None and not self.recorded.unreadable:
            from dataclasses import replace

            marked = replace(self.recorded, unreadable=True)
            self.session.ledger.replace(self.recorded, marked)
            self.recorded = marked


class Session:
    def __init__(self, config: Config | None = None):
        self.config = config or Config.from_env()
        self.ledger = Ledger()
        self.budget: Decimal | None = None
        self.http = HttpWatcher()
        self.cache = None             # the response cache (see openai_magics.cache), when turned on
        self.cache_from_env = True    # OPENAI_MAGICS_CACHE / _REPLAY still to be read on first use
        self.offline_server = None    # the bundled server, when `%openai offline` started one
        self.last_result = None
        self.prices: dict[str, Prices] = {}  # set by `%openai price MODEL IN OUT`, first in line
        self._client = None
        self._parts: dict[type, object] = {}
        self._parts_lock = threading.Lock()
        self._budget_lock = threading.Lock()  # one budget for every thread
        self._held = Decimal(0)               # worst cases of the requests in flight
        self._bills: dict = {}                # the same usage at the same moment costs the same (batch rows)

    def part(self, kind: type):
        """The session's one instance of `kind`: the state a capability keeps for the kernel (chat threads,
        embedding vectors…), made on first use. Core knows none of them."""
        with self._parts_lock:
            if kind not in self._parts:
                self._parts[kind] = kind()
            return self._parts[kind]

    @property
    def usage(self) -> Ledger:
        """The ledger: `.records`, `.rows()`, `.to_pandas()`, `.total_cost`."""
        return self.ledger

    # -- the SDK client, created on first use --
    @property
    def client(self):
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def require_key(self) -> None:
        """The one line for a call OpenAI would refuse for want of a key: checked before a live view shows, so
        a cell never waits for a first token that cannot come."""
        if self.config.api_key is None and self.config.is_openai:
            raise UsageError("No API key. Run `%openai key`, set OPENAI_API_KEY, "
                             "or try everything without one: `%openai offline`.")

    def _build_client(self):
        from openai_magics.wire.http import Waits, http_client
        from openai_magics.wire.sdk import openai_sdk

        openai = openai_sdk()

        config = self.config
        self.require_key()
        options = dict(api_key=NO_KEY_PLACEHOLDER, organization=config.organization, project=config.project,
                       max_retries=config.max_retries,
                       http_client=http_client(self.http, Waits.of(config), self.redact_bytes, tls=not config.offline))
        if config.azure_layout:  # the deployment is the model name; the SDK puts it in the path
            client = openai.AzureOpenAI(azure_endpoint=config.base_url,
                                        api_version=config.api_version or AZURE_API_VERSION, **options)
        else:  # the URL always given: the SDK would otherwise read OPENAI_BASE_URL behind our back
            client = openai.OpenAI(base_url=self.base_url, **options)
        # Set after construction, straight from the Secret: no frame of ours or the SDK's holds the key in a
        # local that a verbose traceback could show.
        if config.key_to_send() is not None:
            client.api_key = config.key_to_send().reveal()
        return client

    def configure(self, **changes) -> None:
        """Change endpoint, key, models…; the client is rebuilt on next use. A new endpoint forgets the key
        given for the old one (unless `endpoint_key` comes with it)."""
        if "base_url" in changes and changes["base_url"] != self.config.base_url:
            changes.setdefault("endpoint_key", None)
        for name, value in changes.items():
            if not hasattr(self.config, name):
                raise AttributeError(name)
            setattr(self.config, name, value)
        if self._client is not None:
            self._client.close()
        self._client = None

    def set_key(self, key: str, source: str = "%openai key") -> None:
        self.configure(api_key=Secret(key.strip(), source))

    @property
    def base_url(self) -> str:
        return self.config.base_url or "https://api.openai.com/v1"

    def redact(self, text: str) -> str:
        """`text` without any key of this session, nor any bearer token a server echoed."""
        text = _BEARER.sub("Bearer …(redacted)", text)
        for secret in (self.config.api_key, self.config.endpoint_key):
            if secret is not None:
                text = secret.redact(text)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        """`data` (a piece of an answer's body) without any key of this session. Only the keys themselves: an
        answer about "Bearer tokens" stays as the model wrote it."""
        for secret in (self.config.api_key, self.config.endpoint_key):
            if secret is not None:
                data = secret.redact_bytes(data)
        return data

    # -- calls --
    def begin(self, magic: str) -> Call:
        return Call(self, magic)

    def api_errors(self, model: str | None = None):
        return api_errors(self, model, window_of=context_window)

    def model_for(self, kind: str, requested: str | None = None) -> str:
        return requested or self.config.models[kind]

    # -- money --
    def prices_for(self, model: str) -> Prices | None:
        """The prices a call to `model` is charged at here: the user's, else OpenAI's where the endpoint
        bills like OpenAI, else None (unknown: a local server's model echoing an OpenAI name costs nothing
        OpenAI's table says)."""
        if model in self.prices:
            return self.prices[model]
        return token_prices(model) if self.config.bills_like_openai else None

    def bill(self, model: str, usage: Usage, batch: bool = False, at: datetime | None = None) -> Bill:
        """What this usage of `model` costs here at `at` (now by default); unknown, never an exception, when
        it cannot be priced."""
        try:
            prices = self.prices_for(model)
        except Exception as exc:  # the price data could not be read: the answer and its tokens are kept
            return Bill(None, f"the prices could not be read ({type(exc).__name__}: {exc})")
        if prices is None:
            return Bill(None)
        if at is None:
            return prices.bill(usage, at, batch)
        key = (model, repr(usage), batch, at)
        known = self._bills.get(key)
        if known is None or known[0] is not prices:  # prices set since are other prices
            if len(self._bills) > 4096:
                self._bills.clear()
            known = self._bills[key] = (prices, prices.bill(usage, at, batch))
        return known[1]

    def cost_of(self, model: str, usage: Usage, batch: bool = False, at: datetime | None = None) -> Decimal | None:
        return self.bill(model, usage, batch, at).cost

    def worst_case(self, model: str, usage: Usage) -> Decimal | None:
        """What a call could cost at most, given its worst-case usage (the prompt's tokens and the most output
        it may produce; the images asked for; the audio's duration or the text's characters). None: unknown."""
        return self.cost_of(model, usage)

    @property
    def budget_left(self) -> Decimal | None:
        """What the budget still allows: not spent, nor held by requests in flight. None without a budget."""
        if self.budget is None:
            return None
        with self._budget_lock:
            return max(Decimal(0), self.budget - self.ledger.total_cost - self._held)

    def output_allowed(self, model: str, input_tokens: int) -> int | None:
        """The most output tokens the budget left still pays for after this prompt (counted with a margin, as
        a server may count a few more tokens); None without a budget or a per-token output price."""
        left = self.budget_left
        if left is None:
            return None
        prompt_tokens = input_tokens + input_tokens // PROMPT_MARGIN + 16
        try:
            prices = self.prices_for(model)
            rate = prices.output_rate(prompt_tokens) if prices is not None else None
        except Exception:  # unknown: the budget's check before sending refuses what it cannot bound
            return None
        if rate is None:
            return None
        prompt = prices.cost(Usage(input_tokens=prompt_tokens)) or 0
        return max(0, int((left - prompt) / rate))

    def check_budget(self, model: str, input_tokens: int, max_output: int) -> None:
        """Refuse, before sending, a call whose worst case would take spending over the budget."""
        with self.spending(model, input_tokens, max_output):
            pass

    def spending(self, model: str, input_tokens, max_output: int, tools: Usage | None = None):
        """Around one token-priced request: see `reserve`. `input_tokens` may be a function that counts them,
        called only when there is a budget to check. `tools`: the most its hosted tools' calls may use."""
        if self.budget is None:
            return self.reserve(None, "")
        if callable(input_tokens):
            input_tokens = input_tokens()
        usage = Usage(input_tokens=input_tokens, output_tokens=max_output)
        worst = self.worst_case(model, usage + tools if tools is not None else usage)
        calls = (f" + {tools.web_searches + tools.file_searches} search calls" if tools and
                 tools.web_searches + tools.file_searches else "") + (" + 1 container" if tools and tools.containers
                                                                      else "")
        return self.reserve(worst, f"{input_tokens:,} tokens in + up to {max_output:,} out{calls} on {model}",
                            model=model, advice="Lower --max-tokens, shorten the prompt")

    @contextmanager
    def reserve(self, worst: Decimal | None, what: str, *, model: str | None = None,
                advice: str = "Ask for less"):
        """Around one request of any kind: refuse it when its worst case (`worst`, in USD; None when it cannot
        be priced) on top of what was spent and what requests in flight (in any thread) may still spend would
        go over the budget; else hold that worst case until the request is done (and recorded).
        `what` says what the worst case is made of, e.g. `4 high 1024x1024 images on gpt-image-1`."""
        if self.budget is None:
            yield
            return
        if worst is None:
            raise UsageError(f"A budget of {format_usd(self.budget)} is set and the price of {model or what} is "
                             "unknown, so this call's cost cannot be bounded. Turn it off with "
                             "`%openai budget off` to send it anyway.")
        with self._budget_lock:
            spent, held = self.ledger.total_cost, self._held
            if spent + held + worst > self.budget:
                raise UsageError(
                    f"Refused before sending: worst case {format_usd(worst)} ({what}) would bring spending to "
                    f"{format_usd(spent + held + worst)}, over the budget of {format_usd(self.budget)} "
                    f"({format_usd(spent)} spent"
                    + (f", {format_usd(held)} held by requests in flight" if held else "")
                    + f"). {advice}, or raise the budget with `%openai budget USD`.")
            self._held += worst
        try:
            yield
        finally:
            with self._budget_lock:
                self._held -= worst

    def attach_offline(self, server) -> None:
        """Point the session at a running offline server (anything with `base_url`, `running` and `stop()`)."""
        self.offline_server = server
        self.configure(base_url=server.base_url, endpoint_key=Secret(OFFLINE_KEY, "offline server"), offline=True)

    def __repr__(self) -> str:
        where = "offline server" if self.config.offline else self.base_url
        return f"<openai_magics.Session {where}, {self.ledger.calls} calls, {format_usd(self.ledger.total_cost)}>"


def context_window(model: str) -> int | None:
    from openai_magics.facts.models import model_info

    return model_info(model).context_window


_session: Session | None = None


def session() -> Session:
    """The kernel's shared session, created on first use."""
    global _session
    if _session is None:
        _session = Session()
    return _session


def reset_session() -> Session:
    global _session
    if _session is not None and _session.offline_server is not None:
        _session.offline_server.stop()
    _session = Session()
    return _session
