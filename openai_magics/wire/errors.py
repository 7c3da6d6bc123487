"""A failed call as one readable line that says what to do (the SDK's exceptions explained), and the one error
boundary around a magic: no traceback, never the key."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

from openai_magics.core.errors import CallFailed, Interrupted, UsageError, error_source
from openai_magics.wire.http import NoAnswer, page_summary
from openai_magics.wire.limits import TooLongAWait

__all__ = ["explain", "api_errors", "missing_feature", "boundary", "silence", "unexpected", "unreadable"]


def _retries(trace) -> str:
    n = trace.retries if trace else 0  # as the SDK numbered its attempts: max_retries at most
    return f" (retried {n} time{'s' * (n != 1)} with backoff)" if n else ""


def explain(exc: Exception, *, model: str | None = None, trace=None, base_url: str | None = None,
            window_of: Callable[[str], int | None] | None = None) -> CallFailed:
    """Turn an SDK exception into a CallFailed whose message says what happened and what to do. `window_of`
    gives a model's context window, named when a prompt was too long (model facts sit above the wire)."""
    import openai

    status = getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    body_message = _server_message(exc)
    if "context_length_exceeded" in _full_message(exc):  # also inside a proxy's chain of errors
        code = "context_length_exceeded"
    lacking = missing_feature(status, _request_path(exc), _full_message(exc), _request_body(exc)) if status else None
    if lacking:
        text = lacking
    elif isinstance(exc, TooLongAWait):  # already one line naming the wait
        text = str(exc)
    elif status in (400, 404) and "previous_response" in _full_message(exc).replace(" ", "_").lower():
        text = (f"The thread's previous response is gone from the server ({status}): {body_message} "
                "Start the thread afresh with --new (or --api chat, which resends the history).")
    elif isinstance(exc, openai.AuthenticationError):
        text = ("The API key was rejected (401). Set a valid one with `%openai key` or OPENAI_API_KEY, "
                "or run `%openai offline` to try things without a key.")
    elif isinstance(exc, openai.RateLimitError) and code == "insufficient_quota":
        text = (f"Your OpenAI account has run out of quota (429 insufficient_quota: {body_message}); not retried. "
                "Add credit or raise the limit in your organization's billing settings.")
    elif isinstance(exc, openai.RateLimitError) and code == "resource_unavailable":
        text = ("Flex processing has no capacity for this request right now (429 resource_unavailable); nothing "
                "was charged. Re-run later, or use --tier flex-or-default to fall back to the default tier once.")
    elif isinstance(exc, openai.RateLimitError):
        still = "Still rate limited" if trace and trace.retries else "Rate limited"
        waited = " after honouring Retry-After" if _said_retry_after(exc) else ""
        text = (f"{still} (429){waited}{_retries(trace)}: {body_message} "
                "Wait a minute and re-run, or lower the concurrency.")
    elif isinstance(exc, openai.BadRequestError) and code == "context_length_exceeded":
        window = window_of(model or "") if window_of is not None else None
        text = f"The prompt is too long for {model}: {body_message.rstrip('.')}"
        if window and _stated_window(body_message) in (None, window):  # a local model's window is its own
            text += f" (window {window:,} tokens)"
        text += ". Shorten it, start the thread afresh with --new, or pick a model with a larger window."
    elif isinstance(exc, openai.NotFoundError):
        text = f"Not found (404): {body_message} Check the model name (`%openai models` lists them)."
    elif isinstance(exc, openai.InternalServerError) or (status or 0) >= 500:
        text = f"The server failed ({status}){_retries(trace)}: {body_message} Try again in a moment."
    elif isinstance(exc, openai.APIStatusError):
        text = f"The request was refused ({status}): {body_message}"
    elif isinstance(exc, NoAnswer):
        text = silence(exc, base_url or "the API")
    elif isinstance(exc, openai.APITimeoutError) and hasattr(exc.__cause__, "seconds"):  # see wire.http
        seconds = exc.__cause__.seconds
        text = (f"Could not connect to {base_url or 'the API'} within {seconds:g} s{_retries(trace)}. "
                "Check the endpoint (`%openai endpoint`) and the network, or wait longer with "
                f"`%config OpenAIMagics.connect_timeout = {_longer(seconds)}`.")
    elif isinstance(exc, openai.APITimeoutError):
        text = (f"The request timed out{_retries(trace)}. Re-run, or raise the timeout with "
                "`%config OpenAIMagics.timeout = 300`.")
    elif isinstance(exc, openai.APIConnectionError):
        text = (f"Could not reach {base_url or 'the API'}{_retries(trace)}. "
                "Check the endpoint (`%openai endpoint`) and the network, or run `%openai offline`.")
    elif isinstance(exc, openai.APIResponseValidationError):
        text = (f"{base_url or 'The server'} answered in a shape this client cannot read ({exc}). "
                "Is the endpoint really OpenAI-compatible? `%openai endpoint` shows where calls go.")
    elif isinstance(exc, openai.APIError):  # an error event inside a stream
        text = f"The server sent an error instead of an answer: {body_message} Try again in a moment."
    else:
        text = f"{type(exc).__name__}: {exc}"
    failed = CallFailed(text, status=status, code=code)
    failed.server_name = _server_name(exc)
    return failed


