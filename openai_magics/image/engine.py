"""Sends an image request: bounded by its worst case, through the response cache, streamed when a live view
shows partial images, checked at the boundary, and recorded in the ledger (images counted)."""
from __future__ import annotations

import base64
import binascii
import io
from decimal import Decimal

from openai_magics.core.errors import CallFailed
from openai_magics.facts.tokens import count_text
from openai_magics.metering.usage import Usage
from openai_magics.image.request import ImageRequest


UNREADABLE_KEPT = "no image was kept, and what the answer cost is in the ledger (`%openai usage`)."


class NoImageView:
    def start(self, request: ImageRequest) -> None: ...
    def partial(self, data: bytes, index: int) -> None: ...
    def finish(self, ok: bool) -> None: ...


def worst_usage(request: ImageRequest) -> Usage:
    """The most this request can use: GPT image models by tokens (the prompt, a bound per image to edit, the
    dearest image of the size and quality asked, and each partial image), DALL·E by the image."""
    r = request.rules
    if not r.output_tokens:
        return Usage(images=request.n, image_size=request.priced_size, image_quality=request.priced_quality)
    qualities = [r.output_tokens[request.quality]] if request.quality in r.output_tokens else r.output_tokens.values()
    per_image = max(by_size.get(request.priced_size, max(by_size.values())) for by_size in qualities)
    image_in = r.input_image_tokens_bound * len(request.edits)
    out = request.n * (per_image + request.partial_images * r.partial_image_tokens)
    return Usage(input_tokens=count_text(request.prompt, request.model).tokens + image_in,
                 input_image_tokens=image_in, output_tokens=out, output_image_tokens=out, images=request.n,
                 image_size=request.priced_size, image_quality=request.priced_quality)


def worst_case(session, request: ImageRequest) -> Decimal | None:
    return session.worst_case(request.model, worst_usage(request))


def run_image(session, request: ImageRequest, view=None):
    from openai_magics.cache.keys import preview
    from openai_magics.cache.policy import send_through_cache
    from openai_magics.image.result import ImageDryRun, ImageResult

    if request.dry_run:
        return ImageDryRun(request, worst_case(session, request))
    view = view or NoImageView()
    call = session.begin("image")
    answer, hit = send_through_cache(session, call, request.api, request.key_params(),
                                     lambda: _send(session, call, request, view), kind="image", enabled=request.cache,
                                     what=preview(request.prompt))
    images = checked_images(answer, request)
    usage = answer_usage(answer, request, len(images))
    if hit:
        record = call.record(request.model, usage, cache_hit=True, latency=0.0)
    else:
        record = call.recorded
    return ImageResult(images=images, request=request, record=record, cache_hit=hit, asked=request.n)


def _send(session, call, request: ImageRequest, view) -> dict:
    """One paid request: the answer as JSON (images in base64), recorded in the ledger as soon as it is paid."""
    with session.reserve(worst_case(session, request) if session.budget is not None else None,
                         request.describe(), model=request.model, advice="Ask for fewer or smaller images"):
        session.require_key()
        view.start(request)
        ok, partials = False, []
        try:
            with session.api_errors(request.model):
                answer = _stream(session, call, request, view, partials) if request.streams else _post(session, request)
            ok = True
        except KeyboardInterrupt:
            _record_unfinished(call, request, len(partials), interrupted=True)
            raise
        except CallFailed:  # a stream that broke off after partial images: those were paid for
            if partials:
                _record_unfinished(call, request, len(partials), interrupted=False)
                call.mark_unreadable()
            raise
        finally:
            view.finish(ok)
        # Paid once answered: recorded before its images are read, so an unreadable image still shows its cost.
        # DALL·E bills by the image and reports no usage; a GPT image model that does not say is estimated.
        call.record(request.model, answer_usage(answer, request, _delivered(answer)),
                    estimated=request.rules.usage and not isinstance(answer.get("usage"), dict))
        try:
            answer = with_image_data(answer)  # paid and recorded first: a link that cannot be fetched loses no row
            checked_images(answer, request)  # what cannot be read is not cached
        except CallFailed:
            call.mark_unreadable()
            raise
    return answer


