"""`openai_magics.store(NAME, *sources)`: a vector store from plain Python, made or added to."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def store(name: str, *sources, session=None):
    """Make the store NAME from files, globs, folders or a list/Series of texts; when it exists, add them to it.
    With no sources: the store's status. Returns its StoreInfo (`.id`, `.files`, `.status`)."""
    from openai_magics.stores import engine, known

    s = session or current_session()
    if not sources:
        return engine.status(s, name)
    exists = name in known.read(s.base_url)
    return (engine.add if exists else engine.create)(s, name, list(sources))
