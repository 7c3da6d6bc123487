"""The objects of one kind the offline server keeps, by id, and a list endpoint's answer: one page of them
(`after`, `limit`) in the API's list envelope."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import ClassVar

from openai_magics.offline.errors import known


@dataclass
class ById:
    """Objects of one kind by id, and the lock their callers hold; a subclass names what a 404 calls them."""

    kind: ClassVar[str]   # "Container", as a 404 names it
    param: ClassVar[str]  # the path parameter a 404 blames
    items: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, object_id: str):
        """The object, or the API's 404 (the caller holds the lock)."""
        return known(self.items, object_id, self.kind, self.param)


def page(items: list[dict], request) -> tuple[list[dict], bool]:
    """A list endpoint's page: the items after the `after` id, `limit` of them (20 unless asked), and whether
    more follow."""
    after = request.query.get("after")
    if after:
        ids = [i["id"] for i in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    limit = int(request.query.get("limit") or 20)
    return items[:limit], len(items) > limit


def listed(data: list[dict], more: bool = False) -> dict:
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": more}
