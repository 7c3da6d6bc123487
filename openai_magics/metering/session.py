"""The kernel's session as the composition root makes it: core's Session with the SDK client, the ledger, the
prices and the budget, and each API call in the making (`Call`).
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal

from openai_magics.core.cell import current_cell
from openai_magics.core.config import Config
from openai_magics.core.errors import UsageError
from openai_magics.core.session import Session
from openai_magics.facts.models import model_info
from openai_magics.metering.ledger import Ledger, UsageRecord
from openai_magics.metering.pricing import Bill, Prices, format_usd, token_prices
from openai_magics.metering.usage import Usage
from openai_magics.wire.errors import api_errors
from openai_magics.wire.http import HttpWatcher

AZURE_API_VERSION = "2024-10-21"  # Azure OpenAI's generally available version when none is given
NO_KEY_PLACEHOLDER = "sk-no-key-needed"  # compatible servers (Ollama, vLLM…) want some bearer token
PROMPT_MARGIN = 20  # a budget's output cap counts the prompt 1/20 larger than we counted it


class Call:
    """One API call in the making: knows its cell, times itself, and records itself in the ledger."""

    def __init__(self, session: "MeteredSession", magic: str):
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


class MeteredSession(Session):
    """The kernel's session with what it holds from above core: the SDK client (over the wire's HTTP client),
    the ledger, the prices and the budget's arithmetic."""

    def __init__(self, config: Config | None = None):
        super().__init__(config)
        self.ledger = Ledger()
        self.http = HttpWatcher()
        self.prices: dict[str, Prices] = {}  # set by `%openai price MODEL IN OUT`, first in line
        self._client = None
        self._budget_lock = threading.Lock()  # one budget for every thread
        self._held = Decimal(0)               # worst cases of the requests in flight
        self._bills: dict = {}                # the same usage at the same moment costs the same (batch rows)

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
        """As the session's, and the client is rebuilt on next use."""
        super().configure(**changes)
        if self._client is not None:
            self._client.close()
        self._client = None

    # -- calls --
    def begin(self, magic: str) -> Call:
        return Call(self, magic)

    def api_errors(self, model: str | None = None):
        return api_errors(self, model, window_of=context_window)

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

    def __repr__(self) -> str:
        where = "offline server" if self.config.offline else self.base_url
        return f"<openai_magics.Session {where}, {self.ledger.calls} calls, {format_usd(self.ledger.total_cost)}>"


def context_window(model: str) -> int | None:
    return model_info(model).context_window
