"""Errors as one readable line that says what to do (SPEC §2): no traceback, never the key."""
from __future__ import annotations

from contextlib import contextmanager

from IPython.core.error import UsageError

from openai_magics.core.models import model_info


# Bad input and refused budgets raise IPython's own UsageError: IPython shows exactly that class as one
# line with no traceback (a subclass would get a traceback).
__all__ = ["UsageError", "CallFailed", "explain", "api_errors", "missing_feature"]


class CallFailed(Exception):
    """An API call that failed after what retrying could do. Shown as one line (and the cell fails)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code

    def _render_traceback_(self) -> list[str]:  # IPython uses this instead of a traceback
        return [f"\x1b[31mOpenAI error:\x1b[0m {self}"]


def _retries(trace) -> str:
    n = trace.retries if trace else 0
    return f" (retried {n} time{'s' * (n != 1)} with backoff)" if n else ""


def explain(exc: Exception, *, model: str | None = None, trace=None, base_url: str | None = None) -> CallFailed:
    """Turn an SDK exception into a CallFailed whose message says what happened and what to do."""
    import openai

    status = getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    body_message = _server_message(exc)
    lacking = missing_feature(status, _request_path(exc), _full_message(exc)) if status else None
    if lacking:
        text = lacking
    elif isinstance(exc, openai.AuthenticationError):
        text = ("The API key was rejected (401). Set a valid one with `%openai key` or OPENAI_API_KEY, "
                "or run `%openai offline` to try things without a key.")
    elif isinstance(exc, openai.RateLimitError) and code == "insufficient_quota":
        text = ("Your OpenAI account has run out of quota (429 insufficient_quota); not retried. "
                "Add credit or raise the limit in your organization's billing settings.")
    elif isinstance(exc, openai.RateLimitError):
        text = (f"Still rate limited (429) after honouring Retry-After{_retries(trace)}. "
                "Wait a minute and re-run, or lower the concurrency.")
    elif isinstance(exc, openai.BadRequestError) and code == "context_length_exceeded":
        window = model_info(model or "").context_window
        text = f"The prompt is too long for {model}: {body_message}"
        if window:
            text += f" (window {window:,} tokens)"
        text += ". Shorten it, start the thread afresh with --new, or pick a model with a larger window."
    elif isinstance(exc, openai.NotFoundError):
        text = f"Not found (404): {body_message} Check the model name (`%openai models` lists them)."
    elif isinstance(exc, openai.InternalServerError) or (status or 0) >= 500:
        text = f"The server failed ({status}){_retries(trace)}: {body_message} Try again in a moment."
    elif isinstance(exc, openai.APIStatusError):
        text = f"The request was refused ({status}): {body_message}"
    elif isinstance(exc, openai.APITimeoutError):
        text = f"The request timed out{_retries(trace)}. Re-run, or raise the timeout with `%config OpenAIMagics.timeout = 300`."
    elif isinstance(exc, openai.APIConnectionError):
        text = (f"Could not reach {base_url or 'the API'}{_retries(trace)}. "
                "Check the endpoint (`%openai endpoint`) and the network, or run `%openai offline`.")
    else:
        text = f"{type(exc).__name__}: {exc}"
    return CallFailed(text, status=status, code=code)


def _full_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        message = body.get("message") or error.get("message") or body.get("detail")
        if message:
            return str(message)
    return str(getattr(exc, "message", "") or exc)


def _server_message(exc: Exception, limit: int = 200) -> str:
    """The server's message as one line (servers send tracebacks and multi-line validation reports)."""
    lines = [line.strip() for line in _full_message(exc).splitlines() if line.strip()] or [""]
    line = lines[0] if len(lines[0]) <= limit else lines[0][: limit - 1] + "…"
    return line.rstrip(".") + ("." if line else "") + (" …" if len(lines) > 1 else "")


def _request_path(exc: Exception) -> str:
    request = getattr(exc, "request", None)
    try:
        return request.url.path
    except AttributeError:
        return ""


def missing_feature(status: int, path: str, message: str) -> str | None:
    """One line naming the feature a server lacks and what to do instead, or None when the error is not
    that (a refusal retrying cannot change)."""
    from openai_magics.core.http import VALIDATION_MARKERS

    if path.rstrip("/").endswith("/responses") and status in (404, 405, 501):
        return (f"This server has no Responses API ({status} on {path}): use --api chat, or "
                "`%config OpenAIMagics.api = \"chat\"` for every cell.")
    text = message.lower()
    if status < 400 or not any(marker in text for marker in VALIDATION_MARKERS):
        return None
    if "json_object" in text:
        return "This server does not support JSON mode (response_format json_object): drop --json."
    if any(word in text for word in ("json_schema", "response_format", "text.format")):
        return ("This server does not support structured outputs (json_schema): drop --schema, or use --json "
                "and describe the fields in the prompt.")
    if "tool" in text or "function" in text:
        return "This server does not support function tools: drop --tools (or use a model that calls tools)."
    if "image" in text:
        return "This server or model does not take images: drop --image, or pick a vision model."
    return None


@contextmanager
def api_errors(session, model: str | None = None):
    """Convert SDK exceptions raised inside the block into one-line CallFailed errors, key redacted."""
    import openai

    try:
        yield
    except openai.OpenAIError as exc:
        failed = explain(exc, model=model, trace=session.http.trace, base_url=session.base_url)
        raise CallFailed(session.redact(str(failed)), failed.status, failed.code) from None
