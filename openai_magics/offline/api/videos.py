"""`/videos`: create (JSON, or multipart with a first frame), retrieve, list, delete, remix and content.

A job moves queued → in_progress (its progress rising) → completed on a clock of its own, one stage every
`stage_seconds` (short, so notebooks and tests wait little; `OPENAI_MAGICS_OFFLINE_VIDEO_SECONDS` or
`state.part(Videos).stage_seconds` sets it); its state is worked out from the time when it is read.
Its content is a real MP4 (H.264) of the size and length asked, the same for the same prompt: the prompt's
colours and words, a disc crossing the frame and a bar that fills with the time (over the first frame
given, when one was). It is made on first download, with PyAV, imported only then. A prompt holding
`(offline: fail)` makes a job that fails once in progress, as a moderated or broken generation does.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import itertools
import re
import textwrap
from functools import lru_cache
import time
from dataclasses import dataclass
from typing import ClassVar

from openai_magics.facts.data import load
from openai_magics.facts.models import base_name
from openai_magics.offline.errors import RequestError
from openai_magics.offline.api.staged_jobs import StagedJobs, stage_seconds_from, stages_elapsed
from openai_magics.offline.api.files import Files
from openai_magics.offline.api.listing import listed, page
from openai_magics.offline.router import Route, collection
from openai_magics.offline.wire import Binary, Upload

FRAMES_PER_SECOND = 8   # enough to play smoothly as a test pattern, few enough to encode fast
IN_PROGRESS_STAGES = 2  # in_progress lasts twice as long as queued
EXPIRES_AFTER = 3600    # seconds the content stays downloadable
_ids = itertools.count(1)
FAIL_DIRECTIVE = re.compile(r"\(offline:\s*fail\)", re.I)


def rules(model: str) -> dict:
    models = load("video_models.json")["models"]
    found = models.get(model) or models.get(base_name(model))
    if found is None:
        raise RequestError(f"The model '{model}' does not exist or does not make videos.", code="model_not_found",
                           param="model", status=404)
    return found


@dataclass
class VideoEntry:
    id: str
    model: str
    prompt: str
    size: str
    seconds: int
    created: float
    first_frame: bytes | None = None
    remixed_from: str | None = None
    video: bytes | None = None  # made on first download

    @property
    def fails(self) -> bool:
        return bool(FAIL_DIRECTIVE.search(self.prompt))

    def status(self, stage_seconds: float, now: float) -> tuple[str, int]:
        """(status, progress %) at `now`."""
        stage = stages_elapsed(self.created, now, stage_seconds)
        if stage < 1:
            return "queued", 0
        if self.fails and stage >= 2:
            return "failed", 50
        if stage < 1 + IN_PROGRESS_STAGES:
            return "in_progress", min(99, int((stage - 1) / IN_PROGRESS_STAGES * 100))
        return "completed", 100

    def completed_at(self, stage_seconds: float) -> float:
        return self.created + (1 + IN_PROGRESS_STAGES) * stage_seconds


@dataclass
class Videos(StagedJobs):
    """The server's video jobs."""

    kind: ClassVar[str] = "video"
    param: ClassVar[str] = "video_id"
    stage_seconds: float = stage_seconds_from("OPENAI_MAGICS_OFFLINE_VIDEO_SECONDS", 0.2)


def as_object(job: VideoEntry, clock: Videos, now: float) -> dict:
    status, progress = job.status(clock.stage_seconds, now)
    done = job.completed_at(clock.stage_seconds)
    return {"id": job.id, "object": "video", "model": job.model, "status": status, "progress": progress,
            "created_at": int(job.created), "completed_at": int(done) if status == "completed" else None,
            "expires_at": int(done) + EXPIRES_AFTER if status == "completed" else None, "prompt": job.prompt,
            "size": job.size, "seconds": str(job.seconds), "remixed_from_video_id": job.remixed_from,
            "error": {"code": "generation_failed", "message": "The video could not be generated (offline: fail)."}
            if status == "failed" else None}


# -- requests --------------------------------------------------------------------------------------------

