"""How a structured answer shows: the parsed object as a table or JSON, a refusal, the tool calls."""
from __future__ import annotations

import html
import json

from openai_magics.views.markup import NO_MATHS, escape_markup, shorten

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
    summary = (f"<b>{_mark(call)}</b> <code>{escape_markup(shorten(call_signature(call), SHORT))}</code> → "
               f"<code>{escape_markup(shorten(call.result, SHORT))}</code> · {call.seconds * 1000:,.0f} ms")
    try:
        arguments = json.dumps(json.loads(call.arguments or "{}"), indent=2, ensure_ascii=False)
    except ValueError:
        arguments = call.arguments
    return (f'<details class="{NO_MATHS}"><summary>{summary}</summary>\n<p>round {call.round} · arguments</p>'
            f"<pre>{escape_markup(arguments)}</pre>\n<p>{'raised' if call.error else 'returned'}</p>"
            f"<pre>{escape_markup(call.result)}</pre></details>\n")


def item_html(item) -> str:
    """A built-in tool's item in one line (its output folded under it); a generated image in full."""
    if item.image:
        return f"![{html.escape(item.line)}](data:image/png;base64,{item.image})\n\n"
    line = f"<b>{html.escape(item.kind.removesuffix('_call').replace('_', ' '))}</b> {escape_markup(item.line)}"
    if not item.detail:
        return f'<div class="{NO_MATHS}">{line}</div>\n'
    return f'<details class="{NO_MATHS}"><summary>{line}</summary><pre>{escape_markup(item.detail)}</pre></details>\n'


def numbered_sources_markdown(sources: list[dict]) -> str:
    """Hosted tools' sources as a numbered list: a page's title linked, a file's name and the passage quoted."""
    lines = []
    for s in sources:
        title = html.escape(s["title"])
        shown = f"[{title}]({s['url']})" if s.get("url") else f"**{title}**"
        if s.get("quote"):
            shown += f" — “{html.escape(shorten(s['quote'], 240))}”"
        lines.append(f"{s['n']}. {shown}")
    return "\n\n**Sources:**\n\n" + "\n".join(lines)


def _cited_text(result) -> str:
    from openai_magics.chat.sources import numbered

    if result.sources:
        return numbered(result.text, result.citation_marks, result.sources) + numbered_sources_markdown(result.sources)
    return result.text + sources_markdown(result.citations)


def sources_markdown(citations: list[dict]) -> str:
    cited = [f"[{html.escape(c['title'])}]({c['url']})" if c.get("url") else html.escape(c["title"])
             for c in citations]
    return f"\n\n**Sources:** {' · '.join(cited)}" if cited else ""


def answer_markdown(result) -> str:
    """The tool calls and built-in tools' items, then the refusal, the parsed object, or the text (with the
    sources it cites)."""
    calls = "".join(tool_call_html(c) for c in result.tool_calls) + "".join(item_html(i) for i in result.items)
    calls = f"{calls}\n" if calls else ""
    if result.reasoning_summary:
        calls = f"> **Reasoning summary:** {' '.join(result.reasoning_summary.split())}\n\n{calls}"
    if result.refusal:
        return f"{calls}**Refused:** {html.escape(result.refusal)}"
    if result.parsed is not None:
        return calls + parsed_markdown(result.parsed)
    return calls + _cited_text(result)


def _item_text(item) -> str:
    """An item's line under its kind ("image generation: generated an image"); the kind once where the line
    already starts with it ("web search: …", "mcp offline: …")."""
    label = item.kind.removesuffix("_call").replace("_", " ")
    named = item.line == label or item.line.startswith((f"{label}:", f"{label} "))
    return item.line if named else f"{label}: {item.line}"


def answer_text(result) -> str:
    """The same for a terminal."""
    lines = [f"{_mark(c)}: {call_signature(c)} → {shorten(c.result, SHORT)} ({c.seconds * 1000:,.0f} ms)"
             for c in result.tool_calls]
    lines += [_item_text(i) for i in result.items]
    if result.refusal:
        lines.append(f"Refused: {result.refusal}")
    elif result.parsed is not None:
        from pprint import pformat

        lines.append(pformat(result.parsed, width=100))
    elif result.sources:
        from openai_magics.chat.sources import numbered

        lines.append(numbered(result.text, result.citation_marks, [{**s, "url": None} for s in result.sources]))
        lines += [f"[{s['n']}] {s['title']}" + (f" ({s['url']})" if s.get("url") else "")
                  + (f": “{shorten(s['quote'], SHORT)}”" if s.get("quote") else "") for s in result.sources]
    else:
        lines.append(result.text)
        if result.citations:
            lines.append("Sources: " + " · ".join(f"{c['title']} ({c['url']})" if c.get("url") else c["title"]
                                                  for c in result.citations))
    return "\n".join(lines)
