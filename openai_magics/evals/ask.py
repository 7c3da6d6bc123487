"""One model call of an eval (an answer, or a model grader's verdict), through the SDK: cached, bounded by
the budget, recorded in the ledger, its answer checked at the boundary."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from openai_magics.cache.policy import through
from openai_magics.core.errors import CallFailed
from openai_magics.core.models import is_reasoning
from openai_magics.core.tokens import count_messages
from openai_magics.core.usage import Usage

MAX_OUTPUT = 1024  # an eval answer or verdict: the worst case the budget holds per request


@dataclass
class Asked:
    text: str
    model: str
    cost: Decimal | None
    latency: float
    cache_hit: bool


def ask(session, model: str, messages: list[dict], *, magic: str, response_format: dict | None = None,
        cache: bool = True) -> Asked:
    params = {"model": model, "messages": messages, "max_completion_tokens": MAX_OUTPUT}
    if not is_reasoning(model):
        params["temperature"] = 0  # an eval compares answers: as reproducible (and cacheable) as can be
    if response_format is not None:
        params["response_format"] = response_format
    call = session.begin(magic)

    def send() -> dict:
        with session.spending(model, lambda: count_messages(messages, model).tokens, MAX_OUTPUT):
            with session.api_errors(model):
                completion = session.client.chat.completions.create(**params)
            return _checked(completion, model)

    value, hit = through(session, call, "chat", params, send, kind="chat", enabled=cache,
                         what=str(messages[-1]["content"])[:60])
    record = call.record(value["model"], Usage(**value["usage"]), cache_hit=hit)
    return Asked(value["text"], value["model"], record.cost, record.latency, hit)


def _checked(completion, model: str) -> dict:
    """The answer as the cache keeps a chat answer, or one line when the server sent none."""
    if not completion.choices or completion.usage is None:
        raise CallFailed(f"{model} answered with no choices or no usage; nothing was stored.")
    choice = completion.choices[0]
    return {"text": choice.message.content or "", "model": completion.model or model,
            "usage": asdict(Usage.from_chat(completion.usage)), "finish_reason": choice.finish_reason,
            "response_id": completion.id}


def embed_pair(session, model: str, texts: list[str], *, cache: bool = True) -> tuple[list, list, Decimal | None]:
    """Two embeddings (answer, reference) for a text-similarity grader."""
    params = {"model": model, "input": texts}
    call = session.begin("eval")

    def send() -> dict:
        with session.spending(model, sum(len(t) for t in texts), 0):
            with session.api_errors(model):
                answer = session.client.embeddings.create(**params)
        vectors = [d.embedding for d in sorted(answer.data, key=lambda d: d.index)]
        if len(vectors) != len(texts) or answer.usage is None:
            raise CallFailed(f"{model} sent {len(vectors)} embeddings for {len(texts)} texts.")
        return {"vectors": vectors, "model": answer.model or model, "tokens": answer.usage.prompt_tokens}

    value, hit = through(session, call, "embeddings", params, send, kind="embeddings", enabled=cache)
    record = call.record(value["model"], Usage(input_tokens=value["tokens"]), cache_hit=hit)
    return value["vectors"][0], value["vectors"][1], record.cost
