"""`/images/generations` (JSON, or a stream of partial images) and `/images/edits` (multipart/form-data).

Each answer holds real images of the size and format asked for, the same for the same prompt: a banded
gradient in the prompt's colours with the prompt's words on it (an edit draws over its first image).
DALL·E 3 adds a `revised_prompt`; the GPT image models report `usage` in tokens, counted here on their own
from the facts in facts/data/image_models.json.
"""
from __future__ import annotations

import base64
import hashlib
import io
import math
import textwrap
import time

from openai_magics.facts.data import load
from openai_magics.facts.models import base_name
from openai_magics.offline.errors import RequestError
from openai_magics.offline.tokens import count
from openai_magics.offline.router import Route
from openai_magics.offline.wire import Upload

EXPIRED_LINK = "http://127.0.0.1:9/offline-expired"  # nothing listens on port 9: a link that cannot be fetched
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
BANDS = 12                 # gradient steps: flat bands keep the PNGs small
AUTO_SIZE, AUTO_QUALITY = "1024x1024", "medium"
INPUT_IMAGE_BASE, INPUT_IMAGE_TILE = 65, 129  # tokens of an input image: a base and 129 per 512-px tile


def rules(model: str) -> dict:
    models = load("image_models.json")["models"]
    found = models.get(model) or models.get(base_name(model))
    if found is None and model.startswith(("gpt-image", "chatgpt-image")):
        found = models["gpt-image-1"]
    if found is None:
        raise RequestError(f"The model '{model}' does not exist or does not make images.", code="model_not_found",
                           param="model", status=404)
    return found


def _field(body: dict, name: str, cast=str):
    value = body.get(name)
    if value is None or value == "":
        return None
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise RequestError(f"Invalid '{name}': {value!r}.", code="invalid_value", param=name) from None


def _flag(value) -> bool:
    return value is True or str(value).lower() == "true"


def _check(model: str, body: dict, edits: int, state=None) -> dict:
    """The request's settings once the model's rules are applied: refused as the API refuses them."""
    r = rules(model)
    size, quality = _field(body, "size") or ("auto" if "auto" in r["sizes"] else "1024x1024"), _field(body, "quality")
    n, style = _field(body, "n", int) or 1, _field(body, "style")
    output_format = _field(body, "output_format") or "png"
    if size not in r["sizes"]:
        raise RequestError(f"Invalid value: '{size}'. Supported values are: {', '.join(map(repr, r['sizes']))}.",
                           code="invalid_value", param="size")
    if quality is not None and quality not in r["qualities"] + ["auto"] * bool(r["usage"]):
        raise RequestError(f"Invalid value: '{quality}'. Supported values are: "
                           f"{', '.join(map(repr, r['qualities']))}.", code="invalid_value", param="quality")
    if not r["n"][0] <= n <= r["n"][1]:
        raise RequestError(f"Invalid 'n': {model} makes {r['n'][0]} to {r['n'][1]} images per request.",
                           code="invalid_value", param="n")
    if style is not None and style not in r["styles"]:
        raise RequestError(f"Invalid 'style' for {model}: '{style}'.", code="invalid_value", param="style")
    if output_format not in r["formats"]:
        raise RequestError(f"Invalid 'output_format' for {model}: '{output_format}'.", code="invalid_value",
                           param="output_format")
    if _field(body, "background") is not None and not r["backgrounds"]:
        raise RequestError(f"'background' is not supported by {model}.", code="invalid_value", param="background")
    if body.get("response_format") is not None and r["usage"]:
        raise RequestError(f"Unknown parameter: 'response_format' is not supported by {model}.",
                           code="unknown_parameter", param="response_format")
    if edits and not r["edit_images"] or edits > r["edit_images"]:
        raise RequestError(f"{model} edits at most {r['edit_images']} image(s).", code="invalid_value", param="image")
    partial = _field(body, "partial_images", int) or 0
    streaming = _flag(body.get("stream"))
    if streaming and not r["stream"]:
        raise RequestError(f"Streaming is not supported by {model}.", code="invalid_value", param="stream")
    if len(_field(body, "prompt") or "") > r["prompt_characters"]:
        raise RequestError(f"The prompt is longer than {r['prompt_characters']:,} characters.", param="prompt")
    drawn = AUTO_SIZE if size == "auto" else size
    if quality in (None, "auto"):
        quality = AUTO_QUALITY if r["usage"] else "standard"
    return {"rules": r, "size": drawn, "quality": quality, "n": n, "style": style or "vivid",
            "format": output_format, "background": _field(body, "background") or "auto",
            "compression": _field(body, "output_compression", int), "partial": partial if streaming else 0,
            "streaming": streaming, "response_format": _answered_as(body, r, state)}


