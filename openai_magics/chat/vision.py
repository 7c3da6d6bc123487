"""Images for vision: any source a notebook holds → one data URL (encoded once), and its token cost."""
from __future__ import annotations

from openai_magics.facts.data import load

import base64
import io
import math
from dataclasses import dataclass
from functools import lru_cache

from openai_magics.core.errors import UsageError
from openai_magics.magics.images import read_image
from openai_magics.facts.models import base_name
from openai_magics.facts.tokens import TokenCount


@dataclass(frozen=True)
class EncodedImage:
    url: str                  # a data: URL, or an http(s) URL the API fetches itself
    label: str                # what the user named: a variable, a file name, a URL
    width: int | None = None  # None: a URL we do not download
    height: int | None = None

    def part(self, detail: str | None) -> dict:
        image_url = {"url": self.url, **({"detail": detail} if detail else {})}
        return {"type": "image_url", "image_url": image_url}


def user_content(prompt: str, images: list[EncodedImage], detail: str | None) -> str | list[dict]:
    """The user message's content: the text alone, or the text followed by the image parts."""
    if not images:
        return prompt
    return [{"type": "text", "text": prompt}, *(image.part(detail) for image in images)]


def encode(source, label: str) -> EncodedImage:
    """One image source → an EncodedImage; bad input is one clear UsageError, nothing sent."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        return EncodedImage(source, label)
    if isinstance(source, str) and source.startswith("data:"):
        size = data_url_size(source)
        if size is None:
            raise UsageError(f"--image {label}: the data URL does not hold an image.")
        return EncodedImage(source, label, *size)
    image = read_image(source, label, "--image")
    return EncodedImage(_data_url(image.media_type, image.data), label, image.width, image.height)


def _data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def data_url_size(url: str) -> tuple[int, int] | None:
    """The pixel size of the image in a data URL, or None when it holds no readable image."""
    from PIL import Image

    header, _, payload = url.partition(",")
    try:
        data = base64.b64decode(payload, validate=True) if header.endswith(";base64") else payload.encode()
        return Image.open(io.BytesIO(data)).size
    except Exception:  # any undecodable payload is simply 'not an image'
        return None


# --- tokens ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _rules() -> dict:
    return load("image_tokens.json")


def image_tokens(width: int | None, height: int | None, detail: str | None, model: str) -> TokenCount:
    """OpenAI's tile formula; 'auto' counts as high (the worst case), an unknown size as the largest."""
    rules = _rules()
    name = base_name(model)
    prices = rules["models"].get(name, rules["default"])
    exact = name in rules["models"] or name in rules["default_models"]
    if detail == "low":
        return TokenCount(prices["base_tokens"], exact)
    if width is None or height is None:
        width, height, exact = rules["short_side"], rules["max_side"], False
    scale = min(1.0, rules["max_side"] / max(width, height))
    width, height = width * scale, height * scale
    scale = min(1.0, rules["short_side"] / min(width, height))
    tiles = math.ceil(width * scale / rules["tile"]) * math.ceil(height * scale / rules["tile"])
    return TokenCount(prices["base_tokens"] + prices["tile_tokens"] * tiles, exact and detail == "high")


def messages_image_tokens(messages: list[dict], model: str) -> TokenCount:
    """The image tokens of every image part in chat messages (text is counted by tokens.count_messages)."""
    total, exact = 0, True
    for message in messages:
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                image_url = part.get("image_url") or {}
                url = image_url.get("url", "")
                size = data_url_size(url) if url.startswith("data:") else None
                count = image_tokens(*(size or (None, None)), image_url.get("detail"), model)
                total, exact = total + count.tokens, exact and count.exact
    return TokenCount(total, exact)
