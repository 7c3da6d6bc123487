"""A batch of any size: shards of at most the lines and bytes one batch file may hold (facts/data/
batch_limits.json), submitted as the model's enqueued-token queue allows (learnt from the API's
`token_limit_exceeded` failures), followed in one progress view, collected aligned with the input.

The job's manifest and each shard's JSONL live on disk (store.Job), so `%openai batch resume` submits what
was not submitted, follows what runs and collects it all after a kernel restart. Rows that failed (or that
the batch never ran) are asked again, alone, once. The whole job's price is quoted before the first upload.
"""
from __future__ import annotations

import json
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from openai_magics.batch import engine
from openai_magics.batch.request import BatchRequest
from openai_magics.batch.store import Job, load_job, unfinished_jobs
from openai_magics.facts.data import load
from openai_magics.metering.pricing import format_usd
from openai_magics.metering.usage import Usage
from openai_magics.views.progress import NoRowProgress, Tally
from openai_magics.views.row_results import RowError, RowResults
from openai_magics.wire.errors import CallFailed, UsageError

QUEUE_FULL = "token_limit_exceeded"
COUNTED, COUNTED_BYTES = 2_000, 4 << 20  # the quote counts the tokens of this many requests (this many bytes of
                                         # them at most); more are estimated from their length
BYTES_PER_TOKEN = 4
MB = 1 << 20     # OpenAI's "200 MB" is 200 MiB


@dataclass
class ShardLimits:
    """Most lines and bytes per shard: OpenAI's, from the dated data; a session may set smaller ones."""

    lines: int = field(default_factory=lambda: load("batch_limits.json")["max_lines"])
    bytes: int = field(default_factory=lambda: load("batch_limits.json")["max_bytes"])


@dataclass
class QueueLimits:
    """Each model's enqueued-token limit as the API said it (model → tokens, None when it gave no number)."""

    tokens: dict = field(default_factory=dict)


@dataclass
class JobInfo:
    """A job submitted without waiting (or not yet whole): what runs, and how to carry on."""

    id: str
    shards: int
    submitted: int
    rows: int

    def __str__(self) -> str:
        return (f"job {self.id} · {self.rows:,} requests in {self.shards} shards · {self.submitted} submitted · "
                f"`%openai batch resume {self.id}` submits the rest, follows and collects it (also after a restart)")

    @classmethod
    def of(cls, job: Job) -> "JobInfo":
        return cls(job.id, len(job.shards), sum(bool(s.get("batch")) for s in job.shards), len(job.custom_ids))

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))


