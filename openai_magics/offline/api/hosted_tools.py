"""A Responses body's hosted tools, run offline in the order given (web search, file search, the code
interpreter's stand-in): their output items, the answer's text and its citations."""
from __future__ import annotations

from dataclasses import dataclass, field

from openai_magics.offline.api import containers, vector_stores, web_search


@dataclass
class Hosted:
    items: list = field(default_factory=list)
    text: str = ""
    annotations: list = field(default_factory=list)


RUNNERS = {"web_search": web_search.search, "file_search": vector_stores.file_search,
           "code_interpreter": containers.code_interpreter}


def run(state, body: dict, question: str) -> Hosted | None:
    tools = [t for t in body.get("tools") or [] if t.get("type") in RUNNERS]
    if not tools:
        return None
    include = body.get("include") or []
    hosted, texts = Hosted(), []
    for tool in tools[: body.get("max_tool_calls") or len(tools)]:
        kind = tool["type"]
        items, text, notes = RUNNERS[kind](state, tool, question, include)
        offset = sum(len(t) + 2 for t in texts)
        hosted.items += items
        hosted.annotations += [_shifted(n, offset) for n in notes]
        texts.append(text)
    hosted.text = "\n\n".join(texts)
    return hosted


def _shifted(note: dict, offset: int) -> dict:
    moved = dict(note)
    for key in ("start_index", "end_index", "index"):
        if key in moved:
            moved[key] += offset
    return moved
