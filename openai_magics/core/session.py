"""The one session per kernel: SDK client, configuration, ledger, budget, and each capability's state.

Everything a magic does goes through here, so it is usable from plain Python without IPython.
"""
from __future__ import annotations

import threading
import time
from decimal import Decimal

from openai_magics.core.config import Config, Secret
from openai_magics.core.errors import UsageError, api_errors
from openai_magics.core.http import HttpWatcher, no_regeneration
from openai_magics.core.ledger import Ledger, UsageRecord
from openai_magics.core.pricing import TokenPrices, batch_cost, format_usd, token_prices
from openai_magics.core.usage import Usage
from openai_magics.core.cell import current_cell

NO_KEY_PLACEHOLDER = "sk-no-key-needed"  # compatible servers (Ollama, vLLM…) want some bearer token


class Call:
    """One API call in the making: knows its cell, times itself, and records itself in the ledger."""

    def __init__(self, session: "Session", magic: str):
        self.session, self.magic = session, magic
        self.cell, self.cell_id = current_cell()
        self.trace = session.http.begin()
        self.started = time.perf_counter()
        self.first_token: float | None = None

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def token_arrived(self) -> None:
        """The first piece of a streamed answer: the wait users feel most."""
        if self.first_token is None:
            self.first_token = self.elapsed

    def record(self, model: str, usage: Usage, *, estimated: bool = False, interrupted: bool = False,
               cache_hit: bool = False, batch: bool = False, latency: float | None = None) -> UsageRecord:
        cost = self.session.cost_of(model, usage, batch=batch)
        record = UsageRecord(
            magic=self.magic, model=model, usage=usage, latency=self.elapsed if latency is None else latency,
            cell=self.cell, cell_id=self.cell_id, first_token=None if cache_hit else self.first_token,
            estimated=estimated, interrupted=interrupted, batch=batch,
            cache_hit=cache_hit, cost=Decimal(0) if cache_hit else cost, saved=cost if cache_hit else None,
        )
        return self.session.ledger.add(record)


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
        self.prices: dict[str, TokenPrices] = {}  # set by `%openai price MODEL IN OUT`, first in line
        self._client = None
        self._parts: dict[type, object] = {}
        self._parts_lock = threading.Lock()

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

    def _build_client(self):
        import openai

        config = self.config
        key = config.api_key.reveal() if config.api_key else None
        if key is None and config.is_openai:
            raise UsageError("No API key. Run `%openai key`, set OPENAI_API_KEY, "
                                  "or try everything without one: `%openai offline`.")
        http_client = openai.DefaultHttpxClient(event_hooks={"response": [self.http.on_response]})
        http_client._transport = no_regeneration(http_client._transport)
        common = dict(api_key=key or NO_KEY_PLACEHOLDER, organization=config.organization,
                      project=config.project, timeout=config.timeout, max_retries=config.max_retries,
                      http_client=http_client)
        if config.is_azure:
            return openai.AzureOpenAI(azure_endpoint=config.base_url, api_version="2024-10-21", **common)
        return openai.OpenAI(base_url=config.base_url, **common)

    def configure(self, **changes) -> None:
        """Change endpoint, key, models…; the client is rebuilt on next use."""
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
        key = self.config.api_key.reveal() if self.config.api_key else None
        return text.replace(key, "sk-…(redacted)") if key else text

    # -- calls --
    def begin(self, magic: str) -> Call:
        return Call(self, magic)

    def api_errors(self, model: str | None = None):
        return api_errors(self, model)

    def model_for(self, kind: str, requested: str | None = None) -> str:
        return requested or self.config.models[kind]

    # -- money --
    def prices_for(self, model: str) -> TokenPrices | None:
        """The prices a call to `model` is charged at here: the user's, else OpenAI's where the endpoint
        bills like OpenAI, else None (unknown: a local server's model echoing an OpenAI name costs nothing
        OpenAI's table says)."""
        if model in self.prices:
            return self.prices[model]
        return token_prices(model) if self.config.bills_like_openai else None

    def cost_of(self, model: str, usage: Usage, batch: bool = False):
        prices = self.prices_for(model)
        if prices is None:
            return None
        return batch_cost(prices.cost(usage)) if batch else prices.cost(usage)

    def check_budget(self, model: str, input_tokens: int, max_output: int) -> None:
        """Refuse, before sending, a call whose worst case would take spending over the budget."""
        if self.budget is None:
            return
        prices = self.prices_for(model)
        if prices is None:
            raise UsageError(f"A budget of {format_usd(self.budget)} is set and the price of {model} is "
                                 "unknown, so this call's cost cannot be bounded. Turn it off with "
                                 "`%openai budget off` to send it anyway.")
        worst = prices.cost(Usage(input_tokens=input_tokens, output_tokens=max_output))
        spent = self.ledger.total_cost
        if spent + worst > self.budget:
            raise UsageError(
                f"Refused before sending: worst case {format_usd(worst)} ({input_tokens:,} tokens in + up to "
                f"{max_output:,} out on {model}) would bring spending to {format_usd(spent + worst)}, over the "
                f"budget of {format_usd(self.budget)} ({format_usd(spent)} spent). Lower --max-tokens, "
                "shorten the prompt, or raise the budget with `%openai budget USD`.")

    def attach_offline(self, server) -> None:
        """Point the session at a running offline server (anything with `base_url`, `running` and `stop()`)."""
        self.offline_server = server
        self.configure(base_url=server.base_url, api_key=Secret("sk-offline", "offline server"), offline=True)

    def __repr__(self) -> str:
        where = "offline server" if self.config.offline else self.base_url
        return f"<openai_magics.Session {where}, {len(self.ledger)} calls, {format_usd(self.ledger.total_cost)}>"


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
