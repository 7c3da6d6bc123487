"""`/vector_stores`: stores that really chunk the uploaded files, embed the chunks with the server's own
embeddings (`offline/vectors.py`) and retrieve the passages nearest a query, for `/vector_stores/{id}/search`
and the `file_search` tool. A file is indexed between the request that adds it and the next look at the store
(`in_progress` once, then `completed`), so a client's wait for indexing is exercised."""
from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import ClassVar

from openai_magics.offline.api.files import Files
from openai_magics.offline.errors import RequestError
from openai_magics.offline.api.listing import ById, listed
from openai_magics.offline.router import Route, collection

_ids = itertools.count(1)
DIMENSIONS = 512
CHUNK_CHARS = 600
DEFAULT_RESULTS = 10


@dataclass
class Chunk:
    file_id: str
    filename: str
    text: str


@dataclass
class Store:
    id: str
    name: str
    created_at: int
    files: dict = field(default_factory=dict)    # file id → "in_progress" | "completed" | "failed"
    chunks: list = field(default_factory=list)
    vectors: object = None

    def as_object(self) -> dict:
        counts = {s: sum(1 for v in self.files.values() if v == s) for s in ("in_progress", "completed", "failed")}
        return {"id": self.id, "object": "vector_store", "created_at": self.created_at, "name": self.name,
                "usage_bytes": sum(len(c.text.encode()) for c in self.chunks),
                "file_counts": {**counts, "cancelled": 0, "total": len(self.files)},
                "status": "in_progress" if counts["in_progress"] else "completed", "expires_after": None,
                "expires_at": None, "last_active_at": self.created_at, "metadata": {}}


class VectorStores(ById):
    kind: ClassVar[str] = "Vector store"
    param: ClassVar[str] = "vector_store_id"

    def add_files(self, state, store: Store, file_ids: list[str]) -> None:
        files = state.part(Files)
        for file_id in file_ids:
            stored = files.get(file_id)
            text = stored.data.decode("utf-8", "replace")
            store.chunks += [Chunk(file_id, stored.filename, piece) for piece in chunks_of(text)]
            store.files[file_id] = "in_progress"
        store.vectors = None

    def search(self, store_ids: list[str], query: str, k: int) -> list[tuple[float, Chunk]]:
        """The k chunks nearest the query, over these stores, best first."""
        from openai_magics.offline.vectors import vectors

        found = []
        for store_id in store_ids:
            store = self.get(store_id)
            if not store.chunks:
                continue
            if store.vectors is None:
                store.vectors = vectors([c.text for c in store.chunks], DIMENSIONS)
            scores = store.vectors @ vectors([query], DIMENSIONS)[0]
            found += [(float(s), c) for s, c in zip(scores, store.chunks)]
        found.sort(key=lambda pair: -pair[0])
        return found[:k]


def chunks_of(text: str) -> list[str]:
    """Paragraphs, packed up to CHUNK_CHARS (a longer paragraph is cut at sentence ends)."""
    pieces, current = [], ""
    for paragraph in re.split(r"\n\s*\n", text):
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph.strip()):
            if current and len(current) + len(sentence) > CHUNK_CHARS:
                pieces.append(current)
                current = ""
            current = f"{current} {sentence}".strip()
        if current:
            pieces.append(current)
            current = ""
    return [p for p in pieces if p.strip()]


def _settle(store: Store) -> None:
    """Files added before this look are indexed by now."""
    for file_id, status in store.files.items():
        if status == "in_progress":
            store.files[file_id] = "completed"


def create(state, request) -> dict:
    stores = state.part(VectorStores)
    store = Store(f"vs_offline{next(_ids)}", request.body.get("name") or "", int(time.time()))
    with stores.lock:
        stores.add_files(state, store, request.body.get("file_ids") or [])
        stores.items[store.id] = store
        return store.as_object()


def retrieve(state, request) -> dict:
    stores = state.part(VectorStores)
    with stores.lock:
        store = stores.get(request.params["vector_store_id"])
        shown = store.as_object()
        _settle(store)
        return shown


def list_stores(state, request) -> dict:
    stores = state.part(VectorStores)
    with stores.lock:
        data = [s.as_object() for s in stores.items.values()]
    return listed(data)


def delete(state, request) -> dict:
    stores = state.part(VectorStores)
    with stores.lock:
        store = stores.get(request.params["vector_store_id"])
        del stores.items[store.id]
    return {"id": store.id, "object": "vector_store.deleted", "deleted": True}


def add_batch(state, request) -> dict:
    stores = state.part(VectorStores)
    ids = request.body.get("file_ids") or [f["file_id"] for f in request.body.get("files") or []]
    with stores.lock:
        store = stores.get(request.params["vector_store_id"])
        stores.add_files(state, store, ids)
    return {"id": f"vsfb_offline{next(_ids)}", "object": "vector_store.files_batch", "created_at": int(time.time()),
            "vector_store_id": store.id, "status": "in_progress",
            "file_counts": {"in_progress": len(ids), "completed": 0, "failed": 0, "cancelled": 0, "total": len(ids)}}


def add_file(state, request) -> dict:
    stores = state.part(VectorStores)
    file_id = request.required("file_id")
    with stores.lock:
        store = stores.get(request.params["vector_store_id"])
        stores.add_files(state, store, [file_id])
    return {"id": file_id, "object": "vector_store.file", "created_at": int(time.time()), "usage_bytes": 0,
            "vector_store_id": store.id, "status": "in_progress", "last_error": None}


def search_store(state, request) -> dict:
    query = request.required("query")
    if not isinstance(query, str):
        raise RequestError("Offline, 'query' must be one string.", param="query")
    k = request.body.get("max_num_results") or DEFAULT_RESULTS
    stores = state.part(VectorStores)
    with stores.lock:
        found = stores.search([request.params["vector_store_id"]], query, k)
    return {"object": "vector_store.search_results.page", "search_query": [query], "has_more": False,
            "next_page": None, "data": [{"file_id": c.file_id, "filename": c.filename, "score": round(score, 4),
                                         "attributes": {}, "content": [{"type": "text", "text": c.text}]}
                                        for score, c in found]}


def file_search(state, tool: dict, question: str, include: list[str]) -> tuple[list[dict], str, list[dict]]:
    """The `file_search` tool: the passage nearest the question, quoted and cited with a `file_citation`."""
    stores = state.part(VectorStores)
    k = tool.get("max_num_results") or DEFAULT_RESULTS
    with stores.lock:
        found = stores.search(tool.get("vector_store_ids") or [], question, k)
    results = [{"file_id": c.file_id, "filename": c.filename, "score": round(score, 4), "text": c.text,
                "attributes": {}} for score, c in found]
    item = {"type": "file_search_call", "id": f"fs_offline{next(_ids)}", "status": "completed",
            "queries": [" ".join(question.split())[:200]],
            "results": results if "file_search_call.results" in include else None}
    if not found:
        return [item], "The offline file search found nothing in the store (it holds no text).", []
    best = found[0][1]
    text = (f"From your files (offline file search: the passage nearest the question, quoted as found; no model "
            f"read it):\n\n> {' '.join(best.text.split())}")
    return [item], text, [{"type": "file_citation", "index": len(text), "file_id": best.file_id,
                           "filename": best.filename}]


ROUTES = [
    *collection("/vector_stores", "vector_store_id", create=create, list=list_stores, retrieve=retrieve, delete=delete),
    Route("POST", "/vector_stores/{vector_store_id}/file_batches", add_batch),
    Route("POST", "/vector_stores/{vector_store_id}/files", add_file),
    Route("POST", "/vector_stores/{vector_store_id}/search", search_store),
]
