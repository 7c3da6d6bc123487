"""Makes a video: bounded by its worst case (its seconds at the model's price per second) before sending,
through the response cache, the job followed until it completes, its MP4 downloaded and checked at the
boundary, and the seconds made recorded in the ledger."""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from openai_magics.core.errors import CallFailed, Interrupted, UsageError
from openai_magics.metering.pricing import format_usd
from openai_magics.metering.usage import Usage
from openai_magics.video.request import VideoRequest
from openai_magics.views.progress import NoRowProgress, Tally

FIRST_POLL, LONGEST_POLL = 0.25, 10.0  # seconds between readings of the job: they grow by half each time
RUNNING, STATUSES = ("queued", "in_progress"), ("queued", "in_progress", "completed", "failed")
SIZE = re.compile(r"\d+x\d+")


@dataclass(frozen=True)
class VideoJob:
    """A video job as the server describes it, checked."""

    id: str
    model: str
    status: str
    progress: int
    seconds: int
    size: str
    remixed_from: str | None = None
    error: str | None = None

    @classmethod
    def from_answer(cls, answer) -> "VideoJob":
        """The job in a server's answer; one clear line when the answer is not a video job."""
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) \
                or answer.get("status") not in STATUSES or not isinstance(answer.get("model"), str):
            raise CallFailed("The server's answer is not a video job (an id, a model and a status); nothing was "
                             "kept. Is the endpoint an OpenAI-compatible Videos API?")
        seconds, size = str(answer.get("seconds")), answer.get("size")
        if not seconds.isdigit() or not isinstance(size, str) or not SIZE.fullmatch(size):
            raise CallFailed(f"The server's video job {answer['id']} gives no length in seconds or no "
                             "WIDTHxHEIGHT size; nothing was kept.")
        progress = answer.get("progress")
        error = answer.get("error")
        return cls(answer["id"], answer["model"], answer["status"],
                   progress if isinstance(progress, int) and 0 <= progress <= 100 else 0, int(seconds), size,
                   answer.get("remixed_from_video_id") if isinstance(answer.get("remixed_from_video_id"), str)
                   else None, error.get("message") if isinstance(error, dict) else None)

    def usage(self) -> Usage:
        return Usage(video_seconds=self.seconds, video_size=self.size)


def worst_usage(request: VideoRequest) -> Usage:
    return Usage(video_seconds=request.priced_seconds, video_size=request.priced_size)


def run_video(session, request: VideoRequest, view=None):
    """`view` follows views.progress's protocol: its Tally is the job's status and percent done."""
    from openai_magics.cache.keys import preview
    from openai_magics.cache.policy import send_through_cache
    from openai_magics.video.result import VideoResult

    view = view or NoRowProgress()
    call = session.begin("video")
    answer, hit = send_through_cache(session, call, request.api, request.key_params(),
                                     lambda: _send(session, call, request, view), kind="video", enabled=request.cache,
                                     what=preview(request.prompt))
    job, data = checked_answer(answer)
    record = call.record(job.model, job.usage(), cache_hit=True, latency=0.0) if hit else call.recorded
    return VideoResult(data=data, job=job, prompt=request.prompt, record=record, cache_hit=hit)


def _send(session, call, request: VideoRequest, view) -> dict:
    """One paid video: the job's description and its MP4 (base64), recorded in the ledger once made."""
    check_videos_api(session)
    model, usage = request.model, worst_usage(request)
    if request.remix:  # the remix is as long and as large as its source, made by the same model
        source = _retrieve(session, request.remix)
        model, usage = source.model, source.usage()
    worst = session.worst_case(model, usage) if session.budget is not None else None
    what = f"{usage.video_seconds:g} s {usage.video_size} video on {model}"
    with session.reserve(worst, what, model=model, advice="Ask for a shorter or smaller video"):
        tally = Tally(total=100, status="sending", priced=False)  # done: the job's percent
        view.start(tally)
        job, raw = None, None
        try:
            with session.api_errors(model):
                raw = _start(session, request)
                job = VideoJob.from_answer(raw)
                raw, job = _follow(session, raw, job, tally, view)
                call.record(job.model, job.usage())  # completed is paid, whatever the download does
                data = session.client.videos.download_content(job.id).read()
        except KeyboardInterrupt:
            if job is None:
                raise  # nothing was started that we know of
            _interrupted(call, job)
        finally:
            view.finish()
        try:
            check_mp4(data, job.id)
        except CallFailed:
            call.mark_unreadable()
            raise
    return {"video": raw, "b64_mp4": base64.b64encode(data).decode("ascii")}


