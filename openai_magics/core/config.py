"""Session configuration: defaults, the environment, and a key that never shows itself."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

MODEL_KINDS = ("chat", "embed", "image", "transcribe", "speech", "video")
DEFAULT_MODELS = {
    "chat": "gpt-5.4-nano",  # current, cheap and fast at a low reasoning effort (README: "The default chat model")
    "embed": "text-embedding-3-small",
    "image": "gpt-image-1",
    "transcribe": "gpt-4o-mini-transcribe",
    "speech": "gpt-4o-mini-tts",
    "video": "sora-2",
}
# The default chat model reasons; at this effort (unless a cell asks another) it answers about as soon as a
# model that does not, and thinks for a few tokens instead of hundreds.
DEFAULT_CHAT_EFFORT = "low"
OPENAI_HOST = "api.openai.com"
BILLS_ENV = "OPENAI_MAGICS_BILLS"  # "openai": the endpoint (a proxy or gateway) bills like OpenAI
AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
# What kind of OpenAI key a prefix makes (the longest first); "sk-" alone is a user key from before projects.
KEY_KINDS = (("sk-svcacct-", "service account"), ("sk-admin-", "admin"), ("sk-proj-", "project"), ("sk-", "user"))


def _host(url: str) -> tuple[str, str]:
    """(host, scheme) of a URL, lower case; ("", "") when it cannot be read."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return (parts.hostname or "").lower(), parts.scheme.lower()
    except ValueError:
        return "", ""


REDACTED = "sk-…(redacted)"
SECRET_LENGTH = 16  # shorter keys are placeholders for servers that want one; real keys are far longer


class Secret:
    """Holds an API key; every way of printing it shows only where it came from and its last 4 characters."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str):
        self._value, self.source = value, source

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        tail = self._value[-4:] if len(self._value) >= 20 else ""
        return f"…{tail} (from {self.source})" if tail else f"set (from {self.source})"

    @property
    def kind(self) -> str | None:
        """project, service account, admin or user (OpenAI's kinds, told by the prefix), or None."""
        return next((kind for prefix, kind in KEY_KINDS if self._value.startswith(prefix)), None)

    def redact(self, text: str) -> str:
        """`text` with every occurrence of the key replaced."""
        return text.replace(self._value, REDACTED) if self._value else text

    def redact_bytes(self, data: bytes) -> bytes:
        """The same, in bytes as they come over the wire (UTF-8), for a key long enough to be a secret: a local
        server's placeholder ("ollama", "EMPTY") is no secret, and an answer naming it must stay whole."""
        if len(self._value) < SECRET_LENGTH:
            return data
        return data.replace(self._value.encode(), REDACTED.encode())

    def __repr__(self) -> str:
        return f"<Secret {self.masked}>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("an API key is not picklable")


@dataclass
class Config:
    models: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    api_key: Secret | None = field(default=None, repr=False)       # OpenAI's key: sent to OpenAI or Azure only
    endpoint_key: Secret | None = field(default=None, repr=False)  # the key given for `base_url`, if any
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    api: str = "auto"                # auto | chat | responses
    # How long each phase of a request may take, in seconds (see `wire.http`):
    connect_timeout: float = 10.0      # to open the connection (nothing sent yet: retried)
    first_byte_timeout: float = 60.0   # for an answer to start when it streams or is quick (lists, embeddings)
    generation_timeout: float = 600.0  # for a non-streamed generation to start: it comes whole, once written
    idle_timeout: float = 300.0        # the longest silence once an answer has started (reasoning is silent)
    flex_timeout: float = 900.0        # the least any wait is for a --tier flex request (its answers start late)
    max_retries: int = 4
    max_tokens: int | None = None    # a default cap for chat answers
    offline: bool = False
    bills: str | None = None         # "openai": a compatible endpoint that bills like OpenAI (a proxy to it)
    azure: bool = False              # Azure OpenAI's layout (deployments, api-version) on any host
    api_version: str | None = None   # Azure OpenAI's api-version

    @property
    def timeout(self) -> float:
        """The shorthand for every wait after connecting; reads as the first-byte wait."""
        return self.first_byte_timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.first_byte_timeout = self.generation_timeout = self.idle_timeout = seconds

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        env = os.environ if environ is None else environ
        config = cls()
        for kind in MODEL_KINDS:
            value = env.get(f"OPENAI_MAGICS_{kind.upper()}_MODEL")
            if value:
                config.models[kind] = value
        if env.get("OPENAI_API_KEY"):
            config.api_key = Secret(env["OPENAI_API_KEY"], "OPENAI_API_KEY")
        config.base_url = env.get("OPENAI_BASE_URL") or None
        if config.base_url and config.api_key:  # both set together: the SDK's convention for that endpoint
            config.endpoint_key = config.api_key
        config.organization = env.get("OPENAI_ORG_ID") or None
        config.project = env.get("OPENAI_PROJECT_ID") or None
        config.bills = env.get(BILLS_ENV) or None
        config.api_version = env.get("OPENAI_API_VERSION") or None
        return config

    @property
    def is_openai(self) -> bool:
        """True on OpenAI's own endpoint (no base URL, or https://api.openai.com)."""
        return not self.base_url or _host(self.base_url) == (OPENAI_HOST, "https")

    @property
    def bills_like_openai(self) -> bool:
        """OpenAI's prices apply: its own endpoint, the offline server (it teaches costs), or an endpoint
        the user said bills like OpenAI. Anywhere else a price is unknown until the user sets one."""
        return self.is_openai or self.offline or self.bills == "openai"

    @property
    def is_azure(self) -> bool:
        host, scheme = _host(self.base_url) if self.base_url else ("", "")
        return scheme == "https" and host.endswith(AZURE_HOSTS)

    @property
    def azure_layout(self) -> bool:
        """Talk Azure OpenAI's layout: an Azure host, or an endpoint said to be one (`--azure`). Only a real
        Azure host gets the OpenAI key."""
        return self.azure or self.is_azure

    def key_to_send(self) -> Secret | None:
        """The key this endpoint may see: OpenAI's own key goes to OpenAI (or Azure) only; any other server
        gets the key given for it, or none."""
        if self.is_openai or self.is_azure:
            return self.api_key
        return self.endpoint_key

    def as_dict(self) -> dict:
        """Everything but the keys."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.endswith("_key")}


def cache_home() -> Path:
    """The user's cache folder of ours: `$XDG_CACHE_HOME/openai-magics` (`~/.cache/openai-magics`)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "openai-magics"


def user_folder(name: str, override_env: str) -> Path:
    """Where jobs that outlive the kernel are kept: `$override_env`, else `cache_home() / NAME`."""
    if os.environ.get(override_env):
        return Path(os.environ[override_env]).expanduser()
    return cache_home() / name
