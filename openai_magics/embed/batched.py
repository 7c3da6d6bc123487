"""`%%embed --batch`: each distinct text one line of a Batch API run (half price, results within a day),
given to the batch service; the vectors come back as an EmbedResult when every text got one."""
from __future__ import annotations

from openai_magics.embed.request import EmbedRequest


def embed_batch(session, request: EmbedRequest, *, name: str, wait: bool, progress=None):
    from openai_magics.batch.shards import submit_rows

    distinct = list(dict.fromkeys(request.texts))
    position = {text: j for j, text in enumerate(distinct)}
    bodies = [{"model": request.model, "input": text, "encoding_format": "float",
               **({"dimensions": request.dimensions} if request.dimensions is not None else {})}
              for text in distinct]
    if session.budget is not None:
        from openai_magics.embed.engine import count_tokens

        session.check_budget(request.model, sum(count_tokens(distinct, request.model)[0]), 0)
    result = submit_rows(session, endpoint="/v1/embeddings", bodies=bodies,
                         rows=[position[t] for t in request.texts], name=name,
                         labels=list(range(len(request.texts))), wait=wait, progress=progress)
    if not wait or getattr(result, "errors", True):
        return result  # submitted, or some texts failed: the rows say which
    return _as_embed_result(request, result)


def _as_embed_result(request: EmbedRequest, rows):
    import numpy as np

    from openai_magics.core.errors import CallFailed
    from openai_magics.embed.result import EmbedResult

    values = list(rows.values)  # a sharded batch's are read from its results file
    if len({len(v) if isinstance(v, list) else -1 for v in values}) != 1:
        raise CallFailed(f"The batch {rows.batch_id} sent vectors of different lengths (or not vectors); "
                         "`%openai batch results ID` shows each row.")
    return EmbedResult(vectors=np.asarray(values, dtype=np.float32), texts=list(request.texts), model=request.model,
                       dimensions=request.dimensions, records=rows.records, elapsed=rows.elapsed)
