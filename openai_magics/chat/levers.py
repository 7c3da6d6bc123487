"""The cost levers a chat request can pull, as request parameters: the service tier (`--tier`), prompt caching
(`--cache-key`, `--cache-retention`), logprobs (`--logprobs [N]`) and background runs (`--background`).
Each is checked here without the network, and written into either API's body here."""
from __future__ import annotations

import hashlib

from openai_magics.core.errors import UsageError

TIERS = ("auto", "default", "flex", "priority", "flex-or-default")
RETENTIONS = ("in_memory", "24h")
MOST_TOP_LOGPROBS = 20
FALLBACK_TIER = "default"  # where `flex-or-default` goes when flex has no room
FALLBACK_NOTE = "flex had no capacity (429): answered on the default tier"


def check(request) -> None:
    """One UsageError line for a lever set wrong; nothing sent."""
    if request.service_tier is not None and request.service_tier not in TIERS:
        raise UsageError(f"--tier must be one of {', '.join(TIERS)}, not {request.service_tier!r}. Nothing was sent.")
    if request.cache_retention is not None and request.cache_retention not in RETENTIONS:
        raise UsageError(f"--cache-retention must be one of {', '.join(RETENTIONS)}, not {request.cache_retention!r}. "
                         "Nothing was sent.")
    if request.cache_key is not None and (not isinstance(request.cache_key, str) or not request.cache_key.strip()):
        raise UsageError("--cache-key needs a name (any text that the prompts sharing a prefix share). Nothing was sent.")
    top = request.logprobs
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MOST_TOP_LOGPROBS):
        raise UsageError(f"--logprobs takes how many alternatives to show per token, 0 to {MOST_TOP_LOGPROBS}, "
                         f"not {top!r}. Nothing was sent.")
    if request.logprobs is not None and request.tools:
        raise UsageError("--logprobs reads one answer's tokens: drop --tools. Nothing was sent.")
    if request.background and request.api == "chat":
        raise UsageError("--background runs on the Responses API: drop --api chat. Nothing was sent.")
    if request.background and (request.thread or request.tools):
        raise UsageError("--background runs one request on the server: drop --thread and --tools. Nothing was sent.")


def wire_tier(tier: str | None) -> str | None:
    """The `service_tier` sent: `flex-or-default` asks for flex first."""
    return "flex" if tier == "flex-or-default" else tier


def body_params(request, api: str) -> dict:
    """What the levers add to the body of `api` ("chat" or "responses")."""
    params = {"service_tier": wire_tier(request.service_tier), "prompt_cache_key": request.cache_key,
              "prompt_cache_retention": request.cache_retention}
    if request.logprobs is not None:
        if api == "responses":
            params.update(top_logprobs=request.logprobs, include=["message.output_text.logprobs"])
        else:
            params.update(logprobs=True, top_logprobs=request.logprobs)
    if request.background:
        params["background"] = True
    return {name: value for name, value in params.items() if value is not None}


def template_cache_key(template: str, system: str | None = None) -> str:
    """The prompt_cache_key every row of one template shares (`--over`, `%%eval`): the same template, the same
    key, from run to run."""
    digest = hashlib.sha256(f"{system or ''}\0{template}".encode()).hexdigest()[:16]
    return f"openai-magics-{digest}"


def flex_unavailable(exc) -> bool:
    """A 429 that says flex processing has no capacity now (not a rate limit: waiting for the limit to reset
    does not help, another tier does)."""
    message = str(exc).lower()
    return getattr(exc, "status", None) == 429 and (getattr(exc, "code", None) == "resource_unavailable"
                                                     or "resource unavailable" in message)
