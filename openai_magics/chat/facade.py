"""`openai_magics.chat("…")`: what `%%chat` does, from plain Python, returning the same ChatResult."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def chat(prompt: str, *, model: str | None = None, system: str | None = None, temperature: float | None = None,
         max_tokens: int | None = None, schema=None, json: bool = False, tools=(), images=(),
         detail: str | None = None, thread: str | None = None, new_thread: bool = False, api: str = "auto",
         stream: bool = False, cache: bool = True, view=None, session=None, **options):
    """Ask a chat model. `schema` is a pydantic model or JSON-schema dict (the result's `.parsed` is the
    object); `tools` are functions the model may call; `images` are paths, URLs, PIL images, arrays, bytes.
    Other options (`stop`, `seed`, `reasoning_effort`, `reasoning_summary`, `max_rounds`, `dry_run`) pass
    through `options`, and so do the hosted tools: `web=True` (with `domains`, `location`), `files="STORE"`
    (with `k`), `python=True` or `python=df` (with `file=[df, "path"]`). One the magic's other modes take
    (`moderate`, `compare`…) is one clear error."""
    return ask_as("chat", prompt, model=model, system=system, temperature=temperature, max_tokens=max_tokens,
                  schema=schema, json=json, tools=tools or None, images=list(images), detail=detail, thread=thread,
                  new_thread=new_thread, api=api, stream=stream, cache=cache, view=view, session=session, **options)


def ask_as(magic: str, prompt: str, *, stream: bool = False, cache: bool = True, view=None, session=None,
           **options):
    """`chat()` with its ledger row named `magic` (`%%eval` asks through here)."""
    from openai_magics.chat.engine import run_chat
    from openai_magics.chat.options import facade_args, request_from_args

    s = session or current_session()
    args = facade_args(no_stream=not stream, no_cache=not cache, **options)
    request = request_from_args(args, None, prompt=prompt, model=s.model_for("chat", args.model), stream=stream)
    return run_chat(s, request, view, magic=magic)
