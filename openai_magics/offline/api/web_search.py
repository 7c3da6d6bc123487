"""The `web_search` tool, offline: the bundled pages (`offline/web_pages.py`, none of them the live web) ranked
by the server's own embeddings against the question (and the user's city, when one is given), filtered to the
allowed domains; the answer quotes the nearest sentence of the best two, each cited with a `url_citation`."""
from __future__ import annotations

import itertools
import re
from urllib.parse import urlparse

from openai_magics.offline.web_pages import PAGES

_ids = itertools.count(1)
DIMENSIONS = 512
CITED_PAGES = 2
NEAR = 0.75  # a page scoring under this share of the best one is not cited


def search(state, tool: dict, question: str, include: list[str]) -> tuple[list[dict], str, list[dict]]:
    """(the web_search_call item, the answer's text, its annotations)."""
    domains = ((tool.get("filters") or {}).get("allowed_domains")) or []
    pages = [p for p in PAGES if not domains or _allowed(p["url"], domains)]
    city = (tool.get("user_location") or {}).get("city") or ""
    query = f"{question} {city}".strip()
    action = {"type": "search", "query": " ".join(question.split())[:200]}
    found = _ranked(query, pages)[:CITED_PAGES]
    if "web_search_call.action.sources" in include:
        action["sources"] = [{"type": "url", "url": p["url"]} for p in found]
    item = {"type": "web_search_call", "id": f"ws_offline{next(_ids)}", "status": "completed", "action": action}
    if not found:
        return [item], "The offline web search found no page on those domains (it searches a few bundled pages).", []
    text = "Offline web search (a few pages bundled with the offline server, not the live web):\n\n"
    notes = []
    for page in found:
        sentence = _nearest_sentence(query, page["text"])
        text += "- "
        start = len(text)
        text += sentence
        notes.append({"type": "url_citation", "start_index": start, "end_index": len(text), "url": page["url"],
                      "title": page["title"]})
        text += "\n"
    return [item], text.rstrip("\n"), notes


def _allowed(url: str, domains: list[str]) -> bool:
    host = urlparse(url).hostname or ""
    return any(host == d or host.endswith("." + d) for d in domains)


def _ranked(query: str, pages: list[dict]) -> list[dict]:
    """The pages nearest the query, best first; those far below the best are left out."""
    if not pages:
        return []
    from openai_magics.offline.vectors import vectors

    matrix = vectors([query] + [f"{p['title']} {p['text']}" for p in pages], DIMENSIONS)
    scores = [float(s) for s in matrix[1:] @ matrix[0]]
    order = sorted(range(len(pages)), key=lambda i: -scores[i])
    return [pages[i] for i in order if scores[i] >= NEAR * scores[order[0]]]


def _nearest_sentence(query: str, text: str) -> str:
    from openai_magics.offline.vectors import vectors

    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    matrix = vectors([query] + sentences, DIMENSIONS)
    scores = matrix[1:] @ matrix[0]
    return sentences[int(scores.argmax())]