def _stated_window(message: str) -> int | None:
    """The context window a server's message states ("maximum context length is 2048 tokens"), if any."""
    import re

    found = re.search(r"context length is (\d+)", message)
    return int(found.group(1)) if found else None


def _server_name(exc: Exception) -> str | None:
    """The name of the server or proxy that answered, when its headers say it (LiteLLM's do)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    if any(name.lower().startswith("x-litellm-") for name in headers):
        return "LiteLLM"
    return None


def _said_retry_after(exc: Exception) -> bool:
    """The server said how long to wait (the SDK honours Retry-After and retry-after-ms)."""
    response = getattr(exc, "response", None)
    return response is not None and any(h in response.headers for h in ("retry-after", "retry-after-ms"))


def _longer(seconds: float) -> int:
    return max(2 * int(seconds) + 1, int(seconds * 4))


def silence(exc: NoAnswer, where: str, tokens: int | None = None) -> str:
    """What a server's silence says: the phase it fell silent in, and the setting that waits longer.
    `tokens`: how much of a stream had arrived (its partial answer is kept)."""
    seconds, knob = exc.seconds, f"{exc.phase}_timeout"
    longer = f"`%config OpenAIMagics.{knob} = {_longer(seconds)}`"
    if exc.phase == "idle" and tokens:
        return (f"the stream went silent for {seconds:g} s after {tokens:,} token{'s' * (tokens != 1)}; "
                f"the partial answer is kept and recorded (not retried). Wait longer with {longer}")
    if exc.phase == "idle":
        return (f"The answer from {where} started, then went silent for {seconds:g} s (not retried). "
                f"Check that the server is up, or wait longer with {longer}.")
    if exc.phase == "generation":
        return (f"Connected to {where}, but no answer started within {seconds:g} s (not retried; a non-streamed "
                f"answer starts only once it is written whole). Stream it, or wait longer with {longer}.")
    return (f"Connected to {where}, but no answer started within {seconds:g} s (not retried). Check that the "
            f"server is up, or wait longer with {longer}.")


def _full_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        message = body.get("message") or error.get("message") or body.get("detail")
        if message:
            return str(message)
    response = getattr(exc, "response", None)
    kind = response.headers.get("content-type", "") if response is not None else ""
    if "html" in kind or isinstance(body, str) and "<html" in body[:500].lower():
        return f"an HTML page, {page_summary(body if isinstance(body, str) else '')}"
    return str(getattr(exc, "message", "") or exc)


def _server_message(exc: Exception, limit: int = 400) -> str:
    """The server's message as one line (servers send tracebacks and multi-line validation reports): the
    innermost one when a proxy wrapped the backend's error in its own, whole unless it is very long."""
    message = innermost_message(_full_message(exc))
    lines = [line.strip() for line in message.splitlines() if line.strip()] or [""]
    line = lines[0] if len(lines[0]) <= limit else lines[0][:limit].rsplit(" ", 1)[0] + " …"
    return line.rstrip(".") + ("." if line else "") + (" …" if len(lines) > 1 else "")