def _settings(body: dict) -> tuple[str, str, int]:
    """(model, size, seconds) once the model's rules are applied: refused as the API refuses them."""
    model = body.get("model") or "sora-2"
    r = rules(model)
    size = body.get("size") or r["default_size"]
    if size not in r["sizes"]:
        raise RequestError(f"Invalid value: '{size}'. Supported values for {model} are: "
                           f"{', '.join(map(repr, r['sizes']))}.", code="invalid_value", param="size")
    seconds = str(body.get("seconds") or r["default_seconds"])
    if seconds not in [str(s) for s in r["seconds"]]:
        raise RequestError(f"Invalid value: '{seconds}'. Supported values are: "
                           f"{', '.join(repr(str(s)) for s in r['seconds'])}.", code="invalid_value", param="seconds")
    return model, size, int(seconds)


def _first_frame(state, request, size: str) -> bytes | None:
    """The input_reference, as an uploaded file, a data URL or an uploaded file's id: an image of `size`."""
    found = request.files.get("input_reference")
    if isinstance(found, Upload):
        data = found.data
    else:
        reference = request.body.get("input_reference")
        if not reference:
            return None
        data = _referenced(state, reference)
    image = _open(data)
    if f"{image.width}x{image.height}" != size:
        raise RequestError(f"Invalid input_reference: the image is {image.width}x{image.height}; it must match the "
                           f"requested size {size}.", code="invalid_value", param="input_reference")
    return data


def _referenced(state, reference) -> bytes:
    if not isinstance(reference, dict):
        raise RequestError("Invalid 'input_reference': give a file, or an object with image_url or file_id.",
                           param="input_reference")
    if reference.get("file_id"):
        return state.part(Files).content(reference["file_id"])
    url = reference.get("image_url") or ""
    head, _, encoded = url.partition(",")
    if not (head.startswith("data:image/") and head.endswith(";base64")):
        raise RequestError("Invalid 'input_reference.image_url': the offline server reads base64 data URLs only.",
                           param="input_reference")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("Invalid 'input_reference.image_url': not base64.", param="input_reference") from None


def _open(data: bytes):
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:  # anything PIL cannot read is simply not an image
        raise RequestError("Invalid 'input_reference': not an image file.", param="input_reference") from None
    return image


def create(state, request) -> dict:
    prompt = request.required("prompt")
    model, size, seconds = _settings(request.body)
    job = VideoEntry(f"video_offline{next(_ids):04d}", model, prompt, size, seconds, time.time(),
                     first_frame=_first_frame(state, request, size))
    clock = state.part(Videos)
    return as_object(clock.add(job), clock, time.time())


def remix(state, request) -> dict:
    clock, now = state.part(Videos), time.time()
    source = clock.get(request.params["video_id"])
    if source.status(clock.stage_seconds, now)[0] != "completed":
        raise RequestError(f"Video {source.id} is not completed yet; only a completed video can be remixed.",
                           param="video_id")
    job = VideoEntry(f"video_offline{next(_ids):04d}", source.model, request.required("prompt"), source.size,
                     source.seconds, now, first_frame=source.first_frame, remixed_from=source.id)
    return as_object(clock.add(job), clock, now)


def retrieve(state, request) -> dict:
    clock = state.part(Videos)
    return as_object(clock.get(request.params["video_id"]), clock, time.time())


def list_videos(state, request) -> dict:
    clock, now = state.part(Videos), time.time()
    jobs = clock.by_creation(newest_first=request.query.get("order") != "asc")
    data, more = page([as_object(j, clock, now) for j in jobs], request)
    return listed(data, more)


def delete(state, request) -> dict:
    clock = state.part(Videos)
    job = clock.get(request.params["video_id"])
    with clock.lock:
        clock.items.pop(job.id, None)
    return {"id": job.id, "object": "video.deleted", "deleted": True}


