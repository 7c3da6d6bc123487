"""The offline server's own token counting, kept apart from the client's on purpose: a bug in the client's
counts must show up as a mismatch in tests, not be mirrored by the server.

It counts the way OpenAI documents it (3 tokens per message, 3 to prime the reply; images by tiles from
data/image_tokens.json), with tiktoken's encodings where they are available offline. A short text is encoded
by a byte-pair encoder of its own, in Python, on the encoding's ranks (tiktoken's algorithm, token for
token), until tiktoken's encoder is built anyway: building it takes ~130 ms of CPU under the GIL, which a
fresh kernel's first offline answer would wait for (the kernel's SDK import holds the same GIL meanwhile).
The server `%openai offline` starts has that encoder in its helper process (offline/helper_process.py), so
even its ranks (~50–100 ms of CPU) load on the other core.
"""
from __future__ import annotations

import base64
import io
import json
import math
import re
import threading

from openai_magics.facts.data import load
from openai_magics.facts.messages import message_text
from openai_magics.facts.models import base_name
from openai_magics.facts.tokens import built_encoding, encoding_name, get_encoding, parsed_encoding

SHORT_TEXT = 4_000  # characters the Python encoder takes a few ms over; a longer text waits for tiktoken's


class BytePairEncoder:
    """tiktoken's encoding of ordinary text (what `encode(text, disallowed_special=())` gives), in Python: the
    text split by the encoding's pattern, each piece a token when the vocabulary has it, else its bytes merged
    pair by pair, the lowest-ranked pair first (the leftmost of equals), as tiktoken's Rust core does."""

    def __init__(self, pat_str: str, ranks: dict[bytes, int]):
        import regex  # tiktoken's own dependency: the pattern uses \p{…} classes

        self._pattern = regex.compile(pat_str)
        self._ranks = ranks

    def encode(self, text: str) -> list[bytes] | None:
        """The tokens' bytes; None for text that is not valid UTF-8 (a lone surrogate: tiktoken mends it)."""
        tokens: list[bytes] = []
        try:
            for match in self._pattern.finditer(text):
                piece = match.group(0).encode("utf-8")
                if piece in self._ranks:
                    tokens.append(piece)
                else:
                    tokens.extend(self._merge(piece))
        except UnicodeEncodeError:
            return None
        return tokens

    def _merge(self, piece: bytes) -> list[bytes]:
        parts = [piece[i:i + 1] for i in range(len(piece))]
        while len(parts) > 1:
            best, at = None, -1
            for i in range(len(parts) - 1):
                rank = self._ranks.get(parts[i] + parts[i + 1])
                if rank is not None and (best is None or rank < best):
                    best, at = rank, i
            if best is None:
                break
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
        return parts


_encoders: dict[str, BytePairEncoder] = {}
_encoders_lock = threading.Lock()
_apart: list = []  # helper processes with the Python encoder (their `token_bytes`), asked before this process's


def encode_apart(helper) -> None:
    """Ask `helper.token_bytes(text, model)` for a short text's tokens first (None from it: encode here)."""
    _apart.append(helper)


def stop_encoding_apart(helper) -> None:
    if helper in _apart:
        _apart.remove(helper)


def python_encoder(model: str) -> BytePairEncoder | None:
    """The Python encoder of the model's encoding (made once), or None when the encoding is not available."""
    name = encoding_name(model)
    with _encoders_lock:
        if name not in _encoders:
            state = parsed_encoding(model)
            if state is None:
                return None
            _encoders[name] = BytePairEncoder(state["pat_str"], state["mergeable_ranks"])
        return _encoders[name]


def _token_bytes(text: str, model: str) -> list[bytes] | None:
    """The text's tokens as bytes: tiktoken's encoder once built, the Python one for a short text until then."""
    if len(text) <= SHORT_TEXT and _settled(text) and built_encoding(model) is None:
        for helper in list(_apart):
            found = helper.token_bytes(text, model)
            if found is not None:
                return found
        encoder = python_encoder(model)
        found = encoder.encode(text) if encoder is not None else None
        if found is not None:
            return found
    enc = get_encoding(model)
    return None if enc is None else enc.decode_tokens_bytes(enc.encode(text, disallowed_special=()))


def _settled(text: str) -> bool:
    """Every character has had its Unicode category long enough (assigned by Unicode 14, Python's tables here)
    for the pattern's \\p{…} classes to read it as tiktoken's Rust tables do: a character assigned since may
    be a mark to one and nothing to the other, and split the text elsewhere."""
    import unicodedata

    return text.isascii() or all(unicodedata.category(ch) != "Cn" for ch in text if ord(ch) > 127)


def tokenize(text: str, model: str) -> list[str]:
    """The text's tokens as strings, so a stream can send one token per chunk."""
    found = _token_bytes(text, model)
    if found is None:
        return re.findall(r"\s*\S+|\s+", text)
    return [piece.decode("utf-8", "replace") for piece in found]


def count(text: str, model: str) -> int:
    if len(text) > SHORT_TEXT and (enc := get_encoding(model)) is not None:
        return len(enc.encode(text, disallowed_special=()))
    found = _token_bytes(text, model)
    return len(found) if found is not None else len(tokenize(text, model))


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
