"""Images for vision: any source a notebook holds → one data URL (encoded once), and its token cost."""
from __future__ import annotations

from openai_magics.core.data import load

import base64
import io
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from openai_magics.core.errors import UsageError
from openai_magics.core.models import base_name
from openai_magics.core.tokens import TokenCount

SENDABLE = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
KINDS = "a path, URL, PIL image, numpy array, matplotlib figure, bytes or Path"


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
    if isinstance(source, str):
        if source.startswith(("http://", "https://")):
            return EncodedImage(source, label)
        if source.startswith("data:"):
            size = data_url_size(source)
            if size is None:
                raise UsageError(f"--image {label}: the data URL does not hold an image.")
            return EncodedImage(source, label, *size)
        if not Path(source).expanduser().is_file():
            raise UsageError(f"--image {label}: no such file, URL or variable.")
        source = Path(source).expanduser()
    if isinstance(source, os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"--image {label}: no such file ({path}).")
        return _from_bytes(path.read_bytes(), label)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(source), label)
    module = type(source).__module__.split(".")[0]
    if module == "PIL" and hasattr(source, "save"):
        return _from_pil(source, label)
    if module == "numpy":
        return _from_pil(_array_to_pil(source, label), label)
    if module == "matplotlib" and hasattr(source, "savefig"):
        buffer = io.BytesIO()
        source.savefig(buffer, format="png")
        return _from_bytes(buffer.getvalue(), label)
    raise UsageError(f"--image {label}: a {type(source).__name__} is not an image source; give {KINDS}.")


def _from_bytes(data: bytes, label: str) -> EncodedImage:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UsageError(f"--image {label}: not an image file PIL can read ({type(exc).__name__}).") from None
    if image.format not in SENDABLE:  # OpenAI takes PNG, JPEG, GIF and WebP: convert the rest
        return _from_pil(image, label)
    return EncodedImage(_data_url(SENDABLE[image.format], data), label, *image.size)


def _from_pil(image, label: str) -> EncodedImage:
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return EncodedImage(_data_url("image/png", buffer.getvalue()), label, *image.size)


def _array_to_pil(array, label: str):
    import numpy as np
    from PIL import Image

    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise UsageError(f"--image {label}: an array of shape {array.shape} is not an image "
                         "(height × width, with 1, 3 or 4 channels).")
    if array.dtype.kind in "fb":  # floats are 0..1 (matplotlib's convention), booleans a mask
        array = np.clip(array.astype(float), 0, 1) * 255
    array = np.ascontiguousarray(array.astype(np.uint8).squeeze())
    return Image.fromarray(array)


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
