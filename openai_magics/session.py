"""The one session per kernel: SDK client, configuration, ledger, budget, threads, cache (SPEC §1).

Everything a magic does goes through here, so it is usable from plain Python without IPython.
"""
from __future__ import annotations

import time
from decimal import Decimal

from .config import Config, Secret
from .errors import UsageError, api_errors
from .http import HttpWatcher
from .ledger import Ledger, UsageRecord
from .prices import format_usd, token_cost, token_prices
from .usage import Usage

NO_KEY_PLACEHOLDER = "sk-no-key-needed"  # compatible servers (Ollama, vLLM…) want some bearer token


class Call:
    """One API call in the making: knows its cell, times itself, and records itself in the ledger."""

    def __init__(self, session: "Session", magic: str):
        self.session, self.magic = session, magic
        self.cell, self.cell_id = current_cell()
        self.trace = session.http.begin()
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def record(self, model: str, usage: Usage, *, estimated: bool = False, interrupted: bool = False,
               cache_hit: bool = False, batch: bool = False, latency: float | None = None) -> UsageRecord:
        cost = token_cost(model, usage, batch=batch)
        record = UsageRecord(
            magic=self.magic, model=model, usage=usage, latency=self.elapsed if latency is None else latency,
            cell=self.cell, cell_id=self.cell_id, estimated=estimated, interrupted=interrupted, batch=batch,
            cache_hit=cache_hit, cost=Decimal(0) if cache_hit else cost, saved=cost if cache_hit else None,
        )
        return self.session.ledger.add(record)


class Session:
    def __init__(self, config: Config | None = None):
        self.config = config or Config.from_env()
        self.ledger = Ledger()
        self.budget: Decimal | None = None
        self.http = HttpWatcher()
        self.threads = None  # set by the chat module on first use
        self.vector_cache = None  # embedding vectors by (model, dimensions, text), set by embed.py on first use
        self.cache = _cache_from_env()  # the response cache, when turned on
        self.offline_server = None
        self.last_result = None
        self._client = None

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

    def embed(self, texts, model: str | None = None, dimensions: int | None = None, truncate: bool = False,
              concurrency: int | None = None, progress=None, cache: bool = True):
        """Embed a str, a list of str or a pandas Series: an EmbedResult, vectors in input order (SPEC §4)."""
        from .embed import DEFAULT_CONCURRENCY, EmbedRequest, as_texts, run_embed

        request = EmbedRequest(as_texts(texts), self.model_for("embed", model), dimensions, truncate,
                               concurrency or DEFAULT_CONCURRENCY, cache=cache)
        return run_embed(self, request, progress)

    # -- money --
    def check_budget(self, model: str, input_tokens: int, max_output: int) -> None:
        """Refuse, before sending, a call whose worst case would take spending over the budget."""
        if self.budget is None:
            return
        prices = token_prices(model)
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

    # -- offline --
    def go_offline(self, **server_options):
        """Start the bundled offline server (once) and point the session at it."""
        from .offline import OfflineServer, find_openapi_document

        if self.offline_server is None or not self.offline_server.running:
            self.offline_server = OfflineServer(openapi=find_openapi_document(), **server_options).start()
        self.configure(base_url=self.offline_server.base_url, api_key=Secret("sk-offline", "offline server"),
                       offline=True)
        return self.offline_server

    def __repr__(self) -> str:
        where = "offline server" if self.config.offline else self.base_url
        return f"<openai_magics.Session {where}, {len(self.ledger)} calls, {format_usd(self.ledger.total_cost)}>"


def _cache_from_env():
    from .cache import from_env

    return from_env()


_running_cell_id: str | None = None
_running_in_history = True


def on_pre_run_cell(info) -> None:
    """IPython event: remember the id the frontend gave the starting cell, and whether it gets a number."""
    global _running_cell_id, _running_in_history
    _running_cell_id = getattr(info, "cell_id", None)
    _running_in_history = getattr(info, "store_history", True)


def current_cell() -> tuple[int | None, str | None]:
    """The running cell's execution count and, when the frontend sends one, its cell id."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None, None
    shell = get_ipython()
    if shell is None:
        return None, None
    # IPython 9 increments execution_count before running a cell and 8 after it; the input history
    # already holds the running cell in both, so its index is the cell's number.
    # A cell run without history (nbval does that) has no number.
    history = getattr(shell, "history_manager", None)
    if not _running_in_history:
        return None, _running_cell_id
    count = len(history.input_hist_parsed) - 1 if history is not None else shell.execution_count
    return count, _running_cell_id


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