def content(state, request) -> Binary:
    clock = state.part(Videos)
    job = clock.get(request.params["video_id"])
    if job.status(clock.stage_seconds, time.time())[0] != "completed":
        raise RequestError(f"Video {job.id} is not ready yet; download it once its status is completed.",
                           param="video_id")
    variant = request.query.get("variant") or "video"
    if variant == "thumbnail":
        return Binary(_thumbnail(job), "image/webp")
    if variant != "video":
        raise RequestError(f"The offline server makes no '{variant}' variant (it makes video and thumbnail).",
                           code="invalid_value", param="variant")
    with clock.lock:
        if job.video is None:
            job.video = make_video(job.prompt, job.size, job.seconds, job.first_frame)
    return Binary(job.video, "video/mp4")


# -- drawing and encoding -------------------------------------------------------------------------------

def _colours(prompt: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    digest = hashlib.sha256(prompt.encode()).digest()
    return tuple(digest[:3]), tuple(255 - b // 2 for b in digest[3:6]), tuple(128 + b // 2 for b in digest[6:9])


def backdrop(prompt: str, size: str, first_frame: bytes | None = None):
    """The still part of every frame (a PIL image): the prompt's gradient and words, over the first frame."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = map(int, size.split("x"))
    top, bottom, _ = _colours(prompt)
    ramp = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", [ramp.point(lambda v, a=a, b=b: a + (b - a) * v // 255) for a, b in zip(top, bottom)])
    if first_frame is not None:
        image = Image.blend(Image.open(io.BytesIO(first_frame)).convert("RGB").resize((width, height)), image, 0.35)
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, min(width, height) // 14))
    words = textwrap.fill(" ".join(prompt.split()[:24]), width=max(8, 18 * width // max(width, height)))
    pen.multiline_text((width // 16, height // 8), words, fill=(255, 255, 255), font=font,
                       stroke_width=max(1, width // 256), stroke_fill=(0, 0, 0))
    return image


def frames(prompt: str, size: str, seconds: int, first_frame: bytes | None = None):
    """Each frame as an RGB numpy array: the backdrop, a disc crossing it, a time bar filling at the bottom."""
    import numpy as np

    still = np.asarray(backdrop(prompt, size, first_frame), dtype=np.uint8)
    height, width = still.shape[:2]
    radius = max(8, min(width, height) // 12)
    ys, xs = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    inside = xs ** 2 + ys ** 2 <= radius ** 2
    _, _, disc = _colours(prompt)
    count = seconds * FRAMES_PER_SECOND
    for index in range(count):
        frame = still.copy()
        t = index / max(1, count - 1)
        x = int(t * (width - 2 * radius - 1))
        y = int((height - 2 * radius - 1) * (0.6 + 0.3 * np.sin(2 * np.pi * t)))
        frame[y:y + 2 * radius + 1, x:x + 2 * radius + 1][inside] = disc
        frame[height - height // 40:, : int(width * (index + 1) / count)] = (255, 255, 255)
        yield frame


@lru_cache(maxsize=16)
def make_video(prompt: str, size: str, seconds: int, first_frame: bytes | None = None) -> bytes:
    """An MP4 (H.264, yuv420p, FRAMES_PER_SECOND) of exactly `seconds` seconds at `size`, the same bytes for
    the same arguments: one encoder thread, since x264's threads made different bytes on a busy machine, and
    made once per process, since the encoder in a process that had done other work (the test suite's long
    transcription) gave other bytes for the same frames, for a reason not found; and bit-exact muxing, without
    the muxer's version in the file (PyAV 18.1.1's FFmpeg wrote "Lavf62.12.103" where 18.1.0's wrote ".102")."""
    import av

    width, height = map(int, size.split("x"))
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4", container_options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=FRAMES_PER_SECOND,
                                      options={"preset": "veryfast", "crf": "30", "threads": "1"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for pixels in frames(prompt, size, seconds, first_frame):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    return buffer.getvalue()


def _thumbnail(job: VideoEntry) -> bytes:
    buffer = io.BytesIO()
    backdrop(job.prompt, job.size, job.first_frame).save(buffer, format="WEBP")
    return buffer.getvalue()


ROUTES = [
    *collection("/videos", "video_id", create=create, list=list_videos, retrieve=retrieve, delete=delete),
    Route("POST", "/videos/{video_id}/remix", remix),
    Route("GET", "/videos/{video_id}/content", content),
]