def check_videos_api(session) -> None:
    """Refuse before anything is sent when the installed SDK says OpenAI has shut its Videos API down; a server
    that still serves it (the offline one, a compatible server) is asked as usual."""
    from openai.resources.videos import Videos

    from openai_magics.wire.sdk import shutdown_notice

    notice = shutdown_notice(Videos.create)
    if notice and session.config.is_openai:
        raise UsageError(f"OpenAI's Videos API is gone; the installed openai SDK says: {notice} Nothing was sent; "
                         "`%openai offline` (or a server that still serves videos) answers %%video.")


def _start(session, request: VideoRequest) -> dict:
    videos = session.client.videos
    if request.remix:
        answer = videos.remix(request.remix, **request.params())
    elif request.image is not None:
        answer = videos.create(input_reference=request.image.upload("first-frame"), **request.params())
    else:
        answer = videos.create(**request.params())
    return answer.model_dump(mode="json")


def _retrieve(session, video_id: str) -> VideoJob:
    with session.api_errors():
        return VideoJob.from_answer(session.client.videos.retrieve(video_id).model_dump(mode="json"))


def _follow(session, raw: dict, job: VideoJob, tally: Tally, view) -> tuple[dict, VideoJob]:
    """Read the job again until it ends, showing each reading."""
    from openai_magics.core.follow import follow_job

    def read() -> tuple[dict, VideoJob]:
        answer = session.client.videos.retrieve(job.id).model_dump(mode="json")
        return answer, VideoJob.from_answer(answer)

    def show(reading: tuple[dict, VideoJob]) -> None:
        tally.status, tally.done = reading[1].status, reading[1].progress
        view.update(force=True)

    raw, job = follow_job(read, lambda reading: reading[1].status not in RUNNING, show,
                          first_wait=FIRST_POLL, longest_wait=LONGEST_POLL, first=(raw, job))
    if job.status == "failed":
        raise CallFailed(f"The video job {job.id} failed: {job.error or 'the server gave no reason'}. No video was "
                         "made, so none is in the ledger.")
    return raw, job


def _interrupted(call, job: VideoJob):
    """Stop following at once. A job already started runs on at the server and is billed when done: its
    seconds are in the ledger, by estimate, marked interrupted; the line says which job it is."""
    record = call.record(job.model, job.usage(), estimated=job.status != "completed", interrupted=True)
    raise Interrupted(f"stopped following video job {job.id} ({job.status}, {job.progress}%). It runs on at the "
                      f"server and is billed when done ({format_usd(record.cost, approx=record.estimated)} is in the "
                      f"ledger, marked interrupted); download it later with "
                      f"`openai_magics.session().client.videos.download_content('{job.id}')`.") from None


def check_mp4(data, video_id: str) -> None:
    if not isinstance(data, bytes) or data[4:8] != b"ftyp":
        raise CallFailed(f"The server's content for video {video_id} is not an MP4 file; nothing was kept.")


def checked_answer(answer) -> tuple[VideoJob, bytes]:
    """The job and the MP4 of a sent or cached answer, checked."""
    if not isinstance(answer, dict):
        raise CallFailed("The cached video answer is not one; nothing was kept.")
    job = VideoJob.from_answer(answer.get("video"))
    try:
        data = base64.b64decode(answer.get("b64_mp4") or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        data = b""
    check_mp4(data, job.id)
    return job, data
