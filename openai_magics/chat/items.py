"""What an answer holds besides its text: the function calls the tool loop ran, and each other Responses
output item read into one compact line (a generated image kept, a search with what it searched, code
interpreter's code and output, MCP calls), the citations in the text, and one line naming an item type not
known here. All of it plain data, so the cache keeps it and a hit shows the same."""
from __future__ import annotations

from dataclasses import dataclass, field

from openai_magics.views.markup import shorten


@dataclass
class ToolCall:
    """One call the model asked for, as shown under the answer."""

    name: str
    arguments: str
    result: str
    error: bool
    seconds: float
    round: int
    id: str = ""
    value: object = field(default=None, repr=False)


HANDLED_ELSEWHERE = {"message", "reasoning", "function_call"}  # text, the summary, the tool loop
SHORT = 120


@dataclass
class OutputItem:
    kind: str                 # the item's type, as the API names it
    line: str                 # what it did, in one line
    detail: str = ""          # its output (logs, results), shown folded
    image: str | None = None  # a generated image: base64 PNG

    @property
    def png(self) -> bytes | None:
        import base64

        return base64.b64decode(self.image) if self.image else None


def output_items(output) -> list[OutputItem]:
    """The answer's items other than the message, reasoning and function calls, in the order they came."""
    return [_read(item) for item in output if _field(item, "type") not in HANDLED_ELSEWHERE]


def citations(output) -> list[dict]:
    """The sources the text cites: {"title", "url"} for a web page, {"title": filename} for a file."""
    found = []
    for _part, note in annotations(output):
        cited = _citation(note)
        if cited and cited not in found:
            found.append(cited)
    return found


def annotations(output):
    """(text part, annotation) of every annotation in the answer's messages, in order."""
    for item in output:
        if _field(item, "type") != "message":
            continue
        for part in _field(item, "content") or []:
            for note in _field(part, "annotations") or []:
                yield part, note


def _citation(note) -> dict | None:
    kind = _field(note, "type")
    if kind == "url_citation":
        return {"title": _field(note, "title") or _field(note, "url"), "url": _field(note, "url")}
    if kind in ("file_citation", "container_file_citation"):
        return {"title": _field(note, "filename") or _field(note, "file_id")}
    return None


def _read(item) -> OutputItem:
    kind = _field(item, "type") or "?"
    reader = _READERS.get(kind)
    if reader is None:
        return OutputItem(kind, f"⚠ the answer holds a {kind} item, a type not known here; it is not shown")
    return reader(item)


def _image(item) -> OutputItem:
    result = _field(item, "result")
    line = "generated an image" if result else f"image generation {_field(item, 'status') or 'gave nothing'}"
    return OutputItem("image_generation_call", line, image=result)


def _web_search(item) -> OutputItem:
    action = _field(item, "action")
    query = _field(action, "query") or ", ".join(_field(action, "queries") or []) or _field(action, "url") or ""
    return OutputItem("web_search_call", f"web search: {shorten(query, SHORT)}" if query else "web search")


def _file_search(item) -> OutputItem:
    queries = ", ".join(_field(item, "queries") or [])
    results = _field(item, "results") or []
    detail = "\n".join(f"{_field(r, 'filename') or _field(r, 'file_id')}: {shorten(_field(r, 'text') or '', SHORT)}"
                       for r in results)
    return OutputItem("file_search_call", f"file search: {shorten(queries, SHORT)} → {len(results)} results", detail)


def _code_interpreter(item) -> OutputItem:
    code = _field(item, "code") or ""
    outputs = _field(item, "outputs") or []
    shown = [_field(o, "logs") or _field(o, "url") or "" for o in outputs]
    detail = f"{code}\n\n{''.join(shown)}".strip()
    first = code.strip().splitlines()[0] if code.strip() else ""
    return OutputItem("code_interpreter_call", f"code interpreter: {shorten(first, SHORT)}", detail)


def _mcp_call(item) -> OutputItem:
    error = _field(item, "error")
    result = f"error: {_field(error, 'message') or error}" if error else _field(item, "output") or ""
    arguments = shorten(_field(item, "arguments") or "", SHORT)
    line = f"mcp {_field(item, 'server_label')}: {_field(item, 'name')}({arguments})"
    return OutputItem("mcp_call", f"{line} → {shorten(result, SHORT)}", result)


def _mcp_list_tools(item) -> OutputItem:
    names = [_field(t, "name") for t in _field(item, "tools") or []]
    return OutputItem("mcp_list_tools",
                      f"mcp {_field(item, 'server_label')}: {len(names)} tools ({shorten(', '.join(names), SHORT)})")


def _mcp_approval(item) -> OutputItem:
    arguments = shorten(_field(item, "arguments") or "", SHORT)
    return OutputItem("mcp_approval_request", f"mcp {_field(item, 'server_label')} asks approval to call "
                                              f"{_field(item, 'name')}({arguments})")


_READERS = {"image_generation_call": _image, "web_search_call": _web_search, "file_search_call": _file_search,
            "code_interpreter_call": _code_interpreter, "mcp_call": _mcp_call, "mcp_list_tools": _mcp_list_tools,
            "mcp_approval_request": _mcp_approval}


def _field(item, name: str):
    """A field of an SDK object or of a plain dict (an item type the SDK does not know stays a dict)."""
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)


def as_dicts(items: list[OutputItem]) -> list[dict]:
    from dataclasses import asdict

    return [asdict(i) for i in items]


def from_dicts(kept) -> list[OutputItem]:
    return [OutputItem(**i) for i in kept or []]