def innermost_message(text: str) -> str:
    """`litellm.BadRequestError: … Error code: 400 - {'error': {'message': "…"}}` → the message inside (a
    Python or JSON string literal after the last `message` key); the text itself when nothing is inside."""
    import ast
    import re

    for found in reversed(list(re.finditer(r"""['"]message['"]\s*:\s*(?=['"])""", text))):
        literal = _string_literal(text, found.end())
        try:
            inner = ast.literal_eval(literal) if literal else None
        except (ValueError, SyntaxError):
            continue
        if isinstance(inner, str) and inner.strip():
            return innermost_message(inner)
    return text


def _string_literal(text: str, start: int) -> str | None:
    """The quoted string literal that starts at `start`, quotes included, or None when it does not end."""
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return text[start : i + 1]
        i += 1
    return None


def _request_body(exc: Exception) -> dict:
    """The JSON body of the request that failed (what the cell sent), or {}."""
    import json

    try:
        body = json.loads(exc.request.content)
    except (AttributeError, ValueError, TypeError, RuntimeError):
        return {}
    return body if isinstance(body, dict) else {}


def _request_path(exc: Exception) -> str:
    request = getattr(exc, "request", None)
    try:
        return request.url.path
    except AttributeError:
        return ""


def missing_feature(status: int, path: str, message: str, sent: dict | None = None) -> str | None:
    """One line naming the feature a server lacks and what to do instead, or None when the error is not
    that (a refusal retrying cannot change). `sent`: the request's body; when the message is about the
    response format, what the cell sent (a schema or JSON mode) names the feature, whatever words the server's
    validation text happens to use."""
    from openai_magics.wire.http import VALIDATION_MARKERS

    if path.rstrip("/").endswith("/responses") and status in (404, 405, 501):
        hosted = _hosted_tools_sent(sent or {})
        if hosted:
            return (f"This server has no Responses API ({status} on {path}), so it lacks {hosted}, a tool OpenAI "
                    "hosts: drop it here, or ask OpenAI's endpoint (`%openai endpoint default`).")
        return (f"This server has no Responses API ({status} on {path}): use --api chat, or "
                "`%config OpenAIMagics.api = \"chat\"` for every cell.")
    lacking = _hosted_endpoint(path, status)
    if lacking:
        return lacking
    text = message.lower()
    if path.rstrip("/").endswith("/moderations") and status in (404, 405, 501) and "model" not in text:
        return (f"This server has no moderation endpoint ({status} on {path}): `%moderate` and `--moderate` need "
                "one (OpenAI has it; `%openai endpoint default` goes back there).")
    if status < 400 or not any(marker in text for marker in VALIDATION_MARKERS):
        return None
    about_format = any(word in text for word in ("json_object", "json_schema", "response_format", "text.format"))
    sent_format = _format_sent(sent or {})
    if about_format and (sent_format == "json_object" or sent_format is None and "json_object" in text):
        return "This server does not support JSON mode (response_format json_object): drop --json."
    if about_format:
        return ("This server does not support structured outputs (json_schema): drop --schema, or use --json "
                "and describe the fields in the prompt.")
    if "tool" in text or "function" in text:
        return "This server does not support function tools: drop --tools (or use a model that calls tools)."
    if "image" in text:
        return "This server or model does not take images: drop --image, or pick a vision model."
    return None


HOSTED_TOOLS = {"web_search": "web search (--web)", "file_search": "file search (--files)",
                "code_interpreter": "the code interpreter (--python)"}


HOSTED_ENDPOINTS = {"/files": "no Files API ({status} on {path}): it takes no files for --python, a store, a batch "
                              "or fine-tuning",
                    "/vector_stores": "no vector stores ({status} on {path}): `%openai store` and --files need them"}


def _hosted_endpoint(path: str, status: int) -> str | None:
    """The line for a server without the endpoints files are uploaded to (most compatible servers)."""
    if status not in (404, 405, 501):
        return None
    for endpoint, lacks in HOSTED_ENDPOINTS.items():
        if path.rstrip("/").endswith(endpoint):
            return (f"This server has {lacks.format(status=status, path=path)} (OpenAI has them; "
                    "`%openai endpoint default` goes back there). Nothing more was sent.")
    return None


