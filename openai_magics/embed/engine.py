"""Embeddings at speed: each text once, token-aware batches within the API's limits, sent
concurrently within the rate limits the server reports, vectors kept for the session.

Plain Python: `openai_magics.embed(texts)` returns the same EmbedResult as `%%embed`.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from openai_magics.core.errors import UsageError
from openai_magics.facts.models import model_info
from openai_magics.facts.tokens import count_text, estimate_tokens, get_encoding
from openai_magics.metering.usage import Usage
from openai_magics.embed.answer import read_answer
from openai_magics.embed.request import EmbeddingLimits, EmbedRequest, as_texts, embedding_limits
from openai_magics.embed.rows import Found, VectorRows, VectorCache
from openai_magics.embed.validate import check_finite, checked_vectors
from openai_magics.views.progress import NoRowProgress, Tally, progress_shown

# Below this many texts per request, splitting work across more requests costs more round trips than it saves.
MIN_BATCH = 256
# Answers in flight at once hold at most about this many bytes (a 1,536-dimension vector is 8 KB of base64):
# more buys no speed, and memory stays close to the result's own size however many texts there are.
IN_FLIGHT_BYTES = 24 * 2**20


def count_tokens(texts: list[str], model: str) -> tuple[list[int], bool]:
    """Token counts of many texts, and whether they are exact (tiktoken's batch encoder is slower for
    short texts: its thread pool costs more than it saves)."""
    enc = get_encoding(model)
    if enc is None:
        return [estimate_tokens(t) for t in texts], False
    return [len(enc.encode_ordinary(t)) for t in texts], True


def truncate(text: str, limit: int, model: str) -> str:
    """The longest start of `text` that fits in `limit` tokens."""
    enc = get_encoding(model)
    if enc is not None:
        text = enc.decode(enc.encode_ordinary(text)[:limit])
    while (n := count_text(text, model).tokens) > limit:  # a cut multi-byte character, or an estimate
        text = text[: max(0, len(text) * limit // n - 1)]
    return text


class VectorCaches:
    """The session's vectors, one VectorCache per endpoint: another server's vector for the same text is
    another vector."""

    def __init__(self) -> None:
        self._by_endpoint: dict[str, VectorCache] = {}
        self._lock = threading.Lock()

    def at(self, endpoint: str) -> VectorCache:
        with self._lock:
            return self._by_endpoint.setdefault(endpoint, VectorCache())

    def clear(self) -> int:
        """Forget every vector (the memory goes back); how many there were."""
        with self._lock:
            held = sum(len(c) for c in self._by_endpoint.values())
            self._by_endpoint.clear()
        return held


def vector_cache(session):
    """The session's vectors for the current endpoint; with the response cache on (`%openai cache on`),
    backed by its file."""
    from openai_magics.cache.keys import endpoint_of
    from openai_magics.cache.policy import current

    memory = session.part(VectorCaches).at(endpoint_of(session))
    if current(session) is not None:
        from openai_magics.cache.vectors import PersistentVectors

        return PersistentVectors(session, memory)
    return memory


@dataclass
class TextBatch:
    texts: list[str]
    tokens: int
    rows: list[int] = field(default_factory=list)  # where each text's vector goes in the result


def batch_size(texts: int, limits: EmbeddingLimits, concurrency: int, width: int = 1536) -> int:
    """Texts per request: enough requests to keep `concurrency` busy, none under MIN_BATCH texts, and no
    more than IN_FLIGHT_BYTES of answers (vectors of `width` values) in flight at once."""
    in_flight = IN_FLIGHT_BYTES // (concurrency * (width * 16 // 3 + 64))
    return min(limits.max_inputs, max(MIN_BATCH, min(math.ceil(texts / concurrency), in_flight)))


def plan_batches(texts: list[str], tokens: list[int], limits: EmbeddingLimits, concurrency: int,
                 width: int = 1536) -> list[TextBatch]:
    """Texts in order, cut into requests of `batch_size` texts at most, within the token limit."""
    size = batch_size(len(texts), limits, concurrency, width)
    batches: list[TextBatch] = []
    current, total = [], 0
    for text, n in zip(texts, tokens):
        if current and (len(current) == size or total + n > limits.max_request_tokens):
            batches.append(TextBatch(current, total))
            current, total = [], 0
        current.append(text)
        total += n
    if current:
        batches.append(TextBatch(current, total))
    return batches


@dataclass
class Outcome:
    """What the requests of one embed brought back."""

    records: list = field(default_factory=list)   # one ledger record per request
    peak_concurrency: int = 0


def run_embed(session, request: EmbedRequest, progress=None, kept=None):
    """Embed `request.texts`; vectors come back in input order as one float32 array, each written once,
    straight into its row. `kept`: where vectors are looked up and kept instead of the session's (a store
    run keeps its own, so that they go to disk rather than stay in memory)."""
    from openai_magics.embed.result import EmbedResult

    started = time.perf_counter()
    limits = embedding_limits(request.model)
    row_of: dict[str, int] = {}  # each text (as sent) → the row its vector is written to
    for row, text in enumerate(request.texts):
        row_of.setdefault(text, row)
    unique = list(row_of)
    if not request.cache:
        from openai_magics.cache.policy import check_bypass

        check_bypass(session)
    kept = vector_cache(session) if kept is None else kept  # what comes back is kept, even for --no-cache
    cache = kept if request.cache else VectorCache()
    rows = VectorRows(len(request.texts))
    hits = cache.fill(request.model, request.dimensions, unique, rows, list(row_of.values()))
    exact = session.budget is not None  # a budget is checked on exact counts
    sent, tokens, truncated = _prepare([t for t in unique if t not in hits], request, limits, exact)
    for original, text in sent.items():  # the truncated ones
        row_of.setdefault(text, row_of[original])
    cut = [s for s in dict.fromkeys(sent.values()) if s not in hits]
    found = cache.fill(request.model, request.dimensions, cut, rows, [row_of[s] for s in cut])
    hits |= found
    missing = {s: n for s, n in tokens.items() if s not in found} if found else tokens
    if missing and hasattr(cache, "before_sending"):
        cache.before_sending(request.model, list(missing))  # replay mode: a miss is an error, nothing sent
    outcome = Outcome()
    if missing:
        outcome = _send(session, request, missing, row_of, rows, kept, limits, progress or NoRowProgress())
    duplicates = [(row, row_of[sent.get(t, t)]) for row, t in enumerate(request.texts) if row_of[sent.get(t, t)] != row]
    hit_record = _record_hits(session, request, hits)
    return EmbedResult(
        vectors=rows.finish(duplicates), texts=list(request.texts), model=request.model,
        dimensions=request.dimensions, records=outcome.records, hit_record=hit_record,
        elapsed=time.perf_counter() - started, truncated=truncated, peak_concurrency=outcome.peak_concurrency,
        pool=request.pool,
        embedder=lambda more: run_embed(session, EmbedRequest(
            as_texts(more), request.model, request.dimensions, request.truncate, request.concurrency,
            pool=request.pool)).vectors,
    )


def _prepare(texts: list[str], request: EmbedRequest, limits: EmbeddingLimits, exact: bool = True):
    """What will be sent instead of each text truncated (when asked), after checking each fits the model;
    the tokens of each text sent (or an upper bound); the indices of the inputs truncated."""
    counts, counted = (_token_bounds(texts, request, limits) if not exact else None), True
    if counts is None:
        counts, counted = count_tokens(texts, request.model)
    sent, tokens = {}, {}
    for original, n in zip(texts, counts):
        text = original
        if n > limits.max_input_tokens:
            if not request.truncate:
                raise UsageError(
                    f"Input {request.texts.index(text)} is {'' if counted else '≈'}{n:,} tokens, over "
                    f"{request.model}'s limit of {limits.max_input_tokens:,} tokens per input: shorten it, "
                    "or pass --truncate to cut it to fit.")
            text, n = truncate(original, limits.max_input_tokens, request.model), limits.max_input_tokens
            sent[original] = text
        tokens[text] = n
    truncated = [i for i, t in enumerate(request.texts) if sent.get(t, t) != t]
    return sent, tokens, truncated


def _token_bounds(texts: list[str], request: EmbedRequest, limits: EmbeddingLimits) -> list[int] | None:
    """UTF-8 sizes as upper bounds of the token counts (a token is at least one byte), when they settle
    everything: each text fits, and so would a full batch of the longest. Short texts then skip tiktoken."""
    sizes = [len(t.encode()) for t in texts]
    longest = max(sizes, default=0)
    full = min(len(texts), batch_size(len(texts), limits, request.concurrency, expected_width(request)))
    if longest <= limits.max_input_tokens and longest * full <= limits.max_request_tokens:
        return sizes
    return None


def expected_width(request: EmbedRequest) -> int:
    """Values per vector, as far as we can tell before an answer says."""
    return request.dimensions or model_info(request.model).dimensions or 1536


def _send(session, request: EmbedRequest, tokens: dict[str, int], row_of: dict[str, int], rows: VectorRows, cache,
          limits: EmbeddingLimits, progress) -> Outcome:
    session.check_budget(request.model, sum(tokens.values()), 0)
    texts = list(tokens)
    batches = plan_batches(texts, list(tokens.values()), limits, request.concurrency, expected_width(request))
    for batch in batches:
        batch.rows = [row_of[t] for t in batch.texts]
    client = session.client  # built once, here: worker threads share it (the SDK client is thread-safe)
    progress = progress if len(batches) > 1 else NoRowProgress()
    outcome, tally = Outcome(), Tally(total=len(texts), unit="texts")
    with progress_shown(progress, tally):
        _dispatch(session, client, request, batches, rows, cache, outcome, tally, progress)
    return outcome


def _dispatch(session, client, request, batches: list[TextBatch], rows: VectorRows, cache, outcome: Outcome, tally,
              progress) -> None:
    """Keep up to `concurrency` requests in flight, fewer when the model's rate limits have no room for
    another (a request starts with its room reserved, see wire/limits.py; the first one always starts).

    Whatever succeeded is kept (in the session cache too) even when another request fails for good,
    so that re-running pays only for the rest; what was not sent yet is never sent. An interrupt stops
    the requests in flight too.
    """
    from contextlib import nullcontext

    from openai_magics.wire.fanout import FanOut

    limits = session.http.limits
    reserved: dict[int, object] = {}  # batch → the room taken for its request

    def admit(batch: TextBatch, running: list) -> bool:
        if any(reserved[id(b)] is None for b in running):  # one already waits for room: the rest wait behind it
            return False
        reserved[id(batch)] = limits.reserve(request.model, batch.tokens)
        return reserved[id(batch)] is not None or not running

    def send(batch: TextBatch):
        with reserved.get(id(batch)) or nullcontext():
            return _embed_batch(session, client, request, batch, rows, cache)

    fan = FanOut(send, batches, concurrency=request.concurrency, name="openai-magics-embed", admit=admit)
    try:
        with fan:  # an interrupt stops the requests in flight; every answer that had arrived is kept
            for done in fan:
                record = done.result()
                outcome.records.append(record)
                tally.add(True, record.usage.input_tokens, record.cost, count=len(done.item.texts))
                progress.update()
    finally:
        outcome.peak_concurrency = fan.peak
        for reservation in filter(None, reserved.values()):
            reservation.release()


def _embed_batch(session, client, request: EmbedRequest, batch: TextBatch, rows: VectorRows, cache):
    """One request (the SDK retries 429/5xx), its vectors written into their rows; its ledger record."""
    call = session.begin("embed")
    params = {"model": request.model, "input": batch.texts, "encoding_format": "base64"}
    if request.dimensions is not None:
        params["dimensions"] = request.dimensions
    with session.spending(request.model, batch.tokens, 0):  # the budget, checked for each request
        with session.api_errors(request.model):
            # The SDK's own POST (auth, retries, errors) without its per-item input transform and pydantic
            # objects: thousands of texts go out as they are, thousands of vectors straight into their rows.
            raw = client.post("/embeddings", body=params, cast_to=bytes)
        answer, vector_of = read_answer(raw)
        del raw
        usage = Usage.from_embeddings(answer["usage"]) if isinstance(answer.get("usage"), dict) else None
        estimated = usage is None
        if usage is None:  # a compatible server that does not say, or says nonsense: count them ourselves
            counts, exact = count_tokens(batch.texts, request.model)
            usage, estimated = Usage(input_tokens=sum(counts)), True
        model = answer.get("model") if isinstance(answer.get("model"), str) else request.model
        record = call.record(model or request.model, usage, estimated=estimated)  # paid, whatever came back
    vectors = checked_vectors(answer, len(batch.texts), pool=request.pool, resolve=vector_of)
    rows.write_all(batch.rows, vectors)
    check_finite(rows.array, batch.rows)
    cache.keep(request.model, request.dimensions, batch.texts, rows.array, batch.rows,
               None if estimated else usage.input_tokens)
    return record


def _record_hits(session, request: EmbedRequest, hits: Found):
    """Texts served from the session cache: a $0 ledger line that says what it saved (as billed when their
    requests were, else counted)."""
    if not hits:
        return None
    tokens, exact = count_tokens(hits.uncounted, request.model) if hits.uncounted else ([], True)
    call = session.begin("embed")
    return call.record(request.model, Usage(input_tokens=hits.tokens + sum(tokens)), estimated=not exact,
                       cache_hit=True, latency=0.0)
