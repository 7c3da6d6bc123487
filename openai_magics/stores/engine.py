"""Vector stores by name: create one from files or texts (uploaded, then indexed: the call waits), add to it,
list, status, delete. The names and ids are kept on disk per endpoint (`known`), so a store outlives the
kernel; its storage goes into the ledger as an estimate per GB-day."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from openai_magics.stores import known
from openai_magics.stores.uploads import gather, upload_all
from openai_magics.core.errors import CallFailed, UsageError

STORAGE_MODEL = "vector-store"  # the ledger's name for vector storage (priced per GB-day, the first GB free)
WAIT_SECONDS = 600
FIRST_POLL = 0.05


@dataclass
class StoreInfo:
    name: str
    id: str
    status: str = "unknown"
    files: dict = field(default_factory=dict)   # filename → file id
    bytes: int = 0
    in_progress: int = 0
    failed: int = 0
    day_cost: str = ""                          # the storage's estimated price per day

    @property
    def line(self) -> str:
        parts = [f"{self.name} ({self.id})", self.status, f"{len(self.files):,} file{'s' * (len(self.files) != 1)}",
                 f"{self.bytes:,} bytes"]
        if self.in_progress:
            parts.append(f"{self.in_progress:,} still indexing")
        if self.failed:
            parts.append(f"{self.failed:,} failed to index")
        if self.day_cost:
            parts.append(f"storage {self.day_cost} a day")
        return " · ".join(parts)

    def __repr__(self) -> str:
        return self.line

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.line)


def store_id(session, name: str) -> str:
    """The id of the store of that name made on this endpoint; one line, nothing sent, when there is none."""
    entry = known.read(session.base_url).get(name)
    if entry is None:
        raise UsageError(f"No store named {name!r} on this endpoint: `%openai store list` shows them, "
                         f"`%openai store create {name} PATH` makes it. Nothing was sent.")
    return entry["id"]


def create(session, name: str, sources, shell=None, progress=None) -> StoreInfo:
    """A new store of these files: uploaded, indexed (waited for), kept on disk, its storage in the ledger."""
    _check_name(name)
    stores = known.read(session.base_url)
    if name in stores:
        raise UsageError(f"A store named {name!r} exists already: `%openai store add {name} PATH` adds to it, "
                         f"`%openai store delete {name}` removes it.")
    files = gather(sources, shell)
    ids = upload_all(session, files, purpose="assistants", progress=progress)
    with session.api_errors():
        made = session.client.vector_stores.create(name=name, file_ids=ids)
    store = _checked_id(made, "creating the store")
    stores[name] = {"id": store, "files": dict(zip([n for n, _ in files], ids))}
    known.write(session.base_url, stores)  # kept before the wait: an interrupted wait loses nothing
    return _settled(session, name, stores[name])


def add(session, name: str, sources, shell=None, progress=None) -> StoreInfo:
    store = store_id(session, name)
    files = gather(sources, shell)
    ids = upload_all(session, files, purpose="assistants", progress=progress)
    with session.api_errors():
        session.client.vector_stores.file_batches.create(vector_store_id=store, file_ids=ids)
    stores = known.read(session.base_url)
    stores[name]["files"].update(zip([n for n, _ in files], ids))
    known.write(session.base_url, stores)
    return _settled(session, name, stores[name])


def status(session, name: str) -> StoreInfo:
    entry = known.read(session.base_url).get(name) or {"id": store_id(session, name)}
    return _info(session, name, entry, _retrieve(session, entry["id"]))


def listing(session) -> list[StoreInfo]:
    """The stores kept for this endpoint, each as the server sees it now."""
    found = []
    for name, entry in sorted(known.read(session.base_url).items()):
        try:
            found.append(_info(session, name, entry, _retrieve(session, entry["id"])))
        except CallFailed as failed:
            found.append(StoreInfo(name, entry["id"], f"not found on the server ({failed})", entry.get("files", {})))
    return found


def delete(session, name: str) -> str:
    """Delete the store and the files uploaded for it, on the server; forget it here."""
    store = store_id(session, name)
    stores = known.read(session.base_url)
    files = stores[name].get("files", {})
    with session.api_errors():
        session.client.vector_stores.delete(store)
    del stores[name]
    known.write(session.base_url, stores)
    kept = []
    for filename, file_id in files.items():  # the files are billed as storage of their own until deleted
        try:
            with session.api_errors():
                session.client.files.delete(file_id)
        except CallFailed:
            kept.append(f"{filename} ({file_id})")
    said = (f"Deleted the store {name} ({store}) and the {len(files) - len(kept):,} files uploaded for it, "
            "on the server.")
    return said + (f" These could not be deleted (the Files API still holds them): {', '.join(kept)}." if kept else "")


def _check_name(name) -> None:
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
        raise UsageError(f"A store's name is one word (e.g. notes), not {name!r}.")


def _retrieve(session, store: str):
    with session.api_errors():
        return session.client.vector_stores.retrieve(store)


def _settled(session, name: str, entry: dict) -> StoreInfo:
    """Wait until the server has indexed every file (`%openai store status` looks again later)."""
    deadline, pause = time.monotonic() + WAIT_SECONDS, FIRST_POLL
    while True:
        answer = _retrieve(session, entry["id"])
        info = _info(session, name, entry, answer)
        if not info.in_progress or time.monotonic() > deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, 2.0)
    _record_storage(session, info)
    return info


def _info(session, name: str, entry: dict, answer) -> StoreInfo:
    counts = getattr(answer, "file_counts", None)
    number = lambda v: v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0  # noqa: E731
    status = getattr(answer, "status", None)
    info = StoreInfo(name, entry["id"], status if isinstance(status, str) else "unknown", entry.get("files", {}),
                     number(getattr(answer, "usage_bytes", 0)), number(getattr(counts, "in_progress", 0)),
                     number(getattr(counts, "failed", 0)))
    from openai_magics.metering.pricing import format_usd
    from openai_magics.metering.usage import Usage

    info.day_cost = format_usd(session.cost_of(STORAGE_MODEL, Usage(stored_bytes=info.bytes)), approx=True)
    return info


def _record_storage(session, info: StoreInfo) -> None:
    """One day of the store's storage, estimated (billing is per GB-day, as long as the store is kept)."""
    from openai_magics.metering.usage import Usage

    session.begin("store").record(STORAGE_MODEL, Usage(stored_bytes=info.bytes), estimated=True)


def _checked_id(answer, what: str) -> str:
    value = getattr(answer, "id", None)
    if not isinstance(value, str) or not value:
        raise CallFailed(f"The server's answer to {what} holds no id; the uploaded files stay on the server.")
    return value
