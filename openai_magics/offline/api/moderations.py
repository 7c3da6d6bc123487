"""`/moderations`: deterministic verdicts. A text holding the test marker `[[flag:CATEGORY]]` is flagged in
that category (score 0.97); everything else scores low and passes."""
from __future__ import annotations

import hashlib
import itertools
import re

from openai_magics.offline.errors import RequestError
from openai_magics.offline.router import Route

CATEGORIES = ("hate", "hate/threatening", "harassment", "harassment/threatening", "illicit", "illicit/violent",
              "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
              "violence/graphic")
MARKER = re.compile(r"\[\[flag:([a-z/-]+)\]\]")
FLAGGED_SCORE = 0.97
_ids = itertools.count(1)


def _texts(body: dict) -> list[tuple[str, str]]:
    """(kind, text) per input: a string, a list of strings, or a list of text / image_url parts."""
    raw = body["input"]
    items = [raw] if isinstance(raw, str) else raw
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(("text", item))
        elif item.get("type") == "image_url":
            out.append(("image", item.get("image_url", {}).get("url", "")))
        else:
            out.append(("text", item.get("text", "")))
    return out


def _low_score(text: str, category: str) -> float:
    digest = hashlib.sha256(f"{category}\0{text}".encode()).digest()
    return round(digest[0] / 255 * 0.01, 6)  # below 1%: clearly not flagged


def verdict(kind: str, text: str) -> dict:
    marked = {m for m in MARKER.findall(text) if m in CATEGORIES}
    scores = {c: FLAGGED_SCORE if c in marked else _low_score(text, c) for c in CATEGORIES}
    return {"flagged": bool(marked), "categories": {c: c in marked for c in CATEGORIES},
            "category_scores": scores, "category_applied_input_types": {c: [kind] for c in CATEGORIES}}


def moderate(state, request) -> dict:
    inputs = _texts(request.body)
    if not inputs:
        raise RequestError("input must not be empty.", param="input")
    model = request.body.get("model") or "omni-moderation-latest"
    snapshot = "omni-moderation-2024-09-26" if model == "omni-moderation-latest" else model
    return {"id": f"modr-offline{next(_ids)}", "model": snapshot,
            "results": [verdict(kind, text) for kind, text in inputs]}


ROUTES = [Route("POST", "/moderations", moderate)]
