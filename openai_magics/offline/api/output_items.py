"""Responses output items besides the message, on demand: a prompt holding `(offline: with KIND)` gets the
item a built-in tool would have added (a generated image, a web or file search with citations in the text,
code interpreter's code and logs, MCP calls), shaped as OpenAI's spec says. `(offline: with unknown item)`
sends a type no client knows yet; `(offline: with no text)` leaves the message out (an image alone)."""
from __future__ import annotations

import itertools
import re

DIRECTIVE = re.compile(r"\(offline:\s*with ([a-z ]+?)\)", re.I)
KINDS = ("image", "web search", "file search", "code interpreter", "mcp", "mcp approval", "unknown item", "no text")
SOURCE = {"url": "https://example.com/offline-source", "title": "An offline source"}
FILE = {"file_id": "file-offline-notes", "filename": "notes.pdf"}
_ids = itertools.count(1)


def asked(prompt: str) -> list[str]:
    return [k.lower() for k in DIRECTIVE.findall(prompt) if k.lower() in KINDS]


def items(kinds: list[str], prompt: str) -> list[dict]:
    """The output items that come before the message, in the order asked."""
    made = []
    for kind in kinds:
        made += _MAKERS[kind](prompt)
    return made


def annotations(kinds: list[str], text: str) -> list[dict]:
    """Citations in the message's text: a web search cites a URL over the first line, a file search a file."""
    cited = []
    end = text.find("\n") if "\n" in text else len(text)
    if "web search" in kinds:
        cited.append({"type": "url_citation", "start_index": 0, "end_index": end, **SOURCE})
    if "file search" in kinds:
        cited.append({"type": "file_citation", "index": end, **FILE})
    return cited


def _id(prefix: str) -> str:
    return f"{prefix}_offline{next(_ids)}"


def _image(prompt: str) -> list[dict]:
    import base64

    from openai_magics.offline.api.images import draw, encode

    png = encode(draw(prompt, "64x64"), "png", None)
    return [{"type": "image_generation_call", "id": _id("ig"), "status": "completed",
             "result": base64.b64encode(png).decode("ascii")}]


def _web_search(prompt: str) -> list[dict]:
    return [{"type": "web_search_call", "id": _id("ws"), "status": "completed",
             "action": {"type": "search", "query": "offline source"}}]


def _file_search(prompt: str) -> list[dict]:
    return [{"type": "file_search_call", "id": _id("fs"), "status": "completed", "queries": ["offline notes"],
             "results": [{**FILE, "score": 0.92, "text": "What the notes say."}]}]


def _code_interpreter(prompt: str) -> list[dict]:
    return [{"type": "code_interpreter_call", "id": _id("ci"), "status": "completed", "container_id": "cntr_offline",
             "code": "print(6 * 7)", "outputs": [{"type": "logs", "logs": "42\n"}]}]


def _mcp(prompt: str) -> list[dict]:
    return [{"type": "mcp_list_tools", "id": _id("mcpl"), "server_label": "offline",
             "tools": [{"name": "lookup", "input_schema": {"type": "object"}}]},
            {"type": "mcp_call", "id": _id("mcp"), "server_label": "offline", "name": "lookup",
             "arguments": '{"q": "offline"}', "output": "found it", "error": None, "status": "completed"}]


def _mcp_approval(prompt: str) -> list[dict]:
    return [{"type": "mcp_approval_request", "id": _id("mcpr"), "server_label": "offline", "name": "delete_all",
             "arguments": "{}"}]


def _unknown(prompt: str) -> list[dict]:
    return [{"type": "hologram_call", "id": _id("hg"), "status": "completed"}]


_MAKERS = {"image": _image, "web search": _web_search, "file search": _file_search,
           "code interpreter": _code_interpreter, "mcp": _mcp, "mcp approval": _mcp_approval,
           "unknown item": _unknown, "no text": lambda prompt: []}
