"""The offline server's own token counting, kept apart from the client's on purpose: a bug in the client's
counts must show up as a mismatch in tests, not be mirrored by the server.

It counts the way OpenAI documents it (3 tokens per message, 3 to prime the reply; images by tiles from
data/image_tokens.json), with tiktoken's encodings where they are available offline.
"""
from __future__ import annotations

import base64
import io
import json
import math
import re

from openai_magics.facts.data import load
from openai_magics.facts.models import base_name
from openai_magics.facts.tokens import get_encoding


def message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def tokenize(text: str, model: str) -> list[str]:
    """The text's tokens as strings, so a stream can send one token per chunk."""
    enc = get_encoding(model)
    if enc is None:
        return re.findall(r"\s*\S+|\s+", text)
    return [piece.decode("utf-8", "replace") for piece in enc.decode_tokens_bytes(enc.encode(text, disallowed_special=()))]


def count(text: str, model: str) -> int:
    enc = get_encoding(model)
    return len(enc.encode(text, disallowed_special=())) if enc else len(tokenize(text, model))


def count_messages(messages: list[dict], model: str) -> int:
    total = 3
    for m in messages:
        total += 3 + count(m.get("role", ""), model) + count(message_text(m), model)
        if m.get("name"):
            total += 1 + count(m["name"], model)
        for call in m.get("tool_calls") or []:
            fn = call.get("function", {})
            total += count(fn.get("name", "") + fn.get("arguments", ""), model)
    return total


def image_size(url: str) -> tuple[int, int] | None:
    """The pixel size of an image in a data URL, or None when it holds none."""
    from PIL import Image

    header, _, payload = url.partition(",")
    try:
        data = base64.b64decode(payload, validate=True) if header.endswith(";base64") else payload.encode()
        return Image.open(io.BytesIO(data)).size
    except Exception:  # anything undecodable is simply not an image
        return None


def image_tokens(messages: list[dict], model: str) -> int:
    rules = load("image_tokens.json")
    price = rules["models"].get(base_name(model), rules["default"])
    total = 0
    for m in messages:
        for part in m.get("content") if isinstance(m.get("content"), list) else []:
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            image_url = part.get("image_url") or {}
            url = image_url.get("url", "")
            size = image_size(url) if url.startswith("data:") else None
            if image_url.get("detail") == "low":
                total += price["base_tokens"]
                continue
            w, h = size or (rules["short_side"], rules["max_side"])
            scale = min(1.0, rules["max_side"] / max(w, h))
            w, h = w * scale, h * scale
            scale = min(1.0, rules["short_side"] / min(w, h))
            tiles = math.ceil(w * scale / rules["tile"]) * math.ceil(h * scale / rules["tile"])
            total += price["base_tokens"] + price["tile_tokens"] * tiles
    return total


def definition_tokens(body: dict, model: str) -> int:
    """Tool definitions and a response schema, counted by their JSON."""
    pieces = [json.dumps((t.get("function") or t), sort_keys=True) for t in body.get("tools") or []]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        pieces.append(json.dumps(fmt["json_schema"].get("schema", {}), sort_keys=True))
    return count("\n".join(pieces), model) if pieces else 0
