"""`/files`: upload, list, retrieve, download and delete, kept in memory.

Other endpoints read uploaded files through `Files` (`state.part(Files).content(file_id)`), e.g. a batch's
input lines, and store their own output files with `Files.add`.
"""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass

from openai_magics.offline.errors import RequestError, known
from openai_magics.offline.api.listing import listed
from openai_magics.offline.router import Route, collection
from openai_magics.offline.wire import Binary

_ids = itertools.count(1)
MAX_LIMIT = 10_000


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int
    expires_at: int | None = None
    content_type: str = "application/octet-stream"

    def as_object(self) -> dict:
        return {"id": self.id, "object": "file", "bytes": len(self.data), "created_at": self.created_at,
                "expires_at": self.expires_at, "filename": self.filename, "purpose": self.purpose,
                "status": "processed", "status_details": None}


class Files:
    """The server's files, in upload order."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def add(self, filename: str, purpose: str, data: bytes, content_type: str = "application/octet-stream",
            expires_after: dict | None = None) -> StoredFile:
        now = int(time.time())
        expires = now + int(expires_after["seconds"]) if expires_after else None
        stored = StoredFile(f"file-offline{next(_ids)}", filename, purpose, data, now, expires, content_type)
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile:
        with self._lock:
            return known(self._files, file_id, "File", "file_id")

    def content(self, file_id: str) -> bytes:
        return self.get(file_id).data

    def remove(self, file_id: str) -> StoredFile:
        found = self.get(file_id)
        with self._lock:
            self._files.pop(file_id, None)
        return found

    def all(self) -> list[StoredFile]:
        with self._lock:
            return list(self._files.values())


def upload(state, request) -> dict:
    upload = request.upload("file")
    stored = state.part(Files).add(upload.filename, request.required("purpose"), upload.data, upload.content_type,
                                   request.body.get("expires_after"))
    return stored.as_object()


def list_files(state, request) -> dict:
    files = state.part(Files).all()
    purpose = request.query.get("purpose")
    if purpose:
        files = [f for f in files if f.purpose == purpose]
    files.sort(key=lambda f: (f.created_at, int(f.id.removeprefix("file-offline"))),
               reverse=request.query.get("order", "desc") == "desc")
    after = request.query.get("after")
    if after:
        ids = [f.id for f in files]
        files = files[ids.index(after) + 1:] if after in ids else []
    limit = _limit(request.query.get("limit"))
    return listed([f.as_object() for f in files[:limit]], len(files) > limit)


def _limit(text: str | None) -> int:
    try:
        limit = int(text) if text else MAX_LIMIT
    except ValueError:
        raise RequestError(f"Invalid 'limit': expected an integer, got {text!r}.", param="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise RequestError(f"Invalid 'limit': {limit} is not between 1 and {MAX_LIMIT:,}.", param="limit")
    return limit


def retrieve(state, request) -> dict:
    return state.part(Files).get(request.params["file_id"]).as_object()


def content(state, request) -> Binary:
    stored = state.part(Files).get(request.params["file_id"])
    return Binary(stored.data, stored.content_type)


def delete(state, request) -> dict:
    removed = state.part(Files).remove(request.params["file_id"])
    return {"id": removed.id, "object": "file", "deleted": True}


ROUTES = [
    *collection("/files", "file_id", create=upload, list=list_files, retrieve=retrieve, delete=delete),
    Route("GET", "/files/{file_id}/content", content),
]