def line_of(custom_id: str, endpoint: str, body: dict) -> bytes:
    return (json.dumps({"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}) + "\n").encode()


def plan(sizes, most_lines: int, most_bytes: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) ranges of lines whose sizes (bytes) fit a shard; a line alone over
    `most_bytes` is refused."""
    shards, start, held = [], 0, 0
    for i, size in enumerate(sizes):
        if size > most_bytes:
            raise UsageError(f"Request {i:,} is {size:,} bytes as a batch line, over the {most_bytes:,} bytes a batch "
                             "file may hold: shorten it.")
        if i > start and (i - start >= most_lines or held + size > most_bytes):
            shards.append((start, i))
            start, held = i, 0
        held += size
    return shards + [(start, len(sizes))] if len(sizes) > start else shards


def submit_rows(session, *, endpoint: str, bodies: list[dict], rows: list[int], name: str = "", labels=(),
                template: str | None = None, parsed: bool = False, wait: bool = True, progress=None, say=print):
    """A run over rows as a batch: `bodies` are the distinct requests, `rows[i]` the body row i asks. One
    batch when it fits one file; else a sharded job (quoted first, its manifest on disk)."""
    limits = session.part(ShardLimits)
    ids = [f"request-{j}" for j in range(len(bodies))]
    sizes = [len(line_of(cid, endpoint, body)) for cid, body in zip(ids, bodies)]
    ranges = plan(sizes, limits.lines, limits.bytes)
    order = [ids[j] for j in rows]
    if len(ranges) <= 1:
        request = BatchRequest(dict(zip(ids, bodies)), endpoint, order=order, name=name, labels=list(labels),
                               template=template, parsed=parsed, wait=wait, most_lines=limits.lines)
        return engine.submit(session, request, progress)
    BatchRequest({ids[0]: bodies[0]}, endpoint)  # the endpoint checked before anything is written
    if len({body.get("model") for body in bodies}) != 1:
        raise UsageError("Every request of a batch names the same model.")
    job = Job(f"job-{uuid.uuid4().hex[:12]}", endpoint, bodies[0]["model"], order, [], name=name,
              labels=list(labels), template=template, parsed=parsed)
    line, tokens_per_byte = quote(session, job, bodies, ranges, sizes)
    say(line)
    _write_shards(job, ids, bodies, ranges, sizes, tokens_per_byte)
    return run(session, job, progress, wait)


def quote(session, job: Job, bodies: list[dict], ranges, sizes) -> tuple[str, float]:
    """The whole job's price at the batch rate before the first upload: its input tokens (counted, or over
    many requests counted on an even sample and scaled by length) and the most its answers may add; and the
    input tokens per byte of its lines, which say what each shard takes of the model's queue."""
    total_bytes = sum(sizes)
    sample = max(1, min(COUNTED, len(bodies), COUNTED_BYTES * len(bodies) // max(1, total_bytes)))
    exact = sample == len(bodies)
    picks = range(len(bodies)) if exact else [j * len(bodies) // sample for j in range(sample)]
    counted = sum(_input_tokens(bodies[j], job.model) for j in picks)
    tokens_in = counted if exact else round(counted * total_bytes / sum(sizes[j] for j in picks))
    tokens_out = sum(_most_output(body, job.model) for body in bodies)
    low = session.cost_of(job.model, Usage(input_tokens=tokens_in), batch=True)
    high = session.cost_of(job.model, Usage(input_tokens=tokens_in, output_tokens=tokens_out), batch=True)
    limits = session.part(ShardLimits)
    price = "price unknown" if low is None else (
        f"{'' if exact else '≈ '}{format_usd(low)} for {'' if exact else '≈ '}{tokens_in:,} input tokens at the batch "
        f"price" + (f", at most {format_usd(high)} with every answer at its longest" if high and tokens_out else ""))
    return (f"Batch job {job.id}: {len(bodies):,} requests in {len(ranges)} shards (≤ {limits.lines:,} lines, "
            f"≤ {limits.bytes / MB:,.0f} MB each; {total_bytes / MB:,.1f} MB in all) · {price}."), tokens_in / total_bytes


def _input_tokens(body: dict, model: str) -> int:
    from openai_magics.facts.tokens import count_messages, count_text

    if isinstance(body.get("messages"), list):
        return count_messages(body["messages"], model).tokens
    text = body.get("input")
    texts = [text] if isinstance(text, str) else [t for t in text or [] if isinstance(t, str)]
    return sum(count_text(t, model).tokens for t in texts)


def _most_output(body: dict, model: str) -> int:
    if "input" in body and "messages" not in body and "max_output_tokens" not in body:
        return 0  # an embedding
    from openai_magics.facts.models import model_info

    return body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens") or \
        model_info(model).max_output or 16_384


def _write_shards(job: Job, ids, bodies, ranges, sizes, tokens_per_byte: float) -> None:
    """Each shard's JSONL written to disk one line at a time (never a whole file in memory)."""
    job.home.mkdir(parents=True, exist_ok=True)
    for k, (start, end) in enumerate(ranges):
        name = f"shard-{k}.jsonl"
        with open(job.home / name, "wb") as out:
            for j in range(start, end):
                out.write(line_of(ids[j], job.endpoint, bodies[j]))
        nbytes = sum(sizes[start:end])
        job.shards.append({"file": name, "lines": end - start, "bytes": nbytes,
                           "tokens": math.ceil(nbytes * tokens_per_byte), "batch": None})
    job.save()


def resume(session, job_id: str | None = None, progress=None):
    """`%openai batch resume [JOB]`: carry on the job (the oldest not yet collected without an id)."""
    if job_id is None:
        waiting = unfinished_jobs()
        if not waiting:
            raise UsageError("No sharded batch job to resume here (`%openai batch list` shows the account's batches).")
        job_id = waiting[0]
    job = load_job(job_id)
    if job is None:
        raise UsageError(f"No batch job {job_id} on this machine: its manifest is not in {_jobs_folder()}.")
    return run(session, job, progress, wait=True)


def _jobs_folder():
    from openai_magics.batch.store import folder

    return folder() / "jobs"


def run(session, job: Job, progress=None, wait: bool = True):
    """Submit the shards as the queue allows and follow them all in one view; with `wait`, collect the job
    (every row aligned with the input, failures asked again once); else return once nothing more fits."""
    progress = progress or NoRowProgress()
    tally = Tally(total=sum(shard["lines"] for shard in job.shards), priced=False)
    progress.start(tally)
    pause = engine.FIRST_POLL
    try:
        while True:
            _refresh(session, job)
            _submit_what_fits(session, job)
            job.save()
            _count(job, tally)
            progress.update(force=True)
            if all(shard.get("status") in engine.TERMINAL for shard in job.shards):
                break
            if not wait:  # submitted what the queue takes now; resume submits the rest
                break
            time.sleep(min(pause, max(engine.FIRST_POLL, tally.eta() or pause)))  # not long past the end
            pause = min(pause * 1.5, engine.LONGEST_POLL)
    except KeyboardInterrupt:  # the shards run on; resume follows them
        return JobInfo.of(job)
    finally:
        progress.finish()
    if not wait and not all(shard.get("status") in engine.TERMINAL for shard in job.shards):
        return JobInfo.of(job)
    return collect(session, job, progress)


def _running(job: Job):
    return [s for s in job.shards if s.get("batch") and s.get("status") not in engine.TERMINAL]


def _refresh(session, job: Job) -> None:
    """Each running shard's state; one the queue refused goes back to waiting, its limit learnt."""
    for shard in _running(job):
        batch = engine.retrieve(session, shard["batch"])
        counts = batch.request_counts
        shard["status"] = batch.status
        shard["completed"] = getattr(counts, "completed", 0) or 0
        shard["failed"] = getattr(counts, "failed", 0) or 0
        _if_refused(session, job, shard, batch)


def _if_refused(session, job: Job, shard: dict, batch) -> None:
    """A batch that failed because the model's queue was full: the limit the API gave is remembered and the
    shard waits again, unless nothing else of the job was running (then waiting would not make room)."""
    said = [getattr(e, "message", "") or "" for e in getattr(getattr(batch, "errors", None), "data", None) or []
            if getattr(e, "code", None) == QUEUE_FULL]
    if batch.status != "failed" or not said:
        return
    limit = re.search(r"[Ll]imit:?\s*([\d,]+)", said[0])
    session.part(QueueLimits).tokens[job.model] = int(limit.group(1).replace(",", "")) if limit else None
    shard.update(batch=None, status=None, completed=0, failed=0)
    job.save()
    if not _running(job):
        raise CallFailed(f"The queue refused shard {shard['file']} of job {job.id} with nothing else of the job "
                         f"running ({session.redact(' '.join(said[0].split()))[:300]}). "
                         f"`%openai batch resume {job.id}` tries again later.")


def _submit_what_fits(session, job: Job) -> None:
    """Shards in order while the queue has room: once it refused one, a shard waits until the tokens of
    the shards running and its own fit the limit the API gave (or, without a number, until none runs)."""
    queue = session.part(QueueLimits).tokens
    for shard in job.shards:
        if shard.get("batch"):
            continue
        running = _running(job)
        if running and job.model in queue:
            limit = queue[job.model]
            if limit is None or sum(s["tokens"] for s in running) + shard["tokens"] > limit:
                return
        _submit(session, job, shard)
        if not shard.get("batch"):
            return


def _submit(session, job: Job, shard: dict) -> None:
    with open(job.home / shard["file"], "rb") as data, session.api_errors(job.model):
        uploaded = session.client.files.create(file=(shard["file"], data, "application/jsonl"), purpose="batch")
        batch = session.client.batches.create(input_file_id=uploaded.id, endpoint=job.endpoint,
                                              completion_window="24h", metadata={"job": job.id})
    info = engine.BatchInfo.of(batch)
    shard.update(batch=info.id, status=info.status, completed=0, failed=0)
    job.save()
    _if_refused(session, job, shard, batch)


def _count(job: Job, tally: Tally) -> None:
    tally.done = sum(s.get("completed", 0) for s in job.shards)
    tally.failed = sum(s.get("failed", 0) for s in job.shards)
    finished = sum(s.get("status") in engine.TERMINAL for s in job.shards)
    waiting = sum(not s.get("batch") for s in job.shards)
    tally.status = f"{finished}/{len(job.shards)} shards done" + (f", {waiting} waiting for the queue" if waiting else "")


def collect(session, job: Job, progress=None) -> RowResults:
    """Every shard's answers, joined on the row; rows that failed or never ran are asked again, alone, once."""
    started = time.monotonic()
    by_id, unreadable = {}, 0
    for shard in job.shards:
        lines, bad = _lines_of(session, shard["batch"])
        by_id.update(lines)
        unreadable += bad
    if not job.retry_batch:
        again = [cid for cid in dict.fromkeys(job.custom_ids) if not _answered(by_id.get(cid))]
        if again:
            _ask_again(session, job, again, progress)
    if job.retry_batch:
        retried, bad = _lines_of(session, job.retry_batch)
        by_id.update({cid: line for cid, line in retried.items() if _answered(line)})
        unreadable += bad
    notes = []
    if job.retried:
        answered = sum(_answered(by_id.get(cid)) for cid in job.retried)
        notes.append(f"{len(job.retried):,} row{'s' * (len(job.retried) != 1)} failed or not run, asked again alone "
                     f"once: {answered:,} answered")
    records, values, model = [], {}, job.model
    collected = session.part(engine.Collected).ids
    batches = [s["batch"] for s in job.shards] + ([job.retry_batch] if job.retry_batch else [])
    record_them, at = job.id not in collected, datetime.now(timezone.utc)
    missing = RowError("no result: the batch ended before this request ran, and again when asked alone")
    for custom_id in dict.fromkeys(job.custom_ids):
        line = by_id.get(custom_id)
        value, record = engine._row(session, line, job.endpoint, job.parsed, record_them, at) if line else (missing, None)
        values[custom_id] = value
        if record is not None:
            records.append(record)
    collected.update([job.id, *batches])
    job.collected = True
    job.save()
    if unreadable:
        notes.append(f"{unreadable:,} line{'s' * (unreadable != 1)} of the batches' files not readable (skipped)")
    labels = job.labels or list(range(len(job.custom_ids)))
    aligned = [values[c] for c in job.custom_ids]
    notes.append(f"results also in {_write_results(job, aligned)}")
    return RowResults(job.name or job.id, labels, aligned, model=model, records=records,
                      batch_id=job.id, asked=len(values), elapsed=time.monotonic() - started, notes=notes)


def _write_results(job: Job, values: list):
    """The job's answers joined on the row, as Parquet beside its manifest (`row`, `answer`, `error`), a row
    group of `ShardLimits` lines at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = job.home / "results.parquet"
    schema = pa.schema([("row", pa.int64()), ("answer", pa.string()), ("error", pa.string())])
    step = load("batch_limits.json")["max_lines"]
    with pq.ParquetWriter(path, schema) as out:
        for start in range(0, len(values), step):
            part = values[start:start + step]
            errors = [v.message if isinstance(v, RowError) else None for v in part]
            answers = [None if e is not None else v if isinstance(v, str) else json.dumps(v, default=str)
                       for v, e in zip(part, errors)]
            out.write_table(pa.table([pa.array(range(start, start + len(part)), pa.int64()),
                                      pa.array(answers, pa.string()), pa.array(errors, pa.string())], schema=schema))
    return path


def _answered(line: dict | None) -> bool:
    response = (line or {}).get("response")
    return isinstance(response, dict) and response.get("status_code") == 200 and not line.get("error")


def _lines_of(session, batch_id: str) -> tuple[dict, int]:
    batch = engine.retrieve(session, batch_id)
    output, bad = engine._download(session, batch.output_file_id)
    errors, bad_errors = engine._download(session, batch.error_file_id)
    return {line["custom_id"]: line for line in errors + output}, bad + bad_errors


def _ask_again(session, job: Job, custom_ids: list[str], progress) -> None:
    """The failed rows' own lines (read back from the shards on disk) as one more batch, followed to its end."""
    wanted, name = set(custom_ids), "retry.jsonl"
    with open(job.home / name, "wb") as out:
        for shard in job.shards:
            with open(job.home / shard["file"], "rb") as lines:
                for line in lines:
                    if json.loads(line)["custom_id"] in wanted:
                        out.write(line)
    job.retried = list(custom_ids)
    retry = {"file": name, "lines": len(custom_ids), "bytes": (job.home / name).stat().st_size, "tokens": 0,
             "batch": None}
    _submit(session, job, retry)
    if not retry.get("batch"):
        raise CallFailed(f"The queue refused the retry of job {job.id}'s failed rows: `%openai batch resume "
                         f"{job.id}` later asks them again.")
    job.retry_batch = retry["batch"]
    job.save()
    engine.follow(session, retry["batch"], progress or NoRowProgress())