def _hosted_tools_sent(body: dict) -> str:
    """The hosted tools a request asked for, in words ("web search (--web)"), or ""."""
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    names = [HOSTED_TOOLS[t["type"]] for t in tools if isinstance(t, dict) and t.get("type") in HOSTED_TOOLS]
    return " and ".join(dict.fromkeys(names))


def _format_sent(body: dict) -> str | None:
    """`json_schema` or `json_object` when the request asked for one (Chat Completions or Responses)."""
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    fmt = body.get("response_format") or text.get("format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    return kind if kind in ("json_schema", "json_object") else None


@contextmanager
def api_errors(session, model: str | None = None, window_of: Callable[[str], int | None] | None = None):
    """Convert SDK exceptions raised inside the block into one-line CallFailed errors, key redacted."""
    from openai_magics.wire.sdk import openai_sdk

    openai = openai_sdk()

    try:
        yield
    except openai.OpenAIError as exc:
        failed = explain(exc, model=model, trace=session.http.trace, base_url=session.base_url, window_of=window_of)
        raise _redacted(failed, session) from None


def _redacted(failed: CallFailed, session) -> CallFailed:
    """The same failure with the key taken out, headed by whose error it is."""
    redact = session.redact if session is not None else (lambda text: text)
    config = getattr(session, "config", None)
    again = CallFailed(redact(str(failed)), failed.status, failed.code, source=redact(error_source(config)))
    again.server_name = failed.server_name
    return again


@contextmanager
def boundary(session_of):
    """The one error boundary around everything a magic or facade does: whatever goes wrong shows as one
    line (IPython's UsageError or our CallFailed), with no key in it and no traceback whose frames could
    show one, even under `%xmode Verbose`. An interrupt stays an interrupt.

    `session_of` gives the session."""
    session_of().http.forget()
    failed = None
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:  # one line at once: a traceback through a cell of 20,000 texts takes seconds
        failed = Interrupted("what arrived is kept (see `%openai usage`), nothing more is sent.")
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: B036 - turned into one line below
        failed = _one_line(exc, session_of())
    if failed is not None:
        raise failed  # outside the except: the original, and its frames, are not even its context


def _one_line(exc: BaseException, session) -> Exception:
    """The one-line error for `exc`, redacted."""
    import sys

    redact = session.redact if session is not None else (lambda text: text)
    openai = sys.modules.get("openai")
    if isinstance(exc, UsageError):
        return UsageError(redact(str(exc)))
    if isinstance(exc, CallFailed):
        return _redacted(exc, session)
    if openai is not None and isinstance(exc, openai.OpenAIError):
        return _redacted(explain(exc, trace=session.http.trace if session else None,
                                 base_url=session.base_url if session else None), session)
    trace = session.http.trace if session is not None else None
    if trace is not None and trace.answered:
        return _redacted(CallFailed(unreadable(exc, session.base_url)), session)
    return _redacted(CallFailed(unexpected(exc)), session)


def _detail(exc: BaseException) -> str:
    try:
        detail = str(exc)
    except Exception:  # an exception whose __str__ itself fails
        detail = ""
    detail = " ".join(detail.split())[:300]
    return f"{type(exc).__name__}{': ' + detail if detail else ''}"


def unexpected(exc: BaseException) -> str:
    """What an error nobody planned for says: what it was, that nothing more was sent, where to look."""
    return (f"Something unexpected failed ({_detail(exc)}). "
            "Nothing more was sent; what was paid is in `%openai usage`. If it happens again, please report it.")


def unreadable(exc: BaseException, base_url: str) -> str:
    """A server answered (2xx) and its answer broke on reading: say so, not 'could not reach'."""
    return (f"The answer from {base_url} could not be read ({_detail(exc)}). Is it an OpenAI-compatible API? "
            "`%openai endpoint` shows where calls go; what was paid is in `%openai usage`.")