def _answered_as(body: dict, r: dict, state) -> str:
    """b64_json or url as asked (or as the model does); a quirky proxy's links whatever was asked."""
    quirks = state.quirks if state is not None else ()
    if "images_as_dead_links" in quirks:
        return "dead_link"
    if "images_as_url" in quirks:
        return "url"
    return body.get("response_format") or ("b64_json" if r["usage"] else "url")


# -- drawing --------------------------------------------------------------------------------------------

def _colours(prompt: str, salt: str = "") -> tuple[tuple[int, ...], tuple[int, ...]]:
    digest = hashlib.sha256((salt + prompt).encode()).digest()
    return tuple(digest[:3]), tuple(255 - b // 2 for b in digest[3:6])


def draw(prompt: str, size: str, *, index: int = 0, base=None, stage: float = 1.0, transparent: bool = False):
    """A PIL image: the prompt's gradient and words (over `base`, an edit's first image); `stage` < 1 is a
    partial image, coarser the earlier it comes."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = map(int, size.split("x"))
    top, bottom = _colours(prompt, str(index))
    ramp = Image.linear_gradient("L").resize((width, height)).point(lambda v: v * BANDS // 256 * 255 // (BANDS - 1))
    image = Image.merge("RGB", [ramp.point(lambda v, a=a, b=b: a + (b - a) * v // 255) for a, b in zip(top, bottom)])
    if base is not None:
        image = Image.blend(base.convert("RGB").resize((width, height)), image, 0.35)
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, width // 18))
    words = textwrap.fill(" ".join(prompt.split()[:24]), width=max(8, 18 * width // height))
    pen.multiline_text((width // 16, height // 8), words, fill=(255, 255, 255), font=font,
                       stroke_width=max(1, width // 256), stroke_fill=(0, 0, 0))
    if stage < 1:
        step = 2 ** max(1, round(6 * (1 - stage)))
        image = image.resize((max(1, width // step), max(1, height // step))).resize((width, height), Image.NEAREST)
    if transparent:
        image = image.convert("RGBA")
        image.putalpha(Image.new("L", (width, height), 255).crop((0, 0, width, height)))
        ImageDraw.Draw(image).rectangle((0, 0, width, height // 16), fill=(0, 0, 0, 0))
    return image


def encode(image, output_format: str, compression: int | None) -> bytes:
    buffer = io.BytesIO()
    kind = PIL_FORMATS[output_format]
    if kind == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    options = {"quality": compression} if kind in ("JPEG", "WEBP") and compression is not None else {}
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- usage ----------------------------------------------------------------------------------------------

def _input_image_tokens(images: list) -> int:
    return sum(INPUT_IMAGE_BASE + INPUT_IMAGE_TILE * math.ceil(i.width / 512) * math.ceil(i.height / 512)
               for i in images)


def usage(model: str, prompt: str, settings: dict, images: list) -> dict:
    text = count(prompt, model)
    image_in = _input_image_tokens(images)
    per_image = settings["rules"]["output_tokens"][settings["quality"]][settings["size"]]
    out = settings["n"] * (per_image + settings["partial"] * settings["rules"]["partial_image_tokens"])
    return {"input_tokens": text + image_in, "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
            "output_tokens": out, "output_tokens_details": {"text_tokens": 0, "image_tokens": out},
            "total_tokens": text + image_in + out}


# -- answers ---------------------------------------------------------------------------------------------

def _answer(model: str, prompt: str, settings: dict, base=None, images: list = ()) -> dict:
    data = []
    transparent = settings["background"] == "transparent" and settings["format"] != "jpeg"
    for index in range(settings["n"]):
        picture = encode(draw(prompt, settings["size"], index=index, base=base, transparent=transparent),
                         settings["format"], settings["compression"])
        item = {"b64_json": _b64(picture)}
        if settings["response_format"] == "url":
            item = {"url": f"data:image/png;base64,{_b64(picture)}"}
        elif settings["response_format"] == "dead_link":
            item = {"url": f"{EXPIRED_LINK}/img-{index}.png"}
        if settings["rules"]["revised_prompt"]:
            item["revised_prompt"] = f"A detailed, vivid illustration: {prompt.strip().rstrip('.')}."
        data.append(item)
    answer = {"created": int(time.time()), "data": data}
    if settings["rules"]["usage"]:
        answer.update(usage=usage(model, prompt, settings, images), size=settings["size"],
                      quality=settings["quality"], output_format=settings["format"],
                      background="transparent" if transparent else "opaque")
    return answer


def _stream(kind: str, model: str, prompt: str, settings: dict, base=None, images: list = ()):
    """`image_generation.partial_image` events (coarse to fine), then `image_generation.completed`."""
    transparent = settings["background"] == "transparent" and settings["format"] != "jpeg"
    common = {"size": settings["size"], "quality": settings["quality"], "background": settings["background"],
              "output_format": settings["format"]}
    for index in range(settings["partial"]):
        stage = (index + 1) / (settings["partial"] + 1)
        picture = encode(draw(prompt, settings["size"], base=base, stage=stage, transparent=transparent),
                         settings["format"], settings["compression"])
        yield {"type": f"{kind}.partial_image", "b64_json": _b64(picture), "created_at": int(time.time()),
               "partial_image_index": index, **common}
    picture = encode(draw(prompt, settings["size"], base=base, transparent=transparent), settings["format"],
                     settings["compression"])
    yield {"type": f"{kind}.completed", "b64_json": _b64(picture), "created_at": int(time.time()),
           "usage": usage(model, prompt, settings, images), **common}


def generate(state, request):
    body = request.body
    prompt, model = request.required("prompt"), body.get("model") or "dall-e-2"
    settings = _check(model, body, 0, state)
    if settings["streaming"]:
        return _stream("image_generation", model, prompt, settings)
    return _answer(model, prompt, settings)


def edit(state, request):
    body = request.body
    prompt, model = request.required("prompt"), body.get("model") or "gpt-image-1.5"
    uploads = request.files.get("image")
    uploads = uploads if isinstance(uploads, list) else [uploads] if isinstance(uploads, Upload) else []
    if not uploads:
        raise RequestError("Missing required parameter: 'image'.", param="image")
    settings = _check(model, body, len(uploads), state)
    images = [_open(u, "image") for u in uploads]
    if model.startswith("dall-e-2") and (images[0].format != "PNG" or images[0].width != images[0].height):
        raise RequestError("Invalid input image - format must be a square PNG for dall-e-2.", param="image")
    mask = request.files.get("mask")
    if isinstance(mask, Upload):
        found = _open(mask, "mask")
        if found.format != "PNG" or "A" not in found.getbands() and "transparency" not in found.info:
            raise RequestError("Invalid mask: it must be a PNG with an alpha channel.", param="mask")
        if found.size != images[0].size:
            raise RequestError(f"Invalid mask: its size {found.width}x{found.height} is not the image's "
                               f"{images[0].width}x{images[0].height}.", param="mask")
    if settings["streaming"]:
        return _stream("image_edit", model, prompt, settings, images[0], images)
    return _answer(model, prompt, settings, images[0], images)


def _open(upload: Upload, name: str):
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(upload.data))
        image.load()
    except Exception:  # anything PIL cannot read is simply not an image
        raise RequestError(f"Invalid '{name}': {upload.filename} is not an image file.", param=name) from None
    return image


ROUTES = [
    Route("POST", "/images/generations", generate),
    Route("POST", "/images/edits", edit),
]