def _delivered(answer) -> int:
    """How many images the answer delivers, as base64 or as a link."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        return 0
    return sum(1 for d in data if isinstance(d, dict) and (d.get("b64_json") or isinstance(d.get("url"), str)))


def with_image_data(answer: dict) -> dict:
    """The answer with every image as base64, links fetched (a proxy may answer with `url` whatever
    `response_format` asked), so that what is kept and cached is the image itself, not a link that expires."""
    data = answer.get("data") or []
    if all(not isinstance(d, dict) or d.get("b64_json") for d in data):
        return answer
    fetched, failed = [], []
    for item in data:
        url = item.get("url") if isinstance(item, dict) and not item.get("b64_json") else None
        if url is None:
            fetched.append(item)
            continue
        raw = _fetch(url)
        if raw is None:
            failed.append(url)
        fetched.append({**item, "b64_json": raw and base64.b64encode(raw).decode("ascii")})
    if failed:
        raise CallFailed(f"The server answered with links instead of images, and {len(failed)} could not be "
                         f"fetched (the call is in the ledger); open them while they last: {' '.join(failed)}")
    return {**answer, "data": fetched}


def _fetch(url: str) -> bytes | None:
    """A `data:` URL's bytes, or an http(s) link's; None when it cannot be had."""
    if url.startswith("data:"):
        try:
            return base64.b64decode(url.split(",", 1)[1], validate=True)
        except (IndexError, binascii.Error, ValueError):
            return None
    if not url.startswith(("http://", "https://")):
        return None
    import httpx

    try:
        response = httpx.get(url, timeout=30, follow_redirects=True)
    except httpx.HTTPError:
        return None
    return response.content if response.status_code == 200 else None


def _post(session, request: ImageRequest) -> dict:
    images = session.client.images
    if request.editing:
        files = {"image": [e.upload(f"image{i}") for i, e in enumerate(request.edits)]
                 if request.rules.edit_images > 1 else request.edits[0].upload("image")}
        if request.mask is not None:
            files["mask"] = request.mask.upload("mask")
        response = images.edit(**files, **request.params())
    else:
        response = images.generate(**request.params())
    return response.model_dump(mode="json", exclude_none=True)


def _record_unfinished(call, request: ImageRequest, partials: int, interrupted: bool) -> None:
    """A request interrupted or broken off may still be billed: what it used so far, by estimate (the prompt,
    the partial images that arrived), is in the ledger, marked as such."""
    r = request.rules
    if not r.output_tokens:
        return  # DALL·E bills the images it delivers; none was
    out = partials * r.partial_image_tokens
    call.record(request.model, Usage(input_tokens=count_text(request.prompt, request.model).tokens,
                                     output_tokens=out, output_image_tokens=out),
                estimated=True, interrupted=interrupted)


def _stream(session, call, request: ImageRequest, view, partials: list) -> dict:
    """Partial images to the view as they arrive; the completed event is the answer."""
    images = session.client.images
    params = request.params()
    if request.editing:
        files = {"image": [e.upload(f"image{i}") for i, e in enumerate(request.edits)]}
        if request.mask is not None:
            files["mask"] = request.mask.upload("mask")
        stream = images.edit(**files, **params)
    else:
        stream = images.generate(**params)
    final = None
    for event in stream:
        kind = getattr(event, "type", "")
        if kind.endswith(".partial_image"):
            call.token_arrived()
            partials.append(_partial(event))
            if partials[-1]:
                view.partial(partials[-1], event.partial_image_index)
        elif kind.endswith(".completed"):
            final = event.model_dump(mode="json", exclude_none=True)
    if final is None:
        arrived = f" after {len(partials)} partial image{'s' * (len(partials) != 1)}" if partials else ""
        raise CallFailed(f"The image stream ended without its completed image{arrived}; "
                         f"{'what it used is in the ledger (estimated)' if partials else 'nothing was kept'}. "
                         "Try again.")
    answer = {"data": [{"b64_json": final.get("b64_json")}], "created": final.get("created_at")}
    answer.update({k: final[k] for k in ("usage", "size", "quality", "output_format", "background") if k in final})
    return answer


def _partial(event) -> bytes:
    """A partial image's bytes; b"" when they are not base64 (a preview only: the stream goes on)."""
    try:
        return _decode(getattr(event, "b64_json", None), "partial image")
    except CallFailed:
        return b""


def _decode(text, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise CallFailed(f"The server's {what} is not base64 image data; {UNREADABLE_KEPT}") from None


def checked_images(answer, request: ImageRequest) -> list:
    """The answer's images, each readable by PIL; one clear line when the answer is not that."""
    from PIL import Image, UnidentifiedImageError

    from openai_magics.image.result import GeneratedImage

    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) and d.get("b64_json") for d in data):
        raise CallFailed("The server's images answer holds no images under `data` (base64); nothing was kept. "
                         "Is the endpoint an OpenAI-compatible Images API?")
    images = []
    for item in data:
        raw = _decode(item["b64_json"], "image")
        try:
            picture = Image.open(io.BytesIO(raw))
            picture.load()
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            raise CallFailed(f"The server sent an image PIL cannot read; {UNREADABLE_KEPT}") from None
        revised = item.get("revised_prompt") if isinstance(item.get("revised_prompt"), str) else None
        images.append(GeneratedImage(raw, picture.format or "PNG", *picture.size, revised_prompt=revised))
    return images


def answer_usage(answer: dict, request: ImageRequest, images: int) -> Usage:
    """What the answer says was used (tokens, for GPT image models), else what the request asked for."""
    size = answer.get("size") if isinstance(answer.get("size"), str) else request.priced_size
    quality = answer.get("quality") if isinstance(answer.get("quality"), str) else request.priced_quality
    usage = Usage.from_images(answer.get("usage"), images, size, quality) if isinstance(answer.get("usage"), dict) \
        else None
    return usage or Usage(images=images, image_size=size, image_quality=quality)
