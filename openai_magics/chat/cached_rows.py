"""`%%chat --over NAME --batch` with the response cache on: rows whose request the cache answers are not put in
the batch (they cost nothing now, and a batch would pay for them again); their answers join the batch's on
the row, and the result says how many came from the cache."""
from __future__ import annotations

from openai_magics.cache.policy import current
from openai_magics.views.row_results import RowResults


def answered_by_cache(session, requests: dict, parsed: bool) -> dict:
    """prompt → the cached answer (text, or the parsed object), for each request the cache holds. Nothing is
    looked up in replay mode (where a batch is refused a miss anyway) or without the cache."""
    from openai_magics.chat.engine import run_chat

    cache = current(session)
    if cache is None or cache.replay:
        return {}
    hits = {}
    for prompt, request in requests.items():
        result = run_chat(session, request, only_cached=True)
        if result is not None and (result.parsed is not None or not parsed):
            hits[prompt] = result.parsed if parsed else result.text
    return hits


def joined(rows, prompts: list[str], hits: dict, asked: RowResults | None) -> RowResults:
    """The batch's answers (for the rows it asked, in order) and the cache's, aligned with every row."""
    sent = iter(asked.values if asked is not None else [])
    values = [hits[p] if p in hits else next(sent) for p in prompts]
    from_cache = sum(p in hits for p in prompts)
    notes = (asked.notes if asked is not None else []) + [
        f"{from_cache:,} row{'s' * (from_cache != 1)} answered from the response cache (not sent)"]
    return RowResults(rows.name, rows.labels, values, model=asked.model if asked is not None else "",
                      records=asked.records if asked is not None else [], index=rows.index,
                      batch_id=asked.batch_id if asked is not None else None,
                      asked=(asked.asked if asked is not None else 0), notes=notes)
