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
from openai_magics.batch.results_file import FileAnswers, ResultsFile
from openai_magics.batch.store import Job, load_job, unfinished_jobs
from openai_magics.facts.data import load
from openai_magics.metering.pricing import format_usd
from openai_magics.metering.usage import Usage
from openai_magics.views.progress import NoRowProgress, Tally
from openai_magics.views.row_results import RowError, RowResults
from openai_magics.core.errors import CallFailed, UsageError

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
    """Submit the shards as the queue allows and follow them all in one view, each finished shard's answers
    written to the results file as it ends; with `wait`, then the failed rows asked again once and the job's
    answers returned aligned with the input; else return once nothing more fits."""
    progress = progress or NoRowProgress()
    tally = Tally(total=sum(shard["lines"] for shard in job.shards), priced=False)
    results, collected = ResultsFile(job.home, len(job.custom_ids)), Collection(session, job)
    progress.start(tally)
    pause = engine.FIRST_POLL
    try:
        while True:
            _refresh(session, job)
            collected.shards(results)
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
        if not wait and not all(shard.get("status") in engine.TERMINAL for shard in job.shards):
            return JobInfo.of(job)
        collected.shards(results)  # one that ended as it was submitted
        collected.retry(results, progress)
    except KeyboardInterrupt:  # the shards run on; resume follows them
        return JobInfo.of(job)
    except CallFailed:  # the queue refused a shard: those that ended (also as they were submitted) are kept
        collected.shards(results)
        raise
    finally:
        results.close()
        progress.finish()
    return collected.result(results)


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


class Collection:
    """What this pass collects of a job: each finished shard's answers (recorded in the ledger once, whatever
    the restarts: the manifest says which shards were) appended to the results file, then the rows that failed
    or never ran, asked again alone once."""

    def __init__(self, session, job: Job):
        self.session, self.job, self.records = session, job, []
        self.started, self.at = time.monotonic(), datetime.now(timezone.utc)
        self.rows_of: dict[str, list[int]] = {}
        for row, custom_id in enumerate(job.custom_ids):
            self.rows_of.setdefault(custom_id, []).append(row)

    def shards(self, results: ResultsFile) -> None:
        """Every shard that ended and is not yet in the file: its answered rows as a row group."""
        start = 0
        for k, shard in enumerate(self.job.shards):
            start += shard["lines"]
            if shard.get("status") in engine.TERMINAL and k not in results.shards:
                ids = {f"request-{j}" for j in range(start - shard["lines"], start)}
                self._write(results, k, self._answers(shard["batch"], ids, not shard.get("recorded")))
                if not shard.get("recorded"):
                    shard["recorded"] = True
                    self.job.save()

    def retry(self, results: ResultsFile, progress) -> None:
        """The rows no shard answered, asked again alone once; then every row left, answered or not, as the
        file's last row group."""
        job, retry_group = self.job, len(self.job.shards)
        if retry_group in results.shards:
            return
        again = list(dict.fromkeys(job.custom_ids[row] for row in (~results.written).nonzero()[0]))
        if again and not job.retry_batch:
            _ask_again(self.session, job, again, progress)
        recorded = job.retry_recorded
        answers = self._answers(job.retry_batch, set(again), not recorded) if job.retry_batch else {}
        self._write(results, retry_group, answers, asked=again, unanswered=RowError(
            "no result: the batch ended before this request ran, and again when asked alone"))
        if not recorded:
            job.retry_answered, job.retry_recorded = len(answers), True
            job.save()

    def _answers(self, batch_id: str, wanted: set, record: bool) -> dict:
        """custom id → the value of each answered line of the batch that `wanted` holds, its output read a
        line at a time (one shard's answers in memory, not its lines); with `record`, each answer's ledger
        record at the batch rate, and the lines not readable counted on the job."""
        batch, answers, unreadable = engine.retrieve(self.session, batch_id), {}, 0
        for line in engine.each_line(self.session, batch.output_file_id):
            if line is None:
                unreadable += 1
            elif line["custom_id"] in wanted and line["custom_id"] not in answers and _answered(line):
                answers[line["custom_id"]], paid = engine._row(self.session, line, self.job.endpoint,
                                                               self.job.parsed, record, self.at)
                if paid is not None:
                    self.records.append(paid)
        unreadable += sum(line is None for line in engine.each_line(self.session, batch.error_file_id))
        if record:
            self.job.unreadable += unreadable
            self.session.part(engine.Collected).ids.add(batch_id)
        return answers

    def _write(self, results, group: int, answers: dict, asked=(), unanswered=None) -> None:
        """The rows of `answers` (and of `asked` without an answer, as `unanswered`) as one row group."""
        rows, values = [], []
        for custom_id in dict.fromkeys([*answers, *asked]):
            value = answers[custom_id] if custom_id in answers else unanswered
            for row in self.rows_of[custom_id]:
                rows.append(row)
                values.append(value)
        if rows:
            results.append(group, rows, values)

    def result(self, results: ResultsFile) -> RowResults:
        """The job's answers aligned with the input, read from the file; what this pass recorded."""
        job = self.job
        job.collected = True
        job.save()
        notes = []
        if job.retried:
            notes.append(f"{len(job.retried):,} row{'s' * (len(job.retried) != 1)} failed or not run, asked again "
                         f"alone once: {job.retry_answered:,} answered")
        if job.unreadable:
            notes.append(f"{job.unreadable:,} line{'s' * (job.unreadable != 1)} of the batches' files not readable "
                         "(skipped)")
        notes.append(f"results also in {results.path}")
        decode = job.parsed or job.endpoint.endswith("/embeddings")
        return RowResults(job.name or job.id, job.labels or list(range(len(job.custom_ids))),
                          FileAnswers(results.path, len(job.custom_ids), decode), model=job.model,
                          records=self.records, batch_id=job.id, asked=len(self.rows_of),
                          elapsed=time.monotonic() - self.started, notes=notes)


def _answered(line: dict | None) -> bool:
    response = (line or {}).get("response")
    return isinstance(response, dict) and response.get("status_code") == 200 and not line.get("error")


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
