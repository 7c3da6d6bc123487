"""Model versions: the snapshot each alias (gpt-4o-mini) first answered as in this notebook, kept in the session
and in the cache or replay file; with pinning on, later calls to the alias send that snapshot. A cell answered
by another snapshot than the notebook's first, or than its cached answer, says so in one line."""
from __future__ import annotations

from dataclasses import dataclass, field

from openai_magics.cache.policy import current
from openai_magics.facts.models import base_name


@dataclass
class Pins:
    on: bool = False
    first: dict[str, str] = field(default_factory=dict)   # alias → the snapshot it first answered as
    latest: dict[str, str] = field(default_factory=dict)  # alias → the snapshot that last answered it live


def seen(session) -> dict[str, str]:
    """alias → first snapshot: the cache or replay file's, then this session's."""
    cache = current(session)
    kept = cache.pins() if cache is not None else {}
    return {**session.part(Pins).first, **kept}


def model_to_send(session, model: str) -> str:
    """The snapshot to send for `model` when pinning is on and the alias has answered before, else `model`."""
    pins = session.part(Pins)
    if not pins.on or base_name(model) != model:
        return model
    return seen(session).get(model, model)


def answered(session, asked: str, snapshot: str, *, cached_from: str | None = None) -> str | None:
    """Note who answered `asked`; the one line to show when it is not the snapshot expected, else None.
    `cached_from`: the snapshot of a cached answer being replayed (None: it was asked live)."""
    if snapshot == asked or base_name(snapshot) != asked:
        return None  # a snapshot asked for by name, or a server that names its models otherwise
    pins = session.part(Pins)
    if cached_from is not None:
        if asked not in seen(session):
            _keep(session, asked, cached_from)
        now = pins.latest.get(asked)
        if now is None or now == cached_from or (pins.on and cached_from == seen(session).get(asked)):
            return None
        return (f"⚠ This cached answer came from {cached_from}; {asked} now answers as {now} "
                "(`--no-cache` asks it again).")
    pins.latest[asked] = snapshot
    first = seen(session).get(asked)
    if first is None:
        _keep(session, asked, snapshot)
        return None
    if first == snapshot:
        return None
    return (f"⚠ {asked} now answers as {snapshot}, not {first} as it first did in this notebook "
            f"(`%openai pin on` sends {first}).")


def _keep(session, alias: str, snapshot: str) -> None:
    session.part(Pins).first[alias] = snapshot
    cache = current(session)
    if cache is not None:
        cache.pin(alias, snapshot)
