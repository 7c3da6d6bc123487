"""A list endpoint's answer: one page of objects (`after`, `limit`) in the API's list envelope."""
from __future__ import annotations


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
