"""`openai_magics.chat("…")`: what `%%chat` does, from plain Python, returning the same ChatResult."""
from __future__ import annotations

from openai_magics.core.session import session as current_session


def chat(prompt: str, *, model: str | None = None, system: str | None = None, temperature: float | None = None,
         max_tokens: int | None = None, schema=None, json: bool = False, tools=(), images=(),
         detail: str | None = None, thread: str | None = None, new_thread: bool = False, api: str = "auto",
         stream: bool = False, cache: bool = True, view=None, session=None, **options):
    """Ask a chat model. `schema` is a pydantic model or JSON-schema dict (the result's `.parsed` is the
    object); `tools` are functions the model may call; `images` are paths, URLs, PIL images, arrays, bytes.
    Other ChatRequest fields (`stop`, `seed`, `reasoning_effort`, `max_rounds`…) pass through `options`."""
    from openai_magics.chat.engine import run_chat
    from openai_magics.chat.request import ChatRequest
    from openai_magics.core.cell import turn_key

    s = session or current_session()
    features = {}
    if schema is not None:
        features.update(schema=schema, schema_name=getattr(schema, "__name__", "schema"))
    if tools:
        from openai_magics.chat.tools import tool_from_function

        features["tools"] = [tool_from_function(f) for f in tools]
    if images:
        from openai_magics.chat.vision import encode

        features["images"] = [encode(image, _label(image, i)) for i, image in enumerate(images)]
    request = ChatRequest(prompt=prompt, model=s.model_for("chat", model), system=system, temperature=temperature,
                          max_tokens=max_tokens, json_mode=json, detail=detail, thread=thread,
                          new_thread=new_thread, turn_key=turn_key() if thread else None, api=api, stream=stream,
                          cache=cache, **features, **options)
    return run_chat(s, request, view)


def _label(image, index: int) -> str:
    return image if isinstance(image, str) else f"image {index + 1}"
