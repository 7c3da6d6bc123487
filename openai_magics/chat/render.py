"""How a structured answer shows: the parsed object as a table or JSON, a refusal, the tool calls."""
from __future__ import annotations

import html
import json

from openai_magics.views.markup import NO_MATHS, figures, shorten

SHORT = 80


def plain(value):
    """A parsed object as JSON-able data (pydantic models dumped)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def _is_cell(value) -> bool:
    scalar = (str, int, float, bool, type(None))
    return isinstance(value, scalar) or isinstance(value, list) and all(isinstance(v, scalar) for v in value)


def _cell(value) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def parsed_markdown(value) -> str:
    """A flat object as a field | value table; anything nested as indented JSON."""
    data = plain(value)
    title = f"**{type(value).__name__}**\n\n" if hasattr(value, "model_dump") else ""
    if isinstance(data, dict) and data and all(_is_cell(v) for v in data.values()):
        rows = "".join(f"| {html.escape(str(k))} | {_cell(v)} |\n" for k, v in data.items())
        return f"{title}| field | value |\n| --- | --- |\n{rows}"
    return f"{title}```json\n{json.dumps(data, indent=2, ensure_ascii=False)}\n```"



def call_signature(call) -> str:
    try:
        args = json.loads(call.arguments or "{}")
        inner = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    except ValueError:
        inner = call.arguments
    return f"{call.name}({inner})"


def _mark(call) -> str:
    """A word, not an icon: an emoji needs a font that many machines lack."""
    return "tool error" if call.error else "tool"


def tool_call_html(call) -> str:
    """One call, collapsed to a line (name, arguments, result, time); open it for everything."""
    summary = (f"<b>{_mark(call)}</b> <code>{figures(shorten(call_signature(call), SHORT))}</code> → "
               f"<code>{figures(shorten(call.result, SHORT))}</code> · {call.seconds * 1000:,.0f} ms")
    try:
        arguments = json.dumps(json.loads(call.arguments or "{}"), indent=2, ensure_ascii=False)
    except ValueError:
        arguments = call.arguments
    return (f'<details class="{NO_MATHS}"><summary>{summary}</summary>\n<p>round {call.round} · arguments</p>'
            f"<pre>{figures(arguments)}</pre>\n<p>{'raised' if call.error else 'returned'}</p>"
            f"<pre>{figures(call.result)}</pre></details>\n")


def answer_markdown(result) -> str:
    """The tool calls, then the refusal, the parsed object, or the text."""
    calls = "".join(tool_call_html(c) for c in result.tool_calls)
    calls = f"{calls}\n" if calls else ""
    if result.reasoning_summary:
        calls = f"> **Reasoning summary:** {' '.join(result.reasoning_summary.split())}\n\n{calls}"
    if result.refusal:
        return f"{calls}**Refused:** {html.escape(result.refusal)}"
    if result.parsed is not None:
        return calls + parsed_markdown(result.parsed)
    return calls + result.text


def answer_text(result) -> str:
    """The same for a terminal."""
    lines = [f"{_mark(c)}: {call_signature(c)} → {shorten(c.result, SHORT)} ({c.seconds * 1000:,.0f} ms)"
             for c in result.tool_calls]
    if result.refusal:
        lines.append(f"Refused: {result.refusal}")
    elif result.parsed is not None:
        from pprint import pformat

        lines.append(pformat(result.parsed, width=100))
    else:
        lines.append(result.text)
    return "\n".join(lines)
